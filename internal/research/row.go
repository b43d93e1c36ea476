package research

import "time"

// Phases of a time point, as package cycle names them.
const (
	PhaseBaseline     = "baseline"
	PhaseReassessment = "reassessment"
)

// Referral outcomes counted in their own columns, as package cycle names
// them; any other status (created, dispatched, acknowledged) is open.
const (
	ReferralCompleted   = "completed"
	ReferralDeclined    = "declined"
	ReferralUnreachable = "unreachable"
)

// GrowthFlagImplausible is the growth flag of a z-score WHO considers
// biologically implausible: it is written, but must not be analysed.
const GrowthFlagImplausible = "implausible"

// Growth indicators, the keys of [Row].Growth.
const (
	HeightForAge = "hfa"
	WeightForAge = "wfa"
	BMIForAge    = "bfa"
)

// Row is one child at one time point, as the extraction reads it. Codes
// (phase, outcome, bands, levels, domains, service types, kinds, statuses,
// sectors) must be lowercase identifiers: letters, digits, '_', '-' or '.',
// starting with a letter.
type Row struct {
	// ChildID is used only to compute the pseudonym; it is never written.
	ChildID string
	// School is the school's ID.
	School string
	// Wave is the wave number, from 1.
	Wave int
	// Phase is PhaseBaseline or PhaseReassessment.
	Phase string
	// Sex as recorded: "female" or "male" (as the store keeps it), "F" or
	// "M"; written F or M, empty when unknown.
	Sex string
	// Grade is the school grade as recorded.
	Grade string
	// AgeMonths is the age in completed months on the assessment date (see
	// [AgeMonths]); nil when the date of birth or of the assessment is unknown.
	AgeMonths *int
	// InstrumentID and InstrumentVersion name the effective instrument the
	// time point was scored with; empty when it was not assessed. They must
	// be one of the schema's instruments.
	InstrumentID, InstrumentVersion string
	// AssessedOn is the assessment date, written as its month; zero when
	// not assessed.
	AssessedOn time.Time
	// Outcome is the cycle's outcome (completed, low_risk, no_consent,
	// not_assessed, withdrawn, ...); empty while the cycle is open.
	Outcome string
	// Answers are the merged answers of all respondents for the phase, by
	// item ID: a string (a choice code, or a date YYYY-MM-DD), a number
	// (float64, as JSON decodes it, or any Go integer), a bool, or
	// "declined". A nil value is unanswered.
	Answers map[string]any
	// Scales holds the scale scores by scale ID.
	Scales map[string]ScaleValue
	// Growth holds the z-scores by indicator: HeightForAge, WeightForAge,
	// BMIForAge.
	Growth map[string]GrowthValue
	// Domains maps domain IDs to high, moderate, low or not_assessed.
	Domains map[string]string
	// RedFlags is the number of red flags raised; their codes are not written.
	RedFlags int
	// PlanAgreed reports that an LLCoP agreed a plan for the child.
	PlanAgreed bool
	// PlanActions are the agreed plan's actions.
	PlanActions []Action
	// Referrals are the referrals made for the child in this time point.
	Referrals []Referral
}

// ScaleValue is a scale's result. When Computed is false nothing else is
// written.
type ScaleValue struct {
	Score    float64
	Computed bool
	// Band is the band's name, empty when the scale has no bands.
	Band     string
	Prorated bool
}

// GrowthValue is one growth indicator's z-score. When Computed is false
// nothing is written.
type GrowthValue struct {
	Z        float64
	Computed bool
	// Flag is empty, or GrowthFlagImplausible.
	Flag string
}

// Action is one plan action, without its note or owner.
type Action struct {
	Domain string
	// ServiceType is the site service the action asks for; empty for a
	// note action or one with a Kind.
	ServiceType string
	// Kind is empty for a service or note action, or a special action such
	// as complete_assessment.
	Kind string
	// Sector is the sector of the service, as recorded; empty when the
	// action asks for no service.
	Sector string
	// Done and Overdue report the action's state at extraction.
	Done, Overdue bool
}

// Referral is one referral, without its reason or any contact.
type Referral struct {
	Domain, ServiceType string
	// Sector is the sector of the service, as recorded.
	Sector string
	// Status is ReferralCompleted, ReferralDeclined, ReferralUnreachable,
	// or an open status (created, dispatched, acknowledged).
	Status string
	// Urgent referrals come from red flags.
	Urgent bool
	// Overdue reports a referral past its service-level agreement.
	Overdue bool
	// DaysToService is the time from referral to service in days; nil when
	// the child has not been served.
	DaysToService *float64
}
