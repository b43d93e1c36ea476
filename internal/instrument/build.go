package instrument

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	celast "cel.dev/cel-go/common/ast"
)

// celReserved are words CEL reserves: they cannot be item or parameter ids
// because answers.<id> would not parse.
var celReserved = map[string]bool{
	"as": true, "break": true, "const": true, "continue": true, "else": true,
	"false": true, "for": true, "function": true, "if": true, "import": true,
	"in": true, "let": true, "loop": true, "package": true, "namespace": true,
	"null": true, "return": true, "true": true, "var": true, "void": true, "while": true,
}

var langPattern = regexp.MustCompile(`^[a-z]{2,3}$`)

var levels = []string{LevelHigh, LevelModerate, LevelLow}

// build merges variant v onto base b (or takes b alone when v is nil, or v
// alone when b is nil), checks the result and compiles its expressions.
func build(b, v *Definition) (*Instrument, error) {
	ps := &problems{}
	if b == nil {
		b, v = v, nil
	}
	checkRuleOrder(b.DomainRules, ps)
	var m *Definition
	if v == nil {
		m = b
		checkLabelLangs(b, b.Languages, ps)
	} else {
		checkRuleOrder(v.DomainRules, ps)
		checkRuleOrder(v.ReplaceDomainRules, ps)
		m = merge(b, v, ps)
		checkLabelLangs(b, m.Languages, ps)
		checkLabelLangs(v, m.Languages, ps)
	}
	in := &Instrument{
		ref:         Ref{ID: m.ID, Version: m.Version},
		title:       m.Title,
		languages:   m.Languages,
		respondents: m.Respondents,
		domains:     m.Domains,
		params:      map[string]float64{},
		itemIdx:     map[string]int{},
		scaleIdx:    map[string]int{},
		rules:       map[string][]*compiledRule{},
		showIf:      map[string]*program{},
		domainItems: map[string][]string{},
		growthItems: m.Growth,
	}
	if v != nil {
		in.ref.Base = &Ref{ID: b.ID, Version: b.Version}
	}
	for _, name := range sortedKeys(m.Parameters) {
		in.params[name] = m.Parameters[name].Value
		if celReserved[name] {
			ps.add(m.Parameters[name].Pos, "parameter %q is a reserved word in CEL: choose another name", name)
		}
	}
	c := &checker{m: m, in: in, ps: ps}
	c.checkItems()
	c.checkScales()
	c.checkGrowth()
	c.compileAll()
	if err := ps.err(); err != nil {
		return nil, err
	}
	return in, nil
}

// checkRuleOrder requires each domain's rules to run high, then moderate,
// then low: with first-match semantics a higher level listed after a lower
// one could be shadowed, and variants insert their rules by level.
func checkRuleOrder(rules map[string]RuleList, ps *problems) {
	for _, dom := range sortedKeys(rules) {
		prev := 4
		for i, r := range rules[dom] {
			rank := levelRank(r.Level)
			if rank == 0 {
				continue
			}
			if rank > prev {
				ps.add(r.Pos, "domain_rules.%s[%d]: a %s rule must come before the %s rules (order rules high, moderate, low)", dom, i, r.Level, levels[3-prev])
			}
			prev = rank
		}
	}
}

