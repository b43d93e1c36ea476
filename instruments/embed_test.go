package instruments_test

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
)

// TestEmbedded checks that the binary carries the schema and that every
// base instrument in it loads cleanly and is named after its file.
func TestEmbedded(t *testing.T) {
	data, err := fs.ReadFile(instruments.FS, instruments.SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", schema["$schema"])
	}
	names, err := fs.Glob(instruments.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no instruments embedded")
	}
	for _, name := range names {
		in, err := instrument.Load(instruments.FS, name, instruments.FS)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := strings.TrimSuffix(name, ".yaml"); in.Ref().ID != want {
			t.Errorf("%s declares id %q: a base must be named <id>.yaml", name, in.Ref().ID)
		}
	}
}

// TestCWTTShape pins what the CWTT must contain.
func TestCWTTShape(t *testing.T) {
	in, err := instrument.Load(instruments.FS, "cwtt.yaml", instruments.FS)
	if err != nil {
		t.Fatal(err)
	}
	if r := in.Ref(); r.ID != "cwtt" || r.Version != "2.0.0" {
		t.Errorf("ref = %v", r)
	}
	var domains []string
	for _, d := range in.Domains() {
		domains = append(domains, d.ID)
	}
	if got := strings.Join(domains, ","); got != "health,nutrition,material,education,protection,psychosocial,caregiver" {
		t.Errorf("domains = %s", got)
	}
	if got := strings.Join(in.Respondents(), ","); got != "caregiver,child,teacher,nurse" {
		t.Errorf("respondents = %s", got)
	}
	scales := strings.Join(in.ScaleIDs(), ",")
	for _, id := range []string{"sdq.emotional", "sdq.conduct", "sdq.hyperactivity", "sdq.peer", "sdq.prosocial", "sdq.total", "phq9.total", "cyrm.personal", "cyrm.caregiver", "cyrm.total"} {
		if !strings.Contains(scales, id) {
			t.Errorf("no scale %s in %s", id, scales)
		}
	}
	flags := strings.Join(in.RedFlagCodes(), ",")
	for _, code := range []string{"protection.disclosure", "phq9.self_harm", "phq9.self_harm_declined", "growth.severe_thinness"} {
		if !strings.Contains(flags, code) {
			t.Errorf("no red flag %s in %s", code, flags)
		}
	}
	// Every red flag says where its urgent referral goes, or that it only
	// prompts the safeguarding social worker.
	for _, f := range in.RedFlags() {
		if (f.ServiceType == "") != f.NotifyOnly {
			t.Errorf("red flag %s: service type %q, notify_only %v", f.Code, f.ServiceType, f.NotifyOnly)
		}
	}
	count := map[string]int{}
	for _, it := range in.Items() {
		for _, prefix := range []string{"sdq", "phq9_", "cyrm"} {
			if strings.HasPrefix(it.ID, prefix) {
				count[prefix]++
			}
		}
	}
	if count["sdq"] != 25 || count["phq9_"] != 9 || count["cyrm"] != 17 {
		t.Errorf("item counts = %v", count)
	}
}

// TestNoLicensedWording guards against shipping SDQ or CYRM-R item text: the
// labels of those items only name the item number and subscale.
func TestNoLicensedWording(t *testing.T) {
	in, err := instrument.Load(instruments.FS, "cwtt.yaml", instruments.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range in.Items() {
		var want string
		switch {
		case strings.HasPrefix(it.ID, "sdq"):
			want = "SDQ item "
		case strings.HasPrefix(it.ID, "cyrm"):
			want = "Resilience item "
		default:
			continue
		}
		for lang, label := range it.Label {
			if !strings.HasPrefix(label, want) || len(label) > 45 {
				t.Errorf("%s label [%s] %q: licensed items carry only their number and subscale", it.ID, lang, label)
			}
		}
	}
}
