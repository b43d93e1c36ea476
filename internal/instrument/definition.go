package instrument

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Definition is one instrument file as written: a base instrument, or a site
// variant (Extends set) that the loader merges onto its base. The field
// comments summarise instruments/instrument.schema.json, which is the
// reference for the format.
type Definition struct {
	// File is the name the definition was parsed under, used in problems.
	File string `yaml:"-"`
	// ID identifies the instrument, e.g. "cwtt" or "cwtt-moutse".
	ID string `yaml:"id"`
	// Version is the semantic version recorded with every score.
	Version string `yaml:"version"`
	// Title is the instrument's human-readable name.
	Title string `yaml:"title"`
	// Description holds authors' notes.
	Description string `yaml:"description"`
	// Extends names the base of a variant: "<id>" or "<id>@<major>".
	Extends string `yaml:"extends"`
	// Languages lists the label languages; the first of the base is the default.
	Languages []string `yaml:"languages"`
	// Respondents lists who answers items (base only).
	Respondents []string `yaml:"respondents"`
	// Domains lists the domains given a risk level (base only).
	Domains []Domain `yaml:"domains"`
	// Parameters are named thresholds read by rules as params.NAME.
	Parameters map[string]Parameter `yaml:"parameters"`
	// ChoiceSets are named answer options shared by choice items.
	ChoiceSets map[string]ChoiceSet `yaml:"choice_sets"`
	// Items are the questions in form order.
	Items []Item `yaml:"items"`
	// Scales are the scores computed from items or other scales.
	Scales []Scale `yaml:"scales"`
	// Growth names the weight and height items (base only).
	Growth *GrowthItems `yaml:"growth"`
	// DomainRules are ordered rules per domain.
	DomainRules map[string]RuleList `yaml:"domain_rules"`
	// ReplaceDomainRules replaces the base's rules of a domain (variants only).
	ReplaceDomainRules map[string]RuleList `yaml:"replace_domain_rules"`
	// RedFlags open the safeguarding fast path.
	RedFlags []RedFlag `yaml:"red_flags"`
	// RedFlagServices re-routes base red flags to a site's service type,
	// by flag code (variants only).
	RedFlagServices map[string]string `yaml:"red_flag_services"`
	// Labels adds translations of the base's wording (variants only).
	Labels *Translations `yaml:"labels"`

	root *yaml.Node
}

// Domain is a domain a child receives a risk level in.
type Domain struct {
	ID          string `yaml:"id" json:"id"`
	Label       Text   `yaml:"label" json:"label"`
	Description string `yaml:"description" json:"description,omitempty"`
	Pos         `yaml:"-" json:"-"`
}

// UnmarshalYAML records the domain's line.
func (d *Domain) UnmarshalYAML(n *yaml.Node) error {
	type plain Domain
	d.Line = n.Line
	return n.Decode((*plain)(d))
}

// Parameter is a named numeric threshold.
type Parameter struct {
	Value       float64 `yaml:"value" json:"value"`
	Description string  `yaml:"description" json:"description,omitempty"`
	Pos         `yaml:"-" json:"-"`
}

// UnmarshalYAML accepts a bare number or {value, description}.
func (p *Parameter) UnmarshalYAML(n *yaml.Node) error {
	p.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&p.Value)
	}
	type plain Parameter
	return n.Decode((*plain)(p))
}

// Text is wording by language code.
type Text map[string]string

// In returns the wording in lang, else in fallback, else "".
func (t Text) In(lang, fallback string) string {
	if s, ok := t[lang]; ok {
		return s
	}
	return t[fallback]
}

// Choice is one answer option of a choice item. Value is a float64 (scored
// options) or a string code.
type Choice struct {
	Value any  `yaml:"value" json:"value"`
	Label Text `yaml:"label" json:"label"`
}

