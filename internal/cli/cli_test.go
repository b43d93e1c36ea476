package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run calls the CLI as the binary would and returns its exit status and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

const sitesDir = "../../sites"

func TestScoreContract(t *testing.T) {
	code, out, stderr := run(t, "", "score", "--site", "johannesburg", "--sites-dir", sitesDir, "testdata/caregiver.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Instrument struct{ ID, Version string } `json:"instrument"`
		Scales     map[string]struct {
			Score float64 `json:"score"`
			Band  string  `json:"band"`
		} `json:"scales"`
		Domains map[string]string `json:"domains"`
		Flags   []string          `json:"flags"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	// Hand-computed from testdata/caregiver.json:
	// emotional 3,8,13,16,24 = 1+1+1+1+0 = 4 (borderline);
	// conduct 5,7r,12,18,22 = 0+(2-2)+0+0+0 = 0; hyperactivity 2,10,15,21r,25r = 2+2+1+(2-0)+(2-1) = 8 (abnormal);
	// peer 6,11r,14r,19,23 = 0+0+0+0+0 = 0; prosocial 1,4,9,17,20 = 2+2+1+1+0 = 6 (normal);
	// total = 4+0+8+0 = 12 (normal); PHQ-9 = 1+1+1+1+1 = 5 (mild).
	want := map[string]struct {
		score float64
		band  string
	}{
		"sdq.emotional": {4, "borderline"}, "sdq.conduct": {0, "normal"}, "sdq.hyperactivity": {8, "abnormal"},
		"sdq.peer": {0, "normal"}, "sdq.prosocial": {6, "normal"}, "sdq.total": {12, "normal"}, "phq9.total": {5, "mild"},
	}
	for id, w := range want {
		got := res.Scales[id]
		if got.Score != w.score || got.Band != w.band {
			t.Errorf("%s = %v %q, want %v %q", id, got.Score, got.Band, w.score, w.band)
		}
	}
	if res.Instrument.ID == "" || res.Instrument.Version == "" {
		t.Errorf("instrument not recorded: %+v", res.Instrument)
	}
	if len(res.Flags) != 0 {
		t.Errorf("flags = %v, want none", res.Flags)
	}
	if res.Domains["education"] != "not_assessed" {
		t.Errorf("education without a teacher form = %q, want not_assessed", res.Domains["education"])
	}

	code, out, _ = run(t, "", "score", "--site", "johannesburg", "--sites-dir", sitesDir, "testdata/caregiver-self-harm.json")
	if code != 0 || !strings.Contains(out, `"phq9.self_harm"`) {
		t.Errorf("PHQ-9 item 9 > 0 must raise phq9.self_harm (exit %d):\n%s", code, out)
	}
}

func TestScoreFromStdin(t *testing.T) {
	data, err := os.ReadFile("testdata/caregiver.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, string(data), "score", "--site", "johannesburg", "--sites-dir", sitesDir, "-")
	if code != 0 || !strings.Contains(out, `"sdq.total"`) {
		t.Fatalf("exit %d: %s %s", code, stderr, out)
	}
}

func TestScoreRejectsInvalidAnswersWithEveryError(t *testing.T) {
	code, out, stderr := run(t, "", "score", "--site", "johannesburg", "--sites-dir", sitesDir, "testdata/caregiver-invalid.json")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if out != "" {
		t.Errorf("an invalid answer set printed a score:\n%s", out)
	}
	for _, want := range []string{"nonsense: unknown_item", "sdq01: invalid_choice", "hunger_bed: required", "csg_applied: skipped_item_answered"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestScoreUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		in   string
		want string
	}{
		{"no site", []string{"score", "testdata/caregiver.json"}, "", "--site is required"},
		{"unknown site", []string{"score", "--site", "atlantis", "--sites-dir", sitesDir, "testdata/caregiver.json"}, "", `no site "atlantis"`},
		{"not JSON", []string{"score", "--site", "johannesburg", "--sites-dir", sitesDir, "-"}, "{", "stdin"},
		{"bad subject", []string{"score", "--site", "johannesburg", "--sites-dir", sitesDir, "-"}, `{"child":{"sex":"x","dob":"soon"},"assessed_on":"2026-01-01","answers":{}}`, "child.sex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.in, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func TestSiteValidateShippedSites(t *testing.T) {
	code, out, stderr := run(t, "", "site", "validate", sitesDir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"ok   johannesburg", "ok   moutse", "cwtt-moutse@2.0.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSiteInitScaffoldsAValidSiteAndValidateListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "", "site", "init", "limpopo-2", "--from", "moutse", "--dir", dir)
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "khula site validate") {
		t.Errorf("init does not say what to do next:\n%s", out)
	}
	site := filepath.Join(dir, "limpopo-2")
	data, err := os.ReadFile(filepath.Join(site, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "TODO") || !strings.Contains(string(data), "sync_every: 7d") {
		t.Errorf("scaffold lacks TODO comments or the copied connectivity:\n%s", data)
	}
	if code, out, _ := run(t, "", "site", "validate", site); code != 0 {
		t.Fatalf("the scaffold does not validate:\n%s", out)
	}
	if code, _, stderr := run(t, "", "site", "init", "limpopo-2", "--from", "moutse", "--dir", dir); code != 2 || !strings.Contains(stderr, "exists already") {
		t.Errorf("init over an existing site: exit %d %s", code, stderr)
	}
	// Break it twice: both problems are listed with file and line.
	broken := strings.Replace(strings.Replace(string(data), "quintile: 1", "quintile: 7", 1), "referral_sla: 60d", "referral_sla: -3d", 1)
	if err := os.WriteFile(filepath.Join(site, "site.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "", "site", "validate", site)
	if code != 1 {
		t.Fatalf("exit %d for a broken site, want 1", code)
	}
	for _, want := range []string{"site.yaml:", "quintile 7 must be 1 to 5", "referral_sla is -3d"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
