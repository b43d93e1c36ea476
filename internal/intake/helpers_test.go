package intake

import (
	"os"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
)

var (
	loadOnce                   sync.Once
	moutseInst, intaketestInst *instrument.Instrument
	loadErr                    error
)

// load reads the shipped Moutse variant (sites/moutse/instrument.yaml on the
// base instruments/cwtt.yaml) and the test variant with declinable numbers.
func load(t testing.TB) {
	t.Helper()
	loadOnce.Do(func() {
		data, err := os.ReadFile("../../sites/moutse/instrument.yaml")
		if err != nil {
			loadErr = err
			return
		}
		sites := fstest.MapFS{"moutse/instrument.yaml": &fstest.MapFile{Data: data}}
		if moutseInst, loadErr = instrument.Load(sites, "moutse/instrument.yaml", instruments.FS); loadErr != nil {
			return
		}
		intaketestInst, loadErr = instrument.Load(os.DirFS("testdata/instrument"), "intaketest.yaml", instruments.FS)
	})
	if loadErr != nil {
		t.Fatalf("loading instruments: %v", loadErr)
	}
}

// moutse returns the Moutse site's effective instrument.
func moutse(t testing.TB) *instrument.Instrument {
	load(t)
	return moutseInst
}

// intaketest returns the test variant (declinable household_income, muac_cm,
// grant_paid_on).
func intaketest(t testing.TB) *instrument.Instrument {
	load(t)
	return intaketestInst
}

// parseAll parses input and collects the submissions passed on.
func parseAll(t testing.TB, input string, in *instrument.Instrument, opts Options) ([]Submission, Summary, error) {
	t.Helper()
	var subs []Submission
	sum, err := Parse(stringsReader(input), in, opts, func(s Submission) error {
		subs = append(subs, s)
		return nil
	})
	return subs, sum, err
}
