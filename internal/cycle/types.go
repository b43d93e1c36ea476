// Package cycle holds the vocabulary shared by workflows, activities and the
// API: stages, outcomes, deterministic workflow IDs, search attributes, and the
// input and output of every workflow, update, signal and query.
package cycle

import (
	"time"
)

// Stages of a child's cycle, in order. Each is visible as the KhulaStage
// search attribute, the cycle's query and the cycles.stage column.
const (
	StageEnrol    = "enrol"
	StageAssess   = "assess"
	StageScore    = "score"
	StagePlan     = "plan"
	StageRefer    = "refer"
	StageFollowUp = "follow_up"
	StageReassess = "reassess"
	StageClosed   = "closed"
)

// Stages lists the stages in cycle order.
var Stages = []string{StageEnrol, StageAssess, StageScore, StagePlan, StageRefer, StageFollowUp, StageReassess, StageClosed}

// Outcomes a closed cycle records.
const (
	OutcomeNoConsent          = "no_consent"
	OutcomeNotAssessed        = "not_assessed"
	OutcomeLowRisk            = "low_risk"
	OutcomeCompleted          = "completed"
	OutcomeReassessmentMissed = "reassessment_missed"
	OutcomeWithdrawn          = "withdrawn"
	// OutcomeIncomplete: some domains were never assessed (a respondent's
	// form missing) and none of those assessed is at risk; never "low risk".
	OutcomeIncomplete = "incomplete_assessment"
	// OutcomePlanNotAgreed: no LLCoP agreed a plan before the site's final
	// plan deadline; the child is carried to the next wave's agenda.
	OutcomePlanNotAgreed = "plan_not_agreed"
)

// Assessment phases.
const (
	PhaseBaseline     = "baseline"
	PhaseReassessment = "reassessment"
)

// Risk levels, ordered from least to most concern.
const (
	RiskNotAssessed = "not_assessed"
	RiskLow         = "low"
	RiskModerate    = "moderate"
	RiskHigh        = "high"
)

// RiskRank orders risk levels so the highest can be found.
func RiskRank(level string) int {
	switch level {
	case RiskLow:
		return 1
	case RiskModerate:
		return 2
	case RiskHigh:
		return 3
	}
	return 0
}

// Handler names: exported so the API and tests call them by constant.
const (
	UpdateSubmitAssessment = "submit-assessment"
	UpdateRecordFollowUp   = "record-follow-up"
	UpdateSubmitMinutes    = "submit-minutes"
	UpdateAcknowledge      = "acknowledge-referral"
	UpdateReferralOutcome  = "record-referral-outcome"
	SignalPlanAgreed       = "plan-agreed"
	SignalPlanReviewed     = "plan-reviewed"
	QueryCycle             = "cycle"
	QueryWaveProgress      = "progress"
	QueryMeeting           = "meeting"
	QueryReferral          = "referral"
)

// InstrumentRef names an instrument version.
type InstrumentRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// Timing holds the cycle's waits, already scaled when a wave runs on
// compressed time (the simulator), so workflows only ever read durations.
type Timing struct {
	ReminderEvery      time.Duration `json:"reminder_every"`
	PlanDeadline       time.Duration `json:"plan_deadline"`
	UrgentReferralSLA  time.Duration `json:"urgent_referral_sla"`
	ReferralAckSLA     time.Duration `json:"referral_ack_sla"`
	ReferralSLA        time.Duration `json:"referral_sla"`
	FollowUpEvery      time.Duration `json:"follow_up_every"`
	ReassessAfter      time.Duration `json:"reassess_after"`
	ReassessmentWindow time.Duration `json:"reassessment_window"`
	// PlanGiveUpAfter is how long after scoring a cycle waits for a plan
	// before it closes as plan_not_agreed, carried to the next wave (0: three
	// plan deadlines). Escalation goes to the coordinator at the first plan
	// deadline and to the programme manager at the second.
	PlanGiveUpAfter time.Duration `json:"plan_give_up_after,omitempty"`
	// ReportAfter is how long after the assessment window closes the wave
	// report is produced, open cycles listed as open (0: 30 days).
	ReportAfter time.Duration `json:"report_after,omitempty"`
	// ReviewWithin, when set, makes a plan for a child at high risk wait
	// this long for the ALCoP's review (SignalPlanReviewed) before its
	// referrals start; past it the coordinator and programme manager are
	// told, past twice it the referrals start without the review.
	ReviewWithin    time.Duration `json:"review_within,omitempty"`
	MinutesDeadline time.Duration `json:"minutes_deadline"`
	ProgressEvery   time.Duration `json:"progress_every"`
}

