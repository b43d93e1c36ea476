package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/dedupe"
)

// Filters of the work list's children (they combine: every one given must hold).
const (
	// WorkFilterAtRisk keeps children with a domain at high risk.
	WorkFilterAtRisk = "at_risk"
	// WorkFilterRedFlag keeps children for whom a red flag was raised.
	WorkFilterRedFlag = "red_flag"
	// WorkFilterOverdue keeps children with something overdue.
	WorkFilterOverdue = "overdue"
)

// WorkFilters lists the filters of WorkChildren.
var WorkFilters = []string{WorkFilterAtRisk, WorkFilterRedFlag, WorkFilterOverdue}

// Orders of the work list's children; each breaks ties by name, then child ID.
const (
	// WorkSortName orders by family name, then given name (accents folded).
	WorkSortName = "name"
	// WorkSortClass orders by grade: R, 1, 2 ... 12, then anything else.
	WorkSortClass = "class"
	// WorkSortAge orders youngest first.
	WorkSortAge = "age"
	// WorkSortStage orders by the cycle's stage, earliest in the cycle first.
	WorkSortStage = "stage"
)

// WorkSorts lists the orders of WorkChildren.
var WorkSorts = []string{WorkSortName, WorkSortClass, WorkSortAge, WorkSortStage}

// Why a child is on the work list (WorkChild.Work).
const (
	WorkReasonForms        = "forms_due"
	WorkReasonAwaitingPlan = "awaiting_plan"
	WorkReasonFollowUp     = "follow_up"
	WorkReasonReferral     = "open_referral"
)

// What is overdue (WorkChild.OverdueReasons).
const (
	OverdueReferral = "referral"
	OverdueForms    = "forms"
)

// WorkChildrenScanCap bounds the cycles WorkChildren reads for one query.
// Names are sealed, so a search cannot run in SQL: the cycles in scope are
// read (in cycle ID order), their children's names opened and matched in
// Go. A school of a few hundred children is well under the cap; past it
// only the first WorkChildrenScanCap cycles are considered and the answer
// says Truncated (narrow the scope to one school or one wave).
const WorkChildrenScanCap = 2000

// openReferralStatuses are the referrals the work list follows up (as
// OpenWork's referrals list does): sent and not yet closed.
var openReferralStatuses = []string{cycle.ReferralDispatched, cycle.ReferralAcknowledged}

// stageOrder ranks stages in the order a cycle goes through them.
var stageOrder = map[string]int{
	cycle.StageEnrol: 1, cycle.StageAssess: 2, cycle.StageScore: 3, cycle.StagePlan: 4,
	cycle.StageRefer: 5, cycle.StageFollowUp: 6, cycle.StageReassess: 7, cycle.StageClosed: 8,
}

// WorkChildrenQuery asks for the children of a work list.
type WorkChildrenQuery struct {
	SiteID string
	// SchoolID, when set, keeps one school ("" is the whole site: the
	// caller checks the scope).
	SchoolID string
	// WaveID, when set, keeps one wave's cycles ("" is every open cycle of the site).
	WaveID string
	// Q matches a child's given or family name (case and accents folded,
	// every word a part of the name), or, when it is a grade ("R", "3",
	// "grade 3", "gr 3"), the child's grade.
	Q string
	// Filters are WorkFilters, all of which must hold.
	Filters []string
	// Sort is one of WorkSorts ("" is by name).
	Sort string
	// Offset skips that many matching children; Limit bounds the page (0: 50).
	Offset, Limit int
	// Now is the instant ages and deadlines are measured at.
	Now time.Time
	// FormsLateAfter is how long a respondent's form may be due before it
	// counts as overdue in a wave: the site's reminder interval, scaled to
	// the wave's day (the first reminder went out and was not answered).
	// nil, or 0 for a wave, makes baseline forms overdue only once the
	// wave's assessment window has closed.
	FormsLateAfter func(Wave) time.Duration
}

// ChildAge is an age in whole years and months.
type ChildAge struct {
	Years  int `json:"years"`
	Months int `json:"months"`
}

