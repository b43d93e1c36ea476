package cycle

import "time"

// StageRecord mirrors a cycle's stage change into the app database.
type StageRecord struct {
	CycleID  string    `json:"cycle_id"`
	WaveID   string    `json:"wave_id"`
	SiteID   string    `json:"site_id"`
	SchoolID string    `json:"school_id"`
	ChildID  string    `json:"child_id"`
	Seq      int       `json:"seq"`
	Stage    string    `json:"stage"`
	Outcome  string    `json:"outcome,omitempty"`
	Risk     string    `json:"risk,omitempty"`
	Flags    []string  `json:"flags,omitempty"`
	Awaiting []string  `json:"awaiting,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`
}

// Enrolment is what the enrol stage learns about a child.
type Enrolment struct {
	Found     bool   `json:"found"`
	Consented bool   `json:"consented"`
	SchoolID  string `json:"school_id"`
	Reason    string `json:"reason,omitempty"`
}

// Subject is what scoring needs to know about a child.
type Subject struct {
	Sex       string    `json:"sex"`
	BirthDate time.Time `json:"birth_date"`
}

// AssessmentRecord is one respondent's saved answers.
type AssessmentRecord struct {
	CycleID     string    `json:"cycle_id"`
	Phase       string    `json:"phase"`
	Respondent  string    `json:"respondent"`
	Answers     Answers   `json:"answers"`
	SubmittedBy string    `json:"submitted_by"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// ScoreRecord is one phase's scoring result.
type ScoreRecord struct {
	CycleID    string            `json:"cycle_id"`
	WaveID     string            `json:"wave_id"`
	SiteID     string            `json:"site_id"`
	SchoolID   string            `json:"school_id"`
	Phase      string            `json:"phase"`
	Instrument InstrumentRef     `json:"instrument"`
	Domains    map[string]string `json:"domains"`
	Changes    map[string]string `json:"changes,omitempty"`
	Flags      []string          `json:"flags,omitempty"`
	Result     []byte            `json:"result"`
	ComputedAt time.Time         `json:"computed_at"`
}

// ReferralRecord mirrors a referral's state into the app database.
type ReferralRecord struct {
	ReferralID  string     `json:"referral_id"`
	CycleID     string     `json:"cycle_id"`
	WaveID      string     `json:"wave_id"`
	SiteID      string     `json:"site_id"`
	SchoolID    string     `json:"school_id"`
	Domain      string     `json:"domain"`
	ServiceType string     `json:"service_type"`
	ServiceID   string     `json:"service_id,omitempty"`
	Urgent      bool       `json:"urgent"`
	Status      string     `json:"status"`
	Overdue     bool       `json:"overdue"`
	DispatchRef string     `json:"dispatch_ref,omitempty"`
	At          time.Time  `json:"at"`
	DueAt       *time.Time `json:"due_at,omitempty"`
}

// MeetingRecord mirrors a meeting's state into the app database.
type MeetingRecord struct {
	MeetingID string       `json:"meeting_id"`
	SiteID    string       `json:"site_id"`
	SchoolID  string       `json:"school_id"`
	Date      string       `json:"date"`
	Status    string       `json:"status"`
	Agenda    []AgendaItem `json:"agenda,omitempty"`
	At        time.Time    `json:"at"`
}

// FollowUpRecord is one saved check-in.
type FollowUpRecord struct {
	ID         string    `json:"id"`
	CycleID    string    `json:"cycle_id"`
	Note       string    `json:"note"`
	RecordedBy string    `json:"recorded_by"`
	At         time.Time `json:"at"`
}

// WaveRecord mirrors a wave's state into the app database.
type WaveRecord struct {
	WaveID      string        `json:"wave_id"`
	SiteID      string        `json:"site_id"`
	Number      int           `json:"number"`
	WindowOpen  time.Time     `json:"window_open"`
	WindowClose time.Time     `json:"window_close"`
	DayLength   time.Duration `json:"day_length"`
	Status      string        `json:"status"`
	CohortSize  int           `json:"cohort_size"`
	Report      []byte        `json:"report,omitempty"`
	At          time.Time     `json:"at"`
}

// CohortMember is one child a wave enrols.
type CohortMember struct {
	ChildID  string `json:"child_id"`
	SchoolID string `json:"school_id"`
}

// WaveReport summarises a closed wave for the programme manager.
type WaveReport struct {
	CohortSize int                       `json:"cohort_size"`
	Outcomes   map[string]int            `json:"outcomes"`
	Risk       map[string]map[string]int `json:"risk"`
	Changes    map[string]map[string]int `json:"changes"`
	Referrals  map[string]int            `json:"referrals"`
	RedFlags   int                       `json:"red_flags"`
}

// Aggregate is one count for an export: per school, a key such as
// "risk.material.high" or "outcome.completed", and the number of children.
type Aggregate struct {
	SchoolID string `json:"school_id"`
	Key      string `json:"key"`
	Value    int    `json:"value"`
}
