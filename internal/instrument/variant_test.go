package instrument

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/khula-cop/khula/instruments"
)

func TestVariantRefs(t *testing.T) {
	loadShipped(t)
	for _, tc := range []struct {
		in   *Instrument
		want Ref
	}{
		{cwttInst, Ref{ID: "cwtt", Version: "2.0.0"}},
		{moutse, Ref{ID: "cwtt-moutse", Version: "2.0.0", Base: &Ref{ID: "cwtt", Version: "2.0.0"}}},
		{jozi, Ref{ID: "cwtt-johannesburg", Version: "2.0.0", Base: &Ref{ID: "cwtt", Version: "2.0.0"}}},
	} {
		if got := tc.in.Ref(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ref = %v, want %v", got, tc.want)
		}
		r := score(t, tc.in, boy, fineAnswers(), nil)
		if !reflect.DeepEqual(r.Instrument, tc.want) {
			t.Errorf("result records %v, want %v", r.Instrument, tc.want)
		}
	}
}

// TestMoutseOverrides checks what the Moutse variant changes: resilience
// thresholds, two added items with Sepedi and isiNdebele labels, a health
// rule on distance to the clinic and a material rule on the water source.
func TestMoutseOverrides(t *testing.T) {
	loadShipped(t)
	base, m := cwttInst, moutse

	t.Run("parameters", func(t *testing.T) {
		got := m.Parameters()
		want := map[string]float64{
			"resilience_total_low": 36, "resilience_total_very_low": 28, "resilience_caregiver_low": 15,
			"resilience_personal_low": 20, "absence_days_moderate": 5, "absence_days_high": 10, "clinic_far_km": 10,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parameters = %v, want %v", got, want)
		}
		if base.Parameters()["resilience_total_low"] != 34 {
			t.Error("the variant changed the base's parameters")
		}
	})

	t.Run("resilience thresholds", func(t *testing.T) {
		all := func(v float64) Answers {
			a := Answers{}
			for n := 1; n <= 17; n++ {
				a[cyrmID(n)] = v
			}
			return a
		}
		// 16 × 2 + 3 = 35: not low in the base (< 34), low in Moutse (< 36).
		a := with(fineAnswers(), with(all(2), Answers{"cyrm01": 3.0}))
		rb, rm := score(t, base, boy, a, nil), score(t, m, boy, a, nil)
		if rb.Scales["cyrm.total"].Score != 35 || rb.Domains["psychosocial"] != LevelLow {
			t.Errorf("base: %+v %s", rb.Scales["cyrm.total"], rb.Domains["psychosocial"])
		}
		if rm.Domains["psychosocial"] != LevelModerate || rm.DomainReasons["psychosocial"] != "Low resilience (resilience total below the site's threshold)" {
			t.Errorf("moutse: %s (%s)", rm.Domains["psychosocial"], rm.DomainReasons["psychosocial"])
		}
		// 27: very low (< 28) in Moutse only; base gives moderate (< 34).
		a = with(fineAnswers(), with(all(2), Answers{"cyrm01": 1.0, "cyrm02": 1.0, "cyrm03": 1.0, "cyrm04": 1.0, "cyrm08": 1.0, "cyrm09": 1.0, "cyrm10": 1.0}))
		rb, rm = score(t, base, boy, a, nil), score(t, m, boy, a, nil)
		if rb.Scales["cyrm.total"].Score != 27 || rb.Domains["psychosocial"] != LevelModerate || rm.Domains["psychosocial"] != LevelHigh {
			t.Errorf("total %v: base %s, moutse %s", rb.Scales["cyrm.total"].Score, rb.Domains["psychosocial"], rm.Domains["psychosocial"])
		}
	})

	t.Run("added items", func(t *testing.T) {
		for _, id := range []string{"clinic_distance_km", "water_source"} {
			it, ok := m.Item(id)
			if !ok || it.Respondent != "caregiver" || it.Label["nso"] == "" || it.Label["nr"] == "" {
				t.Errorf("%s = %+v", id, it)
			}
			if _, ok := base.Item(id); ok {
				t.Errorf("%s leaked into the base", id)
			}
		}
		it, _ := m.Item("water_source")
		for _, c := range it.Choices {
			if c.Label["nso"] == "" || c.Label["nr"] == "" {
				t.Errorf("water_source choice %v lacks Sepedi or isiNdebele: %v", c.Value, c.Label)
			}
		}
		items := m.ItemsFor("caregiver")
		if last := items[len(items)-1].ID; last != "water_source" {
			t.Errorf("added items should follow the base's; last caregiver item is %s", last)
		}
		if got := m.Languages(); !reflect.DeepEqual(got, []string{"en", "zu", "st", "tn", "nso", "nr"}) {
			t.Errorf("languages = %v", got)
		}
		caregiver := only(m, fineAnswers(), "caregiver")
		if err := m.Validate("caregiver", with(caregiver, Answers{"clinic_distance_km": 12.5, "water_source": "borehole"})); err != nil {
			t.Errorf("valid Moutse answers: %v", err)
		}
		got := codes(t, m.Validate("caregiver", with(caregiver, Answers{"clinic_distance_km": 200.0, "water_source": "well"})))
		if !reflect.DeepEqual(got, []string{"clinic_distance_km:out_of_range", "water_source:invalid_choice"}) {
			t.Errorf("codes = %v", got)
		}
		// The base does not know them.
		got = codes(t, base.Validate("caregiver", with(caregiver, Answers{"clinic_distance_km": 12.5})))
		if !reflect.DeepEqual(got, []string{"clinic_distance_km:unknown_item"}) {
			t.Errorf("base codes = %v", got)
		}
	})

	t.Run("rules", func(t *testing.T) {
		tests := []struct {
			name    string
			changes Answers
			domain  string
			level   string
			reason  string
		}{
			{"near, fine", Answers{"clinic_distance_km": 3.0}, "health", LevelLow, "Health checks found no concern"},
			{"far, fine", Answers{"clinic_distance_km": 25.0}, "health", LevelLow, "Lives far from a clinic; the outreach team keeps the child on its list"},
			{"exactly 10 km is not far", Answers{"clinic_distance_km": 10.0, "imm_up_to_date": false}, "health", LevelModerate, "Immunisations not up to date (Road to Health booklet)"},
			{"far, immunisation behind", Answers{"clinic_distance_km": 25.0, "imm_up_to_date": false}, "health", LevelHigh, "An unmet health need and the clinic is too far away; the ward-based outreach team should visit"},
			{"far, failed hearing", Answers{"clinic_distance_km": 25.0, "hearing": "refer"}, "health", LevelHigh, "An unmet health need and the clinic is too far away; the ward-based outreach team should visit"},
			{"base high rule still first among highs? no: site rule first", Answers{"clinic_distance_km": 25.0, "chronic_illness": true, "chronic_treated": false}, "health", LevelHigh, "An unmet health need and the clinic is too far away; the ward-based outreach team should visit"},
			{"near, chronic untreated", Answers{"clinic_distance_km": 1.0, "chronic_illness": true, "chronic_treated": false}, "health", LevelHigh, "Chronic illness not on treatment or in care"},
			{"river water", Answers{"water_source": "river_dam"}, "material", LevelModerate, "Drinking water from a river, dam or tanker (unsafe or irregular)"},
			{"tanker water", Answers{"water_source": "tanker"}, "material", LevelModerate, "Drinking water from a river, dam or tanker (unsafe or irregular)"},
			{"borehole", Answers{"water_source": "borehole"}, "material", LevelLow, "Basic material needs met"},
			{"no home beats water", Answers{"water_source": "river_dam", "shelter": "none"}, "material", LevelHigh, "No stable home"},
		}
		for _, tc := range tests {
			r := score(t, m, boy, with(fineAnswers(), tc.changes), nil)
			if r.Domains[tc.domain] != tc.level || r.DomainReasons[tc.domain] != tc.reason {
				t.Errorf("%s: %s = %s (%s), want %s (%s)", tc.name, tc.domain, r.Domains[tc.domain], r.DomainReasons[tc.domain], tc.level, tc.reason)
			}
		}
		// The outreach team is suggested where the site's own rule applies.
		r0 := score(t, m, boy, with(fineAnswers(), Answers{"clinic_distance_km": 25.0, "imm_up_to_date": false}), nil)
		if r0.DomainServices["health"] != "outreach" {
			t.Errorf("far, immunisation behind: service %q", r0.DomainServices["health"])
		}
		// Only the distance answered: the health domain is assessed on it.
		r := score(t, m, boy, Answers{"clinic_distance_km": 30.0}, nil)
		if r.Domains["health"] != LevelLow || r.Domains["material"] != LevelNotAssessed {
			t.Errorf("distance only: %v", r.Domains)
		}
	})
}

