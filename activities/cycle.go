package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

// Error types activities return as non-retryable application errors.
const (
	ErrTypeUnknownSite    = "UnknownSite"
	ErrTypeUnknownChild   = "UnknownChild"
	ErrTypeNoService      = "NoService"
	ErrTypePluginRejected = "PluginRejected"
	ErrTypeScoring        = "ScoringFailed"
)

func (a *Activities) site(id string) (*sites.Site, error) {
	s, ok := a.Sites.Site(id)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("site %q is not configured on this worker", id), ErrTypeUnknownSite, nil)
	}
	return s, nil
}

// RecordStage mirrors a cycle's stage into the database.
func (a *Activities) RecordStage(ctx context.Context, r cycle.StageRecord) error {
	if err := a.Records.RecordStage(ctx, r); err != nil {
		return fmt.Errorf("recording stage %s of %s: %w", r.Stage, r.CycleID, err)
	}
	return nil
}

// EnrolInput asks whether a child can be enrolled in a cycle.
type EnrolInput struct {
	SiteID  string `json:"site_id"`
	ChildID string `json:"child_id"`
	// Wave is the wave's number; consent is judged for that wave under the
	// site's consent policy. Histories from before it was sent carry 0:
	// any consent not withdrawn counts.
	Wave int `json:"wave,omitempty"`
}

// CheckEnrolment reports whether the child is in the site's cohort, has not
// left the study, and has a consent that covers the wave.
func (a *Activities) CheckEnrolment(ctx context.Context, in EnrolInput) (cycle.Enrolment, error) {
	q := cycle.EnrolmentQuery{SiteID: in.SiteID, ChildID: in.ChildID, Wave: in.Wave}
	if in.Wave > 0 {
		site, err := a.site(in.SiteID)
		if err != nil {
			return cycle.Enrolment{}, err
		}
		q.Policy = site.Consent.Policy()
	}
	e, err := a.Records.Enrolment(ctx, q)
	if err != nil {
		return cycle.Enrolment{}, fmt.Errorf("checking enrolment of %s: %w", in.ChildID, err)
	}
	return e, nil
}

// SaveAssessment stores one respondent's answers.
func (a *Activities) SaveAssessment(ctx context.Context, r cycle.AssessmentRecord) error {
	if err := a.Records.SaveAssessment(ctx, r); err != nil {
		return fmt.Errorf("saving %s %s answers of %s: %w", r.Phase, r.Respondent, r.CycleID, err)
	}
	return nil
}

// ScoreInput asks for a phase of a cycle to be scored from its saved answers.
type ScoreInput struct {
	CycleID    string              `json:"cycle_id"`
	WaveID     string              `json:"wave_id"`
	SiteID     string              `json:"site_id"`
	SchoolID   string              `json:"school_id"`
	ChildID    string              `json:"child_id"`
	Phase      string              `json:"phase"`
	Instrument cycle.InstrumentRef `json:"instrument"`
	AssessedOn time.Time           `json:"assessed_on"`
	// Baseline levels of the domains to compare, set when scoring a reassessment.
	Baseline map[string]string `json:"baseline,omitempty"`
}

// ScoreCycle scores a phase from the answers saved in the database (so the
// answers do not travel through the workflow history twice), saves the score
// and its domain risks, and returns what the workflow acts on.
func (a *Activities) ScoreCycle(ctx context.Context, in ScoreInput) (ScoreOutput, error) {
	answers, err := a.Records.Assessments(ctx, in.CycleID, in.Phase)
	if err != nil {
		return ScoreOutput{}, fmt.Errorf("loading answers of %s: %w", in.CycleID, err)
	}
	subject, err := a.Records.Subject(ctx, in.ChildID)
	if err != nil {
		return ScoreOutput{}, fmt.Errorf("loading subject of %s: %w", in.CycleID, err)
	}
	out, doc, err := a.Scorer.Score(in.Instrument, subject, in.AssessedOn, answers)
	if err != nil {
		return ScoreOutput{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("scoring %s %s: %v", in.CycleID, in.Phase, err), ErrTypeScoring, nil)
	}
	if in.Baseline != nil {
		// Compare only the domains the baseline names (those at risk).
		out.Changes = map[string]string{}
		for d, ch := range a.Scorer.Compare(in.Baseline, out.Domains) {
			if _, ok := in.Baseline[d]; ok {
				out.Changes[d] = ch
			}
		}
	}
	rec := cycle.ScoreRecord{
		CycleID: in.CycleID, WaveID: in.WaveID, SiteID: in.SiteID, SchoolID: in.SchoolID,
		Phase: in.Phase, Instrument: in.Instrument, Domains: out.Domains, Changes: out.Changes, Flags: out.Flags,
		Result: doc, ComputedAt: a.now(),
	}
	if err := a.Records.SaveScore(ctx, rec); err != nil {
		return ScoreOutput{}, fmt.Errorf("saving score of %s: %w", in.CycleID, err)
	}
	return out, nil
}

