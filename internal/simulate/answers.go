package simulate

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/sitedir"
)

// Persona is the made-up situation a simulated child's answers describe.
type Persona string

// Personas, in the shares Answerer assigns them (the rest are healthy).
const (
	Absent       Persona = "absent"       // 5%: nobody returns a form
	Disclosure   Persona = "disclosure"   // 4%: protection red flag, fast path
	Depression   Persona = "depression"   // 5%: caregiver PHQ-9 moderate
	Material     Persona = "material"     // 8%: no grant, no birth certificate
	Learning     Persona = "learning"     // 8%: reading not achieved, absences
	Psychosocial Persona = "psychosocial" // 6%: SDQ emotional and peer difficulties
	Hungry       Persona = "hungry"       // 6%: sometimes goes to bed hungry
	Screening    Persona = "screening"    // 3%: vision screening referral
	Healthy      Persona = "healthy"
)

var shares = []struct {
	p     Persona
	upper float64
}{
	{Absent, 0.05}, {Disclosure, 0.09}, {Depression, 0.14}, {Material, 0.22}, {Learning, 0.30},
	{Psychosocial, 0.36}, {Hungry, 0.42}, {Screening, 0.45},
}

// Answerer writes plausible answers for a site's instrument from personas.
type Answerer struct {
	inst            *instrument.Instrument
	seed            string
	everyoneAnswers bool
	// wave is the wave being played: from the second wave on, a child's
	// situation may change (see PersonaOf).
	wave int
}

// NewAnswerer loads the site's instrument the way khula does.
func NewAnswerer(sitesDir, siteID string, seed uint64) (*Answerer, error) {
	dir, err := sitedir.Load(sitesDir)
	if err != nil {
		return nil, fmt.Errorf("simulate: loading sites: %w", err)
	}
	if _, ok := dir.Site(siteID); !ok {
		return nil, fmt.Errorf("simulate: no site %q (sites from %s)", siteID, dir.Source)
	}
	reg, err := scoring.New(dir.Sites(), dir.FS, nil)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	ref, _ := reg.SiteInstrument(siteID)
	inst, _ := reg.Instrument(ref)
	return &Answerer{inst: inst, seed: fmt.Sprint(seed)}, nil
}

// PersonaOf assigns a child's persona deterministically. In the first
// wave it follows the child alone; in each later wave three children in
// five keep the persona of the first wave and the others draw again, so
// some improve and some get worse from one wave to the next.
func (a *Answerer) PersonaOf(child string) Persona {
	key := a.seed + "/persona/" + child
	if a.wave > 1 && hash01(fmt.Sprintf("%s/keeps/%s/%d", a.seed, child, a.wave)) >= 0.6 {
		key = fmt.Sprintf("%s/persona/%s/%d", a.seed, child, a.wave)
	}
	h := hash01(key)
	for _, s := range shares {
		if h < s.upper {
			return s.p
		}
	}
	return Healthy
}

// WillAnswer reports whether a respondent ever returns this child's form:
// absent children get none, and one nurse in ten never measures the child,
// so the window closes with that form missing.
func (a *Answerer) WillAnswer(child, phase, respondent string) bool {
	if a.everyoneAnswers {
		return true
	}
	if a.PersonaOf(child) == Absent {
		return false
	}
	if phase == cycle.PhaseBaseline && respondent == "nurse" && hash01(a.seed+"/nurse/"+child) < 0.10 {
		return false
	}
	return true
}

// AnswerDelayDays is how many simulated days a respondent takes to answer.
func (a *Answerer) AnswerDelayDays(child, respondent string) float64 {
	return 6 * hash01(a.seed+"/delay/"+child+"/"+respondent)
}

// ServiceResponds reports whether a service ever acknowledges a referral (one in twelve never does).
func (a *Answerer) ServiceResponds(referralID string) bool {
	return hash01(a.seed+"/ack/"+referralID) >= 0.08
}

// ReferralOutcome is what the service reports.
func (a *Answerer) ReferralOutcome(referralID string) string {
	h := hash01(a.seed + "/outcome/" + referralID)
	switch {
	case h < 0.85:
		return cycle.ReferralCompleted
	case h < 0.95:
		return cycle.ReferralDeclined
	default:
		return cycle.ReferralUnreachable
	}
}

