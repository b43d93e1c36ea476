package simulate

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// once reports whether key is new, marking it taken.
func (s *sim) once(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done[key] {
		return false
	}
	s.done[key] = true
	return true
}

// taken reports whether key is marked.
func (s *sim) taken(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[key]
}

func (s *sim) forget(key string) {
	s.mu.Lock()
	delete(s.done, key)
	s.mu.Unlock()
}

func (s *sim) count(action string) {
	s.mu.Lock()
	s.actions[action]++
	s.mu.Unlock()
}

// counts copies the actions counted so far (jobs may still be counting).
func (s *sim) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.actions)
}

// seenFor reports how long (in simulated days) key has been pending.
func (s *sim) seenFor(key string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.firstSaw[key]
	if !ok {
		s.firstSaw[key] = time.Now()
		return 0
	}
	return s.simDays(time.Since(t))
}

// formArrived reports whether a form answered delay days after it was due
// (waited days ago) has reached khula: at once online, at the next sync
// (a multiple of syncDays since the wave started) where connectivity is intermittent.
func (s *sim) formArrived(waited, delay float64) bool {
	if waited < delay {
		return false
	}
	if s.syncDays <= 0 {
		return true
	}
	now := s.simDays(time.Since(s.start))
	answeredAt := now - waited + delay
	nextSync := math.Ceil(answeredAt/s.syncDays) * s.syncDays
	return now >= nextSync
}

// holdBackstop mirrors the API's: in a wave launched with hold_windows a
// deadline runs four times its length, and so may a meeting's minutes.
const holdBackstop = 4

// job is one practitioner's action.
type job func(context.Context) error

// Pools the jobs run in: forms in one, everything else (meetings, services,
// follow-ups, closing waits) in the other, so a burst of forms never keeps
// a service from answering a referral before its deadline.
const (
	formPool  = "forms"
	otherPool = "others"
)

// launch runs j in the background once a slot of pool is free. busy names
// the waits the job belongs to (the baseline, a cycle's phase): they count
// as in flight from now until the job has finished, queued or running.
func (s *sim) launch(ctx context.Context, pool string, busy []string, j job) {
	s.mu.Lock()
	for _, k := range busy {
		s.busy[k]++
	}
	s.mu.Unlock()
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		defer func() {
			s.mu.Lock()
			for _, k := range busy {
				if s.busy[k]--; s.busy[k] <= 0 {
					delete(s.busy, k)
				}
			}
			s.mu.Unlock()
		}()
		slots := s.pools[pool]
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-slots }()
		if err := j(ctx); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
	}()
}

// inFlight reports whether a job of the wait key is queued or running.
func (s *sim) inFlight(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy[key] > 0
}

// failed returns the first hard error a job hit.
func (s *sim) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// waitKey names the wait for a cycle's forms of a phase.
func waitKey(cycleID, phase string) string { return "wait/" + cycleID + "/" + phase }

