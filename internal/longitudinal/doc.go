// Package longitudinal follows children across the waves of the study: one
// child's trajectory, and how a site's and each school's children moved
// between risk levels from one wave to another. It is pure: the store
// builds its inputs, the API and the web UI render its outputs, and
// nothing here touches a database or the network.
//
// # Levels and change
//
// Each assessment gives every domain (health, nutrition, material,
// education, protection, psychosocial, caregiver in the default instrument)
// a risk level: high (worst), moderate, low (best), or not_assessed. A
// child is at risk in a domain when the level is high or moderate
// ([AtRisk]). Between two time points a domain got better (its level went
// down), stayed the same, or got worse (went up); when either side is
// not_assessed, or missing, the change is not comparable ([Compare]).
// not_assessed is never read as "no risk".
//
// # Trajectory
//
// A child's trajectory is one [TimePoint] per wave: the cycle's stage and
// outcome, the domain levels, the key scales ([KeyScales]), growth
// z-scores, the plan and the referrals. [Annotate] puts the points in wave
// order and records each domain's [Change] since the point before, so a
// page can show "moderate → low (better)" without working it out.
//
// # Two waves compared
//
// [Build] compares an earlier and a later wave. Children are matched by
// ID: those in both waves give, per domain, a transition matrix (earlier
// level × later level, not_assessed included) and counts of better, same,
// worse and not comparable; those in one wave only are counted as such
// (OnlyFrom, OnlyTo). The at-risk shares are each wave's own: at-risk
// children over children assessed in that wave, every child of the wave
// counted, so a change in share mixes real change with children leaving
// and joining — the matrix, about the same children twice, shows the
// first alone. A child who moved school is counted, for both waves, in the
// school of the later wave. The site's summary is the sum of its schools'
// (children with no school are counted in the site only).
//
// # Leaving the screen
//
// The programme manager's screen shows exact counts and the children who
// got worse. Anything exported goes through small-count suppression:
// counts from 1 to 4 become "<5" ([Cell], [SuppressBelow]) and a share
// built on such a count is not given. [Report.WriteCSV] never writes child
// IDs, suppressed or not, and defuses cells a spreadsheet would run as a
// formula.
//
// # Charts
//
// [LevelChart], [ScaleChart], [GrowthChart] and [TransitionChart] draw SVG
// in the house style of internal/web: an image with a title and a
// description that says the numbers in words, a viewBox sized for a phone
// and text of 12 units or more, the palette of the risk levels, and no
// script. Their output is deterministic, escapes all text, and says
// "No data" when there is nothing to draw.
package longitudinal
