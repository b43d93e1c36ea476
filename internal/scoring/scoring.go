// Package scoring joins the instrument engine and the WHO growth references
// to what the workflows and activities need: checking a respondent's answers
// (deterministically, inside update validators) and scoring a phase.
// Instruments are looked up by the ID and version a cycle started with.
package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"time"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/growth"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/sites"
)

// Registry holds the instruments of every site, keyed by ID and version.
type Registry struct {
	byRef  map[cycle.InstrumentRef]*instrument.Instrument
	bySite map[string]cycle.InstrumentRef
	growth *growth.References
}

// New loads each site's instrument (a base from instruments/, or a site
// variant of one) from siteFS. refs may be nil: growth is then not computed.
func New(all []*sites.Site, siteFS fs.FS, refs *growth.References) (*Registry, error) {
	r := &Registry{byRef: map[cycle.InstrumentRef]*instrument.Instrument{}, bySite: map[string]cycle.InstrumentRef{}, growth: refs}
	var errs []error
	for _, s := range all {
		in, err := instrument.Load(siteFS, path.Join(s.Dir, s.InstrumentFile), instruments.FS)
		if err != nil {
			errs = append(errs, fmt.Errorf("site %s: %w", s.ID, err))
			continue
		}
		ref := RefOf(in)
		if prev, ok := r.byRef[ref]; ok && prev != in {
			// Two sites may share an instrument version only if it is the same definition.
			if !sameDefinition(prev, in) {
				errs = append(errs, fmt.Errorf("site %s: instrument %s@%s differs from another site's with the same id and version: bump the version", s.ID, ref.ID, ref.Version))
				continue
			}
		}
		r.byRef[ref] = in
		r.bySite[s.ID] = ref
	}
	return r, errors.Join(errs...)
}

// sameDefinition compares what the loaded instruments expose: items,
// scales, red flags and parameters (thresholds).
func sameDefinition(a, b *instrument.Instrument) bool {
	fingerprint := func(in *instrument.Instrument) string {
		doc, _ := json.Marshal(struct {
			Items  []instrument.Item
			Scales []string
			Flags  []string
			Params map[string]float64
		}{in.Items(), in.ScaleIDs(), in.RedFlagCodes(), in.Parameters()})
		return string(doc)
	}
	return fingerprint(a) == fingerprint(b)
}

