package users

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
)

// ScopeError is a scope refused for the user's role or the sites: every
// problem listed, each naming the site or school at fault.
type ScopeError struct {
	Username string
	Problems []Problem
}

// Error lists the problems in one line.
func (e *ScopeError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return fmt.Sprintf("the scope of %s was not changed: %s", e.Username, strings.Join(msgs, "; "))
}

// Actor is who changes a scope, for the audit log.
type Actor struct {
	// ID and Name identify the person (a user's ID and username, or
	// "cli:<login>" for the command line).
	ID, Name string
	// Role is the actor's role ("operator" for the command line).
	Role string
	// Why is the reason given, if any.
	Why string
	// At is when (zero: now).
	At time.Time
}

// SetScope replaces the sites and schools of a user, validated for the
// user's role exactly as Check validates a new user (a site coordinator
// needs sites that exist, a practitioner one site and schools of it, a
// programme manager or ops none), and returns the user as now stored.
// Sites and schools are trimmed and each kept once. An unknown user is
// store.ErrNotFound; a refused scope is a *ScopeError. The change is not
// audited: a change made for a person goes through SetScopeAs.
func SetScope(ctx context.Context, st *store.Store, dir Sites, username string, sites, schools []string) (store.User, error) {
	return setScope(ctx, st, dir, username, sites, schools, nil)
}

// SetScopeAs is SetScope audited: the audit entry (action write, no
// child) is appended in the same transaction as the change, so the scope
// changes only if the change is audited.
func SetScopeAs(ctx context.Context, st *store.Store, dir Sites, by Actor, username string, sites, schools []string) (store.User, error) {
	return setScope(ctx, st, dir, username, sites, schools, &by)
}

func setScope(ctx context.Context, st *store.Store, dir Sites, username string, sites, schools []string, by *Actor) (store.User, error) {
	sites, schools = cleanList(sites), cleanList(schools)
	ch := store.ScopeChange{
		Username: username, Sites: sites, Schools: schools,
		Check: func(u store.User) error {
			spec := Spec{Username: u.Username, Role: auth.Role(u.Role), Practice: u.Practice, Sites: sites, Schools: schools, SeesNames: u.SeesNames}
			if ps := problems(spec, dir, plainWords); len(ps) > 0 {
				return &ScopeError{Username: u.Username, Problems: ps}
			}
			return nil
		},
	}
	if by != nil {
		at := by.At
		if at.IsZero() {
			at = time.Now()
		}
		ch.Audit = func(before store.User) store.AuditEntry {
			return store.AuditEntry{
				At: at, Actor: by.ID, ActorName: by.Name, Role: by.Role, Action: store.AuditWrite, ChildID: "",
				What: ScopeAuditWhat(username, sites, schools) + fmt.Sprintf(" (was: sites %v schools %v)",
					listOrEmpty(store.SplitList(before.Sites)), listOrEmpty(store.SplitList(before.Schools))),
				Why: by.Why, Outcome: "ok",
			}
		}
	}
	u, err := st.SetUserScope(ctx, ch)
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// ScopeAuditWhat is the audit log's words for a scope change: "scope of
// user X: sites [a b] schools [c]".
func ScopeAuditWhat(username string, sites, schools []string) string {
	return fmt.Sprintf("scope of user %s: sites %v schools %v", username, listOrEmpty(sites), listOrEmpty(schools))
}

func listOrEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// cleanList trims each item and drops empty ones and repeats, keeping the
// order given.
func cleanList(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// DescribeScope says in words what a user may see: "all sites", "sites
// johannesburg, moutse (all their schools)", "site johannesburg, schools
// meadowlands, alexandra".
func DescribeScope(u store.User) string {
	sites, schools := store.SplitList(u.Sites), store.SplitList(u.Schools)
	switch auth.Role(u.Role) {
	case auth.ProgrammeManager, auth.Ops:
		return "all sites"
	case auth.Advisor:
		if len(sites) == 0 {
			return "all sites"
		}
		return plural("site", sites)
	case auth.SiteCoordinator:
		if len(sites) == 0 {
			return "no site"
		}
		return plural("site", sites) + " (all their schools)"
	}
	if len(sites) == 0 && len(schools) == 0 {
		return "nothing"
	}
	d := plural("site", sites)
	if len(schools) > 0 {
		d += ", " + plural("school", schools)
	}
	return d
}

func plural(word string, items []string) string {
	switch len(items) {
	case 0:
		return "no " + word
	case 1:
		return word + " " + items[0]
	}
	return word + "s " + strings.Join(items, ", ")
}