// TestMoutseRedFlagRoutes: Moutse sends the health red flags to its
// ward-based outreach team (its clinic is a monthly mobile clinic), keeps
// the protection flags with social development, and the base is unchanged.
func TestMoutseRedFlagRoutes(t *testing.T) {
	loadShipped(t)
	want := map[string]string{
		"protection.disclosure": "social_development", "protection.signs_of_abuse": "social_development",
		"protection.neglect": "social_development", "protection.feels_unsafe": "social_development",
		"phq9.self_harm": "outreach", "phq9.self_harm_declined": "",
		"growth.severe_thinness": "outreach", "nutrition.oedema": "outreach",
	}
	got := map[string]string{}
	for _, f := range moutse.RedFlags() {
		got[f.Code] = f.ServiceType
		rerouted := f.ServiceType == "outreach"
		if rerouted != (f.ServiceAt.File == "moutse/instrument.yaml") || (!rerouted && f.ServiceAt != f.Pos) {
			t.Errorf("%s: service declared at %v (flag at %v)", f.Code, f.ServiceAt, f.Pos)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("moutse routes = %v, want %v", got, want)
	}
	if f, _ := cwttInst.RedFlag("phq9.self_harm"); f.ServiceType != "clinic" || f.ServiceAt.File != "cwtt.yaml" {
		t.Errorf("the base's route changed: %+v", f)
	}
	if f, _ := jozi.RedFlag("phq9.self_harm"); f.ServiceType != "clinic" || f.ServiceAt.File != "instruments/cwtt.yaml" {
		t.Errorf("johannesburg route: %q declared at %v", f.ServiceType, f.ServiceAt)
	}
	// The flag still makes the caregiver domain high and names the outreach team.
	r := score(t, moutse, boy, with(fineAnswers(), Answers{"phq9_9": 2.0}), nil)
	if r.Domains["caregiver"] != LevelHigh || r.DomainServices["caregiver"] != "outreach" {
		t.Errorf("caregiver = %s, service %q", r.Domains["caregiver"], r.DomainServices["caregiver"])
	}
}

// TestVariantReroutesFlags: red_flag_services re-routes a base flag, at the
// variant's line; what it may not do is reported with file and line.
func TestVariantReroutesFlags(t *testing.T) {
	v := strings.Replace(miniVariant, "red_flags:\n", "red_flag_services: {mood.sad: outreach}\nred_flags:\n", 1)
	in, err := variantLoad(t, v)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := in.RedFlag("mood.sad")
	if !ok || f.ServiceType != "outreach" || f.ServiceAt.String() != "site/instrument.yaml:16" || f.Pos.String() != "instruments/mini.yaml:34" {
		t.Errorf("mood.sad = %+v", f)
	}
	if f, _ := in.RedFlag("body.far"); f.ServiceType != "transport" || f.ServiceAt.String() != "site/instrument.yaml:18" {
		t.Errorf("body.far = %+v", f)
	}
	base := mustMini(t, miniBase)
	if f, _ := base.RedFlag("mood.sad"); f.ServiceType != "counselling" {
		t.Errorf("the base changed: %+v", f)
	}
	if _, ok := in.RedFlag("mood.glad"); ok {
		t.Error("RedFlag found an unknown code")
	}

	notifyBase := strings.Replace(miniBase, "service_type: counselling}", "notify_only: true}", 1)
	tests := []struct {
		name, base, services, want string
	}{
		{"unknown flag", miniBase, "{mood.glad: outreach}", `site/instrument.yaml:16: red_flag_services: the base has no red flag "mood.glad" (its flags: mood.sad)`},
		{"own flag", miniBase, "{body.far: outreach}", `site/instrument.yaml:16: red_flag_services: "body.far" is this variant's own red flag: write service_type on the flag itself`},
		{"notify-only flag", notifyBase, "{mood.sad: outreach}", `site/instrument.yaml:16: red_flag_services: red flag "mood.sad" is notify_only`},
		{"bad type name", miniBase, "{mood.sad: Outreach}", `site/instrument.yaml:16: red_flag_services.mood.sad: "Outreach" is not a valid name here`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bases := fstest.MapFS{"mini.yaml": {Data: []byte(tc.base)}}
			sites := fstest.MapFS{"site/instrument.yaml": {Data: []byte(strings.Replace(miniVariant, "red_flags:\n", "red_flag_services: "+tc.services+"\nred_flags:\n", 1))}}
			_, err := Load(sites, "site/instrument.yaml", bases)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestJohannesburgMatchesBase: Johannesburg's parameters equal the base's
// defaults, so every level matches; only the recorded instrument differs.
func TestJohannesburgMatchesBase(t *testing.T) {
	loadShipped(t)
	for domain, cases := range baseRuleCases() {
		for _, tc := range cases {
			g := tc.growth
			if g == nil {
				g = normalGrowth()
			}
			a := with(fineAnswers(), tc.changes)
			rb, rj := score(t, cwttInst, boy, a, g), score(t, jozi, boy, a, g)
			if !reflect.DeepEqual(rb.Domains, rj.Domains) || !reflect.DeepEqual(rb.DomainReasons, rj.DomainReasons) || !reflect.DeepEqual(rb.Scales, rj.Scales) ||
				!reflect.DeepEqual(rb.DomainServices, rj.DomainServices) {
				t.Errorf("%s/%s: johannesburg %v differs from base %v", domain, tc.name, rj.Domains, rb.Domains)
			}
		}
	}
}

// variantFS serves a variant as site/instrument.yaml and mini.yaml as a base.
func variantLoad(t *testing.T, variant string) (*Instrument, error) {
	t.Helper()
	bases := fstest.MapFS{"mini.yaml": {Data: []byte(miniBase)}}
	sites := fstest.MapFS{"site/instrument.yaml": {Data: []byte(variant)}}
	return Load(sites, "site/instrument.yaml", bases)
}

const miniVariant = `extends: mini@1
id: mini-site
version: 0.1.0
languages: [nso]
parameters:
  cut: 2
  far: {value: 5, description: km}
items:
  - {id: km, respondent: caregiver, domain: body, type: number, unit: km, min: 0, max: 100, label: {en: Distance, nso: Bokgole}}
domain_rules:
  mood:
    - {level: high, when: "answers.?q1.orValue(0) == 2 && answers.?q2.orValue(0) == 2", reason: Both often}
    - {level: moderate, when: "answers.?km.orValue(0.0) > params.far", reason: Far}
  body:
    - {level: low, when: "has(answers.km)", reason: Distance known}
red_flags:
  - {code: body.far, domain: body, when: "answers.?km.orValue(0.0) > 50.0", reason: Very far, service_type: transport}
labels:
  items: {q1: {nso: Potšišo 1}}
  domains: {mood: {nso: Maikutlo}}
  choice_sets: {three: {"0": {nso: Le gatee}}}
`

// TestVariantMerge checks how a variant's parts join the base's.
func TestVariantMerge(t *testing.T) {
	in, err := variantLoad(t, miniVariant)
	if err != nil {
		t.Fatal(err)
	}
	// Rules: the site's rules go before the base's of the same level.
	var reasons []string
	for _, r := range in.rules["mood"] {
		reasons = append(reasons, r.Level+":"+r.Reason)
	}
	want := []string{"high:Both often", "high:Mood very high", "moderate:Far", "moderate:Mood high", "low:Mood fine"}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("mood rules = %v, want %v", reasons, want)
	}
	// Parameters: cut overridden (the base's high rule needs score > 2 now).
	r := score(t, in, boy, Answers{"q1": 2.0, "q2": 1.0}, nil)
	if r.Domains["mood"] != LevelHigh || r.DomainReasons["mood"] != "Mood very high" {
		t.Errorf("mood = %s (%s)", r.Domains["mood"], r.DomainReasons["mood"])
	}
	r = score(t, in, boy, Answers{"q1": 2.0, "q2": 2.0}, nil)
	if r.DomainReasons["mood"] != "Both often" {
		t.Errorf("mood reason = %s", r.DomainReasons["mood"])
	}
	r = score(t, in, boy, Answers{"q1": 0.0, "km": 60.0}, nil)
	if r.Domains["mood"] != LevelModerate || r.Domains["body"] != LevelHigh || !reflect.DeepEqual(r.Flags, []string{"body.far"}) {
		t.Errorf("far: %v %v", r.Domains, r.Flags)
	}
	// Labels.
	if in.Label("q1", "nso") != "Potšišo 1" || in.Label("q2", "nso") != "Q2" {
		t.Errorf("labels: %q %q", in.Label("q1", "nso"), in.Label("q2", "nso"))
	}
	if d := in.Domains(); d[0].Label["nso"] != "Maikutlo" || d[0].Label["en"] != "Mood" {
		t.Errorf("domain labels = %v", d[0].Label)
	}
	if it, _ := in.Item("q1"); it.Choices[0].Label["nso"] != "Le gatee" || it.Choices[0].Label["en"] != "Never" {
		t.Errorf("choice labels = %v", it.Choices[0].Label)
	}
}

func TestVariantReplaceRules(t *testing.T) {
	v := strings.Replace(miniVariant, "domain_rules:\n  mood:", "replace_domain_rules:\n  mood:", 1)
	in, err := variantLoad(t, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(in.rules["mood"]); got != 2 {
		t.Errorf("replaced mood rules: %d, want 2", got)
	}
	// "Both often" is now the only high rule; a high moderate-band score is not enough.
	r := score(t, in, boy, Answers{"q1": 2.0, "q2": 1.0}, nil)
	if r.Domains["mood"] != LevelLow {
		t.Errorf("mood = %s (%s)", r.Domains["mood"], r.DomainReasons["mood"])
	}
}

func TestBareExtendsIsTheBase(t *testing.T) {
	in, err := variantLoad(t, "extends: mini\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Ref(); got.ID != "mini" || got.Version != "1.2.0" {
		t.Errorf("ref = %v", got)
	}
}

// TestVariantProblems: what a variant may not do, with file and line.
func TestVariantProblems(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"copies a base item", "items:\n", "items:\n  - {id: q1, respondent: caregiver, domain: mood, type: choice, choices: three, label: {en: Q1}}\n",
			`site/instrument.yaml:9: item "q1" is already defined in the base (instruments/mini.yaml:17)`},
		{"copies a red flag", "red_flags:\n", "red_flags:\n  - {code: mood.sad, domain: mood, when: \"true\", reason: Again}\n",
			`site/instrument.yaml:17: red flag "mood.sad" is already defined in the base (instruments/mini.yaml:34)`},
		{"redefines domains", "languages: [nso]", "languages: [nso]\ndomains: [{id: x, label: {en: X}}]",
			`site/instrument.yaml:5: key "domains" is not allowed in a variant: it comes from the base`},
		{"no id", "id: mini-site\n", "", `site/instrument.yaml:1: missing required key "id"`},
		{"base id", "id: mini-site", "id: mini", `site/instrument.yaml:2: a variant needs its own id, not its base's "mini"`},
		{"unknown base", "extends: mini@1", "extends: maxi@1", `site/instrument.yaml:1: extends "maxi@1": base instrument not found (looked for maxi.yaml)`},
		{"wrong major", "extends: mini@1", "extends: mini@2", `site/instrument.yaml:1: extends "mini@2" but the base is version 1.2.0`},
		{"bad CEL in variant", `when: "has(answers.km)"`, `when: "has(answers.kms)"`, `site/instrument.yaml:15: domain_rules.body[0] (low): CEL error`},
		{"label for unknown item", "items: {q1:", "items: {q9:", `site/instrument.yaml:19: labels.items: unknown item "q9"`},
		{"label in undeclared language", "languages: [nso]\n", "", `site/instrument.yaml:18: labels.items.q1: language "nso" is not one of the instrument's languages`},
		{"both add and replace", "red_flags:", "replace_domain_rules:\n  mood: [{level: low, when: \"true\", reason: X}]\nred_flags:", `domain "mood" has both domain_rules and replace_domain_rules`},
		{"rules out of order", "    - {level: high, when: \"answers.?q1", "    - {level: low, when: \"true\", reason: Low first}\n    - {level: high, when: \"answers.?q1",
			"site/instrument.yaml:13: domain_rules.mood[1]: a high rule must come before the low rules"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(miniVariant, tc.old) {
				t.Fatalf("mutation %q not found", tc.old)
			}
			_, err := variantLoad(t, strings.Replace(miniVariant, tc.old, tc.new, 1))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v", err)
			}
			for _, p := range le.Problems {
				if strings.Contains(p.String(), tc.want) {
					return
				}
			}
			t.Errorf("no problem contains %q; got:\n%v", tc.want, err)
		})
	}
}

