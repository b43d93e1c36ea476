package research

import (
	"encoding/csv"
	"fmt"
	"io"
)

// Types of a [Variable].
const (
	// TypeString is free-form text (identifiers, grades, code lists).
	TypeString = "string"
	// TypeInteger is a whole number.
	TypeInteger = "integer"
	// TypeNumber is a decimal number.
	TypeNumber = "number"
	// TypeBoolean is 1 (yes) or 0 (no).
	TypeBoolean = "boolean"
	// TypeCategory is one of the codes listed in AllowedValues.
	TypeCategory = "category"
	// TypeDateMonth is a month, YYYY-MM.
	TypeDateMonth = "date_month"
)

// Variable is one column of the dataset, as the codebook describes it.
type Variable struct {
	// Name is the column's header.
	Name string
	// Label says what the column holds, in English.
	Label string
	// Type is one of TypeString, TypeInteger, TypeNumber, TypeBoolean,
	// TypeCategory or TypeDateMonth.
	Type string
	// AllowedValues lists a category's codes ("0=Not true; 1=Somewhat
	// true"), a boolean's "1=yes; 0=no", or a number's range ("0..100").
	AllowedValues string
	// InstrumentVersions lists the instruments that have the variable, as
	// "id version" joined by "; ".
	InstrumentVersions string
	// Notes says when the cell is missing and anything else a researcher
	// must know to read it.
	Notes string
}

// CodebookHeader is the header row [WriteCodebook] writes.
var CodebookHeader = []string{"variable", "label", "type", "allowed_values", "instrument_versions", "notes"}

// WriteCodebook writes the variables as CSV under [CodebookHeader], one
// row per variable. Text that a spreadsheet would read as a formula is
// neutralised as in the dataset.
func WriteCodebook(w io.Writer, vars []Variable) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CodebookHeader); err != nil {
		return fmt.Errorf("writing codebook header: %w", err)
	}
	rec := make([]string, len(CodebookHeader))
	for _, v := range vars {
		rec[0], rec[1], rec[2] = neutralise(v.Name), neutralise(v.Label), neutralise(v.Type)
		rec[3], rec[4], rec[5] = neutralise(v.AllowedValues), neutralise(v.InstrumentVersions), neutralise(v.Notes)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing codebook variable %s: %w", v.Name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing codebook: %w", err)
	}
	return nil
}

// Columns before the items, in order.
const (
	colPseudonym = iota
	colSchool
	colWave
	colPhase
	colSex
	colAgeMonths
	colGrade
	colInstrumentID
	colInstrumentVersion
	colAssessedMonth
	colOutcome
	numHead
)

// headVars describes the columns before the items (InstrumentVersions and
// instrument_id's AllowedValues are filled in by [NewSchema]).
var headVars = [numHead]Variable{
	colPseudonym: {Name: "pseudonym", Label: "Child pseudonym", Type: TypeString,
		Notes: "HMAC-SHA256 of the child's ID under the site's research key: the same in every wave; not reversible without the key; other sites use other keys, so pseudonyms do not link children across sites"},
	colSchool: {Name: "school", Label: "School identifier", Type: TypeString,
		Notes: "the school's ID in khula"},
	colWave: {Name: "wave", Label: "Wave number", Type: TypeInteger,
		Notes: "waves of a site are numbered from 1; a time point is (wave, phase)"},
	colPhase: {Name: "phase", Label: "Phase of the wave", Type: TypeCategory,
		AllowedValues: "baseline=assessment at the start of the wave; reassessment=assessment after the plan"},
	colSex: {Name: "sex", Label: "Sex of the child", Type: TypeCategory, AllowedValues: "F=female; M=male",
		Notes: "missing when not recorded"},
	colAgeMonths: {Name: "age_months", Label: "Age in completed months on the assessment date", Type: TypeInteger,
		Notes: "the date of birth is not written; missing when the date of birth or of the assessment is unknown"},
	colGrade: {Name: "grade", Label: "School grade", Type: TypeString,
		Notes: "as recorded at enrolment"},
	colInstrumentID: {Name: "instrument_id", Label: "Instrument the time point was scored with", Type: TypeCategory,
		Notes: "missing when not assessed"},
	colInstrumentVersion: {Name: "instrument_version", Label: "Version of the instrument", Type: TypeString,
		Notes: "semantic version: scores of different major versions are not comparable for the same answers; missing when not assessed"},
	colAssessedMonth: {Name: "assessed_month", Label: "Month of the assessment", Type: TypeDateMonth,
		Notes: "YYYY-MM: the day is not written; missing when not assessed"},
	colOutcome: {Name: "outcome", Label: "Outcome of the child's cycle", Type: TypeString,
		Notes: "as the cycle records it, e.g. completed, low_risk, incomplete_assessment, plan_not_agreed, reassessment_missed, no_consent, not_assessed, withdrawn; missing while the cycle is open"},
}

