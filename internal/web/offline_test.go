package web

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/sites"
)

// loadSiteInstrument loads a shipped site's effective instrument.
func loadSiteInstrument(t *testing.T, site string) *instrument.Instrument {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "sites", site, "instrument.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{site + "/instrument.yaml": {Data: data}}
	in, err := instrument.Load(fsys, site+"/instrument.yaml", instruments.FS)
	if err != nil {
		t.Fatalf("loading %s: %v", site, err)
	}
	return in
}

// nodeOrSkip finds node, which runs the form script outside a browser.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is missing: the machines have Node.js (the form script's checks run under it)")
		}
		t.Skip("node is not installed")
	}
	return node
}

// candidates are the raw texts a practitioner might type or pick for an
// item, valid and not.
func candidates(it instrument.Item) []string {
	out := []string{"", "", "abc", " "}
	switch it.Type {
	case instrument.TypeYesNo:
		out = append(out, "true", "false", "true", "false", "yes")
	case instrument.TypeDate:
		out = append(out, "2020-02-29", "2021-02-29", "1899-12-31", "2020-1-5", "2019-06-30")
	case instrument.TypeNumber, instrument.TypeMeasurement:
		lo, hi := 0.0, 100.0
		if it.Min != nil {
			lo = *it.Min
		}
		if it.Max != nil {
			hi = *it.Max
		}
		mid := (lo + hi) / 2
		out = append(out, strconv.FormatFloat(lo, 'f', -1, 64), strconv.FormatFloat(hi, 'f', -1, 64),
			strconv.FormatFloat(mid, 'f', -1, 64), strings.Replace(strconv.FormatFloat(mid+0.5, 'f', 1, 64), ".", ",", 1),
			strconv.FormatFloat(hi+1, 'f', -1, 64), strconv.FormatFloat(lo-1, 'f', -1, 64), "1e1", "-0", ".5", "12.")
	case instrument.TypeChoice:
		for _, c := range it.Choices {
			out = append(out, valueString(c.Value))
		}
		out = append(out, "99", "other")
	}
	if it.Declinable {
		out = append(out, instrument.Declined, instrument.Declined)
	}
	return out
}

type checkCase struct {
	Raw map[string]string `json:"raw"`
}

type checkResult struct {
	Answers instrument.Answers      `json:"answers"`
	Errors  []instrument.FieldError `json:"errors"`
	Flags   []string                `json:"flags"`
}

// TestDeviceChecksAgreeWithTheServer runs the form script's checks (under
// node) and the server's (answersFromForm, then the instrument's Validate)
// over the same raw forms, for every respondent of both sites: the answers
// sent, the errors (item, code, message, order) and the red flags raised
// must be the same.
func TestDeviceChecksAgreeWithTheServer(t *testing.T) {
	node := nodeOrSkip(t)
	rng := rand.New(rand.NewPCG(7, 15))
	for _, siteID := range []string{"moutse", "johannesburg"} {
		in := loadSiteInstrument(t, siteID)
		for _, resp := range in.Respondents() {
			for _, asked := range [][]string{nil, {in.ItemsFor(resp)[0].Domain}} {
				name := siteID + "/" + resp
				if asked != nil {
					name += "/reassessing-" + asked[0]
				}
				t.Run(name, func(t *testing.T) {
					spec, err := buildSpec(in, &sites.Site{ID: siteID}, "", cycle.CycleRef{Site: siteID, Wave: 1, Child: "ch-0a"}, resp, cycle.PhaseBaseline, "en", "fieldworker (test)", asked)
					if err != nil {
						t.Fatalf("spec: %v", err)
					}
					items := in.ItemsAsked(resp, asked)
					var cases []checkCase
					cases = append(cases, checkCase{Raw: map[string]string{}})
					for range 300 {
						raw := map[string]string{}
						for _, it := range items {
							c := candidates(it)
							raw[it.ID] = c[rng.IntN(len(c))]
						}
						cases = append(cases, checkCase{Raw: raw})
					}
					got := runScript(t, node, spec, cases)
					if len(got) != len(cases) {
						t.Fatalf("script answered %d cases, want %d", len(got), len(cases))
					}
					errorsSeen, flagsSeen, valid := 0, 0, 0
					for i, c := range cases {
						answers, _ := answersFromForm(in, resp, func(id string) string { return c.Raw[id] })
						var want checkResult
						want.Answers = answers
						if err := in.ValidateDomains(resp, answers, asked); err != nil {
							want.Errors = err.(*instrument.ValidationError).Errors
							for k, fe := range want.Errors {
								want.Errors[k].Message = relabel(fe.Message, fe.Item, in.Label(fe.Item, "en"))
							}
						}
						want.Flags = serverFlags(in, answers)
						if !sameAnswers(got[i].Answers, want.Answers) {
							t.Fatalf("case %d %v: device answers %v, server %v", i, c.Raw, got[i].Answers, want.Answers)
						}
						if !reflect.DeepEqual(nonNil(got[i].Errors), nonNil(want.Errors)) {
							t.Fatalf("case %d %v:\ndevice errors %v\nserver errors %v", i, c.Raw, got[i].Errors, want.Errors)
						}
						if fmt.Sprint(got[i].Flags) != fmt.Sprint(want.Flags) {
							t.Fatalf("case %d %v: device flags %v, server flags %v", i, c.Raw, got[i].Flags, want.Flags)
						}
						if want.Errors == nil {
							valid++
						}
						errorsSeen += len(want.Errors)
						flagsSeen += len(want.Flags)
					}
					if errorsSeen == 0 {
						t.Error("no case had an error: the table checks nothing")
					}
					t.Logf("%d forms (%d valid), %d errors, %d red flags agreed", len(cases), valid, errorsSeen, flagsSeen)
				})
			}
		}
	}
}

