package odkform

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/sites"
)

// Names of the fields and lists every form has.
const (
	FieldCycleRef   = "cycle_ref"
	FieldPhase      = "phase"
	FieldRespondent = "respondent"

	ListPhase           = "phase"
	ListRespondent      = "respondent"
	ListYesNo           = "yesno"
	ListYesNoDeclinable = "yesno_declinable"
	// DeclinableSuffix names the list of a declinable select item: its
	// list with the choice "declined" added.
	DeclinableSuffix = "_declinable"

	PhaseBaseline     = "baseline"
	PhaseReassessment = "reassessment"
)

// fallbackLang is the language khula's own wording (the fixed fields,
// yes/no, respondents) is written in; it stands in for every language.
const fallbackLang = "en"

// fixed is khula's own wording of the form.
var fixed = struct {
	cycleRef, cycleRefHint, cycleRefMsg, phase, respondent, yes, no, declined string
	companionHint                                                             string
	phases                                                                    map[string]string
	respondents                                                               map[string]string
	groups                                                                    map[string]string
}{
	cycleRef:      "Cycle reference (site/wave/child)",
	cycleRefHint:  "Filled in when the form is opened from the coordinator's work list; otherwise copy it from the work list, e.g. %s/1/ch-0bf35071b4.",
	cycleRefMsg:   "Write the cycle reference as %s/<wave>/ch-<child id>, e.g. %s/1/ch-0bf35071b4.",
	phase:         "Assessment phase",
	respondent:    "Who is answering this form?",
	yes:           "Yes",
	no:            "No",
	declined:      "Declined to answer",
	companionHint: "Choose Yes if the respondent prefers not to answer; the question is then skipped.",
	phases:        map[string]string{PhaseBaseline: "Baseline", PhaseReassessment: "Reassessment"},
	respondents: map[string]string{
		"caregiver": "Caregiver", "child": "Child (asked by the fieldworker)",
		"teacher": "Teacher", "nurse": "Nurse",
	},
	groups: map[string]string{
		"caregiver": "Caregiver", "child": "Child", "teacher": "Teacher", "nurse": "Nurse",
	},
}

// Build makes the site's form from its effective instrument (see the
// package documentation for the contract it follows).
func Build(in *instrument.Instrument, site *sites.Site) (*Form, error) {
	if in == nil || site == nil {
		return nil, errors.New("building the ODK form: no instrument or no site")
	}
	ref := in.Ref()
	version, err := FormVersion(ref)
	if err != nil {
		return nil, err
	}
	b := &builder{in: in, langs: formLanguages(in), lists: map[string]int{}}
	b.def = in.Languages()[0]
	f := &Form{
		ID:        "khula_" + site.ID,
		Title:     fmt.Sprintf("%s - %s - %s", in.Title(), siteName(site), ref),
		Version:   version,
		Languages: b.langs,
	}
	f.DefaultLanguage = b.def
	for _, l := range b.langs {
		if l.Code == site.DefaultLanguage {
			f.DefaultLanguage = l.Code
		}
	}
	b.form = f

	// The cycle and who answers.
	f.Survey = append(f.Survey,
		Question{Type: TypeText, Name: FieldCycleRef, Label: b.fixedText(fixed.cycleRef), Required: true,
			Hint:          b.fixedText(fmt.Sprintf(fixed.cycleRefHint, site.ID)),
			Constraint:    CycleRefConstraint(site.ID),
			ConstraintMsg: b.fixedText(fmt.Sprintf(fixed.cycleRefMsg, site.ID, site.ID))},
		Question{Type: TypeSelectOne, List: ListPhase, Name: FieldPhase, Label: b.fixedText(fixed.phase),
			Required: true, Default: PhaseBaseline},
		Question{Type: TypeSelectOne, List: ListRespondent, Name: FieldRespondent, Label: b.fixedText(fixed.respondent),
			Required: true},
	)
	if err := b.addList(ListPhase, []Choice{
		{Name: PhaseBaseline, Label: b.fixedText(fixed.phases[PhaseBaseline])},
		{Name: PhaseReassessment, Label: b.fixedText(fixed.phases[PhaseReassessment])},
	}); err != nil {
		return nil, err
	}
	var resps []Choice
	for _, r := range in.Respondents() {
		resps = append(resps, Choice{Name: r, Label: b.fixedText(orTitle(fixed.respondents[r], r))})
	}
	if err := b.addList(ListRespondent, resps); err != nil {
		return nil, err
	}
	if err := b.addList(ListYesNo, b.yesNo(false)); err != nil {
		return nil, err
	}

	tr := newTranslator(in.Items())
	for _, r := range in.Respondents() {
		f.Survey = append(f.Survey, Question{Type: TypeBeginGroup, Name: r,
			Label: b.fixedText(orTitle(fixed.groups[r], r)), Relevant: "${" + FieldRespondent + "} = " + quote(r)})
		for _, it := range in.ItemsFor(r) {
			if err := b.addItem(tr, it); err != nil {
				return nil, fmt.Errorf("building the ODK form of %s: item %s: %w", site.ID, it.ID, err)
			}
		}
		f.Survey = append(f.Survey, Question{Type: TypeEndGroup})
	}
	if _, err := f.Paths(); err != nil {
		return nil, fmt.Errorf("building the ODK form of %s: %w", site.ID, err)
	}
	return f, nil
}