// olderVersion reports whether version a (MAJOR.MINOR.PATCH) comes before b.
func olderVersion(a, b string) bool {
	var x, y [3]int
	if n, _ := fmt.Sscanf(a, "%d.%d.%d", &x[0], &x[1], &x[2]); n != 3 {
		return false
	}
	if n, _ := fmt.Sscanf(b, "%d.%d.%d", &y[0], &y[1], &y[2]); n != 3 {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// RefOf is the cycle's name for an instrument version.
func RefOf(in *instrument.Instrument) cycle.InstrumentRef {
	r := in.Ref()
	return cycle.InstrumentRef{ID: r.ID, Version: r.Version}
}

// SiteInstrument returns the instrument version a site uses.
func (r *Registry) SiteInstrument(siteID string) (cycle.InstrumentRef, bool) {
	ref, ok := r.bySite[siteID]
	return ref, ok
}

// Instrument returns a loaded instrument version.
func (r *Registry) Instrument(ref cycle.InstrumentRef) (*instrument.Instrument, bool) {
	in, ok := r.byRef[ref]
	return in, ok
}

// lookup finds the instrument a cycle names. A cycle started under an
// earlier version that this release no longer ships (cycles live for
// months) is checked and scored with the version its site uses now, rather
// than failing: each score records the version that produced it. A version
// newer than the loaded one (a worker older than the cycle) is not loaded.
func (r *Registry) lookup(ref cycle.InstrumentRef) (*instrument.Instrument, bool) {
	if in, ok := r.byRef[ref]; ok {
		return in, true
	}
	var found *instrument.Instrument
	for have, in := range r.byRef {
		if have.ID == ref.ID && olderVersion(ref.Version, have.Version) {
			if found != nil {
				return nil, false // two versions of one ID: no safe choice
			}
			found = in
		}
	}
	return found, found != nil
}

// CheckAnswers lists every problem with one respondent's answers. Fields are
// named answers.<item>. With domains (a reassessment), required items of
// other domains may be left unanswered.
func (r *Registry) CheckAnswers(ref cycle.InstrumentRef, respondent string, domains []string, answers cycle.Answers) []cycle.FieldError {
	in, ok := r.lookup(ref)
	if !ok {
		return []cycle.FieldError{{Field: "instrument", Code: "not_loaded", Message: fmt.Sprintf("instrument %s@%s is not loaded on this worker", ref.ID, ref.Version)}}
	}
	err := in.ValidateDomains(respondent, instrument.Answers(answers), domains)
	if err == nil {
		return nil
	}
	var ve *instrument.ValidationError
	if !errors.As(err, &ve) {
		return []cycle.FieldError{{Field: "answers", Code: "invalid", Message: err.Error()}}
	}
	out := make([]cycle.FieldError, 0, len(ve.Errors))
	for _, fe := range ve.Errors {
		field := "answers"
		if fe.Item != "" {
			field = "answers." + fe.Item
		}
		out = append(out, cycle.FieldError{Field: field, Code: fe.Code, Message: fe.Message})
	}
	return out
}

// RespondentsFor lists, in the instrument's order, the respondents with items in the domains.
func (r *Registry) RespondentsFor(ref cycle.InstrumentRef, domains []string) []string {
	in, ok := r.lookup(ref)
	if !ok {
		return nil
	}
	want := map[string]bool{}
	for _, it := range in.Items() {
		if slices.Contains(domains, it.Domain) {
			want[it.Respondent] = true
		}
	}
	var out []string
	for _, resp := range in.Respondents() {
		if want[resp] {
			out = append(out, resp)
		}
	}
	return out
}

// KnownDomain reports whether domain is one of the instrument's domains.
func (r *Registry) KnownDomain(ref cycle.InstrumentRef, domain string) bool {
	in, ok := r.lookup(ref)
	if !ok {
		return false
	}
	for _, d := range in.Domains() {
		if d.ID == domain {
			return true
		}
	}
	return false
}

// Score merges the respondents' answers and scores them.
func (r *Registry) Score(ref cycle.InstrumentRef, subject cycle.Subject, assessedOn time.Time, answers map[string]cycle.Answers) (activities.ScoreOutput, []byte, error) {
	in, ok := r.lookup(ref)
	if !ok {
		return activities.ScoreOutput{}, nil, fmt.Errorf("instrument %s@%s is not loaded on this worker", ref.ID, ref.Version)
	}
	merged := instrument.Answers{}
	respondents := make([]string, 0, len(answers))
	for resp := range answers {
		respondents = append(respondents, resp)
	}
	sort.Strings(respondents)
	for _, resp := range respondents {
		for k, v := range answers[resp] {
			// A null is "not answered": it must never blank out another
			// respondent's answer (a disclosure, a self-harm item).
			if v == nil {
				continue
			}
			merged[k] = v
		}
	}
	res, err := in.Score(instrument.Subject{Sex: subject.Sex, DOB: subject.BirthDate, AssessedOn: assessedOn}, merged, r.GrowthCalculator(merged))
	if err != nil {
		return activities.ScoreOutput{}, nil, err
	}
	doc, err := json.Marshal(res)
	if err != nil {
		return activities.ScoreOutput{}, nil, fmt.Errorf("encoding score: %w", err)
	}
	// The highest level over the domains; not_assessed when no domain was.
	out := activities.ScoreOutput{Domains: res.Domains, Flags: res.Flags, RedFlags: r.redFlags(ref, res.Flags), Risk: cycle.RiskNotAssessed}
	for _, level := range res.Domains {
		if cycle.RiskRank(level) > cycle.RiskRank(out.Risk) {
			out.Risk = level
		}
	}
	return out, doc, nil
}

// OedemaItem is the id of the nurse's yes/no item recording bilateral
// pitting oedema (instruments/cwtt.yaml). A yes reaches the growth
// calculation, which then reports weight-for-age and BMI-for-age as "not
// computed: oedema present", as WHO's software does.
const OedemaItem = "oedema"

// GrowthCalculator returns the growth calculation for one child's merged
// answers: the registry's WHO tables, with the nurse's oedema answer
// ([OedemaItem]) added to the measurement the instrument builds from the
// weight and height items. No answer, or any value but true, is no oedema.
func (r *Registry) GrowthCalculator(answers instrument.Answers) instrument.GrowthCalculator {
	oedema, _ := answers[OedemaItem].(bool)
	return growthInputs{refs: r.growth, oedema: oedema}
}

// growthInputs completes the instrument's growth measurement with what the
// instrument does not carry (oedema).
type growthInputs struct {
	refs   *growth.References // nil reports "not computed: no reference tables"
	oedema bool
}

// Compute adds the oedema answer to m and scores it.
func (g growthInputs) Compute(m growth.Measurement) growth.Result {
	m.Oedema = m.Oedema || g.oedema
	return g.refs.Compute(m)
}

// Compare says per domain whether the follow-up improved, stayed or worsened.
func (r *Registry) Compare(baseline, follow map[string]string) map[string]string {
	return instrument.Compare(baseline, follow)
}
