package research

import (
	"errors"
	"fmt"
	"strings"

	"github.com/khula-cop/khula/internal/instrument"
)

// codebookLanguage is the language of the codebook's labels (an
// instrument's default language when it has no label in it).
const codebookLanguage = "en"

// levelValues lists the domain levels a level column takes.
var levelValues = []string{instrument.LevelHigh, instrument.LevelModerate, instrument.LevelLow, instrument.LevelNotAssessed}

// growthIndicators are the growth z-scores in column order, with labels.
var growthIndicators = []struct{ key, label string }{
	{HeightForAge, "Height-for-age z-score (WHO)"},
	{WeightForAge, "Weight-for-age z-score (WHO)"},
	{BMIForAge, "BMI-for-age z-score (WHO)"},
}

// Schema is the column set of a site's research dataset: the union of the
// items, scales and domains of the instrument versions the site used. It
// is read-only and safe for concurrent use; each [Writer] has its own state.
type Schema struct {
	refs    []string // "id version" of each instrument, in the order given
	byRef   map[instrumentKey]int
	vars    []Variable
	items   map[string]*itemColumn
	scales  map[string]*scaleColumn
	growth  map[string]growthColumn // by indicator; empty when no instrument measures growth
	domains map[string]int
	tail    int // index of the first tail column
}

type instrumentKey struct{ id, version string }

// itemColumn is an item's column and its definition in each instrument.
type itemColumn struct {
	col  int
	defs []*instrument.Item // by instrument index; nil where the instrument lacks the item
}

// scaleColumn holds a scale's columns; band and prorated are -1 when no
// instrument gives the scale bands or proration.
type scaleColumn struct {
	score, band, prorated int
	in                    []bool // by instrument index
	bands                 map[string]bool
}

// growthColumn holds an indicator's z-score and flag columns.
type growthColumn struct{ z, flag int }

// NewSchema derives the dataset's columns from the instruments a site's
// time points were scored with (every version used, e.g. the base in one
// wave and a site variant in the next) and the domains to give a level
// column (nil: every domain of the instruments, in order). Items and
// scales come in the first instrument's order; one that only a later
// instrument has comes after the one it follows there.
func NewSchema(instruments []*instrument.Instrument, domains []string) (*Schema, error) {
	if len(instruments) == 0 {
		return nil, errors.New("research schema: no instrument given")
	}
	s := &Schema{
		byRef:   make(map[instrumentKey]int, len(instruments)),
		items:   map[string]*itemColumn{},
		scales:  map[string]*scaleColumn{},
		growth:  map[string]growthColumn{},
		domains: map[string]int{},
	}
	var ids []string
	for i, in := range instruments {
		if in == nil {
			return nil, fmt.Errorf("research schema: instrument %d is nil", i)
		}
		ref := in.Ref()
		k := instrumentKey{ref.ID, ref.Version}
		if _, dup := s.byRef[k]; dup {
			return nil, fmt.Errorf("research schema: instrument %s %s given twice", ref.ID, ref.Version)
		}
		s.byRef[k] = i
		s.refs = append(s.refs, ref.ID+" "+ref.Version)
		if !contains(ids, ref.ID) {
			ids = append(ids, ref.ID)
		}
	}
	all := strings.Join(s.refs, "; ")

	for _, v := range headVars {
		v.InstrumentVersions = all
		s.vars = append(s.vars, v)
	}
	s.vars[colInstrumentID].AllowedValues = strings.Join(ids, "; ")
	if v := variantNotes(instruments); v != "" {
		s.vars[colInstrumentID].Notes = v + "; " + s.vars[colInstrumentID].Notes
	}
	s.addItems(instruments)
	s.addScales(instruments)
	s.addGrowth(instruments)
	if err := s.addDomains(instruments, domains); err != nil {
		return nil, err
	}
	s.tail = len(s.vars)
	for _, v := range tailVars {
		v.InstrumentVersions = all
		s.vars = append(s.vars, v)
	}

	seen := make(map[string]bool, len(s.vars))
	for _, v := range s.vars {
		if seen[v.Name] {
			return nil, fmt.Errorf("research schema: two variables are named %q (rename a scale or domain)", v.Name)
		}
		seen[v.Name] = true
	}
	return s, nil
}

// Columns returns the header of the dataset.
func (s *Schema) Columns() []string {
	out := make([]string, len(s.vars))
	for i, v := range s.vars {
		out[i] = v.Name
	}
	return out
}