// CycleInput starts one child's ChildCycleWorkflow.
type CycleInput struct {
	SiteID      string        `json:"site_id"`
	WaveID      string        `json:"wave_id"`
	Wave        int           `json:"wave"`
	ChildID     string        `json:"child_id"`
	SchoolID    string        `json:"school_id"`
	Instrument  InstrumentRef `json:"instrument"`
	Respondents []string      `json:"respondents"`
	WindowClose time.Time     `json:"window_close"`
	Timing      Timing        `json:"timing"`
	// ServiceTypes are the site's service types a plan action may ask for.
	ServiceTypes []string `json:"service_types"`
}

// CycleResult is what a closed cycle returns.
type CycleResult struct {
	Outcome  string            `json:"outcome"`
	Domains  map[string]string `json:"domains,omitempty"`
	Changes  map[string]string `json:"changes,omitempty"`
	Flags    []string          `json:"flags,omitempty"`
	Referral []ReferralResult  `json:"referrals,omitempty"`
}

// Answers are one respondent's answers keyed by item ID.
type Answers map[string]any

// SubmitAssessmentInput is a respondent's form, sent as an Update.
type SubmitAssessmentInput struct {
	Phase       string  `json:"phase"`
	Respondent  string  `json:"respondent"`
	Answers     Answers `json:"answers"`
	SubmittedBy string  `json:"submitted_by"`
}

// SubmitAssessmentResult says what the cycle still waits for.
type SubmitAssessmentResult struct {
	Remaining []string `json:"remaining"`
}

// FollowUpInput is a practitioner's check-in. Concerns are red-flag codes of
// the cycle's instrument the practitioner saw at the check-in (a disclosure,
// signs of harm): each opens the safeguarding fast path at once.
type FollowUpInput struct {
	Note       string   `json:"note"`
	RecordedBy string   `json:"recorded_by"`
	Concerns   []string `json:"concerns,omitempty"`
}

// FollowUpResult counts the check-ins recorded so far.
type FollowUpResult struct {
	Count int `json:"count"`
}

// PlanAction is one thing a meeting agreed for a child. When ServiceType is
// set the action becomes a referral.
type PlanAction struct {
	Domain      string `json:"domain"`
	ServiceType string `json:"service_type,omitempty"`
	Note        string `json:"note,omitempty"`
	// Kind is "" for a service or note action, or ActionCompleteAssessment.
	Kind string `json:"kind,omitempty"`
	// Owner names who carries the action out (a role or a person's title).
	Owner string `json:"owner,omitempty"`
	// Respondents lists, for ActionCompleteAssessment, whose forms to collect
	// (empty: every respondent still missing).
	Respondents []string `json:"respondents,omitempty"`
	// Due is when the action should be done (YYYY-MM-DD); empty: the
	// default (see ActionDue).
	Due string `json:"due,omitempty"`
}

// ActionCompleteAssessment asks the owner to collect the missing forms of an
// incomplete assessment; the cycle reopens the baseline for them.
const ActionCompleteAssessment = "complete_assessment"

// PlanSignal carries a meeting's plan to a cycle. Concern marks a plan for a
// child a practitioner added to the agenda: the cycle acts on it at any open
// stage, not only while it awaits a plan.
type PlanSignal struct {
	MeetingID string       `json:"meeting_id"`
	Actions   []PlanAction `json:"actions"`
	Concern   bool         `json:"concern,omitempty"`
}

// PlanReviewSignal tells a cycle an advisor reviewed its plan.
type PlanReviewSignal struct {
	ReviewID string `json:"review_id"`
	Verdict  string `json:"verdict"`
}

// Review verdicts.
const (
	ReviewEndorsed         = "endorsed"
	ReviewChangesSuggested = "changes_suggested"
)