func TestVariantOfAVariant(t *testing.T) {
	bases := fstest.MapFS{"mini.yaml": {Data: []byte(miniBase)}, "mini-site.yaml": {Data: []byte(miniVariant)}}
	sites := fstest.MapFS{"x.yaml": {Data: []byte("extends: mini-site\nid: x\nversion: 1.0.0\n")}}
	_, err := Load(sites, "x.yaml", bases)
	if err == nil || !strings.Contains(err.Error(), "a variant must extend a base instrument") {
		t.Errorf("err = %v", err)
	}
	if _, err := Load(sites, "x.yaml", nil); err == nil || !strings.Contains(err.Error(), "no folder of base instruments") {
		t.Errorf("no bases: %v", err)
	}
}

// TestParseVariantAlone: Parse checks a variant's own file without its base.
func TestParseVariantAlone(t *testing.T) {
	d, err := Parse("v.yaml", []byte(miniVariant))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsVariant() || d.Extends != "mini@1" || len(d.Items) != 1 || d.Parameters["far"].Value != 5 || d.Parameters["cut"].Value != 2 {
		t.Errorf("definition = %+v", d)
	}
	_, err = Parse("v.yaml", []byte(miniVariant+"colour: red\n"))
	if err == nil || !strings.Contains(err.Error(), `v.yaml:22: unknown key "colour"`) {
		t.Errorf("err = %v", err)
	}
}