// Codebook returns one variable per column of the dataset, in column order.
func (s *Schema) Codebook() []Variable { return append([]Variable(nil), s.vars...) }

// variantNotes says which base each site variant extends.
func variantNotes(instruments []*instrument.Instrument) string {
	var out []string
	for _, in := range instruments {
		if r := in.Ref(); r.Base != nil {
			out = append(out, fmt.Sprintf("%s %s extends %s %s", r.ID, r.Version, r.Base.ID, r.Base.Version))
		}
	}
	return strings.Join(out, "; ")
}

// versionsOf lists the instruments for which has is true.
func (s *Schema) versionsOf(has func(i int) bool) string {
	var out []string
	for i, r := range s.refs {
		if has(i) {
			out = append(out, r)
		}
	}
	return strings.Join(out, "; ")
}

// addItems adds one column per item of any instrument.
func (s *Schema) addItems(instruments []*instrument.Instrument) {
	lists := make([][]string, len(instruments))
	defs := map[string][]*instrument.Item{}
	for i, in := range instruments {
		for _, it := range in.Items() {
			lists[i] = append(lists[i], it.ID)
			if defs[it.ID] == nil {
				defs[it.ID] = make([]*instrument.Item, len(instruments))
			}
			defs[it.ID][i] = &it
		}
	}
	for _, id := range unionOrder(lists) {
		ic := &itemColumn{col: len(s.vars), defs: defs[id]}
		s.items[id] = ic
		s.vars = append(s.vars, s.itemVariable(id, ic.defs, instruments))
	}
}

// itemVariable describes an item's column, noting where versions differ.
func (s *Schema) itemVariable(id string, defs []*instrument.Item, instruments []*instrument.Instrument) Variable {
	first := -1
	declinable := false
	for i, d := range defs {
		if d == nil {
			continue
		}
		if first < 0 {
			first = i
		}
		declinable = declinable || d.Declinable
	}
	it := defs[first]
	v := Variable{
		Name:               "item_" + id,
		Label:              instruments[first].Label(id, codebookLanguage),
		InstrumentVersions: s.versionsOf(func(i int) bool { return defs[i] != nil }),
	}
	v.Type, v.AllowedValues = describeItem(instruments[first], it)
	notes := []string{"missing when not answered or not shown"}
	if declinable {
		notes = append(notes, "declined = the respondent declined to answer")
	}
	if it.Type == instrument.TypeDate {
		notes = append(notes, "the day is not written")
	}
	if it.Unit != "" {
		notes = append(notes, "unit: "+it.Unit)
	}
	notes = append(notes, "answered by the "+it.Respondent, "domain: "+it.Domain)
	for i, d := range defs {
		if d == nil || i == first {
			continue
		}
		typ, allowed := describeItem(instruments[i], d)
		if typ != v.Type || allowed != v.AllowedValues || d.Unit != it.Unit {
			notes = append(notes, fmt.Sprintf("in %s: %s %s%s", s.refs[i], typ, allowed, unitNote(d.Unit)))
		}
	}
	v.Notes = strings.Join(notes, "; ")
	return v
}

func unitNote(unit string) string {
	if unit == "" {
		return ""
	}
	return " (unit: " + unit + ")"
}

// describeItem gives an item's variable type and allowed values.
func describeItem(in *instrument.Instrument, it *instrument.Item) (typ, allowed string) {
	switch it.Type {
	case instrument.TypeChoice:
		fallback := in.Languages()[0]
		parts := make([]string, 0, len(it.Choices))
		for _, c := range it.Choices {
			parts = append(parts, choiceCell(c.Value)+"="+c.Label.In(codebookLanguage, fallback))
		}
		return TypeCategory, strings.Join(parts, "; ")
	case instrument.TypeYesNo:
		return TypeBoolean, boolValues
	case instrument.TypeNumber:
		if it.Integer {
			return TypeInteger, rangeOf(it.Min, it.Max)
		}
		return TypeNumber, rangeOf(it.Min, it.Max)
	case instrument.TypeMeasurement:
		return TypeNumber, rangeOf(it.Min, it.Max)
	case instrument.TypeDate:
		return TypeDateMonth, ""
	}
	return TypeString, ""
}

