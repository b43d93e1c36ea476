package scoring_test

import (
	"sync"
	"testing"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/growth"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/sitedir"
)

// The instrument versions the shipped sites use.
var (
	joziRef   = cycle.InstrumentRef{ID: "cwtt-johannesburg", Version: "2.0.0"}
	moutseRef = cycle.InstrumentRef{ID: "cwtt-moutse", Version: "2.0.0"}
)

var (
	shippedOnce sync.Once
	shipped     *scoring.Registry
	shippedErr  error

	growthOnce sync.Once
	withGrowth *scoring.Registry
	growthErr  error
)

// registry is the registry of the shipped sites without growth tables.
func registry(t *testing.T) *scoring.Registry {
	t.Helper()
	shippedOnce.Do(func() {
		var dir *sitedir.Directory
		dir, shippedErr = sitedir.Load("../../sites")
		if shippedErr != nil {
			return
		}
		shipped, shippedErr = scoring.New(dir.Sites(), dir.FS, nil)
	})
	if shippedErr != nil {
		t.Fatalf("loading the shipped sites: %v", shippedErr)
	}
	return shipped
}

// growthRegistry is the registry of the shipped sites with WHO's tables
// as built into khula (growth.LoadEmbedded).
func growthRegistry(t *testing.T) *scoring.Registry {
	t.Helper()
	growthOnce.Do(func() {
		var refs *growth.References
		refs, growthErr = growth.LoadEmbedded()
		if growthErr != nil {
			return
		}
		var sd *sitedir.Directory
		sd, growthErr = sitedir.Load("../../sites")
		if growthErr != nil {
			return
		}
		withGrowth, growthErr = scoring.New(sd.Sites(), sd.FS, refs)
	})
	if growthErr != nil {
		t.Fatalf("loading the shipped sites with the built-in growth tables: %v", growthErr)
	}
	return withGrowth
}

// caregiverForm is a complete, valid caregiver form: every required item
// answered (numbers as JSON decodes them), nothing of concern.
func caregiverForm() cycle.Answers {
	a := cycle.Answers{
		"hunger_bed":   0.0,
		"hunger_skip":  0.0,
		"csg_received": true,
		"birth_cert":   true,
	}
	for _, id := range []string{"phq9_1", "phq9_2", "phq9_3", "phq9_4", "phq9_5", "phq9_6", "phq9_7", "phq9_8", "phq9_9"} {
		a[id] = 0.0
	}
	return a
}

// with returns a copy of a with the given changes (a nil value deletes the key).
func with(a cycle.Answers, kv ...any) cycle.Answers {
	out := cycle.Answers{}
	for k, v := range a {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}