// TestShippedSiteVariants loads the site files exactly as shipped.
func TestShippedSiteVariants(t *testing.T) {
	for _, site := range []string{"moutse", "johannesburg"} {
		d, err := Parse(site+"/instrument.yaml", mustRead(t, "../../sites/"+site+"/instrument.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if d.Extends != "cwtt@2" || !strings.HasPrefix(d.ID, "cwtt-") {
			t.Errorf("%s: extends %q id %q", site, d.Extends, d.ID)
		}
	}
	if _, err := Parse("cwtt.yaml", mustRead(t, "../../instruments/cwtt.yaml")); err != nil {
		t.Fatal(err)
	}
	_ = instruments.FS
}

// TestVariantCarriesLicensedWording: the base ships placeholders for
// licensed items (the SDQ's wording may not be published); a site that
// holds the licence puts the wording in its variant's labels, in English
// as in any other language, and every form shows it.
func TestVariantCarriesLicensedWording(t *testing.T) {
	const variant = `
extends: cwtt@2
id: cwtt-licensed
version: 1.0.0
title: A site with the SDQ licence
labels:
  items:
    sdq01: {en: "Considerate of other people's feelings (licensed wording)", zu: "Umbhalo onelayisensi"}
`
	fsys := fstest.MapFS{"site/instrument.yaml": {Data: []byte(variant)}}
	in, err := Load(fsys, "site/instrument.yaml", instruments.FS)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Label("sdq01", "en"); got != "Considerate of other people's feelings (licensed wording)" {
		t.Errorf("English label = %q, want the licensed wording", got)
	}
	if got := in.Label("sdq01", "zu"); got != "Umbhalo onelayisensi" {
		t.Errorf("isiZulu label = %q", got)
	}
	if got := cwtt(t).Label("sdq01", "en"); !strings.Contains(got, "SDQ item 1") {
		t.Errorf("the base keeps its placeholder, got %q", got)
	}
}