// choiceCell writes a choice's value as the dataset does.
func choiceCell(v any) string {
	switch x := v.(type) {
	case float64:
		return formatNumber(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// rangeOf writes a declared range as "min..max" (an open end left empty).
func rangeOf(lo, hi *float64) string {
	if lo == nil && hi == nil {
		return ""
	}
	var b strings.Builder
	if lo != nil {
		b.WriteString(formatNumber(*lo))
	}
	b.WriteString("..")
	if hi != nil {
		b.WriteString(formatNumber(*hi))
	}
	return b.String()
}

// addScales adds the score, band and proration columns of every scale.
func (s *Schema) addScales(instruments []*instrument.Instrument) {
	lists := make([][]string, len(instruments))
	infos := map[string][]*instrument.ScaleInfo{}
	proratable := map[string]bool{}
	for i, in := range instruments {
		scales := in.Scales()
		can := map[string]bool{}
		for j := range scales {
			sc := &scales[j]
			lists[i] = append(lists[i], sc.ID)
			if infos[sc.ID] == nil {
				infos[sc.ID] = make([]*instrument.ScaleInfo, len(instruments))
			}
			infos[sc.ID][i] = sc
			can[sc.ID] = sc.Prorate != nil
			for _, part := range sc.SumOf {
				can[sc.ID] = can[sc.ID] || can[part]
			}
			proratable[sc.ID] = proratable[sc.ID] || can[sc.ID]
		}
	}
	for _, id := range unionOrder(lists) {
		fallback := ""
		for i, info := range infos[id] {
			if info != nil {
				fallback = instruments[i].Languages()[0]
				break
			}
		}
		s.addScale(id, infos[id], proratable[id], fallback)
	}
}

// addScale adds one scale's columns; fallback is the default language of
// the first instrument that has the scale.
func (s *Schema) addScale(id string, infos []*instrument.ScaleInfo, proratable bool, fallback string) {
	sc := &scaleColumn{band: -1, prorated: -1, in: make([]bool, len(infos)), bands: map[string]bool{}}
	var first *instrument.ScaleInfo
	whole, hasBands := true, false
	for i, info := range infos {
		if info == nil {
			continue
		}
		if first == nil {
			first = info
		}
		sc.in[i] = true
		whole = whole && info.Whole
		for _, b := range info.Bands {
			sc.bands[b.Name] = true
			hasBands = true
		}
	}
	name := "scale_" + strings.ReplaceAll(id, ".", "_")
	versions := s.versionsOf(func(i int) bool { return sc.in[i] })
	label := first.Label.In(codebookLanguage, fallback)
	if label == "" {
		label = "Scale " + id
	}

	score := Variable{Name: name, Label: label, Type: TypeNumber, AllowedValues: scaleRange(first), InstrumentVersions: versions}
	if whole {
		score.Type = TypeInteger
	}
	notes := []string{"missing when not computed (too many items missing)", describeScale(first)}
	bandNotes := []string{"missing when not computed"}
	for i, info := range infos {
		if info == nil || info == first {
			continue
		}
		if d := describeScale(info); d != describeScale(first) || scaleRange(info) != scaleRange(first) {
			notes = append(notes, fmt.Sprintf("in %s: %s, %s", s.refs[i], d, scaleRange(info)))
		}
		if bandValues(info) != bandValues(first) {
			bandNotes = append(bandNotes, fmt.Sprintf("in %s: %s", s.refs[i], bandValues(info)))
		}
	}
	score.Notes = strings.Join(notes, "; ")
	sc.score = len(s.vars)
	s.vars = append(s.vars, score)

	if hasBands {
		sc.band = len(s.vars)
		s.vars = append(s.vars, Variable{Name: name + "_band", Label: label + ": band", Type: TypeCategory,
			AllowedValues: bandValues(first), InstrumentVersions: versions, Notes: strings.Join(bandNotes, "; ")})
	}
	if proratable {
		sc.prorated = len(s.vars)
		s.vars = append(s.vars, Variable{Name: name + "_prorated", Label: label + ": prorated", Type: TypeBoolean,
			AllowedValues: boolValues, InstrumentVersions: versions,
			Notes: "1 when the score was prorated because some items were unanswered; missing when not computed"})
	}
	s.scales[id] = sc
}

// scaleRange writes the scores a scale can take.
func scaleRange(info *instrument.ScaleInfo) string {
	return formatNumber(info.Min) + ".." + formatNumber(info.Max)
}

// describeScale says how a scale is computed.
func describeScale(info *instrument.ScaleInfo) string {
	var b strings.Builder
	if len(info.SumOf) > 0 {
		b.WriteString("sum of scales " + strings.Join(info.SumOf, ", "))
	} else {
		b.WriteString(info.Method + " of items " + strings.Join(info.Items, ", "))
		if len(info.Reverse) > 0 {
			b.WriteString(" (reverse-scored: " + strings.Join(info.Reverse, ", ") + ")")
		}
	}
	if info.Prorate != nil {
		if info.Prorate.MaxMissing == 1 {
			b.WriteString(", prorated when 1 item is missing")
		} else {
			fmt.Fprintf(&b, ", prorated when at most %d items are missing", info.Prorate.MaxMissing)
		}
	}
	return b.String()
}

// bandValues lists a scale's bands as "name=min..max".
func bandValues(info *instrument.ScaleInfo) string {
	parts := make([]string, 0, len(info.Bands))
	for _, b := range info.Bands {
		r := formatNumber(b.Min)
		if b.Max != b.Min {
			r += ".." + formatNumber(b.Max)
		}
		parts = append(parts, b.Name+"="+r)
	}
	return strings.Join(parts, "; ")
}

// addGrowth adds the z-score and flag columns when an instrument measures
// growth.
func (s *Schema) addGrowth(instruments []*instrument.Instrument) {
	has := make([]bool, len(instruments))
	var items instrument.GrowthItems
	measured := false
	for i, in := range instruments {
		if g, ok := in.GrowthItems(); ok {
			if !measured {
				items = g
			}
			has[i], measured = true, true
		}
	}
	if !measured {
		return
	}
	versions := s.versionsOf(func(i int) bool { return has[i] })
	for _, g := range growthIndicators {
		s.growth[g.key] = growthColumn{z: len(s.vars)}
		s.vars = append(s.vars, Variable{Name: "z_" + g.key, Label: g.label, Type: TypeNumber, InstrumentVersions: versions,
			Notes: fmt.Sprintf("from items %s and %s, the age and the sex; rounded to 2 decimals; missing when not computed", items.Weight, items.Height)})
	}
	for _, g := range growthIndicators {
		c := s.growth[g.key]
		c.flag = len(s.vars)
		s.growth[g.key] = c
		s.vars = append(s.vars, Variable{Name: "z_" + g.key + "_flag", Label: g.label + ": flag", Type: TypeCategory,
			AllowedValues:      GrowthFlagImplausible + "=WHO considers the z-score biologically implausible: exclude it from analysis",
			InstrumentVersions: versions, Notes: "missing when the z-score is plausible or not computed"})
	}
}

// addDomains adds one level column per domain.
func (s *Schema) addDomains(instruments []*instrument.Instrument, domains []string) error {
	labels := map[string]string{}
	lists := make([][]string, len(instruments))
	in := map[string][]bool{}
	for i, inst := range instruments {
		fallback := inst.Languages()[0]
		for _, d := range inst.Domains() {
			lists[i] = append(lists[i], d.ID)
			if _, ok := labels[d.ID]; !ok {
				labels[d.ID] = d.Label.In(codebookLanguage, fallback)
			}
			if in[d.ID] == nil {
				in[d.ID] = make([]bool, len(instruments))
			}
			in[d.ID][i] = true
		}
	}
	if domains == nil {
		domains = unionOrder(lists)
	}
	for _, d := range domains {
		if !isCode(d) {
			return fmt.Errorf("research schema: domain %q is not a lowercase identifier", d)
		}
		if _, dup := s.domains[d]; dup {
			return fmt.Errorf("research schema: domain %q given twice", d)
		}
		label := labels[d]
		if label == "" {
			label = d
		}
		s.domains[d] = len(s.vars)
		s.vars = append(s.vars, Variable{Name: "level_" + d, Label: "Risk level: " + label, Type: TypeCategory,
			AllowedValues:      strings.Join(levelValues, "; "),
			InstrumentVersions: s.versionsOf(func(i int) bool { return in[d] != nil && in[d][i] }),
			Notes:              "not_assessed when no item of the domain was answered; missing when the time point was not scored"})
	}
	return nil
}

// unionOrder merges lists of ids into one: the first list's order, then
// each id only a later list has placed right after the id it follows there
// (first when it leads its list).
func unionOrder(lists [][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range lists {
		at := 0 // where the next new id goes
		for _, id := range list {
			if seen[id] {
				at = index(out, id) + 1
				continue
			}
			seen[id] = true
			out = append(out, "")
			copy(out[at+1:], out[at:])
			out[at] = id
			at++
		}
	}
	return out
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool { return index(list, s) >= 0 }