// step looks at the site's open work and starts what practitioners would
// do; the jobs run in the background, each action once.
func (s *sim) step(ctx context.Context, w waveView) error {
	work, err := s.work(ctx)
	if err != nil {
		if retryable(err) {
			return nil // down for a moment: the next tick tries again
		}
		return fmt.Errorf("simulate: reading open work: %w", err)
	}
	if err := s.closeWindows(ctx, w, work); err != nil {
		return err
	}
	prefix := fmt.Sprintf("cycle/%s/%d/", s.opts.Site, s.wave)
	for _, f := range work.Forms {
		if !strings.HasPrefix(f.CycleID, prefix) || s.closedWait(f.CycleID, f.Phase) {
			continue
		}
		child := strings.TrimPrefix(f.CycleID, prefix)
		s.sawChild(child)
		busy := []string{waitKey(f.CycleID, f.Phase)}
		if f.Phase == cycle.PhaseBaseline {
			busy = append(busy, cycle.PhaseBaseline)
		}
		for _, r := range f.Respondents {
			key := "form/" + f.CycleID + "/" + f.Phase + "/" + r
			if !s.answers.WillAnswer(child, f.Phase, r) {
				continue
			}
			// Forms arrive over the first simulated days, not all at once;
			// offline devices hand them in at the next sync.
			if !s.formArrived(s.seenFor(key), s.answers.AnswerDelayDays(child, r)) {
				continue
			}
			if !s.once(key) {
				continue
			}
			s.launch(ctx, formPool, busy, func(ctx context.Context) error { return s.submitForm(ctx, key, child, f.Phase, r) })
		}
	}
	for _, m := range work.Meetings {
		key := "minutes/" + m.ID
		if s.seenFor(key) < 1 || !s.once(key) {
			continue
		}
		s.launch(ctx, otherPool, nil, func(ctx context.Context) error { return s.holdMeeting(ctx, key, m.ID) })
	}
	open := map[string]bool{}
	for _, m := range work.Meetings {
		open[m.SchoolID] = true
	}
	for school, n := range work.PlanBySchool {
		if n == 0 || open[school] || s.inFlight("meeting/"+school) {
			continue
		}
		s.mu.Lock()
		last := s.meetings[school]
		s.mu.Unlock()
		// A school meets at most every 3 simulated days.
		if !last.IsZero() && s.simDays(time.Since(last)) < 3 {
			continue
		}
		s.mu.Lock()
		s.meetings[school] = time.Now()
		s.mu.Unlock()
		s.launch(ctx, otherPool, []string{"meeting/" + school}, func(ctx context.Context) error { return s.startMeeting(ctx, school) })
	}
	// A cycle in follow-up gets its check-in before its referrals' last
	// outcome ends the follow-up: the outcome waits for the check-in.
	followingUp := map[string]bool{}
	for _, id := range work.FollowUps {
		followingUp[id] = true
	}
	for _, r := range work.Referrals {
		if !strings.HasPrefix(r.ID, fmt.Sprintf("referral/%s/%d/", s.opts.Site, s.wave)) {
			continue
		}
		waited := s.seenFor("referral/" + r.ID + "/" + r.Status)
		switch {
		case r.Status == cycle.ReferralDispatched && waited >= 1 && s.answers.ServiceResponds(r.ID):
			if s.once("ack/" + r.ID) {
				s.launch(ctx, otherPool, nil, func(ctx context.Context) error {
					return s.referralAction(ctx, "acknowledge", r.ID, map[string]any{"by": "service (simulated)"})
				})
			}
		case r.Status == cycle.ReferralAcknowledged && waited >= 4:
			if c := cycleOfReferral(r.ID); followingUp[c] && !s.taken("checked-in/"+c) {
				continue
			}
			if s.once("outcome/" + r.ID) {
				outcome := s.answers.ReferralOutcome(r.ID)
				s.launch(ctx, otherPool, nil, func(ctx context.Context) error {
					return s.referralAction(ctx, "outcome", r.ID, map[string]any{"outcome": outcome, "by": "service (simulated)"})
				})
			}
		}
	}
	for _, id := range work.FollowUps {
		if !strings.HasPrefix(id, prefix) || s.seenFor("followup/"+id) < 2 || !s.once("followup/"+id) {
			continue
		}
		child := strings.TrimPrefix(id, prefix)
		s.launch(ctx, otherPool, nil, func(ctx context.Context) error {
			err := s.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/cycles/%s/%d/%s/follow-ups", s.opts.Site, s.wave, child), fmt.Sprintf("sim-fu-%d-%s", s.wave, child),
				map[string]any{"note": "Check-in (simulated): family reached, referral in progress.", "recorded_by": "social worker (simulated)"}, nil)
			switch {
			case retryable(err):
				s.forget("followup/" + id)
			case err == nil:
				s.once("checked-in/" + id)
			}
			return s.tolerate(err, "follow-up")
		})
	}
	return nil
}

// work reads the site's open work, every page of the forms due.
func (s *sim) work(ctx context.Context) (workView, error) {
	var w workView
	base := "/api/v1/work?limit=1000&site=" + url.QueryEscape(s.opts.Site)
	if err := s.api.do(ctx, http.MethodGet, base, "", nil, &w); err != nil {
		return w, err
	}
	for next := w.Next["forms"]; next != ""; {
		var page struct {
			Items []formDue `json:"items"`
			Next  string    `json:"next"`
		}
		if err := s.api.do(ctx, http.MethodGet, base+"&list=forms&after="+url.QueryEscape(next), "", nil, &page); err != nil {
			return w, err
		}
		w.Forms = append(w.Forms, page.Items...)
		next = page.Next
	}
	return w, nil
}

