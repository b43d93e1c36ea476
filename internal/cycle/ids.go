package cycle

import (
	"fmt"
	"strconv"
	"strings"
)

// Deterministic workflow IDs: starting the same thing twice finds the first.
// Child IDs are opaque (never names) because IDs are not encrypted.

// WaveID is the WaveWorkflow ID of wave n at site.
func WaveID(site string, n int) string { return fmt.Sprintf("wave/%s/%d", site, n) }

// CycleID is the ChildCycleWorkflow ID of a child in a wave.
func CycleID(site string, wave int, child string) string {
	return fmt.Sprintf("cycle/%s/%d/%s", site, wave, child)
}

// ReferralID is the ReferralWorkflow ID of a child's k-th referral in a wave
// (k = 0 is the safeguarding fast path's urgent referral).
func ReferralID(site string, wave int, child string, k int) string {
	return fmt.Sprintf("referral/%s/%d/%s/%d", site, wave, child, k)
}

// MeetingID is the MeetingWorkflow ID of a school's meeting on a date.
func MeetingID(site, school, date string) string {
	return fmt.Sprintf("meeting/%s/%s/%s", site, school, date)
}

// CycleRef is a parsed cycle ID.
type CycleRef struct {
	Site  string
	Wave  int
	Child string
}

// ParseCycleID splits a cycle ID into its parts.
func ParseCycleID(id string) (CycleRef, error) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[0] != "cycle" {
		return CycleRef{}, fmt.Errorf("%q is not a cycle ID (cycle/SITE/WAVE/CHILD)", id)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 1 {
		return CycleRef{}, fmt.Errorf("%q is not a cycle ID: wave %q is not a positive number", id, parts[2])
	}
	return CycleRef{Site: parts[1], Wave: n, Child: parts[3]}, nil
}

// reassessPrefix starts the reassess stage event's detail.
const reassessPrefix = "domains: "

// ReassessDetail is the detail of the reassess stage event: the domains the
// reassessment asks (those found at risk).
func ReassessDetail(domains []string) string {
	return reassessPrefix + strings.Join(domains, ", ")
}

// ReassessDomains reads the domains back from a reassess event's detail;
// nil when the detail names none.
func ReassessDomains(detail string) []string {
	rest, ok := strings.CutPrefix(detail, reassessPrefix)
	if !ok || strings.TrimSpace(rest) == "" {
		return nil
	}
	return strings.Split(rest, ", ")
}
