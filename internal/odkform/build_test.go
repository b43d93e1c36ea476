package odkform

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

func fp(f float64) *float64 { return &f }

func TestFormVersion(t *testing.T) {
	tests := []struct {
		ref  instrument.Ref
		want string
	}{
		{instrument.Ref{ID: "cwtt", Version: "2.0.0"}, "002000000"},
		{instrument.Ref{ID: "cwtt-moutse", Version: "1.2.0", Base: &instrument.Ref{ID: "cwtt", Version: "2.0.0"}}, "001002000_002000000"},
		{instrument.Ref{ID: "cwtt-moutse", Version: "2.0.0", Base: &instrument.Ref{ID: "cwtt", Version: "2.1.0"}}, "002000000_002001000"},
		{instrument.Ref{ID: "x", Version: "10.20.300"}, "010020300"},
		{instrument.Ref{ID: "x", Version: "1.2.3+build.7"}, "001002003"},
	}
	for _, tt := range tests {
		got, err := FormVersion(tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("FormVersion(%s) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
	for _, v := range []string{"2.0.0-rc.1", "1000.0.0", "1.2", "a.b.c", ""} {
		if got, err := FormVersion(instrument.Ref{ID: "x", Version: v}); err == nil {
			t.Errorf("FormVersion(%q) = %q, want an error", v, got)
		}
	}
	if _, err := FormVersion(instrument.Ref{ID: "x", Version: "1.0.0", Base: &instrument.Ref{ID: "b", Version: "1.0.0-beta"}}); err == nil {
		t.Error("a pre-release base must be refused")
	}
	// The strings sort as the versions do.
	ordered := []string{"0.9.9", "0.10.0", "1.0.0", "1.0.10", "1.2.0", "2.0.0", "10.0.0"}
	var got []string
	for _, v := range ordered {
		s, err := FormVersion(instrument.Ref{ID: "x", Version: v})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if !sort.StringsAreSorted(got) {
		t.Errorf("versions %v give form versions %v, which do not sort in order", ordered, got)
	}
}

func TestConstraint(t *testing.T) {
	tests := []struct {
		name     string
		min, max *float64
		integer  bool
		unit     string
		want     string
		wantMsg  string
	}{
		{"both", fp(0), fp(30), false, "", ". >= 0 and . <= 30", "Enter a number from 0 to 30."},
		{"only min", fp(5), nil, false, "kg", ". >= 5", "Enter a number of at least 5 kg."},
		{"only max", nil, fp(30), false, "", ". <= 30", "Enter a number of at most 30."},
		{"integer", fp(0), fp(100), true, "days", ". >= 0 and . <= 100", "Enter a whole number from 0 to 100 days."},
		{"fractions and negatives", fp(-1.5), fp(2.25), false, "cm", ". >= -1.5 and . <= 2.25", "Enter a number from -1.5 to 2.25 cm."},
		{"none", nil, nil, false, "", "", ""},
	}
	for _, tt := range tests {
		if got := Constraint(tt.min, tt.max); got != tt.want {
			t.Errorf("%s: constraint %q, want %q", tt.name, got, tt.want)
		}
		if got := ConstraintMessage(tt.min, tt.max, tt.integer, tt.unit); got != tt.wantMsg {
			t.Errorf("%s: message %q, want %q", tt.name, got, tt.wantMsg)
		}
	}
}

func TestCycleRefConstraint(t *testing.T) {
	got := CycleRefConstraint("moutse")
	if want := `regex(., '^moutse/[1-9][0-9]*/ch-[0-9a-f]+$')`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	re := regexp.MustCompile(strings.TrimSuffix(strings.TrimPrefix(got, "regex(., '"), "')"))
	for ref, ok := range map[string]bool{
		"moutse/1/ch-0bf35071b4": true, "moutse/12/ch-a": true,
		"moutse/0/ch-0bf35071b4": false, "johannesburg/1/ch-0bf35071b4": false, "moutse/1/ch-0BF": false,
		"moutse/1/0bf35071b4": false, "moutse/1/ch-": false, " moutse/1/ch-ab": false, "moutse/1/ch-ab/x": false,
	} {
		if re.MatchString(ref) != ok {
			t.Errorf("%q: match %v, want %v", ref, !ok, ok)
		}
	}
}

func TestLanguageColumns(t *testing.T) {
	for code, want := range map[string]string{
		"en": "English (en)", "nso": "Sepedi (nso)", "nr": "isiNdebele (nr)", "zu": "isiZulu (zu)",
		"st": "Sesotho (st)", "tn": "Setswana (tn)", "xh": "isiXhosa (xh)", "xx": "xx (xx)",
	} {
		l := LanguageOf(code)
		if l.Column() != want {
			t.Errorf("%s: column %q, want %q", code, l.Column(), want)
		}
		back, err := ParseLanguage(want)
		if err != nil || back != l {
			t.Errorf("ParseLanguage(%q) = %+v, %v; want %+v", want, back, err, l)
		}
	}
	for _, bad := range []string{"English", "(en)", "English en", ""} {
		if l, err := ParseLanguage(bad); err == nil {
			t.Errorf("ParseLanguage(%q) = %+v, want an error", bad, l)
		}
	}
}

// row finds a survey row by name.
func row(t *testing.T, f *Form, name string) (int, Question) {
	t.Helper()
	for i, q := range f.Survey {
		if q.Name == name {
			return i, q
		}
	}
	t.Fatalf("no row %q", name)
	return 0, Question{}
}

func TestBuildMapsItemTypes(t *testing.T) {
	site, in := testInstrument(t)
	f, err := Build(in, site)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.LanguageNames(); !reflect.DeepEqual(got, []string{"English (en)", "Sepedi (nso)"}) {
		t.Errorf("languages %v: want English and Sepedi only (no item has isiZulu, Sesotho or Setswana wording)", got)
	}
	if f.DefaultLanguage != "en" || f.Version != "001002003_002000000" || f.ID != "khula_test" {
		t.Errorf("settings: default %q, version %q, id %q", f.DefaultLanguage, f.Version, f.ID)
	}
	tests := []struct {
		name, typ, list      string
		required             bool
		relevant, constraint string
	}{
		{"sdq01", TypeSelectOne, "sdq", false, "", ""},
		{"hunger_bed", TypeSelectOne, "times30", true, "", ""},
		{"csg_received", TypeSelectOne, ListYesNo, true, "", ""},
		{"csg_applied", TypeSelectOne, ListYesNo, true, "${csg_received} = 'no'", ""},
		{"phq9_9", TypeSelectOne, "phq_declinable", true, "", ""},
		{"meals_declined", TypeSelectOne, ListYesNo, false, "", ""},
		{"meals", TypeInteger, "", true, "${meals_declined} != 'yes'", ". >= 0 and . <= 10"},
		{"meals_note", TypeSelectOne, "meals_note", false, "${meals_declined} != 'yes' and ${meals} != '' and number(${meals}) < 2", ""},
		{"portion", TypeSelectOne, "sizes_declinable", false, "", ""},
		{"moved_on_declined", TypeSelectOne, ListYesNo, false, "", ""},
		{"moved_on", TypeDate, "", false, "${moved_on_declined} != 'yes'", ""},
		{"owns_home", TypeSelectOne, ListYesNoDeclinable, false, "", ""},
		{"support_offered", TypeSelectOne, ListYesNo, false, "if(${phq9_9} = '' or ${phq9_9} = 'declined', 0, number(${phq9_9})) > 0 or ${owns_home} = 'no'", ""},
		{"rooms", TypeInteger, "", false, "", ". >= 1 and . <= 20"},
		{"edu_days_absent", TypeInteger, "", false, "", ". >= 0 and . <= 100"},
		{"weight_kg", TypeDecimal, "", true, "", ". >= 5 and . <= 80"},
		{"rthb_last_visit", TypeDate, "", false, "${rthb_seen} = 'yes'", ""},
		{"arm_cm", TypeDecimal, "", false, "", ". >= 5 and . <= 30.5"},
	}
	for _, tt := range tests {
		_, q := row(t, f, tt.name)
		if q.Type != tt.typ || q.List != tt.list || q.Required != tt.required || q.Relevant != tt.relevant || q.Constraint != tt.constraint {
			t.Errorf("%s: got %s %q required %v relevant %q constraint %q\nwant %s %q required %v relevant %q constraint %q",
				tt.name, q.Type, q.List, q.Required, q.Relevant, q.Constraint, tt.typ, tt.list, tt.required, tt.relevant, tt.constraint)
		}
		if (q.Constraint != "") != (q.ConstraintMsg != nil) {
			t.Errorf("%s: constraint %q with message %v", tt.name, q.Constraint, q.ConstraintMsg)
		}
	}
	// The companion comes just before its item.
	for _, id := range []string{"meals", "moved_on"} {
		i, _ := row(t, f, id)
		j, _ := row(t, f, id+CompanionSuffix)
		if j != i-1 {
			t.Errorf("%s%s is row %d, %s row %d: want it just before", id, CompanionSuffix, j, id, i)
		}
	}
	// Wording: the item's own in each language, else English; the unit added.
	_, meals := row(t, f, "meals")
	if want := (Text{"en": "Meals yesterday (meals)", "nso": "Dijo maabane (meals)"}); !reflect.DeepEqual(meals.Label, want) {
		t.Errorf("meals label %v, want %v", meals.Label, want)
	}
	_, companion := row(t, f, "meals_declined")
	if companion.Label["nso"] != "Declined to answer? (Dijo maabane)" {
		t.Errorf("companion label %v", companion.Label)
	}
	_, owns := row(t, f, "owns_home")
	if want := (Text{"en": "Ask gently.", "nso": "Ask gently."}); !reflect.DeepEqual(owns.Hint, want) {
		t.Errorf("hint %v, want %v", owns.Hint, want)
	}
	wantLists := map[string][]string{
		ListPhase:           {"baseline", "reassessment"},
		ListRespondent:      {"caregiver", "child", "teacher", "nurse"},
		ListYesNo:           {"yes", "no"},
		ListYesNoDeclinable: {"yes", "no", "declined"},
		"sizes":             {"0", "2.5"},
		"sizes_declinable":  {"0", "2.5", "declined"},
		"phq":               {"0", "1", "2", "3"},
		"phq_declinable":    {"0", "1", "2", "3", "declined"},
		"meals_note":        {"few", "many"},
	}
	for name, want := range wantLists {
		l, ok := f.List(name)
		var got []string
		for _, c := range l.Choices {
			got = append(got, c.Name)
		}
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("list %s = %v, want %v", name, got, want)
		}
	}
	sizes, _ := f.List("sizes")
	if want := (Text{"en": "None", "nso": "Ga go na"}); !reflect.DeepEqual(sizes.Choices[0].Label, want) {
		t.Errorf("choice label %v, want %v", sizes.Choices[0].Label, want)
	}
	if want := (Text{"en": "Half", "nso": "Half"}); !reflect.DeepEqual(sizes.Choices[1].Label, want) {
		t.Errorf("choice label without Sepedi %v, want the English in both", sizes.Choices[1].Label)
	}
}

// TestBuildFollowsTheContract checks the shipped sites' forms against the
// contract the intake relies on.
func TestBuildFollowsTheContract(t *testing.T) {
	for _, tc := range []struct {
		site, version, def string
		langs              []string
	}{
		{"moutse", "002000000_002000000", "nso", []string{"English (en)", "Sepedi (nso)", "isiNdebele (nr)"}},
		{"johannesburg", "002000000_002000000", "en", []string{"English (en)"}},
	} {
		t.Run(tc.site, func(t *testing.T) {
			site, in := shipped(t, tc.site)
			f, err := Build(in, site)
			if err != nil {
				t.Fatal(err)
			}
			if f.ID != "khula_"+tc.site || f.Version != tc.version || f.DefaultLanguage != tc.def {
				t.Errorf("id %q version %q default %q", f.ID, f.Version, f.DefaultLanguage)
			}
			if !strings.Contains(f.Title, in.Title()) || !strings.Contains(f.Title, in.Ref().String()) || !strings.Contains(f.Title, site.Name) {
				t.Errorf("title %q must name the instrument, the site and the ref %s", f.Title, in.Ref())
			}
			if got := f.LanguageNames(); !reflect.DeepEqual(got, tc.langs) {
				t.Errorf("languages %v, want %v", got, tc.langs)
			}
			head := f.Survey[:3]
			if head[0].Name != FieldCycleRef || head[0].Type != TypeText || !head[0].Required || head[0].Default != "" ||
				head[0].Constraint != CycleRefConstraint(tc.site) || head[0].ConstraintMsg == nil {
				t.Errorf("cycle_ref row %+v", head[0])
			}
			if head[1].Name != FieldPhase || head[1].XLSType() != "select_one phase" || !head[1].Required || head[1].Default != PhaseBaseline {
				t.Errorf("phase row %+v", head[1])
			}
			if head[2].Name != FieldRespondent || head[2].XLSType() != "select_one respondent" || !head[2].Required {
				t.Errorf("respondent row %+v", head[2])
			}
			resps, _ := f.List(ListRespondent)
			var names []string
			for _, c := range resps.Choices {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, in.Respondents()) {
				t.Errorf("respondent choices %v, want %v", names, in.Respondents())
			}
			// One group per respondent holding its items in order.
			rest := f.Survey[3:]
			for _, r := range in.Respondents() {
				if len(rest) == 0 || rest[0].Type != TypeBeginGroup || rest[0].Name != r || rest[0].Relevant != "${respondent} = '"+r+"'" {
					t.Fatalf("expected group %s, got %+v", r, rest[:1])
				}
				var got []string
				rest = rest[1:]
				for len(rest) > 0 && rest[0].Type != TypeEndGroup {
					got = append(got, rest[0].Name)
					rest = rest[1:]
				}
				rest = rest[1:]
				var want []string
				for _, it := range in.ItemsFor(r) {
					want = append(want, it.ID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("group %s holds %v, want %v", r, got, want)
				}
			}
			if len(rest) != 0 {
				t.Errorf("rows after the groups: %+v", rest)
			}
			// Never an empty label, in any language.
			for _, q := range f.Survey {
				if q.IsField() || q.Type == TypeBeginGroup {
					for _, l := range f.Languages {
						if q.Label[l.Code] == "" {
							t.Errorf("%s has no %s label", q.Name, l.Column())
						}
					}
				}
			}
			for _, list := range f.Lists {
				for _, c := range list.Choices {
					for _, l := range f.Languages {
						if c.Label[l.Code] == "" {
							t.Errorf("%s/%s has no %s label", list.Name, c.Name, l.Column())
						}
					}
				}
			}
			_, phq := row(t, f, "phq9_9")
			if phq.List != "phq_declinable" || !phq.Required {
				t.Errorf("phq9_9: %+v", phq)
			}
		})
	}
	site, in := shipped(t, "moutse")
	f, _ := Build(in, site)
	_, water := row(t, f, "water_source")
	if water.Label["nso"] != "Mothopo o mogolo wa meetse a go nwa" || water.Label["nr"] != "Umthombo omkhulu wamanzi wokusela" {
		t.Errorf("water_source labels %v", water.Label)
	}
	_, km := row(t, f, "clinic_distance_km")
	if km.Label["nso"] != "Bokgole go ya kliniking ye kgauswi (km)" {
		t.Errorf("clinic_distance_km labels %v", km.Label)
	}
	_, sdq := row(t, f, "sdq01")
	if sdq.Label["nso"] != "SDQ item 1 (prosocial)" {
		t.Errorf("sdq01 in Sepedi falls back to English, got %v", sdq.Label)
	}
}