// merge builds the effective definition of variant v over base b.
func merge(b, v *Definition, ps *problems) *Definition {
	m := &Definition{
		File:        v.File,
		ID:          v.ID,
		Version:     v.Version,
		Title:       b.Title,
		Description: b.Description,
		Extends:     v.Extends,
		Respondents: b.Respondents,
		Domains:     append([]Domain(nil), b.Domains...),
		Growth:      b.Growth,
		Parameters:  map[string]Parameter{},
		ChoiceSets:  map[string]ChoiceSet{},
		DomainRules: map[string]RuleList{},
		root:        v.root,
	}
	if v.ID == "" && v.Version == "" {
		// A file holding only extends is the base unchanged.
		m.ID, m.Version = b.ID, b.Version
	}
	if v.Title != "" {
		m.Title = v.Title
	}
	if v.Description != "" {
		m.Description = v.Description
	}
	m.Languages = append([]string(nil), b.Languages...)
	for _, l := range v.Languages {
		if !contains(m.Languages, l) {
			m.Languages = append(m.Languages, l)
		}
	}
	for k, p := range b.Parameters {
		m.Parameters[k] = p
	}
	for k, p := range v.Parameters {
		m.Parameters[k] = p
	}
	for k, cs := range b.ChoiceSets {
		m.ChoiceSets[k] = cs
	}
	for _, k := range sortedKeys(v.ChoiceSets) {
		cs := v.ChoiceSets[k]
		if first, ok := b.ChoiceSets[k]; ok {
			ps.add(cs.Pos, "choice set %q is already defined in the base (%s): a variant adds choice sets, it does not copy them", k, first.Pos)
			continue
		}
		m.ChoiceSets[k] = cs
	}
	baseItems := map[string]Pos{}
	for _, it := range b.Items {
		baseItems[it.ID] = it.Pos
		m.Items = append(m.Items, it)
	}
	for _, it := range v.Items {
		if first, ok := baseItems[it.ID]; ok {
			ps.add(it.Pos, "item %q is already defined in the base (%s): a variant adds items, it does not copy them", it.ID, first)
			continue
		}
		m.Items = append(m.Items, it)
	}
	baseScales := map[string]Pos{}
	for _, s := range b.Scales {
		baseScales[s.ID] = s.Pos
		m.Scales = append(m.Scales, s)
	}
	for _, s := range v.Scales {
		if first, ok := baseScales[s.ID]; ok {
			ps.add(s.Pos, "scale %q is already defined in the base (%s)", s.ID, first)
			continue
		}
		m.Scales = append(m.Scales, s)
	}
	baseFlags := map[string]Pos{}
	for _, f := range b.RedFlags {
		baseFlags[f.Code] = f.Pos
		m.RedFlags = append(m.RedFlags, f)
	}
	for _, f := range v.RedFlags {
		if first, ok := baseFlags[f.Code]; ok {
			ps.add(f.Pos, "red flag %q is already defined in the base (%s): to send its referral to another service type, use red_flag_services", f.Code, first)
			continue
		}
		m.RedFlags = append(m.RedFlags, f)
	}
	rerouteFlags(m, b, v, ps)
	for dom, rl := range b.DomainRules {
		m.DomainRules[dom] = rl
	}
	for dom, rl := range v.ReplaceDomainRules {
		m.DomainRules[dom] = rl
	}
	for dom, added := range v.DomainRules {
		if _, replaced := v.ReplaceDomainRules[dom]; replaced {
			ps.add(v.posIn("domain_rules", dom), "domain %q has both domain_rules and replace_domain_rules: use one", dom)
			continue
		}
		// A variant's rule goes before the base's rules of the same level:
		// the site's more specific reason wins among equal levels.
		var merged RuleList
		for _, lv := range levels {
			for _, r := range added {
				if r.Level == lv {
					merged = append(merged, r)
				}
			}
			for _, r := range m.DomainRules[dom] {
				if r.Level == lv {
					merged = append(merged, r)
				}
			}
		}
		m.DomainRules[dom] = merged
	}
	applyLabels(m, v.Labels, ps)
	return m
}

// rerouteFlags applies a variant's red_flag_services: a site may send a
// base flag's urgent referral to another of its service types (say, the
// ward-based outreach team where the clinic visits once a month). A
// notify-only flag makes no referral, so it cannot be given one.
func rerouteFlags(m, b, v *Definition, ps *problems) {
	for _, code := range sortedKeys(v.RedFlagServices) {
		at := v.posIn("red_flag_services", code)
		idx := -1
		for i := range b.RedFlags {
			if b.RedFlags[i].Code == code {
				idx = i
			}
		}
		switch {
		case idx < 0 && flagDefined(v.RedFlags, code):
			ps.add(at, "red_flag_services: %q is this variant's own red flag: write service_type on the flag itself", code)
		case idx < 0:
			codes := make([]string, 0, len(b.RedFlags))
			for _, f := range b.RedFlags {
				codes = append(codes, f.Code)
			}
			ps.add(at, "red_flag_services: the base has no red flag %q (its flags: %s)", code, strings.Join(codes, ", "))
		case b.RedFlags[idx].NotifyOnly:
			ps.add(at, "red_flag_services: red flag %q is notify_only (the safeguarding social worker is prompted, no referral is made): it cannot be given a service type", code)
		default:
			// The base's flags come first in m, in the same order.
			m.RedFlags[idx].ServiceType = v.RedFlagServices[code]
			m.RedFlags[idx].ServiceAt = at
		}
	}
}

