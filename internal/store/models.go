package store

import "time"

// Site is a site's row; its configuration lives in sites/<site>/.
type Site struct {
	ID        string `gorm:"primaryKey"`
	Name      string
	Setting   string
	CreatedAt time.Time
}

// School is one school of a site.
type School struct {
	ID        string `gorm:"primaryKey"`
	SiteID    string
	Name      string
	Quintile  int
	CreatedAt time.Time
}

// Caregiver is a child's caregiver: personal data.
type Caregiver struct {
	ID         string `gorm:"primaryKey"`
	SiteID     string
	GivenName  string
	FamilyName string
	Phone      string
	Language   string
	CreatedAt  time.Time
	// ErasedAt is set when the personal fields were erased (consent
	// withdrawn, or retention).
	ErasedAt *time.Time
}

// Child is a child in a site's cohort: personal data. IDs are opaque and
// never derived from names, because they appear in workflow IDs.
type Child struct {
	ID          string `gorm:"primaryKey"`
	SiteID      string
	SchoolID    string
	CaregiverID string
	GivenName   string
	FamilyName  string
	Sex         string
	BirthDate   time.Time
	Grade       string
	CreatedAt   time.Time
	// ErasedAt is set when the personal fields were erased.
	ErasedAt *time.Time
	// LeftAt is set when the child left the study (LeftReason says why,
	// LeftBy who recorded it): later waves do not start a cycle for them.
	LeftAt     *time.Time
	LeftReason string
	LeftBy     string
	// SameAs names the child this record was confirmed to duplicate.
	SameAs string
}

// Consent records who consented for a child, for what, and any withdrawal.
type Consent struct {
	ID           string `gorm:"primaryKey"`
	ChildID      string
	CaregiverID  string
	Relationship string
	Scope        string
	GivenAt      time.Time
	WithdrawnAt  *time.Time
	// WithdrawalReason says why consent was withdrawn (no personal detail).
	WithdrawalReason string
	// RenewedAt is when the consent was last renewed (for a site whose
	// consent lapses or must be renewed each wave).
	RenewedAt *time.Time
}

// Wave statuses.
const (
	WaveLaunching = "launching"
	WaveOpen      = "open"
	WaveClosing   = "closing"
	WaveReported  = "reported"
	WaveClosed    = "closed"
)

// Wave is one round of the cycle at a site.
type Wave struct {
	ID          string `gorm:"primaryKey"`
	SiteID      string
	Number      int
	WindowOpen  time.Time
	WindowClose time.Time
	DayLengthMS int64 `gorm:"column:day_length_ms"`
	Status      string
	CohortSize  int
	LaunchedAt  time.Time
	ClosedAt    *time.Time
	Report      string
}

// Cycle statuses.
const (
	CycleOpen   = "open"
	CycleClosed = "closed"
)