// WorkChild is one child of a work list, with the names opened.
type WorkChild struct {
	ChildID string `json:"child_id"`
	// CycleID is the child's newest cycle on the list (the child's page).
	CycleID    string `json:"cycle_id"`
	Wave       int    `json:"wave"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	// Erased is set when the child's personal fields were erased: no name.
	Erased   bool      `json:"erased,omitempty"`
	Grade    string    `json:"grade"`
	Sex      string    `json:"sex"`
	Age      *ChildAge `json:"age,omitempty"`
	SchoolID string    `json:"school_id"`
	Stage    string    `json:"stage"`
	// AtRisk: a domain is at high risk in the newest phase scored
	// (the reassessment once there is one, else the baseline).
	AtRisk          bool     `json:"at_risk"`
	HighRiskDomains []string `json:"high_risk_domains,omitempty"`
	// RedFlag: the cycle raised a red flag, or opened an urgent referral.
	RedFlag bool `json:"red_flag"`
	// Overdue: an open referral is past its due date (or marked overdue),
	// or forms are still due past their reminder or window.
	Overdue        bool     `json:"overdue"`
	OverdueReasons []string `json:"overdue_reasons,omitempty"`
	// FormsDue lists the respondents whose forms are still due.
	FormsDue []FormDue `json:"forms_due,omitempty"`
	// Work says why the child is on the list (WorkReason...).
	Work []string `json:"work"`

	sortName string
	birth    time.Time
}

// WorkChildren is a page of a work list's children.
type WorkChildren struct {
	Items []WorkChild `json:"items"`
	// Total counts the children matching the query (every page).
	Total int `json:"total"`
	// Truncated: more cycles were in scope than WorkChildrenScanCap; only
	// the first were read.
	Truncated bool `json:"truncated,omitempty"`
}

// workCycle is a cycle on the list with what it has to do.
type workCycle struct {
	Cycle
	wave     int
	forms    *FormDue
	reasons  []string
	high     []string
	redFlag  bool
	overdue  []string
	scoredAt string // the newest phase scored
}

// WorkChildren lists, one row per child, the children a site's (or a
// school's) work list is about: open cycles with forms still due, awaiting a
// plan, in follow-up, or with an open referral. Each row carries the
// child's opened names, grade, sex, age at q.Now, school, stage, and whether
// they are at risk, red-flagged or overdue. A child with several open cycles
// on the list (an older wave still in follow-up) has one row: the newest
// cycle's stage and link, the signals of all of them. Search and filters
// run in Go over at most WorkChildrenScanCap cycles (see there).
func (s *Store) WorkChildren(ctx context.Context, q WorkChildrenQuery) (WorkChildren, error) {
	out := WorkChildren{Items: []WorkChild{}}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	db := s.with(ctx)
	openRefs := s.with(ctx).Model(&Referral{}).Select("cycle_id").Where("site_id = ? AND status IN ?", q.SiteID, openReferralStatuses)
	cq := db.Model(&Cycle{}).Where("site_id = ? AND status = ?", q.SiteID, CycleOpen)
	if q.SchoolID != "" {
		cq = cq.Where("school_id = ?", q.SchoolID)
	}
	if q.WaveID != "" {
		cq = cq.Where("wave_id = ?", q.WaveID)
	}
	cq = cq.Where("(stage IN ? OR id IN (?))", []string{cycle.StageAssess, cycle.StageReassess, cycle.StagePlan, cycle.StageFollowUp}, openRefs)
	var cycles []Cycle
	if err := cq.Order("id").Limit(WorkChildrenScanCap + 1).Find(&cycles).Error; err != nil {
		return out, fmt.Errorf("work list cycles: %w", err)
	}
	if len(cycles) > WorkChildrenScanCap {
		cycles, out.Truncated = cycles[:WorkChildrenScanCap], true
	}
	if len(cycles) == 0 {
		return out, nil
	}
	work, err := s.workCycles(ctx, cycles, q)
	if err != nil {
		return out, err
	}
	rows, err := s.workRows(ctx, work, q.Now)
	if err != nil {
		return out, err
	}
	match := searchOf(q.Q)
	kept := rows[:0]
	for _, r := range rows {
		if match(r) && passes(r, q.Filters) {
			kept = append(kept, r)
		}
	}
	sortWorkChildren(kept, q.Sort)
	out.Total = len(kept)
	if q.Offset < len(kept) {
		out.Items = append(out.Items, kept[q.Offset:min(len(kept), q.Offset+q.Limit)]...)
	}
	return out, nil
}

// workCycles reads what each cycle has to do: forms still due, referrals,
// risks, and the deadlines of its forms; cycles with nothing to do are left out.
func (s *Store) workCycles(ctx context.Context, cycles []Cycle, q WorkChildrenQuery) ([]*workCycle, error) {
	db := s.with(ctx)
	ids := make([]string, len(cycles))
	var formIDs, reassessIDs, waveIDs []string
	for i, c := range cycles {
		ids[i] = c.ID
		switch c.Stage {
		case cycle.StageAssess:
			formIDs = append(formIDs, c.ID)
		case cycle.StageReassess:
			formIDs = append(formIDs, c.ID)
			reassessIDs = append(reassessIDs, c.ID)
		}
		if !slices.Contains(waveIDs, c.WaveID) {
			waveIDs = append(waveIDs, c.WaveID)
		}
	}
	submitted := map[string]bool{}
	if len(formIDs) > 0 {
		var got []Assessment
		if err := db.Select("cycle_id", "phase", "respondent").Where("cycle_id IN ?", formIDs).Find(&got).Error; err != nil {
			return nil, fmt.Errorf("work list forms: %w", err)
		}
		for _, a := range got {
			submitted[a.CycleID+"/"+a.Phase+"/"+a.Respondent] = true
		}
	}
	var refs []Referral
	if err := db.Select("id", "cycle_id", "urgent", "status", "overdue", "due_at", "closed_at").Where("cycle_id IN ?", ids).Find(&refs).Error; err != nil {
		return nil, fmt.Errorf("work list referrals: %w", err)
	}
	var risks []DomainRisk
	if err := db.Select("cycle_id", "phase", "domain", "level").Where("cycle_id IN ?", ids).Order("domain").Find(&risks).Error; err != nil {
		return nil, fmt.Errorf("work list risks: %w", err)
	}
	var waves []Wave
	if err := db.Select("id", "number", "window_open", "window_close", "day_length_ms").Where("id IN ?", waveIDs).Find(&waves).Error; err != nil {
		return nil, fmt.Errorf("work list waves: %w", err)
	}
	waveOf := map[string]Wave{}
	for _, w := range waves {
		waveOf[w.ID] = w
	}
	// When each cycle started its reassessment: its forms are due from then.
	reassessFrom := map[string]time.Time{}
	if len(reassessIDs) > 0 {
		var evs []StageEvent
		if err := db.Select("cycle_id", "at").Where("cycle_id IN ? AND stage = ?", reassessIDs, cycle.StageReassess).Find(&evs).Error; err != nil {
			return nil, fmt.Errorf("work list stage events: %w", err)
		}
		for _, e := range evs {
			if at, ok := reassessFrom[e.CycleID]; !ok || e.At.Before(at) {
				reassessFrom[e.CycleID] = e.At
			}
		}
	}

	byID := map[string]*workCycle{}
	all := make([]*workCycle, 0, len(cycles))
	for _, c := range cycles {
		w := &workCycle{Cycle: c, redFlag: c.RedFlag, wave: waveOf[c.WaveID].Number}
		if w.wave == 0 {
			if ref, err := cycle.ParseCycleID(c.ID); err == nil {
				w.wave = ref.Wave
			}
		}
		switch c.Stage {
		case cycle.StagePlan:
			w.reasons = append(w.reasons, WorkReasonAwaitingPlan)
		case cycle.StageFollowUp:
			w.reasons = append(w.reasons, WorkReasonFollowUp)
		case cycle.StageAssess, cycle.StageReassess:
			phase := cycle.PhaseBaseline
			if c.Stage == cycle.StageReassess {
				phase = cycle.PhaseReassessment
			}
			due := FormDue{CycleID: c.ID, SchoolID: c.SchoolID, Phase: phase}
			for _, r := range SplitList(c.Awaiting) {
				if !submitted[c.ID+"/"+phase+"/"+r] {
					due.Respondents = append(due.Respondents, r)
				}
			}
			if len(due.Respondents) > 0 {
				w.forms = &due
				w.reasons = append(w.reasons, WorkReasonForms)
				if formsLate(phase, waveOf[c.WaveID], reassessFrom[c.ID], q) {
					w.overdue = append(w.overdue, OverdueForms)
				}
			}
		}
		byID[c.ID] = w
		all = append(all, w)
	}
	for _, r := range refs {
		w := byID[r.CycleID]
		if w == nil {
			continue
		}
		if r.Urgent {
			w.redFlag = true
		}
		if !slices.Contains(openReferralStatuses, r.Status) || r.ClosedAt != nil {
			continue
		}
		if !slices.Contains(w.reasons, WorkReasonReferral) {
			w.reasons = append(w.reasons, WorkReasonReferral)
		}
		late := r.Overdue || (r.DueAt != nil && q.Now.After(*r.DueAt))
		if late && !slices.Contains(w.overdue, OverdueReferral) {
			w.overdue = append(w.overdue, OverdueReferral)
		}
	}
	// At risk: a high domain in the newest phase scored.
	for _, r := range risks {
		if w := byID[r.CycleID]; w != nil && (w.scoredAt == "" || r.Phase == cycle.PhaseReassessment) {
			w.scoredAt = r.Phase
		}
	}
	for _, r := range risks {
		if w := byID[r.CycleID]; w != nil && r.Phase == w.scoredAt && r.Level == cycle.RiskHigh {
			w.high = append(w.high, r.Domain)
		}
	}
	for _, w := range all {
		if w.scoredAt == "" && w.Risk == cycle.RiskHigh {
			w.high = append(w.high, "") // scored high overall, no domain recorded
		}
	}
	kept := all[:0]
	for _, w := range all {
		if len(w.reasons) > 0 {
			kept = append(kept, w)
		}
	}
	return kept, nil
}

// formsLate says whether forms still due are overdue: past the wave's
// assessment window (baseline), or due for longer than FormsLateAfter
// (from the window's opening for the baseline, from the start of the
// reassessment for a reassessment).
func formsLate(phase string, w Wave, reassessFrom time.Time, q WorkChildrenQuery) bool {
	if phase == cycle.PhaseBaseline && !w.WindowClose.IsZero() && !q.Now.Before(w.WindowClose) {
		return true
	}
	var late time.Duration
	if q.FormsLateAfter != nil {
		late = q.FormsLateAfter(w)
	}
	if late <= 0 {
		return false
	}
	from := w.WindowOpen
	if phase == cycle.PhaseReassessment {
		from = reassessFrom
	}
	return !from.IsZero() && !q.Now.Before(from.Add(late))
}

// workRows makes one row per child from the cycles on the list, opening
// the children's names.
func (s *Store) workRows(ctx context.Context, work []*workCycle, now time.Time) ([]WorkChild, error) {
	var childIDs []string
	byChild := map[string][]*workCycle{}
	for _, w := range work {
		if _, seen := byChild[w.ChildID]; !seen {
			childIDs = append(childIDs, w.ChildID)
		}
		byChild[w.ChildID] = append(byChild[w.ChildID], w)
	}
	children := map[string]Child{}
	for start := 0; start < len(childIDs); start += 500 {
		var got []Child
		if err := s.with(ctx).Where("id IN ?", childIDs[start:min(start+500, len(childIDs))]).Find(&got).Error; err != nil {
			return nil, fmt.Errorf("work list children: %w", err)
		}
		for _, c := range got {
			children[c.ID] = c
		}
	}
	rows := make([]WorkChild, 0, len(childIDs))
	for _, id := range childIDs {
		ws := byChild[id]
		// The newest wave's cycle gives the stage and the link.
		sort.SliceStable(ws, func(i, j int) bool { return ws[i].wave > ws[j].wave })
		newest := ws[0]
		ch := children[id]
		r := WorkChild{
			ChildID: id, CycleID: newest.ID, Wave: newest.wave, SchoolID: newest.SchoolID, Stage: newest.Stage,
			GivenName: ch.GivenName, FamilyName: ch.FamilyName, Erased: ch.ErasedAt != nil,
			Grade: ch.Grade, Sex: ch.Sex, birth: ch.BirthDate,
		}
		if r.Erased {
			r.GivenName, r.FamilyName = "", ""
		}
		if age, ok := AgeAt(ch.BirthDate, now); ok {
			r.Age = &age
		}
		for _, w := range ws {
			if w == newest && len(w.high) > 0 {
				r.AtRisk = true
				for _, d := range w.high {
					if d != "" {
						r.HighRiskDomains = append(r.HighRiskDomains, d)
					}
				}
			}
			r.RedFlag = r.RedFlag || w.redFlag
			for _, o := range w.overdue {
				if !slices.Contains(r.OverdueReasons, o) {
					r.OverdueReasons = append(r.OverdueReasons, o)
				}
			}
			if w.forms != nil {
				r.FormsDue = append(r.FormsDue, *w.forms)
			}
			for _, why := range w.reasons {
				if !slices.Contains(r.Work, why) {
					r.Work = append(r.Work, why)
				}
			}
		}
		r.Overdue = len(r.OverdueReasons) > 0
		r.sortName = dedupe.Normalise(r.FamilyName) + "\x00" + dedupe.Normalise(r.GivenName)
		if r.Erased {
			r.sortName = "\uffff" // no name: last
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// AgeAt is the age in whole years and months of someone born on birth, at now.
func AgeAt(birth, now time.Time) (ChildAge, bool) {
	if birth.IsZero() || now.Before(birth) {
		return ChildAge{}, false
	}
	by, bm, bd := birth.UTC().Date()
	ny, nm, nd := now.UTC().Date()
	months := (ny-by)*12 + int(nm-bm)
	if nd < bd {
		months--
	}
	return ChildAge{Years: months / 12, Months: months % 12}, true
}

// gradeOf reads a search for a grade: "R", "3", "grade 3", "Gr. 3".
func gradeOf(q string) (string, bool) {
	g := strings.ToLower(strings.TrimSpace(q))
	for _, p := range []string{"grade", "gr.", "gr"} {
		if rest, ok := strings.CutPrefix(g, p); ok {
			g = strings.TrimSpace(rest)
			break
		}
	}
	if g == "r" {
		return "R", true
	}
	if n, err := strconv.Atoi(g); err == nil && n >= 1 && n <= 12 {
		return strconv.Itoa(n), true
	}
	return "", false
}

// searchOf makes the matcher of a search: a grade, or words each found in
// the child's name.
func searchOf(q string) func(WorkChild) bool {
	if strings.TrimSpace(q) == "" {
		return func(WorkChild) bool { return true }
	}
	if g, ok := gradeOf(q); ok {
		return func(r WorkChild) bool { return strings.EqualFold(strings.TrimSpace(r.Grade), g) }
	}
	words := strings.Fields(dedupe.Normalise(q))
	return func(r WorkChild) bool {
		if r.Erased || len(words) == 0 {
			return false
		}
		name := dedupe.Normalise(r.GivenName) + " " + dedupe.Normalise(r.FamilyName)
		for _, w := range words {
			if !strings.Contains(name, w) {
				return false
			}
		}
		return true
	}
}

// passes says whether a row meets every filter.
func passes(r WorkChild, filters []string) bool {
	for _, f := range filters {
		switch f {
		case WorkFilterAtRisk:
			if !r.AtRisk {
				return false
			}
		case WorkFilterRedFlag:
			if !r.RedFlag {
				return false
			}
		case WorkFilterOverdue:
			if !r.Overdue {
				return false
			}
		}
	}
	return true
}

// gradeRank orders grades R, 1 ... 12, then anything else.
func gradeRank(g string) int {
	g = strings.TrimSpace(g)
	if strings.EqualFold(g, "R") {
		return 0
	}
	if n, err := strconv.Atoi(g); err == nil && n >= 1 && n <= 12 {
		return n
	}
	return 100
}

// sortWorkChildren orders rows by one of WorkSorts, ties by name then ID.
func sortWorkChildren(rows []WorkChild, by string) {
	byName := func(a, b WorkChild) int {
		if c := strings.Compare(a.sortName, b.sortName); c != 0 {
			return c
		}
		return strings.Compare(a.ChildID, b.ChildID)
	}
	slices.SortStableFunc(rows, func(a, b WorkChild) int {
		switch by {
		case WorkSortClass:
			if c := gradeRank(a.Grade) - gradeRank(b.Grade); c != 0 {
				return c
			}
			if c := strings.Compare(a.Grade, b.Grade); c != 0 {
				return c
			}
		case WorkSortAge:
			// Youngest first: the later birth date first; unknown last.
			switch {
			case a.birth.IsZero() != b.birth.IsZero():
				if a.birth.IsZero() {
					return 1
				}
				return -1
			case !a.birth.Equal(b.birth):
				return b.birth.Compare(a.birth)
			}
		case WorkSortStage:
			if c := stageRank(a.Stage) - stageRank(b.Stage); c != 0 {
				return c
			}
		}
		return byName(a, b)
	})
}

func stageRank(s string) int {
	if n, ok := stageOrder[s]; ok {
		return n
	}
	return len(stageOrder) + 1
}