func flagDefined(flags []RedFlag, code string) bool {
	for _, f := range flags {
		if f.Code == code {
			return true
		}
	}
	return false
}

// applyLabels copies a variant's translations onto the merged definition.
func applyLabels(m *Definition, t *Translations, ps *problems) {
	if t == nil {
		return
	}
	at := t.Pos
	for _, id := range sortedKeys(t.Items) {
		idx := -1
		for i := range m.Items {
			if m.Items[i].ID == id {
				idx = i
			}
		}
		if idx < 0 {
			ps.add(at, "labels.items: unknown item %q", id)
			continue
		}
		lbl := Text{}
		for k, s := range m.Items[idx].Label {
			lbl[k] = s
		}
		for k, s := range t.Items[id] {
			lbl[k] = s
		}
		m.Items[idx].Label = lbl
	}
	for _, id := range sortedKeys(t.Domains) {
		idx := -1
		for i := range m.Domains {
			if m.Domains[i].ID == id {
				idx = i
			}
		}
		if idx < 0 {
			ps.add(at, "labels.domains: unknown domain %q", id)
			continue
		}
		lbl := Text{}
		for k, s := range m.Domains[idx].Label {
			lbl[k] = s
		}
		for k, s := range t.Domains[id] {
			lbl[k] = s
		}
		m.Domains[idx].Label = lbl
	}
	for _, set := range sortedKeys(t.ChoiceSets) {
		cs, ok := m.ChoiceSets[set]
		if !ok {
			ps.add(at, "labels.choice_sets: unknown choice set %q", set)
			continue
		}
		choices := make([]Choice, len(cs.Choices))
		copy(choices, cs.Choices)
		for _, val := range sortedKeys(t.ChoiceSets[set]) {
			found := false
			for i := range choices {
				if valueKey(choices[i].Value) == val {
					found = true
					lbl := Text{}
					for k, s := range choices[i].Label {
						lbl[k] = s
					}
					for k, s := range t.ChoiceSets[set][val] {
						lbl[k] = s
					}
					choices[i].Label = lbl
				}
			}
			if !found {
				ps.add(at, "labels.choice_sets.%s: no choice with value %q", set, val)
			}
		}
		cs.Choices = choices
		m.ChoiceSets[set] = cs
	}
}

// checkLabelLangs requires every label a definition writes to be in one of
// the effective instrument's languages.
func checkLabelLangs(d *Definition, langs []string, ps *problems) {
	m := &Definition{Languages: langs}
	for _, dm := range d.Domains {
		checkLangs(m, dm.Label, dm.Pos, "domain "+dm.ID+" label", ps)
	}
	for _, name := range sortedKeys(d.ChoiceSets) {
		for _, c := range d.ChoiceSets[name].Choices {
			checkLangs(m, c.Label, d.ChoiceSets[name].Pos, "choice set "+name, ps)
		}
	}
	for _, it := range d.Items {
		checkLangs(m, it.Label, it.Pos, "item "+it.ID+" label", ps)
		checkLangs(m, it.Help, it.Pos, "item "+it.ID+" help", ps)
		for _, c := range it.Choices {
			checkLangs(m, c.Label, it.Pos, "item "+it.ID, ps)
		}
	}
	if t := d.Labels; t != nil {
		for _, id := range sortedKeys(t.Items) {
			checkLangs(m, t.Items[id], t.Pos, "labels.items."+id, ps)
		}
		for _, id := range sortedKeys(t.Domains) {
			checkLangs(m, t.Domains[id], t.Pos, "labels.domains."+id, ps)
		}
		for _, set := range sortedKeys(t.ChoiceSets) {
			for _, v := range sortedKeys(t.ChoiceSets[set]) {
				checkLangs(m, t.ChoiceSets[set][v], t.Pos, "labels.choice_sets."+set, ps)
			}
		}
	}
}

