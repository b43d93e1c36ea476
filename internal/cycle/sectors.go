package cycle

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The sectors a CoP brings together. Meetings record who attended by
// sector, and referrals and plan actions are counted by the sector of the
// service that carries them out.
const (
	SectorSocialWork = "social_work"
	SectorEducation  = "education"
	SectorHealth     = "health"
	SectorParents    = "parents"
	SectorNGO        = "ngo"
	SectorGovernment = "government"
	// SectorOther is a service type khula does not know the sector of.
	SectorOther = "other"
)

// Sectors lists the sectors in display order (without SectorOther).
var Sectors = []string{SectorSocialWork, SectorEducation, SectorHealth, SectorParents, SectorNGO, SectorGovernment}

// SectorLabels names each sector for people.
var SectorLabels = map[string]string{
	SectorSocialWork: "Social work",
	SectorEducation:  "Education",
	SectorHealth:     "Health",
	SectorParents:    "Parents and caregivers",
	SectorNGO:        "NGOs and community organisations",
	SectorGovernment: "Government departments",
	SectorOther:      "Other",
}

// serviceSectors gives the sector of the service types the shipped sites
// use. The Department of Social Development's offices are counted as social
// work (its social workers take the referrals); SASSA and Home Affairs as
// government departments.
var serviceSectors = map[string]string{
	"clinic":               SectorHealth,
	"outreach":             SectorHealth,
	"social_development":   SectorSocialWork,
	"sassa":                SectorGovernment,
	"home_affairs":         SectorGovernment,
	"family_strengthening": SectorNGO,
	"food_relief":          SectorNGO,
	"learning_support":     SectorNGO,
	"school_support":       SectorEducation,
}

// SectorOf returns the sector of a service type, SectorOther when it is
// not known, and "" for an action that asks for no service.
func SectorOf(serviceType string) string {
	if serviceType == "" {
		return ""
	}
	if s, ok := serviceSectors[serviceType]; ok {
		return s
	}
	return SectorOther
}

// KnownSector reports whether s is one of [Sectors].
func KnownSector(s string) bool {
	for _, x := range Sectors {
		if x == s {
			return true
		}
	}
	return false
}

// MaxAttendance bounds one sector's count at a meeting.
const MaxAttendance = 500

// ValidateAttendance checks a meeting's attendance counts: known sectors,
// counts from 0 to MaxAttendance. Each problem is one FieldError under
// field (e.g. "attendance").
func ValidateAttendance(field string, att map[string]int) []FieldError {
	var errs []FieldError
	for sector, n := range att {
		f := field + "." + sector
		switch {
		case !KnownSector(sector):
			errs = append(errs, FieldError{Field: f, Code: "invalid_choice",
				Message: fmt.Sprintf("sector %q is not one of %s", sector, strings.Join(Sectors, ", "))})
		case n < 0 || n > MaxAttendance:
			errs = append(errs, FieldError{Field: f, Code: "out_of_range",
				Message: fmt.Sprintf("attendance must be between 0 and %d", MaxAttendance)})
		}
	}
	return errs
}

var dueFormat = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// MaxActionDue bounds how far ahead a plan action may be due.
const MaxActionDue = 366 * 24 * time.Hour

// ValidateDue checks a plan action's due date (YYYY-MM-DD; "" lets the
// default apply): a real date, not before the meeting and at most a year
// after it.
func ValidateDue(field, due, meetingDate string) []FieldError {
	if due == "" {
		return nil
	}
	d, err := time.Parse(time.DateOnly, due)
	if !dueFormat.MatchString(due) || err != nil {
		return []FieldError{{Field: field, Code: "invalid_format", Message: "due must be a date written YYYY-MM-DD"}}
	}
	m, err := time.Parse(time.DateOnly, meetingDate)
	if err != nil {
		return nil
	}
	switch {
	case d.Before(m):
		return []FieldError{{Field: field, Code: "out_of_range", Message: "due must not be before the meeting (" + meetingDate + ")"}}
	case d.Sub(m) > MaxActionDue:
		return []FieldError{{Field: field, Code: "out_of_range", Message: "due must be within a year of the meeting"}}
	}
	return nil
}

// DefaultActionDue is how long after the meeting an action is due when the
// minutes give no date.
const DefaultActionDue = 28 * 24 * time.Hour

// ActionDue returns an action's due date: its own, or DefaultActionDue
// after the day it was agreed.
func ActionDue(a PlanAction, agreed time.Time) string {
	if a.Due != "" {
		return a.Due
	}
	return agreed.UTC().Add(DefaultActionDue).Format(time.DateOnly)
}

// Plan action statuses. An action asking for a service is "referred": its
// referral follows it up.
const (
	ActionOpen     = "open"
	ActionDone     = "done"
	ActionDropped  = "dropped"
	ActionReferred = "referred"
)