// Columns after the domains, in order.
const (
	tailRedFlags = iota
	tailPlanAgreed
	tailPlanActions
	tailPlanActionsDone
	tailPlanActionsOverdue
	tailPlanActionList
	tailPlanActionSectorList
	tailReferrals
	tailReferralsUrgent
	tailReferralsCompleted
	tailReferralsDeclined
	tailReferralsUnreachable
	tailReferralsOpen
	tailReferralsOverdue
	tailReferralMedianDays
	tailReferralList
	tailReferralSectorList
	numTail
)

const boolValues = "1=yes; 0=no"

// tailVars describes the red flag, plan and referral columns.
var tailVars = [numTail]Variable{
	tailRedFlags: {Name: "red_flags", Label: "Number of red flags raised", Type: TypeInteger,
		Notes: "which flags were raised is not written"},
	tailPlanAgreed:         {Name: "plan_agreed", Label: "A plan was agreed for the child", Type: TypeBoolean, AllowedValues: boolValues},
	tailPlanActions:        {Name: "plan_actions", Label: "Number of plan actions", Type: TypeInteger},
	tailPlanActionsDone:    {Name: "plan_actions_done", Label: "Plan actions done", Type: TypeInteger},
	tailPlanActionsOverdue: {Name: "plan_actions_overdue", Label: "Plan actions past their due date and not done", Type: TypeInteger},
	tailPlanActionList: {Name: "plan_action_list", Label: "Plan actions", Type: TypeString,
		Notes: "semicolon-separated domain:service_type, or domain:kind for a special action (e.g. complete_assessment), or domain:note for a note action; notes are not written; missing when there is no action"},
	tailPlanActionSectorList: {Name: "plan_action_sector_list", Label: "Sector of each plan action's service", Type: TypeString,
		Notes: "semicolon-separated, one entry per action in the order of plan_action_list; an entry is empty when the action asks for no service; missing when there is no action"},
	tailReferrals:          {Name: "referrals", Label: "Number of referrals", Type: TypeInteger},
	tailReferralsUrgent:    {Name: "referrals_urgent", Label: "Urgent referrals (from red flags)", Type: TypeInteger},
	tailReferralsCompleted: {Name: "referrals_completed", Label: "Referrals the service completed", Type: TypeInteger},
	tailReferralsDeclined:  {Name: "referrals_declined", Label: "Referrals closed as declined", Type: TypeInteger},
	tailReferralsUnreachable: {Name: "referrals_unreachable", Label: "Referrals closed as unreachable", Type: TypeInteger,
		Notes: "no outcome was recorded in time, or the family could not be reached"},
	tailReferralsOpen: {Name: "referrals_open", Label: "Referrals not yet closed", Type: TypeInteger,
		Notes: "created, dispatched or acknowledged, without an outcome"},
	tailReferralsOverdue: {Name: "referrals_overdue", Label: "Referrals that passed their service-level agreement", Type: TypeInteger},
	tailReferralMedianDays: {Name: "referral_median_days_to_service", Label: "Median days from referral to service", Type: TypeNumber,
		Notes: "over the referrals that reached a service, rounded to 2 decimals; missing when none did"},
	tailReferralList: {Name: "referral_list", Label: "Referrals", Type: TypeString,
		Notes: "semicolon-separated domain:service_type:status; reasons are not written; missing when there is no referral"},
	tailReferralSectorList: {Name: "referral_sector_list", Label: "Sector of each referral's service", Type: TypeString,
		Notes: "semicolon-separated, one entry per referral in the order of referral_list; missing when there is no referral"},
}