type builder struct {
	in    *instrument.Instrument
	form  *Form
	langs []Language
	def   string         // the instrument's default language
	lists map[string]int // list name -> index in form.Lists
}

// formLanguages returns the instrument's languages that some item, help or
// choice has wording in, the default language always (in the instrument's
// order). A language with no wording at all would only repeat the default.
func formLanguages(in *instrument.Instrument) []Language {
	used := map[string]bool{}
	mark := func(t instrument.Text) {
		for l, s := range t {
			if s != "" {
				used[l] = true
			}
		}
	}
	for _, it := range in.Items() {
		mark(it.Label)
		mark(it.Help)
		for _, c := range it.Choices {
			mark(c.Label)
		}
	}
	var out []Language
	for i, l := range in.Languages() {
		if i == 0 || used[l] {
			out = append(out, LanguageOf(l))
		}
	}
	return out
}

func siteName(s *sites.Site) string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

func orTitle(s, id string) string {
	if s != "" {
		return s
	}
	if id == "" {
		return id
	}
	return strings.ToUpper(id[:1]) + id[1:]
}

// text gives instrument wording in every form language, falling back to
// the instrument's default language; nil when there is none.
func (b *builder) text(t instrument.Text, suffix string) Text {
	def := strings.TrimSpace(t.In(b.def, fallbackLang))
	if def == "" {
		return nil
	}
	out := Text{}
	for _, l := range b.langs {
		s := strings.TrimSpace(t[l.Code])
		if s == "" {
			s = def
		}
		out[l.Code] = s + suffix
	}
	return out
}

// fixedText gives khula's own (English) wording in every form language.
func (b *builder) fixedText(s string) Text {
	out := Text{}
	for _, l := range b.langs {
		out[l.Code] = s
	}
	return out
}

func (b *builder) yesNo(declinable bool) []Choice {
	cs := []Choice{{Name: "yes", Label: b.fixedText(fixed.yes)}, {Name: "no", Label: b.fixedText(fixed.no)}}
	if declinable {
		cs = append(cs, Choice{Name: DeclinedValue, Label: b.fixedText(fixed.declined)})
	}
	return cs
}

// addList adds a choice list, or checks that a list of that name already
// added is the same.
func (b *builder) addList(name string, cs []Choice) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("choice list name %q is not a valid name", name)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if !namePattern.MatchString(c.Name) && !numberPattern.MatchString(c.Name) {
			return fmt.Errorf("choice list %s: value %q cannot be a choice name (letters, digits, _ and -)", name, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("choice list %s: value %q is there twice", name, c.Name)
		}
		seen[c.Name] = true
	}
	if i, ok := b.lists[name]; ok {
		if !reflect.DeepEqual(b.form.Lists[i].Choices, cs) {
			return fmt.Errorf("two different choice lists would be named %q", name)
		}
		return nil
	}
	b.lists[name] = len(b.form.Lists)
	b.form.Lists = append(b.form.Lists, ChoiceList{Name: name, Choices: cs})
	return nil
}

var numberPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// ChoiceName writes a choice value as the form saves it: numbers without a
// trailing .0 (0, 1, 2.5), codes as they are.
func ChoiceName(v any) string {
	switch x := v.(type) {
	case float64:
		return formatNumber(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func (b *builder) addItem(tr *translator, it instrument.Item) error {
	cond, err := b.in.ShowIfCond(it.ID)
	if err != nil {
		return fmt.Errorf("show_if: %w", err)
	}
	shown, err := tr.relevant(cond)
	if err != nil {
		return fmt.Errorf("show_if cannot be written in XPath: %w", err)
	}
	q := Question{Name: it.ID, Label: b.text(it.Label, ""), Hint: b.text(it.Help, ""), Required: it.Required}
	if q.Label == nil {
		q.Label = b.fixedText(it.ID)
	}
	relevant := shown
	switch it.Type {
	case instrument.TypeYesNo:
		q.Type, q.List = TypeSelectOne, ListYesNo
		if it.Declinable {
			q.List = ListYesNoDeclinable
			if err := b.addList(q.List, b.yesNo(true)); err != nil {
				return err
			}
		}
	case instrument.TypeChoice:
		q.Type, q.List = TypeSelectOne, it.ChoiceSet
		if q.List == "" {
			q.List = it.ID
		}
		var cs []Choice
		for _, c := range it.Choices {
			label := b.text(c.Label, "")
			if label == nil {
				label = b.fixedText(ChoiceName(c.Value))
			}
			cs = append(cs, Choice{Name: ChoiceName(c.Value), Label: label})
		}
		if len(cs) == 0 {
			return errors.New("a choice item without choices")
		}
		if err := b.addList(q.List, cs); err != nil {
			return err
		}
		if it.Declinable {
			q.List += DeclinableSuffix
			cs = append(append([]Choice(nil), cs...), Choice{Name: DeclinedValue, Label: b.fixedText(fixed.declined)})
			if err := b.addList(q.List, cs); err != nil {
				return err
			}
		}
	case instrument.TypeNumber, instrument.TypeMeasurement:
		q.Type = TypeDecimal
		if it.Integer {
			q.Type = TypeInteger
		}
		if it.Unit != "" {
			q.Label = b.text(it.Label, " ("+it.Unit+")")
		}
		q.Constraint = Constraint(it.Min, it.Max)
		if q.Constraint != "" {
			q.ConstraintMsg = b.fixedText(ConstraintMessage(it.Min, it.Max, it.Integer, it.Unit))
		}
	case instrument.TypeDate:
		q.Type = TypeDate
	default:
		return fmt.Errorf("type %q has no ODK question type", it.Type)
	}
	if fieldOf(it).companion {
		// The decline is recorded before the number: <id>_declined = yes
		// skips the number, and the intake records the answer "declined".
		b.form.Survey = append(b.form.Survey, Question{
			Type: TypeSelectOne, List: ListYesNo, Name: it.ID + CompanionSuffix,
			Label:    b.companionLabel(it),
			Hint:     b.fixedText(fixed.companionHint),
			Relevant: exprOrEmpty(shown),
		})
		relevant = and(shown, neStr(it.ID+CompanionSuffix, "yes"))
	}
	q.Relevant = exprOrEmpty(relevant)
	b.form.Survey = append(b.form.Survey, q)
	return nil
}

func (b *builder) companionLabel(it instrument.Item) Text {
	label := b.text(it.Label, "")
	if label == nil {
		label = b.fixedText(it.ID)
	}
	out := Text{}
	for _, l := range b.langs {
		out[l.Code] = fixed.declined + "? (" + label[l.Code] + ")"
	}
	return out
}

func exprOrEmpty(x *xp) string {
	if x == nil || x.kind == xTrue {
		return ""
	}
	return x.String()
}

// CycleRefConstraint is the constraint of cycle_ref for a site:
// <site>/<wave>/ch-<hex>.
func CycleRefConstraint(site string) string {
	return "regex(., " + quote("^"+regexp.QuoteMeta(site)+"/[1-9][0-9]*/ch-[0-9a-f]+$") + ")"
}

// Constraint is the XPath constraint of a number's range: ". >= min and
// . <= max", one side when only one bound is set, "" with none.
func Constraint(min, max *float64) string {
	var parts []string
	if min != nil {
		parts = append(parts, ". >= "+formatNumber(*min))
	}
	if max != nil {
		parts = append(parts, ". <= "+formatNumber(*max))
	}
	return strings.Join(parts, " and ")
}

// ConstraintMessage says what Constraint accepts, in khula's own wording.
func ConstraintMessage(min, max *float64, integer bool, unit string) string {
	what := "a number"
	if integer {
		what = "a whole number"
	}
	u := ""
	if unit != "" {
		u = " " + unit
	}
	switch {
	case min != nil && max != nil:
		return fmt.Sprintf("Enter %s from %s to %s%s.", what, formatNumber(*min), formatNumber(*max), u)
	case min != nil:
		return fmt.Sprintf("Enter %s of at least %s%s.", what, formatNumber(*min), u)
	case max != nil:
		return fmt.Sprintf("Enter %s of at most %s%s.", what, formatNumber(*max), u)
	}
	return ""
}

// FormVersion makes the form version from the instrument ref: each part
// of MAJOR.MINOR.PATCH written in three digits (2.0.0 -> 002000000), and
// for a variant its base's the same way after an underscore
// (cwtt-moutse@2.0.0 on cwtt@2.1.0 -> 002000000_002001000). The strings
// sort as the versions do, and change when the base changes a label
// under an unchanged variant. Pre-release versions (2.0.0-rc.1) have no
// place in that order and are refused.
func FormVersion(ref instrument.Ref) (string, error) {
	v, err := sortableVersion(ref.Version)
	if err != nil {
		return "", fmt.Errorf("instrument %s@%s: %w", ref.ID, ref.Version, err)
	}
	if ref.Base != nil {
		bv, err := sortableVersion(ref.Base.Version)
		if err != nil {
			return "", fmt.Errorf("base instrument %s@%s: %w", ref.Base.ID, ref.Base.Version, err)
		}
		v += "_" + bv
	}
	return v, nil
}

func sortableVersion(v string) (string, error) {
	core, _, _ := strings.Cut(v, "+") // build metadata does not order
	if strings.Contains(core, "-") {
		return "", errors.New("a pre-release version cannot be a form version (ODK needs versions that increase): release the instrument first")
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("version %q is not MAJOR.MINOR.PATCH", v)
	}
	var b strings.Builder
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return "", fmt.Errorf("version %q: each part must be a number from 0 to 999", v)
		}
		fmt.Fprintf(&b, "%03d", n)
	}
	return b.String(), nil
}
