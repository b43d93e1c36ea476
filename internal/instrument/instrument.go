package instrument

import (
	"fmt"
	"strings"
)

// Ref identifies the effective instrument a score was computed with: a
// variant's own id and version, and the base it extends.
type Ref struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Base    *Ref   `json:"base,omitempty"`
}

// String returns "id@version" or "id@version (base id@version)".
func (r Ref) String() string {
	s := r.ID + "@" + r.Version
	if r.Base != nil {
		s += " (base " + r.Base.ID + "@" + r.Base.Version + ")"
	}
	return s
}

// Instrument is a loaded, checked and compiled instrument (a base, or a
// variant merged onto its base). It is read-only and safe for concurrent use.
type Instrument struct {
	ref         Ref
	title       string
	languages   []string
	respondents []string
	domains     []Domain
	params      map[string]float64
	items       []*Item
	itemIdx     map[string]int
	scales      []*compiledScale
	scaleIdx    map[string]int
	growthItems *GrowthItems
	rules       map[string][]*compiledRule
	flags       []*compiledFlag
	showIf      map[string]*program
	domainItems map[string][]string
}

// compiledScale is a scale with its items resolved and its range known.
type compiledScale struct {
	Scale
	method string
	items  []scaleItem
	parts  []int // indices of the scales of sum_of
	lo, hi float64
	whole  bool // scores are whole numbers (integer bands)
}

type scaleItem struct {
	idx     int
	lo, hi  float64
	reverse bool
}

type compiledRule struct {
	Rule
	prg *program
}

type compiledFlag struct {
	RedFlag
	prg *program
}

// Ref returns the effective instrument's identity, recorded with every score.
func (in *Instrument) Ref() Ref {
	r := in.ref
	if r.Base != nil {
		b := *r.Base
		r.Base = &b
	}
	return r
}

// Title returns the instrument's name.
func (in *Instrument) Title() string { return in.title }

// Languages returns the label languages; the first is the default.
func (in *Instrument) Languages() []string { return append([]string(nil), in.languages...) }

// Respondents returns who answers the instrument's items.
func (in *Instrument) Respondents() []string { return append([]string(nil), in.respondents...) }

// Domains returns the domains a child receives a level in, in order.
func (in *Instrument) Domains() []Domain { return append([]Domain(nil), in.domains...) }

// Parameters returns the effective thresholds (after a variant's overrides).
func (in *Instrument) Parameters() map[string]float64 {
	out := make(map[string]float64, len(in.params))
	for k, v := range in.params {
		out[k] = v
	}
	return out
}

// Item returns the item with the given id, choices resolved.
func (in *Instrument) Item(id string) (Item, bool) {
	j, ok := in.itemIdx[id]
	if !ok {
		return Item{}, false
	}
	return in.items[j].clone(), true
}

// Items returns every item in form order.
func (in *Instrument) Items() []Item {
	out := make([]Item, 0, len(in.items))
	for _, it := range in.items {
		out = append(out, it.clone())
	}
	return out
}

// ItemsFor returns the items a respondent answers, in form order, with
// their type, resolved choices, unit and range. Use [Instrument.Shown] for
// skip logic.
func (in *Instrument) ItemsFor(respondent string) []Item {
	var out []Item
	for _, it := range in.items {
		if it.Respondent == respondent {
			out = append(out, it.clone())
		}
	}
	return out
}

// ScaleIDs returns the ids of the scales, in the order they are computed.
func (in *Instrument) ScaleIDs() []string {
	out := make([]string, 0, len(in.scales))
	for _, s := range in.scales {
		out = append(out, s.ID)
	}
	return out
}

// RedFlagCodes returns the codes of the red flags the instrument can raise.
func (in *Instrument) RedFlagCodes() []string {
	out := make([]string, 0, len(in.flags))
	for _, f := range in.flags {
		out = append(out, f.Code)
	}
	return out
}

// RedFlags returns the red flags the instrument can raise, in definition
// order, each with the service type its urgent referral goes to after a
// variant's red_flag_services (ServiceAt says where that was written).
func (in *Instrument) RedFlags() []RedFlag {
	out := make([]RedFlag, 0, len(in.flags))
	for _, f := range in.flags {
		out = append(out, f.RedFlag)
	}
	return out
}

// RedFlag returns the red flag with the given code, as [Instrument.RedFlags] does.
func (in *Instrument) RedFlag(code string) (RedFlag, bool) {
	for _, f := range in.flags {
		if f.Code == code {
			return f.RedFlag, true
		}
	}
	return RedFlag{}, false
}

// Rules returns a domain's rules in the order they run (a variant's merged
// with its base's), each with where it was written.
func (in *Instrument) Rules(domain string) []Rule {
	out := make([]Rule, 0, len(in.rules[domain]))
	for _, r := range in.rules[domain] {
		out = append(out, r.Rule)
	}
	return out
}

// MissingLabels returns the ids of items, domains and choices with no label
// in lang (which then falls back to the default language), for a site's
// pre-launch checks.
func (in *Instrument) MissingLabels(lang string) []string {
	var out []string
	for _, d := range in.domains {
		if d.Label[lang] == "" {
			out = append(out, "domain "+d.ID)
		}
	}
	for _, it := range in.items {
		if it.Label[lang] == "" {
			out = append(out, "item "+it.ID)
		}
		for _, c := range it.Choices {
			if c.Label[lang] == "" {
				out = append(out, fmt.Sprintf("item %s choice %v", it.ID, c.Value))
			}
		}
	}
	return out
}

// Label returns the item's label in lang, falling back to the default language.
func (in *Instrument) Label(itemID, lang string) string {
	j, ok := in.itemIdx[itemID]
	if !ok {
		return ""
	}
	return in.items[j].Label.In(lang, in.languages[0])
}

func (it *Item) clone() Item {
	c := *it
	c.Choices = append([]Choice(nil), it.Choices...)
	return c
}

// String describes the instrument.
func (in *Instrument) String() string {
	return fmt.Sprintf("%s (%s): %d items, %d scales, domains %s", in.title, in.ref, len(in.items), len(in.scales), strings.Join(in.domainIDs(), ", "))
}

func (in *Instrument) domainIDs() []string {
	out := make([]string, 0, len(in.domains))
	for _, d := range in.domains {
		out = append(out, d.ID)
	}
	return out
}