// UnmarshalYAML stores numeric values as float64, as JSON answers arrive.
func (c *Choice) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Value yaml.Node `yaml:"value"`
		Label Text      `yaml:"label"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	c.Label = raw.Label
	v, err := scalarValue(&raw.Value)
	if err != nil {
		return err
	}
	c.Value = v
	return nil
}

// scalarValue decodes a number to float64 and anything else to string.
func scalarValue(n *yaml.Node) (any, error) {
	if n.Kind != yaml.ScalarNode {
		if n.Kind == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("line %d: choice value must be a number or a string", n.Line)
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		return f, nil
	}
	return n.Value, nil
}

// ChoiceSet is a named list of answer options.
type ChoiceSet struct {
	Choices []Choice
	Pos
}

// UnmarshalYAML decodes the list and records its line.
func (cs *ChoiceSet) UnmarshalYAML(n *yaml.Node) error {
	cs.Line = n.Line
	return n.Decode(&cs.Choices)
}

// ItemType is the kind of answer an item takes.
type ItemType string

// The item types.
const (
	TypeChoice      ItemType = "choice"
	TypeNumber      ItemType = "number"
	TypeYesNo       ItemType = "yesno"
	TypeDate        ItemType = "date"
	TypeMeasurement ItemType = "measurement"
)

// DateLayout is how date answers are written.
const DateLayout = "2006-01-02"

// Declined is the answer a declinable item takes when the respondent chose
// not to answer it. It is kept in the saved answers as given.
const Declined = "declined"

// Item is one question. In an [Instrument] (see [Instrument.ItemsFor])
// Choices are resolved from the named set.
type Item struct {
	ID         string   `yaml:"id" json:"id"`
	Respondent string   `yaml:"respondent" json:"respondent"`
	Domain     string   `yaml:"domain" json:"domain"`
	Type       ItemType `yaml:"type" json:"type"`
	// ChoiceSet names the set the choices come from ("" when inline).
	ChoiceSet string   `yaml:"-" json:"choice_set,omitempty"`
	Choices   []Choice `yaml:"-" json:"choices,omitempty"`
	Unit      string   `yaml:"unit" json:"unit,omitempty"`
	Min       *float64 `yaml:"min" json:"min,omitempty"`
	Max       *float64 `yaml:"max" json:"max,omitempty"`
	Integer   bool     `yaml:"integer" json:"integer,omitempty"`
	Required  bool     `yaml:"required" json:"required,omitempty"`
	// Declinable items also take the answer [Declined]: the respondent
	// chose not to answer. It counts as unanswered for scoring, satisfies
	// required, and rules see it as declined.ID.
	Declinable bool `yaml:"declinable" json:"declinable,omitempty"`
	ShowIf     Expr `yaml:"show_if" json:"show_if,omitzero"`
	Label      Text `yaml:"label" json:"label"`
	Help       Text `yaml:"help" json:"help,omitempty"`
	Pos        `yaml:"-" json:"-"`
}

// UnmarshalYAML reads choices given as a set name or inline.
func (it *Item) UnmarshalYAML(n *yaml.Node) error {
	type plain Item
	var raw struct {
		plain   `yaml:",inline"`
		Choices yaml.Node `yaml:"choices"`
	}
	err := n.Decode(&raw)
	*it = Item(raw.plain)
	it.Line = n.Line
	switch raw.Choices.Kind {
	case yaml.ScalarNode:
		it.ChoiceSet = raw.Choices.Value
	case yaml.SequenceNode:
		if derr := raw.Choices.Decode(&it.Choices); derr != nil && err == nil {
			err = derr
		}
	}
	return err
}

// Expr is a CEL expression and where it was written.
type Expr struct {
	Src string
	Pos
	// block is set for YAML block scalars (| and >), whose text starts on
	// the line after the key.
	block bool
}

// UnmarshalYAML records the expression's position.
func (e *Expr) UnmarshalYAML(n *yaml.Node) error {
	e.Line = n.Line
	e.block = n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	return n.Decode(&e.Src)
}

// MarshalJSON writes the expression as a string.
func (e Expr) MarshalJSON() ([]byte, error) { return json.Marshal(e.Src) }

// String returns the expression's source.
func (e Expr) String() string { return e.Src }

// IsZero reports an absent expression (for omitempty).
func (e Expr) IsZero() bool { return e.Src == "" }

// lineOf maps a 1-based line inside the expression to a line of the file.
func (e Expr) lineOf(exprLine int) int {
	if exprLine < 1 {
		exprLine = 1
	}
	l := e.Line + exprLine - 1
	if e.block {
		l++
	}
	return l
}

// Scale is a score computed from items or from other scales.
type Scale struct {
	ID      string   `yaml:"id" json:"id"`
	Label   Text     `yaml:"label" json:"label,omitempty"`
	Items   []string `yaml:"items" json:"items,omitempty"`
	Method  string   `yaml:"method" json:"method,omitempty"`
	Reverse []string `yaml:"reverse" json:"reverse,omitempty"`
	Prorate *Prorate `yaml:"prorate" json:"prorate,omitempty"`
	SumOf   []string `yaml:"sum_of" json:"sum_of,omitempty"`
	Bands   []Band   `yaml:"bands" json:"bands,omitempty"`
	Pos     `yaml:"-" json:"-"`
}

// UnmarshalYAML records the scale's line.
func (s *Scale) UnmarshalYAML(n *yaml.Node) error {
	type plain Scale
	s.Line = n.Line
	return n.Decode((*plain)(s))
}

// Prorate allows a scale to be scored with up to MaxMissing items unanswered.
type Prorate struct {
	MaxMissing int `yaml:"max_missing" json:"max_missing"`
}

// Band is a named score range of a scale.
type Band struct {
	Name string  `yaml:"name" json:"name"`
	Min  float64 `yaml:"min" json:"min"`
	Max  float64 `yaml:"max" json:"max"`
	Pos  `yaml:"-" json:"-"`
}

// UnmarshalYAML records the band's line.
func (b *Band) UnmarshalYAML(n *yaml.Node) error {
	type plain Band
	b.Line = n.Line
	return n.Decode((*plain)(b))
}

// GrowthItems names the items holding the nurse's measurements.
type GrowthItems struct {
	Weight string `yaml:"weight" json:"weight"`
	Height string `yaml:"height" json:"height"`
	Pos    `yaml:"-" json:"-"`
}

// UnmarshalYAML records the section's line.
func (g *GrowthItems) UnmarshalYAML(n *yaml.Node) error {
	type plain GrowthItems
	g.Line = n.Line
	return n.Decode((*plain)(g))
}

// Risk levels of a domain.
const (
	LevelHigh        = "high"
	LevelModerate    = "moderate"
	LevelLow         = "low"
	LevelNotAssessed = "not_assessed"
)

// levelRank orders levels for comparisons; 0 means not comparable.
func levelRank(level string) int {
	switch level {
	case LevelHigh:
		return 3
	case LevelModerate:
		return 2
	case LevelLow:
		return 1
	}
	return 0
}

// Rule gives a domain a level when its condition holds.
type Rule struct {
	Level  string `yaml:"level" json:"level"`
	When   Expr   `yaml:"when" json:"when"`
	Reason string `yaml:"reason" json:"reason"`
	// ServiceType is the site service type suggested for the plan when
	// this rule sets the domain's level ("" when none is suggested).
	ServiceType string `yaml:"service_type" json:"service_type,omitempty"`
	Pos         `yaml:"-" json:"-"`

	index int // position in its file's list, for messages
}

// UnmarshalYAML records the rule's line.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	type plain Rule
	r.Line = n.Line
	return n.Decode((*plain)(r))
}

// RuleList is a domain's ordered rules.
type RuleList []Rule

// RedFlag is a condition that opens the safeguarding fast path: the
// designated social worker is told at once and, unless NotifyOnly, an urgent
// referral goes to a service of ServiceType serving the child's school.
type RedFlag struct {
	Code   string `yaml:"code" json:"code"`
	Domain string `yaml:"domain" json:"domain"`
	When   Expr   `yaml:"when" json:"when"`
	Reason string `yaml:"reason" json:"reason"`
	// ServiceType is the site service type the urgent referral goes to
	// (e.g. social_development, clinic); "" exactly when NotifyOnly.
	ServiceType string `yaml:"service_type" json:"service_type,omitempty"`
	// NotifyOnly flags only prompt the safeguarding social worker: no
	// referral is made and the flag does not set its domain's level (a
	// declined item is not evidence of harm; the domain's rules decide).
	NotifyOnly bool `yaml:"notify_only" json:"notify_only,omitempty"`
	Pos        `yaml:"-" json:"-"`
	// ServiceAt is where ServiceType was written: the flag itself, or the
	// variant's red_flag_services entry that re-routed it.
	ServiceAt Pos `yaml:"-" json:"-"`
}

// UnmarshalYAML records the flag's line.
func (f *RedFlag) UnmarshalYAML(n *yaml.Node) error {
	type plain RedFlag
	f.Line = n.Line
	return n.Decode((*plain)(f))
}

// Translations adds labels in further languages to a base's wording.
type Translations struct {
	Items      map[string]Text            `yaml:"items"`
	Domains    map[string]Text            `yaml:"domains"`
	ChoiceSets map[string]map[string]Text `yaml:"choice_sets"`
	Pos        `yaml:"-"`
}

// UnmarshalYAML records the section's line.
func (t *Translations) UnmarshalYAML(n *yaml.Node) error {
	type plain Translations
	t.Line = n.Line
	return n.Decode((*plain)(t))
}

// IsVariant reports whether the definition extends a base.
func (d *Definition) IsVariant() bool { return d.Extends != "" }

// Parse reads one instrument definition. It checks the file against the
// JSON Schema and, for a base instrument, everything else [Load] checks
// (references, bands, CEL); a variant is fully checked only when [Load]
// merges it onto its base. The error is a *LoadError listing every problem
// as file:line: reason.
func Parse(name string, data []byte) (*Definition, error) {
	d, ps := parse(name, data)
	if d.root != nil && !d.IsVariant() {
		_, err := build(nil, d)
		ps.merge(err)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return d, nil
}

// parse decodes and schema-checks one file without building it.
func parse(name string, data []byte) (*Definition, *problems) {
	ps := &problems{}
	d := &Definition{File: name}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlErrLine(err), yamlErrMessage(err)
		if yamlParserProblems[msg] {
			// yaml.v3 reports parser (not scanner) errors with a 0-based line.
			line++
		}
		ps.add(Pos{File: name, Line: line}, "%s", msg)
		return d, ps
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		ps.add(Pos{File: name, Line: 1}, "empty instrument definition")
		return d, ps
	}
	d.root = &root
	doc := toJSONValue(&root, func(k *yaml.Node) {
		ps.add(Pos{File: name, Line: k.Line}, "key %q is defined twice", k.Value)
	})
	schemaProblems(name, &root, doc, ps)
	schemaFailed := !ps.empty()
	if err := root.Decode(d); err != nil && !schemaFailed {
		// The schema catches wrong shapes with better messages; this is a
		// safety net for anything it lets through.
		if te, ok := err.(*yaml.TypeError); ok {
			for _, msg := range te.Errors {
				ps.add(Pos{File: name, Line: yamlErrLine(fmt.Errorf("%s", msg))}, "%s", yamlErrMessage(fmt.Errorf("%s", msg)))
			}
		} else {
			ps.add(Pos{File: name, Line: yamlErrLine(err)}, "%s", yamlErrMessage(err))
		}
	}
	d.File = name
	d.setFile(name)
	d.checkLocal(ps)
	return d, ps
}

// setFile stamps the file name on every element's position.
func (d *Definition) setFile(name string) {
	for i := range d.Domains {
		d.Domains[i].File = name
	}
	for k, p := range d.Parameters {
		p.File = name
		d.Parameters[k] = p
	}
	for k, cs := range d.ChoiceSets {
		cs.File = name
		d.ChoiceSets[k] = cs
	}
	for i := range d.Items {
		d.Items[i].File = name
		d.Items[i].ShowIf.File = name
	}
	for i := range d.Scales {
		d.Scales[i].File = name
		for j := range d.Scales[i].Bands {
			d.Scales[i].Bands[j].File = name
		}
	}
	if d.Growth != nil {
		d.Growth.File = name
	}
	for _, rules := range []map[string]RuleList{d.DomainRules, d.ReplaceDomainRules} {
		for _, rl := range rules {
			for i := range rl {
				rl[i].File = name
				rl[i].When.File = name
				rl[i].index = i
			}
		}
	}
	for i := range d.RedFlags {
		d.RedFlags[i].File = name
		d.RedFlags[i].When.File = name
		d.RedFlags[i].ServiceAt = d.RedFlags[i].Pos
	}
	if d.Labels != nil {
		d.Labels.File = name
	}
}

// pos returns the position of a top-level key (or line 1).
func (d *Definition) pos(key string) Pos {
	if d.root != nil && len(d.root.Content) > 0 {
		if k := keyNode(d.root.Content[0], key); k != nil {
			return Pos{File: d.File, Line: k.Line}
		}
	}
	return Pos{File: d.File, Line: 1}
}

// posIn returns the position of key inside the top-level mapping section.
func (d *Definition) posIn(section, key string) Pos {
	if d.root != nil {
		if v, _ := nodeAt(d.root, []string{section}); v != nil {
			if k := keyNode(v, key); k != nil {
				return Pos{File: d.File, Line: k.Line}
			}
		}
	}
	return d.pos(section)
}

// checkLocal finds the problems visible in one file alone: duplicate ids and
// codes within the file.
func (d *Definition) checkLocal(ps *problems) {
	seen := map[string]Pos{}
	for _, it := range d.Items {
		if it.ID == "" {
			continue
		}
		if first, ok := seen[it.ID]; ok {
			ps.add(it.Pos, "duplicate item id %q (first defined at line %d)", it.ID, first.Line)
			continue
		}
		seen[it.ID] = it.Pos
	}
	scales := map[string]Pos{}
	for _, s := range d.Scales {
		if first, ok := scales[s.ID]; ok && s.ID != "" {
			ps.add(s.Pos, "duplicate scale id %q (first defined at line %d)", s.ID, first.Line)
			continue
		}
		scales[s.ID] = s.Pos
	}
	flags := map[string]Pos{}
	for _, f := range d.RedFlags {
		if first, ok := flags[f.Code]; ok && f.Code != "" {
			ps.add(f.Pos, "duplicate red flag code %q (first defined at line %d)", f.Code, first.Line)
			continue
		}
		flags[f.Code] = f.Pos
	}
	domains := map[string]Pos{}
	for _, dm := range d.Domains {
		if first, ok := domains[dm.ID]; ok && dm.ID != "" {
			ps.add(dm.Pos, "duplicate domain %q (first defined at line %d)", dm.ID, first.Line)
			continue
		}
		domains[dm.ID] = dm.Pos
	}
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// yamlParserProblems are the messages of yaml.v3's parser errors, whose
// line numbers it reports counting from 0 (scanner errors count from 1).
var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// yamlErrLine extracts "line N" from a yaml.v3 error message.
func yamlErrLine(err error) int {
	msg := err.Error()
	for i := 0; i+5 < len(msg); i++ {
		if msg[i:i+5] == "line " {
			j := i + 5
			for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
				j++
			}
			if n, convErr := strconv.Atoi(msg[i+5 : j]); convErr == nil {
				return n
			}
		}
	}
	return 1
}

// yamlErrMessage drops yaml.v3's "yaml: line N: " prefix.
func yamlErrMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"yaml: unmarshal errors:\n  ", "yaml: "} {
		if len(msg) >= len(p) && msg[:len(p)] == p {
			msg = msg[len(p):]
		}
	}
	if len(msg) > 5 && msg[:5] == "line " {
		for i := 5; i < len(msg); i++ {
			if msg[i] == ':' {
				return trimSpace(msg[i+1:])
			}
		}
	}
	return msg
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\n') {
		s = s[1:]
	}
	return s
}

// isWhole reports whether f is a whole number.
func isWhole(f float64) bool { return !math.IsInf(f, 0) && f == math.Trunc(f) }