// closeWindows closes the wave's assessment window once (a) the wave has
// started every cycle and each has left enrolment, (b) no baseline form a
// persona will return is outstanding or in flight, and (c) the window's
// simulated days have passed. It ends a cycle's wait for forms that will
// never come (a reassessment, or a baseline a plan reopened, whose
// respondent never answers) likewise, after a reassessment window.
func (s *sim) closeWindows(ctx context.Context, w waveView, work workView) error {
	prefix := fmt.Sprintf("cycle/%s/%d/", s.opts.Site, s.wave)
	if !s.windowClosed {
		switch w.Status {
		case "closing", "reported", "closed":
			s.windowClosed = true
		case "open":
			if s.launched(w) && s.simDays(time.Since(s.windowOpen)) >= s.windowDays &&
				!s.inFlight(cycle.PhaseBaseline) && !s.outstanding(work, prefix, cycle.PhaseBaseline) {
				err := s.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/waves/%s/%d/close-window", s.opts.Site, s.wave),
					fmt.Sprintf("sim-close-window-%s-%d", s.opts.Site, s.wave), map[string]any{"reason": "every form the simulated practitioners will return is in"}, nil)
				switch {
				case err == nil || statusOf(err) == http.StatusConflict:
					s.windowClosed = true
					s.count("assessment window closed")
					if !s.opts.Quiet {
						fmt.Fprintf(s.opts.Out, "[%5.1fs day %3.0f] every form the practitioners will return is in: closing the assessment window\n",
							time.Since(s.start).Seconds(), s.simDays(time.Since(s.windowOpen)))
					}
				case retryable(err):
				default:
					return fmt.Errorf("simulate: closing the assessment window: %w", err)
				}
			}
		}
	}
	for _, f := range work.Forms {
		if !strings.HasPrefix(f.CycleID, prefix) {
			continue
		}
		since := "due/" + f.CycleID + "/" + f.Phase
		if f.Phase == cycle.PhaseBaseline {
			// The wave closes the baseline of every cycle; a cycle alone only
			// when a plan reopens its baseline after that, counted from then.
			if !s.windowClosed {
				continue
			}
			since = "reopened/" + f.CycleID
		}
		child := strings.TrimPrefix(f.CycleID, prefix)
		if s.seenFor(since) < s.reassessDays || s.willAnswerAny(child, f.Phase, f.Respondents) || s.inFlight(waitKey(f.CycleID, f.Phase)) {
			continue
		}
		key := "close/" + f.CycleID + "/" + f.Phase
		if !s.once(key) {
			continue
		}
		s.launch(ctx, otherPool, nil, func(ctx context.Context) error {
			err := s.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/cycles/%s/%d/%s/close-window", s.opts.Site, s.wave, child),
				"sim-"+strings.ReplaceAll(key, "/", "."), map[string]any{"phase": f.Phase}, nil)
			if retryable(err) {
				s.forget(key)
			}
			return s.tolerate(err, f.Phase+" wait closed")
		})
	}
	return nil
}

// launched reports whether the wave has started every cycle and each has
// left enrolment (waiting for forms, or closed without consent).
func (s *sim) launched(w waveView) bool {
	rows := 0
	for _, n := range w.ByStage {
		rows += n
	}
	return w.CohortSize > 0 && rows >= w.CohortSize && w.ByStage[cycle.StageEnrol] == 0
}

// outstanding reports whether some form of the phase that a persona will
// return has not been accepted yet.
func (s *sim) outstanding(work workView, prefix, phase string) bool {
	for _, f := range work.Forms {
		if f.Phase == phase && strings.HasPrefix(f.CycleID, prefix) && s.willAnswerAny(strings.TrimPrefix(f.CycleID, prefix), phase, f.Respondents) {
			return true
		}
	}
	return false
}

func (s *sim) willAnswerAny(child, phase string, respondents []string) bool {
	for _, r := range respondents {
		if s.answers.WillAnswer(child, phase, r) {
			return true
		}
	}
	return false
}

// closedWait reports whether the simulator closed the cycle's wait for the
// phase's forms: from then on it submits none of them.
func (s *sim) closedWait(cycleID, phase string) bool {
	if phase == cycle.PhaseBaseline && s.windowClosed {
		return true
	}
	return s.taken("close/" + cycleID + "/" + phase)
}

// cycleOfReferral maps referral/SITE/WAVE/CHILD/K to cycle/SITE/WAVE/CHILD.
func cycleOfReferral(id string) string {
	id = strings.Replace(id, "referral/", "cycle/", 1)
	if i := strings.LastIndex(id, "/"); i > 0 {
		return id[:i]
	}
	return id
}

// tolerate counts an action and ignores the answers a real practitioner
// would shrug at: 409 (someone else did it, or the window closed) and 404
// (the workflow moved on), counted as too late; 503 and calls that timed
// out or found khula restarting are tried again by the caller. Anything
// else stops the simulation.
func (s *sim) tolerate(err error, action string) error {
	switch {
	case err == nil:
		s.count(action)
		return nil
	case retryable(err):
		return nil
	case statusOf(err) == http.StatusConflict, statusOf(err) == http.StatusNotFound:
		s.count(action + " (too late)")
		return nil
	default:
		return fmt.Errorf("simulate: %s: %w", action, err)
	}
}

