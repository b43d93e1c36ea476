package cycle

import (
	"fmt"
	"time"
)

// ConsentPolicy is how long a site's consents cover a child's waves
// (sites.Consent, in the form the cycle's enrolment check needs).
type ConsentPolicy struct {
	// EachWave: a consent covers a wave only when it was given or renewed
	// after the previous wave of the site launched. A consent for one wave
	// never covers the next: one dated (by day) the day of a launch counts
	// as given before it, unless it was recorded with its time (a renewal,
	// or a class list's consent dated the day it is imported).
	EachWave bool `json:"each_wave,omitempty"`
	// ValidFor, when positive, lapses a consent this long after it was
	// given or last renewed.
	ValidFor time.Duration `json:"valid_for,omitempty"`
}

// ConsentTerm is one consent on record, as the policy judges it.
type ConsentTerm struct {
	GivenAt   time.Time
	RenewedAt *time.Time
	Withdrawn bool
}

// since is when the consent was given or last renewed.
func (t ConsentTerm) since() time.Time {
	if t.RenewedAt != nil && t.RenewedAt.After(t.GivenAt) {
		return *t.RenewedAt
	}
	return t.GivenAt
}

// Covers reports whether a consent covers a wave whose window opens at
// waveOpen; previousLaunch is when the site's previous wave launched (zero
// for a first wave). When it does not, the reason says why in words a
// coordinator can act on (no personal data).
func (p ConsentPolicy) Covers(t ConsentTerm, waveOpen, previousLaunch time.Time) (bool, string) {
	if t.Withdrawn {
		return false, "consent was withdrawn"
	}
	since := t.since()
	if p.ValidFor > 0 && waveOpen.After(since.Add(p.ValidFor)) {
		return false, fmt.Sprintf("consent lapsed on %s (given or renewed %s, valid for %s): renew it before the child can be assessed",
			since.Add(p.ValidFor).UTC().Format(time.DateOnly), since.UTC().Format(time.DateOnly), formatDays(p.ValidFor))
	}
	if p.EachWave && !previousLaunch.IsZero() && since.Before(previousLaunch) {
		return false, fmt.Sprintf("consent not renewed for this wave (last given or renewed %s, before the previous wave launched on %s)",
			since.UTC().Format(time.DateOnly), previousLaunch.UTC().Format(time.DateOnly))
	}
	return true, ""
}

// formatDays writes whole days as "730d", anything else as a Go duration.
func formatDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// EnrolmentQuery asks whether a child can be enrolled in a wave's cycle.
// Wave 0 asks without a wave: any consent not withdrawn counts.
type EnrolmentQuery struct {
	SiteID  string        `json:"site_id"`
	ChildID string        `json:"child_id"`
	Wave    int           `json:"wave,omitempty"`
	Policy  ConsentPolicy `json:"policy"`
}