// serverFlags are the portable red flags the instrument raises for one
// respondent's valid answers (the rest need the server's growth tables).
func serverFlags(in *instrument.Instrument, a instrument.Answers) []string {
	declined := map[string]bool{}
	for id, v := range a {
		if v == any(instrument.Declined) {
			declined[id] = true
		}
	}
	var out []string
	for _, f := range in.PortableFlags() {
		if f.Cond != nil && f.Cond.Holds(a, declined) {
			out = append(out, f.Code)
		}
	}
	return out
}

func nonNil(e []instrument.FieldError) []instrument.FieldError {
	if e == nil {
		return []instrument.FieldError{}
	}
	return e
}

// sameAnswers compares answers by value (-0 typed in a form is 0 on both sides).
func sameAnswers(a, b instrument.Answers) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		fv, fok := v.(float64)
		fw, wok := w.(float64)
		if fok && wok {
			if fv != fw {
				return false
			}
			continue
		}
		if v != w {
			return false
		}
	}
	return true
}

// runScript runs khula.js's checks under node over the cases.
func runScript(t *testing.T, node string, spec offlineSpec, cases []checkCase) []checkResult {
	t.Helper()
	input, err := json.Marshal(map[string]any{"spec": spec, "cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	driver := `
const fs = require("fs");
require(process.argv[1]);
const k = globalThis.khulaCheck;
const input = JSON.parse(fs.readFileSync(0, "utf8"));
const out = input.cases.map(c => {
  const r = k.toAnswers(input.spec, c.raw);
  const errors = k.validate(input.spec, r.answers);
  const flags = k.raisedFlags(input.spec, r.answers).map(f => f.code);
  return { answers: r.answers, errors, flags };
});
process.stdout.write(JSON.stringify(out));
`
	script, err := filepath.Abs(filepath.Join("static", "khula.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "-e", driver, script)
	cmd.Stdin = strings.NewReader(string(input))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res []checkResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("reading the script's answer: %v", err)
	}
	return res
}

func TestRelabel(t *testing.T) {
	tests := []struct{ msg, item, label, want string }{
		{"weight_kg is required", "weight_kg", "Weight", "\u201cWeight\u201d is required"},
		{"phq9_9 must be one of 0, 1, 2, 3, or \"declined\"", "phq9_9", "Thoughts of self-harm", "\u201cThoughts of self-harm\u201d must be one of 0, 1, 2, 3, or \"declined\""},
		{"weight_kg_z is required", "weight_kg", "Weight", "weight_kg_z is required"},
		{"no such item in cwtt", "weight_kg", "Weight", "no such item in cwtt"},
		{"weight_kg is required", "weight_kg", "", "weight_kg is required"},
	}
	for _, tt := range tests {
		if got := relabel(tt.msg, tt.item, tt.label); got != tt.want {
			t.Errorf("relabel(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