// ScreenInput asks which red flags the forms of a phase received so far raise.
type ScreenInput struct {
	CycleID    string              `json:"cycle_id"`
	ChildID    string              `json:"child_id"`
	Phase      string              `json:"phase"`
	Instrument cycle.InstrumentRef `json:"instrument"`
	AssessedOn time.Time           `json:"assessed_on"`
}

// ScreenRedFlags scores the forms of a phase received so far, as soon as
// one arrives, and returns the red flags they raise with where each one's
// urgent referral goes. It saves nothing: the phase's score is saved when
// the phase is scored. The answers stay in the database, not the history.
func (a *Activities) ScreenRedFlags(ctx context.Context, in ScreenInput) ([]cycle.RedFlag, error) {
	answers, err := a.Records.Assessments(ctx, in.CycleID, in.Phase)
	if err != nil {
		return nil, fmt.Errorf("loading answers of %s: %w", in.CycleID, err)
	}
	subject, err := a.Records.Subject(ctx, in.ChildID)
	if err != nil {
		return nil, fmt.Errorf("loading subject of %s: %w", in.CycleID, err)
	}
	out, _, err := a.Scorer.Score(in.Instrument, subject, in.AssessedOn, answers)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("screening %s %s: %v", in.CycleID, in.Phase, err), ErrTypeScoring, nil)
	}
	return out.RedFlags, nil
}

// Audiences a notification can go to.
const (
	ToSafeguarding = "safeguarding"
	ToCoordinator  = "coordinator"
	ToLLCoP        = "llcop"
	ToSocialWorker = "social_worker"
	// ToProgrammeManager is the escalation after the coordinator: the
	// site's programme manager (the coordinator where the site names none).
	ToProgrammeManager = "programme_manager"
)

// NotifyInput sends a templated message to an audience of a school.
type NotifyInput struct {
	// Key identifies this notification; each recipient gets Key/<n>.
	Key      string            `json:"key"`
	SiteID   string            `json:"site_id"`
	SchoolID string            `json:"school_id"`
	To       string            `json:"to"`
	Template string            `json:"template"`
	Params   map[string]string `json:"params"`
}

// NotifyResult counts the messages sent and those already sent by an earlier attempt.
type NotifyResult struct {
	Sent       int `json:"sent"`
	Duplicates int `json:"duplicates"`
}

// Notify renders a template in each recipient's language and sends it
// through the site's notify plugin, once per recipient however often it is retried.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	site, err := a.site(in.SiteID)
	if err != nil {
		return NotifyResult{}, err
	}
	notifier, err := a.Plugins.Notifier(in.SiteID)
	if err != nil {
		return NotifyResult{}, fmt.Errorf("notify plugin for %s: %w", in.SiteID, err)
	}
	var res NotifyResult
	for i, p := range recipients(site, in.SchoolID, in.To) {
		subject, body, err := a.Messages.RenderFor(in.SiteID, in.Template, p.Language, in.Params)
		if err != nil {
			return res, temporal.NewNonRetryableApplicationError(err.Error(), "BadTemplate", nil)
		}
		d, err := notifier.Send(ctx, plugins.Message{
			IdempotencyKey: fmt.Sprintf("%s/%d", in.Key, i),
			SiteID:         in.SiteID,
			To:             plugins.Contact{Channel: p.Contact.Channel, Address: p.Contact.Address},
			Language:       p.Language,
			Template:       in.Template,
			Subject:        subject,
			Body:           body,
		})
		if err != nil {
			return res, pluginError("notify", err)
		}
		if d.Duplicate {
			res.Duplicates++
		} else {
			res.Sent++
		}
	}
	return res, nil
}

func recipients(site *sites.Site, schoolID, to string) []sites.Person {
	switch to {
	case ToSafeguarding:
		return []sites.Person{site.SafeguardingLead(schoolID)}
	case ToCoordinator:
		return []sites.Person{site.Coordinator}
	case ToProgrammeManager:
		return []sites.Person{site.Escalation()}
	case ToLLCoP:
		if sc, ok := site.School(schoolID); ok {
			return sc.LLCoP
		}
	case ToSocialWorker:
		if sc, ok := site.School(schoolID); ok {
			var out []sites.Person
			for _, p := range sc.LLCoP {
				if p.Role == sites.RoleSocialWorker {
					out = append(out, p)
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	return []sites.Person{site.Coordinator}
}

func pluginError(role string, err error) error {
	if errors.Is(err, plugins.ErrPermanent) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s plugin rejected the request: %v", role, err), ErrTypePluginRejected, nil)
	}
	return fmt.Errorf("%s plugin: %w", role, err)
}

// SaveFollowUp stores a practitioner's check-in.
func (a *Activities) SaveFollowUp(ctx context.Context, r cycle.FollowUpRecord) error {
	if err := a.Records.SaveFollowUp(ctx, r); err != nil {
		return fmt.Errorf("saving follow-up of %s: %w", r.CycleID, err)
	}
	return nil
}
