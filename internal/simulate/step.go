package simulate

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
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

// step looks at the site's open work and does what practitioners would.
func (s *sim) step(ctx context.Context) error {
	var w workView
	if err := s.api.do(ctx, http.MethodGet, "/api/v1/work?limit=1000&site="+s.opts.Site, "", nil, &w); err != nil {
		if statusOf(err) == http.StatusServiceUnavailable {
			return nil // down for a moment: the next tick tries again
		}
		return fmt.Errorf("simulate: reading open work: %w", err)
	}
	var jobs []func(context.Context) error
	prefix := fmt.Sprintf("cycle/%s/%d/", s.opts.Site, s.wave)
	for _, f := range w.Forms {
		if !strings.HasPrefix(f.CycleID, prefix) {
			continue
		}
		child := strings.TrimPrefix(f.CycleID, prefix)
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
			jobs = append(jobs, func(ctx context.Context) error { return s.submitForm(ctx, key, child, f.Phase, r) })
		}
	}
	for _, m := range w.Meetings {
		key := "minutes/" + m.ID
		if s.seenFor(key) < 1 || !s.once(key) {
			continue
		}
		jobs = append(jobs, func(ctx context.Context) error { return s.holdMeeting(ctx, key, m.ID) })
	}
	open := map[string]bool{}
	for _, m := range w.Meetings {
		open[m.SchoolID] = true
	}
	for school, n := range w.PlanBySchool {
		if n == 0 || open[school] {
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
		jobs = append(jobs, func(ctx context.Context) error { return s.startMeeting(ctx, school) })
	}
	for _, r := range w.Referrals {
		if !strings.HasPrefix(r.ID, fmt.Sprintf("referral/%s/%d/", s.opts.Site, s.wave)) {
			continue
		}
		waited := s.seenFor("referral/" + r.ID + "/" + r.Status)
		switch {
		case r.Status == cycle.ReferralDispatched && waited >= 1 && s.answers.ServiceResponds(r.ID):
			if s.once("ack/" + r.ID) {
				jobs = append(jobs, func(ctx context.Context) error {
					return s.referralAction(ctx, "acknowledge", r.ID, map[string]any{"by": "service (simulated)"})
				})
			}
		case r.Status == cycle.ReferralAcknowledged && waited >= 4:
			if s.once("outcome/" + r.ID) {
				outcome := s.answers.ReferralOutcome(r.ID)
				jobs = append(jobs, func(ctx context.Context) error {
					return s.referralAction(ctx, "outcome", r.ID, map[string]any{"outcome": outcome, "by": "service (simulated)"})
				})
			}
		}
	}
	for _, id := range w.FollowUps {
		if !strings.HasPrefix(id, prefix) || s.seenFor("followup/"+id) < 2 || !s.once("followup/"+id) {
			continue
		}
		child := strings.TrimPrefix(id, prefix)
		jobs = append(jobs, func(ctx context.Context) error {
			err := s.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/cycles/%s/%d/%s/follow-ups", s.opts.Site, s.wave, child), "sim-fu-"+child,
				map[string]any{"note": "Check-in (simulated): family reached, referral in progress.", "recorded_by": "social worker (simulated)"}, nil)
			if statusOf(err) == http.StatusServiceUnavailable {
				s.forget("followup/" + id)
			}
			return s.tolerate(err, "follow-up")
		})
	}
	return s.run(ctx, jobs)
}

// run executes jobs with bounded concurrency and returns the first hard error.
func (s *sim) run(ctx context.Context, jobs []func(context.Context) error) error {
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, job := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := job(ctx); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// tolerate counts an action and ignores the answers a real practitioner
// would shrug at: 409 (someone else did it, or the window closed) and 404
// (the workflow moved on). Anything else stops the simulation.
func (s *sim) tolerate(err error, action string) error {
	switch statusOf(err) {
	case 0:
		if err != nil {
			return fmt.Errorf("simulate: %s: %w", action, err)
		}
		s.count(action)
		return nil
	case http.StatusConflict, http.StatusNotFound:
		s.count(action + " (too late)")
		return nil
	case http.StatusServiceUnavailable:
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
	err = s.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/cycles/%s/%d/%s/assessments", s.opts.Site, s.wave, child), "sim-"+strings.ReplaceAll(key, "/", "."), body, nil)
	if statusOf(err) == http.StatusServiceUnavailable {
		s.forget(key)
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
		// A week of simulated time, but never less than the simulated
		// chair needs in real time to read the agenda and answer under load.
		within := max(7*s.opts.DayLength, 15*time.Second)
		body := map[string]any{"site": s.opts.Site, "school": school, "date": d, "minutes_within": within.String()}
		err := s.api.do(ctx, http.MethodPost, "/api/v1/meetings", "", body, nil)
		if statusOf(err) == http.StatusConflict {
			continue // that date's sitting took place already (an earlier run)
		}
		return s.tolerate(err, "meeting")
	}
	return nil
}

func (s *sim) holdMeeting(ctx context.Context, key, meetingID string) error {
	parts := strings.Split(meetingID, "/")
	if len(parts) != 4 {
		return nil
	}
	var m struct {
		Status string             `json:"status"`
		Agenda []cycle.AgendaItem `json:"agenda"`
	}
	if err := s.api.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/meetings/%s/%s/%s", parts[1], parts[2], parts[3]), "", nil, &m); err != nil {
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
	body := cycle.MinutesInput{Plans: plans, RecordedBy: "LLCoP chair (simulated)"}
	err := s.api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/meetings/%s/%s/%s/minutes", parts[1], parts[2], parts[3]), "sim-"+strings.ReplaceAll(key, "/", "."), body, nil)
	switch statusOf(err) {
	case http.StatusServiceUnavailable, http.StatusConflict:
		// Busy, or the agenda was still being prepared: try again while the
		// meeting is listed as awaiting minutes.
		s.forget(key)
	}
	return s.tolerate(err, "meeting minutes")
}

func (s *sim) referralAction(ctx context.Context, action, referralID string, body map[string]any) error {
	// referral/SITE/WAVE/CHILD/K
	path := "/api/v1/" + strings.Replace(referralID, "referral/", "referrals/", 1) + "/" + action
	err := s.api.do(ctx, http.MethodPost, path, "sim-"+action+"-"+strings.ReplaceAll(referralID, "/", "."), body, nil)
	if statusOf(err) == http.StatusServiceUnavailable {
		key := "ack/" + referralID
		if action == "outcome" {
			key = "outcome/" + referralID
		}
		s.forget(key)
	}
	return s.tolerate(err, "referral "+action)
}
