// Package schoolpack renders the LLCoP school pack: the printable page a
// school's Local Level CoP works from at a meeting. It lists each child on
// the agenda with the domain levels and the rules' reasons, the missing
// respondents, red flags and their referrals, the previous wave's result
// and space to write the plan, then the school's summary. It holds
// children's names: only people scoped to the school print it, and every
// print is audited by the caller.
package schoolpack

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed pack.html
var files embed.FS

var page = template.Must(template.New("pack.html").Funcs(template.FuncMap{
	"human": Human,
	"date":  func(t time.Time) string { return t.Format("2 January 2006") },
	"inc":   func(i int) int { return i + 1 },
	"blank": func(n int) []int { return make([]int, n) },
}).ParseFS(files, "pack.html"))

// Pack is everything the page shows.
type Pack struct {
	SiteName, SchoolName string
	MeetingDate          string
	Wave                 int
	PrintedAt            time.Time
	PrintedBy            string
	Children             []Child
	// Domains orders the domains (ID and label).
	Domains []Domain
	Summary Summary
	// OverdueActions are earlier plans' actions past their due date.
	OverdueActions []Action
}

// Domain is a domain's ID and label.
type Domain struct{ ID, Label string }

// Child is one child on the agenda.
type Child struct {
	ChildID string
	Name    string // "" when erased
	Reason  string // awaiting_plan or concern
	Concern string // the practitioner's reason, when added with a concern
	Levels  []Level
	// Missing respondents (their forms never arrived) and the domains left
	// unassessed because of it.
	Missing    []string
	Unassessed []string
	Flags      []Flag
	// Urgent lists the urgent referrals the red flags opened.
	Urgent   []Referral
	Previous *Previous
}

// Referral is a referral's service type and status.
type Referral struct{ ServiceType, Status string }

// Level is one domain's level and the reason of the rule that set it.
type Level struct{ Domain, Label, Level, Reason string }

// Flag is a red flag and why it was raised.
type Flag struct{ Code, Reason string }

// Previous is the child's result in the previous wave.
type Previous struct {
	Wave    int
	Outcome string
	AtRisk  []Level
}

// Action is an agreed action past its due date.
type Action struct{ ChildID, Domain, What, Owner, DueOn string }

// Summary is the school's picture in the wave.
type Summary struct {
	// Levels counts children per domain and level.
	Levels           map[string]map[string]int
	Scored           int
	ReferralsOpen    int
	ReferralsOverdue int
}

// Count reads Levels safely from the template.
func (s Summary) Count(domain, level string) int { return s.Levels[domain][level] }

// Render writes the pack as one printable HTML document.
func Render(w io.Writer, p Pack) error {
	if err := page.Execute(w, p); err != nil {
		return fmt.Errorf("school pack: %w", err)
	}
	return nil
}

// Human turns a code (snake_case) into words.
func Human(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