// Cycle is the queryable mirror of one child's ChildCycleWorkflow.
type Cycle struct {
	ID        string `gorm:"primaryKey"`
	WaveID    string
	SiteID    string
	SchoolID  string
	ChildID   string
	Stage     string
	Status    string
	Outcome   string
	Risk      string
	RedFlag   bool
	Flags     string
	Awaiting  string
	StageSeq  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// StageEvent is one entry of a cycle's timeline.
type StageEvent struct {
	ID      string `gorm:"primaryKey"`
	CycleID string
	Seq     int
	Stage   string
	Detail  string
	At      time.Time
}

// Assessment is one respondent's answers for one phase (baseline or reassessment).
type Assessment struct {
	ID          string `gorm:"primaryKey"`
	CycleID     string
	Phase       string
	Respondent  string
	Answers     string
	SubmittedBy string
	SubmittedAt time.Time
}

// Score is the scoring result of one phase, with the instrument that produced it.
type Score struct {
	ID                string `gorm:"primaryKey"`
	CycleID           string
	Phase             string
	InstrumentID      string
	InstrumentVersion string
	Result            string
	ComputedAt        time.Time
}

// DomainRisk is one domain's risk level for one cycle and phase.
type DomainRisk struct {
	CycleID  string `gorm:"primaryKey"`
	Phase    string `gorm:"primaryKey"`
	Domain   string `gorm:"primaryKey"`
	WaveID   string
	SiteID   string
	SchoolID string
	Level    string
	// Change compares a reassessment with the baseline: improved, unchanged or worse.
	Change string
}

// Meeting statuses.
const (
	MeetingAwaitingMinutes = "awaiting_minutes"
	MeetingHeld            = "held"
	MeetingCancelled       = "cancelled"
)

// Meeting is one LLCoP meeting of a school.
type Meeting struct {
	ID        string `gorm:"primaryKey"`
	SiteID    string
	SchoolID  string
	Date      string
	Status    string
	Agenda    string
	CreatedAt time.Time
	HeldAt    *time.Time
	// Attendance counts who attended by sector, as JSON; "" when the
	// minutes did not say.
	Attendance string
}

// Plan is what an LLCoP meeting agreed for one child.
type Plan struct {
	ID        string `gorm:"primaryKey"`
	CycleID   string
	MeetingID string
	Actions   string
	AgreedAt  time.Time
}

// Referral statuses.
const (
	ReferralCreated      = "created"
	ReferralDispatched   = "dispatched"
	ReferralAcknowledged = "acknowledged"
	ReferralCompleted    = "completed"
	ReferralDeclined     = "declined"
	ReferralUnreachable  = "unreachable"
)

// Referral is the queryable mirror of one ReferralWorkflow.
type Referral struct {
	ID             string `gorm:"primaryKey"`
	CycleID        string
	WaveID         string
	SiteID         string
	SchoolID       string
	ServiceType    string
	ServiceID      string
	Domain         string
	Urgent         bool
	Status         string
	Overdue        bool
	DispatchRef    string
	CreatedAt      time.Time
	DispatchedAt   *time.Time
	AcknowledgedAt *time.Time
	ClosedAt       *time.Time
	DueAt          *time.Time
}

// FollowUp is a practitioner's check-in on a child with open referrals.
type FollowUp struct {
	ID         string `gorm:"primaryKey"`
	CycleID    string
	RecordedBy string
	Note       string
	At         time.Time
}

// ChildToken is one keyed blind-index token of a child (see
// internal/dedupe): an HMAC of a normalised birth date, caregiver phone or
// name skeleton, never the value itself.
type ChildToken struct {
	ChildID string `gorm:"primaryKey"`
	Kind    string `gorm:"primaryKey"`
	Token   string `gorm:"primaryKey"`
	SiteID  string
	// KeyID names the key the token was made with; tokens of another key
	// are rebuilt (ReindexChildren).
	KeyID string
}

// TableName names the table.
func (ChildToken) TableName() string { return "child_index" }

// Duplicate hold statuses.
const (
	// HoldPending: the child is held out of waves until someone decides.
	HoldPending = "pending"
	// HoldLinked: confirmed the same child; the new record points at the known one.
	HoldLinked = "linked"
	// HoldDifferent: confirmed a different child; the new record goes on.
	HoldDifferent = "different"
)

// DuplicateHold is a child found at import to be likely the same as a
// child already known, held for a person to decide.
type DuplicateHold struct {
	ID           string  `gorm:"primaryKey" json:"id"`
	SiteID       string  `json:"site_id"`
	ChildID      string  `json:"child_id"`
	KnownChildID string  `json:"known_child_id"`
	KnownSiteID  string  `json:"known_site_id"`
	Score        float64 `json:"score"`
	// Evidence lists the comparison's codes (comma separated), never names or dates.
	Evidence  string     `json:"evidence"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// PlanActionRow is one action a meeting agreed for a child, followed up
// until done: open, done, dropped, or referred (a service action, which its
// referral follows up).
type PlanActionRow struct {
	ID          string `gorm:"primaryKey" json:"id"`
	PlanID      string `json:"plan_id"`
	CycleID     string `json:"cycle_id"`
	MeetingID   string `json:"meeting_id"`
	SiteID      string `json:"site_id"`
	SchoolID    string `json:"school_id"`
	WaveID      string `json:"wave_id"`
	Seq         int    `json:"seq"`
	Domain      string `json:"domain"`
	Kind        string `json:"kind,omitempty"`
	ServiceType string `json:"service_type,omitempty"`
	Sector      string `json:"sector,omitempty"`
	// Owner names who carries the action out (a role or a title).
	Owner    string     `json:"owner"`
	DueOn    string     `json:"due_on"`
	Status   string     `json:"status"`
	AgreedAt time.Time  `json:"agreed_at"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	ClosedBy string     `json:"closed_by,omitempty"`
}

// TableName names the table.
func (PlanActionRow) TableName() string { return "plan_actions" }

// PlanReview is an advisory partner's (ALCoP) review of a plan for a
// child at high risk.
type PlanReview struct {
	ID       string `gorm:"primaryKey" json:"id"`
	PlanID   string `json:"plan_id"`
	CycleID  string `json:"cycle_id"`
	SiteID   string `json:"site_id"`
	SchoolID string `json:"school_id"`
	Reviewer string `json:"reviewer"`
	Verdict  string `json:"verdict"`
	// Comment is free text: sealed at rest.
	Comment    string    `json:"comment"`
	ReviewedAt time.Time `json:"reviewed_at"`
}

// DeviceKey is a user's offline key: the browser encrypts forms queued
// without a connection under it. Sealed.
type DeviceKey struct {
	UserID    string `gorm:"primaryKey"`
	KeySealed string
	CreatedAt time.Time
}

// ResearchKey is a site's research pseudonym key, sealed.
type ResearchKey struct {
	SiteID    string `gorm:"primaryKey"`
	KeySealed string
	CreatedAt time.Time
}