// valueKey renders a choice value as written in labels.choice_sets keys.
func valueKey(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprint(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func checkLangs(m *Definition, t Text, at Pos, what string, ps *problems) {
	for _, l := range sortedKeys(t) {
		if !langPattern.MatchString(l) {
			continue // reported by the schema
		}
		if !contains(m.Languages, l) {
			ps.add(at, "%s: language %q is not one of the instrument's languages (%s)", what, l, strings.Join(m.Languages, ", "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checker checks a merged definition and fills the instrument.
type checker struct {
	m  *Definition
	in *Instrument
	ps *problems
}

func (c *checker) defaultLang() string {
	if len(c.m.Languages) == 0 {
		return ""
	}
	return c.m.Languages[0]
}

func (c *checker) checkItems() {
	m, in, ps := c.m, c.in, c.ps
	domains := map[string]bool{}
	for _, d := range m.Domains {
		domains[d.ID] = true
		if d.Label[c.defaultLang()] == "" && c.defaultLang() != "" && d.Label != nil {
			ps.add(d.Pos, "domain %q has no label in the default language %q", d.ID, c.defaultLang())
		}
	}
	for _, name := range sortedKeys(m.ChoiceSets) {
		cs := m.ChoiceSets[name]
		c.checkChoices(cs.Choices, cs.Pos, "choice set "+name)
	}
	seen := map[string]bool{}
	for i := range m.Items {
		it := m.Items[i] // copy: choices are resolved on the instrument's copy
		if it.ID == "" || seen[it.ID] {
			continue // reported by the schema or as a duplicate
		}
		seen[it.ID] = true
		at := it.Pos
		if celReserved[it.ID] {
			ps.add(at, "item %q: the id is a reserved word in CEL: choose another", it.ID)
		}
		if it.Respondent != "" && !contains(m.Respondents, it.Respondent) {
			ps.add(at, "item %q: unknown respondent %q (respondents: %s)", it.ID, it.Respondent, strings.Join(m.Respondents, ", "))
		}
		if it.Domain != "" && !domains[it.Domain] {
			ps.add(at, "item %q: unknown domain %q", it.ID, it.Domain)
		}
		if it.Label != nil && c.defaultLang() != "" && it.Label[c.defaultLang()] == "" {
			ps.add(at, "item %q has no label in the default language %q", it.ID, c.defaultLang())
		}
		numeric := it.Type == TypeNumber || it.Type == TypeMeasurement
		if it.Type != TypeChoice && (it.ChoiceSet != "" || it.Choices != nil) {
			ps.add(at, "item %q: choices are only for choice items, not %s", it.ID, it.Type)
		}
		if !numeric && (it.Min != nil || it.Max != nil || it.Unit != "") {
			ps.add(at, "item %q: unit, min and max are only for number and measurement items, not %s", it.ID, it.Type)
		}
		if it.Integer && it.Type != TypeNumber {
			ps.add(at, "item %q: integer is only for number items", it.ID)
		}
		switch it.Type {
		case TypeChoice:
			if it.ChoiceSet != "" {
				cs, ok := m.ChoiceSets[it.ChoiceSet]
				if !ok {
					ps.add(at, "item %q: unknown choice set %q", it.ID, it.ChoiceSet)
				}
				it.Choices = cs.Choices
			} else if it.Choices != nil {
				c.checkChoices(it.Choices, at, "item "+it.ID)
			}
			if it.Declinable {
				for _, ch := range it.Choices {
					if ch.Value == Declined {
						ps.add(at, "item %q: a declinable item cannot also have a choice %q: the two answers would be the same", it.ID, Declined)
					}
				}
			}
		case TypeNumber, TypeMeasurement:
			if it.Min != nil && it.Max != nil && *it.Min > *it.Max {
				ps.add(at, "item %q: min %v is greater than max %v", it.ID, *it.Min, *it.Max)
			}
			if it.Integer && ((it.Min != nil && !isWhole(*it.Min)) || (it.Max != nil && !isWhole(*it.Max))) {
				ps.add(at, "item %q: an integer item needs whole min and max", it.ID)
			}
		}
		in.itemIdx[it.ID] = len(in.items)
		in.items = append(in.items, &it)
	}
}

// checkChoices checks one list of choices.
func (c *checker) checkChoices(cs []Choice, at Pos, what string) {
	seen := map[string]bool{}
	for _, ch := range cs {
		k := fmt.Sprintf("%T:%v", ch.Value, ch.Value)
		if seen[k] {
			c.ps.add(at, "%s: value %v is listed twice", what, ch.Value)
		}
		seen[k] = true
		if ch.Label != nil && c.defaultLang() != "" && ch.Label[c.defaultLang()] == "" {
			c.ps.add(at, "%s: choice %v has no label in the default language %q", what, ch.Value, c.defaultLang())
		}
	}
	if choiceKind(cs) == "mixed" && len(cs) > 0 {
		c.ps.add(at, "%s: values must all be numbers or all be codes", what)
	}
}

// itemRange is an item's numeric range for scoring, and whether it only
// takes whole values.
func itemRange(it *Item) (lo, hi float64, whole, ok bool) {
	switch it.Type {
	case TypeChoice:
		k := choiceKind(it.Choices)
		if k != "int" && k != "double" {
			return 0, 0, false, false
		}
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, ch := range it.Choices {
			if f, ok := ch.Value.(float64); ok {
				lo, hi = math.Min(lo, f), math.Max(hi, f)
			}
		}
		return lo, hi, k == "int", true
	case TypeNumber, TypeMeasurement:
		if it.Min == nil || it.Max == nil {
			return 0, 0, false, false
		}
		return *it.Min, *it.Max, it.Integer, true
	}
	return 0, 0, false, false
}

func (c *checker) checkScales() {
	m, in, ps := c.m, c.in, c.ps
	for i := range m.Scales {
		s := m.Scales[i]
		if s.ID == "" {
			continue
		}
		if _, dup := in.scaleIdx[s.ID]; dup {
			continue
		}
		cs := &compiledScale{Scale: s, method: s.Method}
		if cs.method == "" {
			cs.method = "sum"
		}
		ok := true
		switch {
		case len(s.Items) > 0 && len(s.SumOf) > 0:
			ps.add(s.Pos, "scale %q: give either items or sum_of, not both", s.ID)
			ok = false
		case len(s.Items) == 0 && len(s.SumOf) == 0:
			ps.add(s.Pos, "scale %q: needs items or sum_of", s.ID)
			ok = false
		case len(s.SumOf) > 0:
			if s.Method != "" || s.Prorate != nil || len(s.Reverse) > 0 {
				ps.add(s.Pos, "scale %q: method, reverse and prorate apply to items, not to sum_of", s.ID)
			}
			cs.whole = true
			for _, part := range s.SumOf {
				j, found := in.scaleIdx[part]
				if !found {
					ps.add(s.Pos, "scale %q: sum_of names %q, which is not a scale defined before it", s.ID, part)
					ok = false
					continue
				}
				p := in.scales[j]
				cs.parts = append(cs.parts, j)
				cs.lo += p.lo
				cs.hi += p.hi
				cs.whole = cs.whole && p.whole
			}
		default:
			cs.whole = cs.method == "sum"
			for _, id := range s.Items {
				j, found := in.itemIdx[id]
				if !found {
					ps.add(s.Pos, "scale %q: unknown item %q", s.ID, id)
					ok = false
					continue
				}
				it := in.items[j]
				lo, hi, whole, numeric := itemRange(it)
				if !numeric {
					ps.add(s.Pos, "scale %q: item %q is not numeric (a %s item)", s.ID, id, it.Type)
					ok = false
					continue
				}
				cs.items = append(cs.items, scaleItem{idx: j, lo: lo, hi: hi})
				cs.lo += lo
				cs.hi += hi
				cs.whole = cs.whole && whole
			}
			for _, id := range s.Reverse {
				if !contains(s.Items, id) {
					ps.add(s.Pos, "scale %q: reverse names %q, which is not one of its items", s.ID, id)
					ok = false
				}
			}
			for k := range cs.items {
				cs.items[k].reverse = contains(s.Reverse, in.items[cs.items[k].idx].ID)
			}
			if s.Prorate != nil && s.Prorate.MaxMissing >= len(s.Items) {
				ps.add(s.Pos, "scale %q: prorate.max_missing must be less than its %d items", s.ID, len(s.Items))
			}
			if cs.method == "mean" && len(cs.items) > 0 {
				cs.lo /= float64(len(cs.items))
				cs.hi /= float64(len(cs.items))
			}
		}
		if ok {
			c.checkBands(cs)
		}
		in.scaleIdx[s.ID] = len(in.scales)
		in.scales = append(in.scales, cs)
	}
}

// checkBands requires the bands to cover the scale's range exactly.
func (c *checker) checkBands(cs *compiledScale) {
	if len(cs.Bands) == 0 {
		return
	}
	ps, id := c.ps, cs.ID
	names := map[string]bool{}
	bands := append([]Band(nil), cs.Bands...)
	for _, b := range bands {
		if names[b.Name] {
			ps.add(b.Pos, "scale %q: band %q is listed twice", id, b.Name)
		}
		names[b.Name] = true
		if b.Min > b.Max {
			ps.add(b.Pos, "scale %q: band %q has min %v above max %v", id, b.Name, b.Min, b.Max)
		}
		if cs.whole && (!isWhole(b.Min) || !isWhole(b.Max)) {
			ps.add(b.Pos, "scale %q: band %q: scores are whole numbers, so min and max must be too", id, b.Name)
		}
	}
	sort.SliceStable(bands, func(i, j int) bool { return bands[i].Min < bands[j].Min })
	step := 0.0
	if cs.whole {
		step = 1
	}
	if first := bands[0]; first.Min > cs.lo {
		ps.add(first.Pos, "scale %q: bands leave a gap: scores from %v up to band %q (min %v) are in no band", id, cs.lo, first.Name, first.Min)
	} else if first.Min < cs.lo {
		ps.add(first.Pos, "scale %q: band %q starts at %v, below the lowest possible score %v", id, first.Name, first.Min, cs.lo)
	}
	for i := 1; i < len(bands); i++ {
		prev, cur := bands[i-1], bands[i]
		want := prev.Max + step
		switch {
		case cur.Min > want:
			ps.add(cur.Pos, "scale %q: bands leave a gap between %q (max %v) and %q (min %v)", id, prev.Name, prev.Max, cur.Name, cur.Min)
		case cur.Min < want:
			ps.add(cur.Pos, "scale %q: bands %q (max %v) and %q (min %v) overlap", id, prev.Name, prev.Max, cur.Name, cur.Min)
		}
	}
	if last := bands[len(bands)-1]; last.Max < cs.hi {
		ps.add(last.Pos, "scale %q: bands leave a gap: scores above %v (band %q) up to %v are in no band", id, last.Max, last.Name, cs.hi)
	} else if last.Max > cs.hi {
		ps.add(last.Pos, "scale %q: band %q ends at %v, above the highest possible score %v", id, last.Name, last.Max, cs.hi)
	}
}

func (c *checker) checkGrowth() {
	g := c.m.Growth
	if g == nil {
		return
	}
	for _, f := range []struct{ key, id, unit string }{{"weight", g.Weight, "kg"}, {"height", g.Height, "cm"}} {
		if f.id == "" {
			continue
		}
		j, ok := c.in.itemIdx[f.id]
		if !ok {
			c.ps.add(g.Pos, "growth.%s: unknown item %q", f.key, f.id)
			continue
		}
		it := c.in.items[j]
		if it.Type != TypeMeasurement && it.Type != TypeNumber {
			c.ps.add(g.Pos, "growth.%s: item %q must be a measurement, not %s", f.key, f.id, it.Type)
		}
		if it.Unit != f.unit {
			c.ps.add(g.Pos, "growth.%s: item %q must be in %s, not %q", f.key, f.id, f.unit, it.Unit)
		}
	}
}

// compileAll compiles show_if conditions, domain rules and red flags.
func (c *checker) compileAll() {
	m, in, ps := c.m, c.in, c.ps
	envs, err := newEnvs(in.items, sortedKeys(in.params))
	if err != nil {
		ps.add(Pos{File: m.File, Line: 1}, "%v", err)
		return
	}
	for j, it := range in.items {
		if it.ShowIf.Src == "" {
			continue
		}
		what := fmt.Sprintf("item %s show_if", it.ID)
		prg, ast := compile(envs.showIf, it.ShowIf, what, ps)
		if prg == nil {
			continue
		}
		for _, ref := range answerRefs(ast) {
			k, ok := in.itemIdx[ref]
			switch {
			case !ok:
				ps.add(it.ShowIf.Pos, "%s: refers to unknown item %q", what, ref)
			case k == j:
				ps.add(it.ShowIf.Pos, "%s: refers to the item itself", what)
			case k > j:
				ps.add(it.ShowIf.Pos, "%s: refers to %q, which comes later: skip logic may only read earlier items", what, ref)
			case in.items[k].Respondent != it.Respondent:
				ps.add(it.ShowIf.Pos, "%s: refers to %q, answered by the %s: skip logic may only read the same respondent's items", what, ref, in.items[k].Respondent)
			}
		}
		in.showIf[it.ID] = prg
	}
	domains := map[string]bool{}
	for _, d := range m.Domains {
		domains[d.ID] = true
		if len(m.DomainRules[d.ID]) == 0 {
			ps.add(d.Pos, "domain %q has no rules: add domain_rules.%s", d.ID, d.ID)
		}
	}
	for _, dom := range sortedKeys(m.DomainRules) {
		if !domains[dom] {
			var at Pos
			if rl := m.DomainRules[dom]; len(rl) > 0 {
				at = rl[0].Pos
				at.Line--
			}
			ps.add(at, "domain_rules: unknown domain %q", dom)
			continue
		}
		for _, r := range m.DomainRules[dom] {
			what := fmt.Sprintf("domain_rules.%s[%d] (%s)", dom, r.index, r.Level)
			prg, ast := compile(envs.rules, r.When, what, ps)
			if prg == nil {
				continue
			}
			c.checkScaleRefs(ast, r.When.Pos, what)
			in.rules[dom] = append(in.rules[dom], &compiledRule{Rule: r, prg: prg})
		}
	}
	for i, f := range m.RedFlags {
		what := fmt.Sprintf("red_flags[%d] (%s)", i, f.Code)
		if f.Domain != "" && !domains[f.Domain] {
			ps.add(f.Pos, "red flag %q: unknown domain %q", f.Code, f.Domain)
		}
		prg, ast := compile(envs.rules, f.When, what, ps)
		if prg == nil {
			continue
		}
		c.checkScaleRefs(ast, f.When.Pos, what)
		in.flags = append(in.flags, &compiledFlag{RedFlag: f, prg: prg})
	}
	for _, it := range in.items {
		if it.Domain != "" {
			in.domainItems[it.Domain] = append(in.domainItems[it.Domain], it.ID)
		}
	}
}

func (c *checker) checkScaleRefs(a *celast.AST, at Pos, what string) {
	for _, r := range scaleRefs(a) {
		j, ok := c.in.scaleIdx[r.id]
		if !ok {
			c.ps.add(at, "%s: unknown scale %q", what, r.id)
			continue
		}
		s := c.in.scales[j]
		for _, b := range r.bands {
			found := false
			for _, sb := range s.Bands {
				found = found || sb.Name == b
			}
			if !found {
				names := make([]string, 0, len(s.Bands))
				for _, sb := range s.Bands {
					names = append(names, sb.Name)
				}
				c.ps.add(at, "%s: scale %q has no band %q (bands: %s)", what, r.id, b, strings.Join(names, ", "))
			}
		}
	}
}
