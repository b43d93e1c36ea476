package cycle

import (
	"strings"
	"testing"
	"time"
)

func TestConsentPolicyCovers(t *testing.T) {
	day := func(s string) time.Time {
		layout := time.DateOnly
		if strings.Contains(s, "T") {
			layout = time.RFC3339
		}
		d, err := time.Parse(layout, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ptr := func(s string) *time.Time { d := day(s); return &d }
	twoYears := 730 * 24 * time.Hour
	tests := []struct {
		name     string
		policy   ConsentPolicy
		term     ConsentTerm
		open     string
		previous string
		want     bool
		reason   string
	}{
		{"standing, no expiry", ConsentPolicy{}, ConsentTerm{GivenAt: day("2018-01-01")}, "2026-11-01", "2025-11-01", true, ""},
		{"withdrawn never covers", ConsentPolicy{}, ConsentTerm{GivenAt: day("2026-01-01"), Withdrawn: true}, "2026-11-01", "", false, "withdrawn"},
		// 2024-10-01 + 730 days = 2026-10-01: a wave opening 2026-11-01 is after it.
		{"lapsed after valid_for", ConsentPolicy{ValidFor: twoYears}, ConsentTerm{GivenAt: day("2024-10-01")}, "2026-11-01", "", false, "consent lapsed on 2026-10-01"},
		// Given 2025-01-01 + 730 days = 2027-01-01: still valid on 2026-11-01.
		{"within valid_for", ConsentPolicy{ValidFor: twoYears}, ConsentTerm{GivenAt: day("2025-01-01")}, "2026-11-01", "", true, ""},
		{"renewal restarts valid_for", ConsentPolicy{ValidFor: twoYears}, ConsentTerm{GivenAt: day("2020-01-01"), RenewedAt: ptr("2026-06-01")}, "2026-11-01", "", true, ""},
		{"each wave, first wave", ConsentPolicy{EachWave: true}, ConsentTerm{GivenAt: day("2020-01-01")}, "2026-11-01", "", true, ""},
		{"each wave, given before previous launch", ConsentPolicy{EachWave: true}, ConsentTerm{GivenAt: day("2025-01-01")}, "2026-11-01", "2025-08-01", false, "not renewed for this wave"},
		{"each wave, renewed after previous launch", ConsentPolicy{EachWave: true}, ConsentTerm{GivenAt: day("2025-01-01"), RenewedAt: ptr("2026-10-20")}, "2026-11-01", "2025-08-01", true, ""},
		// A consent dated by day on the day the previous wave launched (at
		// 10:00) was for that wave: it does not cover the next. One recorded
		// later that day, with its time, does.
		{"each wave, dated the day of the previous launch", ConsentPolicy{EachWave: true}, ConsentTerm{GivenAt: day("2025-08-01")}, "2026-11-01", "2025-08-01T10:00:00Z", false, "not renewed"},
		{"each wave, renewed after the launch that day", ConsentPolicy{EachWave: true}, ConsentTerm{GivenAt: day("2025-01-01"), RenewedAt: ptr("2025-08-01T15:00:00Z")}, "2026-11-01", "2025-08-01T10:00:00Z", true, ""},
		{"each wave, a renewal older than the gift counts the gift", ConsentPolicy{EachWave: true}, ConsentTerm{GivenAt: day("2025-09-01"), RenewedAt: ptr("2025-01-01")}, "2026-11-01", "2025-08-01", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev time.Time
			if tt.previous != "" {
				prev = day(tt.previous)
			}
			got, reason := tt.policy.Covers(tt.term, day(tt.open), prev)
			if got != tt.want || !strings.Contains(reason, tt.reason) || (tt.want && reason != "") {
				t.Errorf("Covers = %v, %q; want %v, a reason containing %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}