func (s *sim) submitForm(ctx context.Context, key, child, phase, respondent string) error {
	answers, err := s.answers.Answers(child, phase, respondent)
	if err != nil {
		return err
	}
	body := map[string]any{"phase": phase, "respondent": respondent, "answers": answers, "submitted_by": respondent + " (simulated)"}
	path := fmt.Sprintf("/api/v1/cycles/%s/%d/%s", s.opts.Site, s.wave, child)
	err = s.api.do(ctx, http.MethodPost, path+"/assessments", "sim-"+strings.ReplaceAll(key, "/", "."), body, nil)
	if retryable(err) {
		s.forget(key)
		return nil
	}
	if statusOf(err) == http.StatusConflict {
		// The cycle has entered the phase's stage but is not taking its forms
		// yet (a notification still going out on a loaded machine): try again
		// while it waits for them; only a cycle that moved on was too late.
		var d struct {
			Cycle struct{ Stage, Status string }
		}
		gerr := s.api.do(ctx, http.MethodGet, path, "", nil, &d)
		stage := cycle.StageAssess
		if phase == cycle.PhaseReassessment {
			stage = cycle.StageReassess
		}
		if retryable(gerr) || (gerr == nil && d.Cycle.Status != "closed" && d.Cycle.Stage == stage) {
			s.forget(key)
			return nil
		}
	}
	return s.tolerate(err, phase+" form")
}

func (s *sim) startMeeting(ctx context.Context, school string) error {
	date := time.Now().UTC().AddDate(0, 0, int(s.simDays(time.Since(s.start)))).Format(time.DateOnly)
	for sitting := 1; sitting <= 99; sitting++ {
		d := date
		if sitting > 1 {
			d = fmt.Sprintf("%s.%d", date, sitting)
		}
		// A week of simulated time with the hold backstop, but never less
		// than the simulated chair needs in real time to read the agenda
		// and answer on a loaded machine.
		within := max(holdBackstop*7*s.opts.DayLength, 30*time.Second)
		body := map[string]any{"site": s.opts.Site, "school": school, "date": d, "minutes_within": within.String()}
		err := s.api.do(ctx, http.MethodPost, "/api/v1/meetings", "", body, nil)
		if statusOf(err) == http.StatusConflict {
			continue // that date's sitting took place already (an earlier run)
		}
		return s.tolerate(err, "meeting")
	}
	return nil
}

type meetingView struct {
	Status string             `json:"status"`
	Agenda []cycle.AgendaItem `json:"agenda"`
}

func (s *sim) holdMeeting(ctx context.Context, key, meetingID string) error {
	parts := strings.Split(meetingID, "/")
	if len(parts) != 4 {
		return nil
	}
	path := fmt.Sprintf("/api/v1/meetings/%s/%s/%s", parts[1], parts[2], parts[3])
	var m meetingView
	if err := s.api.do(ctx, http.MethodGet, path, "", nil, &m); err != nil {
		s.forget(key)
		return s.tolerate(err, "meeting agenda")
	}
	var plans []cycle.ChildPlan
	for _, it := range m.Agenda {
		if it.Reason != cycle.AgendaAwaitingPlan {
			continue
		}
		plans = append(plans, cycle.ChildPlan{CycleID: it.CycleID, Actions: s.answers.Plan(it, s.site.ServiceTypes)})
	}
	if len(plans) == 0 {
		return nil
	}
	body := cycle.MinutesInput{Plans: plans, RecordedBy: "LLCoP chair (simulated)", Attendance: s.answers.Attendance(meetingID)}
	err := s.api.do(ctx, http.MethodPost, path+"/minutes", "sim-"+strings.ReplaceAll(key, "/", "."), body, nil)
	switch {
	case retryable(err):
		s.forget(key) // busy: try again while the meeting awaits minutes
		return nil
	case statusOf(err) == http.StatusConflict:
		// The agenda was still being prepared, or the meeting closed: try
		// again while it awaits minutes, else it was too late.
		var now meetingView
		gerr := s.api.do(ctx, http.MethodGet, path, "", nil, &now)
		if retryable(gerr) || (gerr == nil && now.Status == cycle.MeetingAwaitingMinutes) {
			s.forget(key)
			return nil
		}
	}
	return s.tolerate(err, "meeting minutes")
}

func (s *sim) referralAction(ctx context.Context, action, referralID string, body map[string]any) error {
	// referral/SITE/WAVE/CHILD/K
	path := "/api/v1/" + strings.Replace(referralID, "referral/", "referrals/", 1) + "/" + action
	err := s.api.do(ctx, http.MethodPost, path, "sim-"+action+"-"+strings.ReplaceAll(referralID, "/", "."), body, nil)
	if retryable(err) {
		key := "ack/" + referralID
		if action == "outcome" {
			key = "outcome/" + referralID
		}
		s.forget(key)
	}
	return s.tolerate(err, "referral "+action)
}