// servicesFor lists the service types an LLCoP would reach for, per domain, best first.
var servicesFor = map[string][]string{
	"health":       {"clinic", "outreach"},
	"nutrition":    {"food_relief", "clinic", "outreach"},
	"material":     {"sassa", "social_development"},
	"education":    {"learning_support", "school_support"},
	"protection":   {"social_development"},
	"psychosocial": {"school_support", "family_strengthening", "social_development"},
	"caregiver":    {"family_strengthening", "outreach", "social_development", "clinic"},
}

// Plan is what the meeting agrees for a child on its agenda: one action per
// domain at risk, a referral where the site has a fitting service, support in
// school otherwise.
func (a *Answerer) Plan(it cycle.AgendaItem, available []string) []cycle.PlanAction {
	var out []cycle.PlanAction
	domains := make([]string, 0, len(it.Domains))
	for d := range it.Domains {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, d := range domains {
		level := it.Domains[d]
		if level != cycle.RiskModerate && level != cycle.RiskHigh {
			continue
		}
		act := cycle.PlanAction{Domain: d, Note: "Monitor in class and at home (simulated plan).", Owner: "Class teacher"}
		for _, st := range servicesFor[d] {
			if slices.Contains(available, st) {
				act = cycle.PlanAction{Domain: d, ServiceType: st, Owner: "Social worker"}
				break
			}
		}
		out = append(out, act)
	}
	if len(out) == 0 && len(it.Unassessed) > 0 {
		// On the agenda for an incomplete assessment: the respondent who
		// never answered will not answer now, so watch what was not assessed.
		out = append(out, cycle.PlanAction{Domain: it.Unassessed[0], Note: "Not assessed: watch at school and at the next visit (simulated plan).", Owner: "Class teacher"})
	}
	if len(out) == 0 {
		// On the agenda without a domain at risk (a red flag alone): keep watching.
		d := "protection"
		if _, ok := it.Domains[d]; !ok && len(domains) > 0 {
			d = domains[0]
		}
		out = append(out, cycle.PlanAction{Domain: d, Note: "Keep under review (simulated plan).", Owner: "Social worker"})
	}
	return out
}

// Attendance is who came to an LLCoP meeting, by sector: the school's
// social worker, teacher and nurse most times, some parents, sometimes an
// NGO or a government department (made up, the same for the same meeting).
func (a *Answerer) Attendance(meetingID string) map[string]int {
	att := map[string]int{cycle.SectorSocialWork: 1, cycle.SectorEducation: 1 + int(3*hash01(a.seed+"/att-edu/"+meetingID)),
		cycle.SectorParents: int(5 * hash01(a.seed+"/att-parents/"+meetingID))}
	if hash01(a.seed+"/att-health/"+meetingID) < 0.8 {
		att[cycle.SectorHealth] = 1
	}
	if hash01(a.seed+"/att-ngo/"+meetingID) < 0.4 {
		att[cycle.SectorNGO] = 1
	}
	if hash01(a.seed+"/att-gov/"+meetingID) < 0.2 {
		att[cycle.SectorGovernment] = 1
	}
	return att
}

// Answers writes a respondent's form for a child and phase. At reassessment
// most children have improved; the rest answer as before.
func (a *Answerer) Answers(child, phase, respondent string) (map[string]any, error) {
	p := a.PersonaOf(child)
	if phase == cycle.PhaseReassessment && hash01(a.seed+"/improves/"+child) < 0.7 {
		p = Healthy
	}
	ans := healthy(respondent)
	mutate(ans, p, respondent)
	return a.fit(respondent, ans)
}

// fit makes the answers obey the instrument: skipped items removed, required
// items the personas do not cover given a neutral value. It checks the result
// the way the workflow's validator will.
func (a *Answerer) fit(respondent string, ans map[string]any) (map[string]any, error) {
	items := a.inst.ItemsFor(respondent)
	out := map[string]any{}
	for _, it := range items {
		v, ok := ans[it.ID]
		if !ok && it.Required {
			v, ok = neutral(it), true
		}
		if !ok {
			continue
		}
		out[it.ID] = v
		shown, err := a.inst.Shown(it.ID, instrument.Answers(out))
		if err != nil || !shown {
			delete(out, it.ID)
		}
	}
	if err := a.inst.Validate(respondent, instrument.Answers(out)); err != nil {
		var ve *instrument.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		for _, fe := range ve.Errors {
			delete(out, fe.Item)
		}
		if err := a.inst.Validate(respondent, instrument.Answers(out)); err != nil {
			return nil, fmt.Errorf("simulate: cannot write a valid %s form: %w", respondent, err)
		}
	}
	return out, nil
}

func neutral(it instrument.Item) any {
	switch it.Type {
	case "yesno":
		return true
	case "choice":
		if len(it.Choices) > 0 {
			return it.Choices[0].Value
		}
	case "date":
		return time.Now().UTC().AddDate(0, -2, 0).Format(time.DateOnly)
	case "number", "measurement":
		if it.Min != nil {
			return *it.Min
		}
		return 0.0
	}
	return nil
}

// healthy is a form with no concern in any domain.
func healthy(respondent string) map[string]any {
	a := map[string]any{}
	switch respondent {
	case "caregiver":
		for i := 1; i <= 25; i++ {
			a[fmt.Sprintf("sdq%02d", i)] = 0.0
		}
		for _, id := range []string{"sdq01", "sdq04", "sdq09", "sdq17", "sdq20", "sdq07", "sdq11", "sdq14", "sdq21", "sdq25"} {
			a[id] = 2.0 // prosocial strengths, and the reverse-scored items
		}
		for i := 1; i <= 9; i++ {
			a[fmt.Sprintf("phq9_%d", i)] = 0.0
		}
		for k, v := range map[string]any{
			"hunger_bed": 0.0, "hunger_skip": 0.0, "csg_received": true, "birth_cert": true, "caregiver_id": true,
			"food_short": "never", "water_safe": true, "electricity": true, "shelter": "formal", "supervision_gap": "never",
			"cg_coping": "well", "cg_support": true, "cg_parenting": "never", "cg_conflict": "never", "cg_engagement": "often",
		} {
			a[k] = v
		}
	case "child":
		for i := 1; i <= 17; i++ {
			a[fmt.Sprintf("cyrm%02d", i)] = 3.0
		}
		a["child_feels_safe"], a["child_violence"], a["child_disclosure"] = "yes", "never", false
	case "teacher":
		for k, v := range map[string]any{"edu_number": "achieved", "edu_reading": "achieved", "edu_days_absent": 2.0, "edu_support": false,
			"school_hungry": "never", "teacher_signs": false, "teacher_disclosure": false} {
			a[k] = v
		}
	case "nurse":
		for k, v := range map[string]any{"weight_kg": 20.5, "height_cm": 115.0, "oedema": false, "rthb_seen": true, "imm_up_to_date": true,
			"rthb_last_visit": time.Now().UTC().AddDate(0, -3, 0).Format(time.DateOnly), "chronic_illness": false,
			"vision": "pass", "hearing": "pass", "speech": "pass", "dental": "healthy", "nurse_injury": false, "nurse_neglect": false} {
			a[k] = v
		}
	}
	return a
}

// mutate turns a healthy form into a persona's.
func mutate(a map[string]any, p Persona, respondent string) {
	switch {
	case p == Disclosure && respondent == "teacher":
		a["teacher_disclosure"] = true
	case p == Disclosure && respondent == "child":
		a["child_feels_safe"] = "sometimes"
	case p == Depression && respondent == "caregiver":
		for i := 1; i <= 5; i++ {
			a[fmt.Sprintf("phq9_%d", i)] = 2.0 // total 10: moderate
		}
		a["cg_coping"] = "somewhat"
	case p == Material && respondent == "caregiver":
		a["csg_received"], a["birth_cert"], a["csg_applied"] = false, false, false
	case p == Learning && respondent == "teacher":
		a["edu_reading"], a["edu_days_absent"] = "not_achieved", 7.0
	case p == Psychosocial && respondent == "caregiver":
		for _, id := range []string{"sdq03", "sdq08", "sdq13", "sdq16", "sdq24", "sdq06", "sdq19", "sdq23"} {
			a[id] = 2.0
		}
		a["sdq11"], a["sdq14"] = 0.0, 0.0
	case p == Hungry && respondent == "caregiver":
		a["hunger_bed"], a["food_short"] = 2.0, "sometimes"
	case p == Screening && respondent == "nurse":
		a["vision"] = "refer"
	}
}