// RedFlag is a raised red flag and where its urgent referral goes, as its
// rule in the instrument declares. ServiceType "" means the safeguarding
// social worker is prompted and no referral is made (a declined item).
type RedFlag struct {
	Code        string `json:"code"`
	Domain      string `json:"domain"`
	ServiceType string `json:"service_type,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// SignalCloseWindow ends a wait for forms now: on a WaveWorkflow it closes
// the assessment window of the wave (and so of every cycle in it); on a
// ChildCycleWorkflow the wait for the named phase's forms.
const SignalCloseWindow = "close-window"

// CloseWindowSignal is the SignalCloseWindow payload.
type CloseWindowSignal struct {
	Phase string `json:"phase,omitempty"`
	By    string `json:"by,omitempty"`
}

// CycleStatus answers the cycle query.
type CycleStatus struct {
	Stage     string            `json:"stage"`
	Awaiting  []string          `json:"awaiting,omitempty"`
	Outcome   string            `json:"outcome,omitempty"`
	Risk      string            `json:"risk,omitempty"`
	Domains   map[string]string `json:"domains,omitempty"`
	Flags     []string          `json:"flags,omitempty"`
	Referrals []string          `json:"referrals,omitempty"`
	FollowUps int               `json:"follow_ups"`
}

// ReferralInput starts a ReferralWorkflow.
type ReferralInput struct {
	ReferralID  string        `json:"referral_id"`
	SiteID      string        `json:"site_id"`
	WaveID      string        `json:"wave_id"`
	CycleID     string        `json:"cycle_id"`
	ChildID     string        `json:"child_id"`
	SchoolID    string        `json:"school_id"`
	Domain      string        `json:"domain"`
	ServiceType string        `json:"service_type"`
	Urgent      bool          `json:"urgent"`
	Reason      string        `json:"reason,omitempty"`
	AckSLA      time.Duration `json:"ack_sla"`
	SLA         time.Duration `json:"sla"`
}

// Referral outcomes.
const (
	ReferralCompleted   = "completed"
	ReferralDeclined    = "declined"
	ReferralUnreachable = "unreachable"
)

// AcknowledgeInput is a service acknowledging a referral.
type AcknowledgeInput struct {
	By string `json:"by"`
}

// ReferralOutcomeInput closes a referral.
type ReferralOutcomeInput struct {
	Outcome string `json:"outcome"`
	By      string `json:"by"`
}

// ReferralResult is a closed referral.
type ReferralResult struct {
	ReferralID string `json:"referral_id"`
	Outcome    string `json:"outcome"`
	Overdue    bool   `json:"overdue"`
	Automatic  bool   `json:"automatic,omitempty"`
}

// ReferralStatus answers the referral query.
type ReferralStatus struct {
	Status  string `json:"status"`
	Overdue bool   `json:"overdue"`
	Outcome string `json:"outcome,omitempty"`
}

// MeetingInput starts a MeetingWorkflow.
type MeetingInput struct {
	SiteID       string        `json:"site_id"`
	SchoolID     string        `json:"school_id"`
	Date         string        `json:"date"`
	MinutesAfter time.Duration `json:"minutes_after"`
	ServiceTypes []string      `json:"service_types"`
}

// AgendaItem is one child on a meeting's agenda.
type AgendaItem struct {
	CycleID string            `json:"cycle_id"`
	ChildID string            `json:"child_id"`
	Reason  string            `json:"reason"`
	Domains map[string]string `json:"domains,omitempty"`
	Flags   []string          `json:"flags,omitempty"`
	// Reasons gives, per domain, the reason of the rule that set its level.
	Reasons map[string]string `json:"reasons,omitempty"`
	// Missing lists respondents whose baseline form never arrived, and
	// Unassessed the domains nobody assessed because of it.
	Missing    []string `json:"missing,omitempty"`
	Unassessed []string `json:"unassessed,omitempty"`
	// Urgent lists the urgent referrals the red flags opened (referral IDs).
	Urgent []string `json:"urgent,omitempty"`
	// Previous is the child's result in the site's previous wave, if any.
	Previous *PreviousResult `json:"previous,omitempty"`
	// Concern is the practitioner's reason for adding the child (AgendaConcern).
	Concern string `json:"concern,omitempty"`
	// ActionID names the overdue plan action (AgendaOverdueAction).
	ActionID string `json:"action_id,omitempty"`
}

// PreviousResult is a child's result in an earlier wave.
type PreviousResult struct {
	Wave    int               `json:"wave"`
	Outcome string            `json:"outcome"`
	Domains map[string]string `json:"domains,omitempty"`
}

// Agenda reasons.
const (
	AgendaAwaitingPlan    = "awaiting_plan"
	AgendaOverdueReferral = "overdue_referral"
	// AgendaConcern: a practitioner added the child with a reason.
	AgendaConcern = "concern"
	// AgendaOverdueAction: an action a meeting agreed is past its due date.
	AgendaOverdueAction = "overdue_action"
)

// ChildPlan is the plan minutes record for one child.
type ChildPlan struct {
	CycleID string       `json:"cycle_id"`
	Actions []PlanAction `json:"actions"`
}

// MinutesInput is a meeting's minutes, sent as an Update.
type MinutesInput struct {
	Plans      []ChildPlan `json:"plans"`
	RecordedBy string      `json:"recorded_by"`
	// Attendance counts who attended by sector (see Sectors); empty when
	// the minutes do not say.
	Attendance map[string]int `json:"attendance,omitempty"`
}

// MinutesResult says which agenda children rolled over to the next meeting.
type MinutesResult struct {
	Planned    int      `json:"planned"`
	RolledOver []string `json:"rolled_over"`
}

// MeetingStatus answers the meeting query.
type MeetingStatus struct {
	Status string       `json:"status"`
	Agenda []AgendaItem `json:"agenda"`
}

// WaveInput starts or continues a WaveWorkflow.
type WaveInput struct {
	SiteID       string        `json:"site_id"`
	Number       int           `json:"number"`
	WindowOpen   time.Time     `json:"window_open"`
	WindowClose  time.Time     `json:"window_close"`
	Instrument   InstrumentRef `json:"instrument"`
	Respondents  []string      `json:"respondents"`
	Timing       Timing        `json:"timing"`
	ServiceTypes []string      `json:"service_types"`
	PageSize     int           `json:"page_size"`
	// DayLength is how long a simulated day lasts on compressed time (0: real time).
	DayLength time.Duration `json:"day_length,omitempty"`
	// Carried across continue-as-new.
	Cursor  string `json:"cursor,omitempty"`
	Started int    `json:"started,omitempty"`
	Phase   string `json:"phase,omitempty"`
}

// WaveProgress answers the wave's progress query.
type WaveProgress struct {
	Status     string         `json:"status"`
	CohortSize int            `json:"cohort_size"`
	ByStage    map[string]int `json:"by_stage"`
	Open       int            `json:"open"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// Wave statuses (mirrors the store's).
const (
	WaveLaunching = "launching"
	WaveOpen      = "open"
	WaveClosing   = "closing"
	// WaveReported: the report date came with cycles still open; the
	// report lists them as open and is updated as they close.
	WaveReported = "reported"
	WaveClosed   = "closed"
)

// Meeting statuses.
const (
	MeetingAwaitingMinutes = "awaiting_minutes"
	MeetingHeld            = "held"
	MeetingNoAgenda        = "no_agenda"
	MeetingMinutesMissing  = "minutes_missing"
)

// Referral statuses before an outcome.
const (
	ReferralCreated      = "created"
	ReferralDispatched   = "dispatched"
	ReferralAcknowledged = "acknowledged"
)

// FieldError is one problem with one field of a human input, returned to the
// caller (the API answers 422 with these) and never recorded.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error types of rejected human inputs, carried by Temporal application errors.
const (
	// ErrTypeInvalidInput: the input breaks a rule; details hold []FieldError.
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeConflict: the input is well formed but the workflow is not
	// waiting for it (wrong stage, already submitted, closed).
	ErrTypeConflict = "Conflict"
	// ErrTypeNotSaved: the input was accepted but writing it failed, so
	// nothing was recorded. The same input may be sent again; Temporal keeps
	// this outcome under the update's ID, so it goes under a new ID.
	ErrTypeNotSaved = "NotSaved"
)

// Wave phases carried across continue-as-new.
const (
	WavePhaseLaunch = "launch"
	WavePhaseOpen   = "open"
	WavePhaseClose  = "close"
)
