package findings

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	sp = Suppressed
	lt = "<5"
)

func ip(i int) *int             { return &i }
func fp(f float64) *float64     { return &f }
func tp(t time.Time) *time.Time { return &t }

// kid is a test child in one line.
type kid struct {
	school string
	scored bool
	// csg: r received; w not received, applied; n not received, not
	// applied; u not received, application unanswered; "" unanswered.
	csg   string
	birth string // y, n or "" (unanswered)
	food  string
	bed   *int
	skip  *int
	phq   string
	// sdq: emotional, conduct, hyperactivity, peer, prosocial, total:
	// n normal, b borderline, a abnormal, - absent.
	sdq           string
	res           *float64
	haz, waz, baz *float64
	health, edu   string // "-": absent from the map
}

func (k kid) child() Child {
	yes, no := true, false
	c := Child{School: k.school, Scored: k.scored, FoodShort: k.food, HungerBed: k.bed, HungerSkip: k.skip,
		PHQ9Band: k.phq, Resilience: k.res, HAZ: k.haz, WAZ: k.waz, BAZ: k.baz,
		SDQBands: map[string]string{}, Domains: map[string]string{}}
	switch k.csg {
	case "r":
		c.CSGReceived = &yes
	case "w":
		c.CSGReceived, c.CSGApplied = &no, &yes
	case "n":
		c.CSGReceived, c.CSGApplied = &no, &no
	case "u":
		c.CSGReceived = &no
	}
	switch k.birth {
	case "y":
		c.BirthCert = &yes
	case "n":
		c.BirthCert = &no
	}
	bands := map[byte]string{'n': "normal", 'b': "borderline", 'a': "abnormal"}
	for i, s := range sdqScales {
		if b, ok := bands[k.sdq[i]]; ok {
			c.SDQBands[s.key] = b
		}
	}
	if k.health != "-" {
		c.Domains["health"] = k.health
	}
	if k.edu != "-" {
		c.Domains["education"] = k.edu
	}
	return c
}

// The made-up wave. School A ("sch-a") has 16 children, 11 scored
// (a1..a11) and 5 never assessed; B ("=cmd", to test CSV neutralising) and
// C ("sch-c") have 3 scored children each. Site: 22 children, 17 scored.
var kids = []kid{
	//            csg  birth food        bed    skip   phq                  sdq       res       haz            waz          baz          health  edu
	{"sch-a", true, "r", "y", "never", ip(2), ip(2), "minimal", "nnnnnn", fp(20), fp(-2.0), fp(-2.5), fp(2.5), "high", "moderate"},   // a1: HAZ exactly -2 is not stunted
	{"sch-a", true, "r", "y", "never", ip(2), ip(3), "minimal", "nnnnnn", fp(25), fp(-2.01), fp(-2.1), fp(1.5), "high", "moderate"},  // a2: -2.01 is stunted
	{"sch-a", true, "r", "y", "never", ip(3), ip(0), "minimal", "nnnnnn", fp(30), fp(-3.0), fp(-1), fp(1.0), "high", "moderate"},     // a3: -3.0 stunted, not severely; BAZ +1 not overweight
	{"sch-a", true, "r", "y", "never", ip(3), ip(0), "mild", "nnnnnn", fp(35), fp(-3.5), fp(0), fp(2.0), "high", "low"},              // a4: BAZ +2 overweight, not obese
	{"sch-a", true, "r", "y", "never", ip(2), ip(1), "moderate", "nnnnnn", fp(40), fp(-2.5), fp(0), fp(-2.5), "high", "low"},         // a5
	{"sch-a", true, "r", "y", "never", ip(0), ip(1), "moderately_severe", "nnnnnn", fp(45), fp(-1.0), fp(0), fp(-3.5), "low", "low"}, // a6
	{"sch-a", true, "w", "y", "never", ip(1), ip(0), "", "ba-nnn", fp(50), fp(0), fp(0), fp(0), "low", "-"},                          // a7
	{"sch-a", true, "w", "y", "sometimes", ip(1), ip(0), "", "ba-nnn", fp(30), fp(0.5), fp(0), fp(0), "low", "not_assessed"},         // a8
	{"sch-a", true, "w", "n", "sometimes", ip(0), ip(1), "bogus", "ba-nna", fp(30), fp(-2.2), fp(0), fp(0), "low", "bogus"},          // a9
	{"sch-a", true, "w", "n", "sometimes", ip(0), nil, "", "aa-nna", fp(22), nil, fp(0), fp(0), "low", "-"},                          // a10
	{"sch-a", true, "w", "n", "often", ip(1), ip(7), "", "aa-nna", fp(28), nil, fp(-2.0), fp(3.0), "low", "not_assessed"},            // a11: skip 7 is out of range
	{"sch-a", false, "r", "y", "often", ip(3), ip(3), "severe", "aaaaaa", fp(51), fp(-4), fp(-4), fp(-4), "high", "high"},            // never assessed: counted in the cohort only
	{"sch-a", false, "r", "y", "often", ip(3), ip(3), "severe", "aaaaaa", fp(51), fp(-4), fp(-4), fp(-4), "high", "high"},            //
	{"sch-a", false, "", "", "", nil, nil, "", "------", nil, nil, nil, nil, "-", "-"},                                               //
	{"sch-a", false, "", "", "", nil, nil, "", "------", nil, nil, nil, nil, "-", "-"},                                               //
	{"sch-a", false, "", "", "", nil, nil, "", "------", nil, nil, nil, nil, "-", "-"},                                               //
	{"=cmd", true, "r", "y", "never", ip(2), ip(0), "minimal", "nnnnnn", fp(17), fp(-2.5), fp(0), fp(1.2), "high", "moderate"},       // b1
	{"=cmd", true, "r", "y", "sometimes", ip(1), ip(1), "minimal", "nnnnnn", fp(51), fp(0), fp(0), fp(0), "low", "low"},              // b2
	{"=cmd", true, "w", "y", "often", ip(0), ip(1), "mild", "bnnnnn", fp(33), fp(0), fp(0), fp(0), "low", "low"},                     // b3
	{"sch-c", true, "r", "y", "never", nil, ip(0), "minimal", "nnnnnn", fp(40), nil, fp(math.NaN()), fp(0), "high", "low"},           // c1: NaN WAZ is not measured
	{"sch-c", true, "n", "y", "sometimes", ip(0), ip(0), "minimal", "nnnnnn", fp(41), nil, fp(0), fp(0), "low", "low"},               // c2
	{"sch-c", true, "u", "", "often", ip(1), ip(1), "moderate", "bnnnna", fp(42), fp(-2.3), fp(0), fp(0), "low", "low"},              // c3: not received, application unanswered
}

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func day(n int) *time.Time { return tp(t0.Add(time.Duration(n) * 24 * time.Hour)) }

func testInput() Input {
	in := Input{
		Site: "jhb", SiteName: "Khula <Test> & Co", Wave: 1, WaveStatus: "closing", GeneratedAt: t0.Add(40 * 24 * time.Hour),
		Schools:       []School{{"sch-a", "Alpha Primary"}, {"=cmd", "Beta <School>"}, {"sch-c", "Gamma"}},
		Domains:       []Domain{{"health", "Health & <growth>"}, {"education", "Education"}},
		Plans:         8,
		PlansBySchool: map[string]int{"sch-a": 6, "=cmd": 1, "sch-c": 1},
	}
	for _, k := range kids {
		in.Children = append(in.Children, k.child())
	}
	ref := func(school, sector, status string, urgent, overdue bool, ack, closed *time.Time) Referral {
		return Referral{School: school, Sector: sector, ServiceType: "x", Status: status, Urgent: urgent, Overdue: overdue,
			CreatedAt: t0, AcknowledgedAt: ack, ClosedAt: closed}
	}
	in.Referrals = []Referral{
		// A, social work: 5 completed, days to service 1, 1, 2, 2, 6.
		ref("sch-a", "social_work", "completed", false, false, day(1), day(3)),
		ref("sch-a", "social_work", "completed", false, false, day(1), day(3)),
		ref("sch-a", "social_work", "completed", false, false, day(2), day(3)),
		ref("sch-a", "social_work", "completed", false, false, day(2), day(3)),
		ref("sch-a", "social_work", "completed", false, false, day(6), day(9)),
		// A, health: days to service 2 (acknowledged wins over closed),
		// 4 (completed, never acknowledged: closed), 1, 3 (declined, but
		// acknowledged), 5 (still open), none (created).
		ref("sch-a", "health", "completed", true, false, day(2), day(10)),
		ref("sch-a", "health", "completed", false, false, nil, day(4)),
		ref("sch-a", "health", "completed", true, false, day(1), day(8)),
		ref("sch-a", "health", "declined", false, false, day(3), day(3)),
		ref("sch-a", "health", "acknowledged", false, true, day(5), nil),
		ref("sch-a", "health", "created", false, false, nil, nil),
		// B, health: 4 days.
		ref("=cmd", "health", "completed", false, false, day(4), day(5)),
		// C: an unknown sector counts as other; closed but not completed:
		// no time to service.
		ref("sch-c", "police", "unreachable", false, false, nil, day(7)),
	}
	act := func(school, sector string, done, overdue bool) PlanAction {
		return PlanAction{School: school, Domain: "health", Sector: sector, Done: done, Overdue: overdue}
	}
	for range 5 {
		in.Actions = append(in.Actions, act("sch-a", "education", true, false))
	}
	// A, health: 4 done, 2 not done of which 1 overdue.
	for _, a := range [][2]bool{{true, false}, {true, false}, {true, false}, {true, false}, {false, true}, {false, false}} {
		in.Actions = append(in.Actions, act("sch-a", "health", a[0], a[1]))
	}
	in.Actions = append(in.Actions, act("=cmd", "health", false, true))
	return in
}

// want are the published cells of every table of every scope, worked out
// by hand. Groups (see doc.go) are worked out in the order Build does:
// every scope's own groups, then the site as the sum of the schools,
// repeated until nothing changes.
var want = map[string]map[string][][]string{
	"site": {
		// 22 children, 17 scored, 5 not assessed (all in A), plans 6+1+1.
		TableCohort: {{"In cohort", "22"}, {"Scored (assessed)", "17"}, {"Not assessed", "5"}, {"With an agreed plan", "8"}},
		// Received 6+2+1=9 (9/17=52.94%), awaiting 5+1+0=6 (35.29%),
		// not applied 1, not answered 1 (c3: not received, follow-up
		// unanswered). Two small cells: no secondary suppression here.
		TableCSG: {
			{"Received", "9", "52.9"},
			{"Not received: applied, awaiting", "6", "35.3"},
			{"Not received: not applied", lt, sp},
			{"Not answered", lt, sp},
			{"All scored children", "17", "100.0"},
		},
		// Yes 8+3+2=13 (76.47%), no 3, not answered 1.
		TableBirthCertificate: {{"Yes", "13", "76.5"}, {"No", lt, sp}, {"Not answered", lt, sp}, {"All scored children", "17", "100.0"}},
		// Never 7+1+1=9, sometimes 3+1+1=5, often 1+1+1=3, not answered 0.
		// One small cell (often): the smallest other non-zero (sometimes,
		// 5) is suppressed too. 9/17=52.94%, 0/17=0.0%.
		TableFoodInsecurity: {
			{"Never", "9", "52.9"}, {"Sometimes", sp, sp}, {"Often", lt, sp}, {"Not answered", "0", "0.0"},
			{"All scored children", "17", "100.0"},
		},
		// Bed: at least sometimes (>=2) 5+1+0=6 of 11+3+2=16 answered
		// (c1 unanswered): 37.5%. Skip: 2 (a1, a2) of 9+3+3=15 (a10 nil,
		// a11 out of range).
		TableChildHunger: {{"Went to bed hungry", "6", "16", "37.5"}, {"Skipped a meal for lack of food", lt, "15", sp}},
		// Minimal 3+2+2=7, mild 1+1=2, moderate 1+1=2, moderately severe 1,
		// severe 0; computed 12, not computed 5 (a7..a11, "bogus"
		// included); moderate or worse 3. 7/12=58.33%.
		TableCaregiverDepression: {
			{"Minimal (0-4)", "7", "58.3"}, {"Mild (5-9)", lt, sp}, {"Moderate (10-14)", lt, sp},
			{"Moderately severe (15-19)", lt, sp}, {"Severe (20-27)", "0", "0.0"}, {"Computed (any band)", "12", "100.0"},
			{"Not computed", "5", ""}, {"Moderate or worse (score 10 or more)", lt, sp},
		},
		// Emotional 10/5/2: abnormal small, so borderline (5) is hidden
		// too. Conduct 12/0/5: 5/17=29.41%. Hyperactivity: 12 normal, 5
		// not computed, 0/12. Total 13/0/4: normal (13) hidden.
		TableSDQBands: {
			{"Emotional symptoms", "10", sp, lt, "17", "0", sp},
			{"Conduct problems", "12", "0", "5", "17", "0", "29.4"},
			{"Hyperactivity/inattention", "12", "0", "0", "12", "5", "0.0"},
			{"Peer relationship problems", "17", "0", "0", "17", "0", "0.0"},
			{"Prosocial behaviour", "17", "0", "0", "17", "0", "0.0"},
			{"Total difficulties", sp, "0", lt, "17", "0", sp},
		},
		// 17 scores summing 355+101+123=579: mean 34.06; sorted the 9th
		// is 33; min 17, max 51.
		TableResilience: {{"CYRM-R total", "17", "0", "34.1", "33.0", "17.0", "51.0"}},
		// HAZ measured 9+3+1=13, stunted 5+1+1=7 (53.85%), severely 1;
		// WAZ 11+3+2=16, underweight 2; BAZ 17: thin 2, severely thin 1,
		// overweight 4+1=5 (29.41%), obese 2.
		TableGrowth: {
			{"Stunted (HAZ < -2)", "7", "13", "53.8"},
			{"Severely stunted (HAZ < -3)", lt, "13", sp},
			{"Underweight (WAZ < -2)", lt, "16", sp},
			{"Thin/wasted (BAZ < -2)", lt, "17", sp},
			{"Severely thin (BAZ < -3)", lt, "17", sp},
			{"Overweight (BAZ > +1)", "5", "17", "29.4"},
			{"Obese (BAZ > +2)", lt, "17", sp},
		},
		// Health: high 7, low 10, at risk 7/17=41.18%. Education: moderate
		// 4, low 8, not assessed 5: moderate is small and high is 0, so low
		// (8) is hidden to protect high+moderate+low=assessed.
		TableRiskByDomain: {
			{"Health & <growth>", "7", "0", "10", "0", "17", "7", "41.2"},
			{"Education", "0", lt, sp, "5", "12", lt, sp},
		},
		// Made per column: 5 + 7 + 1 = 13 with "other" small, so social
		// work's 5 is hidden; completed: 5 + 4 + 0 = 9 with health small,
		// so social work's 5 is hidden. Health median days over 1,2,3,4,
		// 4,5 (even): 3.5; all: 1,1,1,2,2,2,3,4,4,5,6: 2. Completion
		// 9/13=69.23%.
		TableReferralsBySector: {
			{"Social work", sp, "0", sp, "0", "0", "0", "0", sp, "2.0"},
			{"Health", "7", lt, lt, lt, "0", lt, lt, sp, "3.5"},
			{"Other", lt, "0", "0", "0", lt, "0", "0", sp, ""},
			{"All sectors", "13", lt, "9", lt, lt, lt, lt, "69.2", "2.0"},
		},
		// Done: 5 + 4 = 9 with health small: education's 5 hidden. 9/12=75%.
		TablePlanActionsBySector: {
			{"Education", "5", sp, "0", sp},
			{"Health", "7", lt, lt, sp},
			{"All sectors", "12", "9", lt, "75.0"},
		},
	},
	"school:sch-a": {
		TableCohort: {{"In cohort", "16"}, {"Scored (assessed)", "11"}, {"Not assessed", "5"}, {"With an agreed plan", "6"}},
		// Awaiting: site 6 = A 5 + B 1 + C 0 gives B away, so A's 5 is
		// hidden; then A's own row has one hidden cell: received (6) too.
		TableCSG: {
			{"Received", sp, sp},
			{"Not received: applied, awaiting", sp, sp},
			{"Not received: not applied", "0", "0.0"},
			{"Not answered", "0", "0.0"},
			{"All scored children", "11", "100.0"},
		},
		// 8 + 3 + 0 = 11: "no" small, so yes (8) hidden.
		TableBirthCertificate: {{"Yes", sp, sp}, {"No", lt, sp}, {"Not answered", "0", "0.0"}, {"All scored children", "11", "100.0"}},
		// 7/11=63.64%.
		TableFoodInsecurity: {
			{"Never", "7", "63.6"}, {"Sometimes", lt, sp}, {"Often", lt, sp}, {"Not answered", "0", "0.0"},
			{"All scored children", "11", "100.0"},
		},
		// Bed: site 6 = A 5 + B 1 + C 0: A's 5 hidden.
		TableChildHunger: {{"Went to bed hungry", sp, "11", sp}, {"Skipped a meal for lack of food", lt, "9", sp}},
		TableCaregiverDepression: {
			{"Minimal (0-4)", lt, sp}, {"Mild (5-9)", lt, sp}, {"Moderate (10-14)", lt, sp},
			{"Moderately severe (15-19)", lt, sp}, {"Severe (20-27)", "0", "0.0"}, {"Computed (any band)", "6", "100.0"},
			{"Not computed", "5", ""}, {"Moderate or worse (score 10 or more)", lt, sp},
		},
		// Conduct 5/11=45.45%. Total 8/0/3: normal (8) hidden.
		TableSDQBands: {
			{"Emotional symptoms", "6", lt, lt, "11", "0", sp},
			{"Conduct problems", "6", "0", "5", "11", "0", "45.5"},
			{"Hyperactivity/inattention", "6", "0", "0", "6", "5", "0.0"},
			{"Peer relationship problems", "11", "0", "0", "11", "0", "0.0"},
			{"Prosocial behaviour", "11", "0", "0", "11", "0", "0.0"},
			{"Total difficulties", sp, "0", lt, "11", "0", sp},
		},
		// 355/11=32.27; sorted 20,22,25,28,30,30,30,...: 6th is 30.
		TableResilience: {{"CYRM-R total", "11", "0", "32.3", "30.0", "20.0", "50.0"}},
		// Stunted: -2.01, -3.0, -3.5, -2.5, -2.2 = 5 of 9 (55.56%); not
		// -2.0. Severely: only -3.5. Overweight 2.5, 1.5, 2.0, 3.0 = 4
		// (not 1.0); obese 2.5, 3.0 (not 2.0).
		TableGrowth: {
			{"Stunted (HAZ < -2)", "5", "9", "55.6"},
			{"Severely stunted (HAZ < -3)", lt, "9", sp},
			{"Underweight (WAZ < -2)", lt, "11", sp},
			{"Thin/wasted (BAZ < -2)", lt, "11", sp},
			{"Severely thin (BAZ < -3)", lt, "11", sp},
			{"Overweight (BAZ > +1)", lt, "11", sp},
			{"Obese (BAZ > +2)", lt, "11", sp},
		},
		// Health 5/11=45.45%. Education: a7..a11 not assessed (absent,
		// not_assessed, "bogus").
		TableRiskByDomain: {
			{"Health & <growth>", "5", "0", "6", "0", "11", "5", "45.5"},
			{"Education", "0", lt, lt, "5", "6", lt, sp},
		},
		// Own groups: completed 5 + 3 = 8 with health small: social
		// work's completed hidden. Site sums: social work made (site
		// hidden, A shown) hidden; health made 7 = 6 + B's 1: A's 6
		// hidden; completed 9 = 8 + B's 1: A's 8 hidden. Medians: 1,1,2,
		// 2,6: 2; 1,2,3,4,5: 3; all ten: 2.
		TableReferralsBySector: {
			{"Social work", sp, "0", sp, "0", "0", "0", "0", sp, "2.0"},
			{"Health", sp, lt, lt, lt, "0", lt, lt, sp, "3.0"},
			{"All sectors", "11", lt, sp, lt, "0", lt, lt, sp, "2.0"},
		},
		// Done 5 + 4 = 9: education's hidden. Site sums: health 7 = 6 + 1
		// and all 12 = 11 + 1 + 0: A's 6 and 11 hidden.
		TablePlanActionsBySector: {
			{"Education", "5", sp, "0", sp},
			{"Health", sp, lt, lt, sp},
			{"All sectors", sp, "9", lt, sp},
		},
	},
	"school:=cmd": {
		TableCohort: {{"In cohort", lt}, {"Scored (assessed)", lt}, {"Not assessed", "0"}, {"With an agreed plan", lt}},
		TableCSG: {
			{"Received", lt, sp}, {"Not received: applied, awaiting", lt, sp}, {"Not received: not applied", "0", sp},
			{"Not answered", "0", sp}, {"All scored children", lt, sp},
		},
		TableBirthCertificate: {{"Yes", lt, sp}, {"No", "0", sp}, {"Not answered", "0", sp}, {"All scored children", lt, sp}},
		TableFoodInsecurity: {
			{"Never", lt, sp}, {"Sometimes", lt, sp}, {"Often", lt, sp}, {"Not answered", "0", sp},
			{"All scored children", lt, sp},
		},
		TableChildHunger: {{"Went to bed hungry", lt, lt, sp}, {"Skipped a meal for lack of food", "0", lt, sp}},
		TableCaregiverDepression: {
			{"Minimal (0-4)", lt, sp}, {"Mild (5-9)", lt, sp}, {"Moderate (10-14)", "0", sp},
			{"Moderately severe (15-19)", "0", sp}, {"Severe (20-27)", "0", sp}, {"Computed (any band)", lt, sp},
			{"Not computed", "0", ""}, {"Moderate or worse (score 10 or more)", "0", sp},
		},
		TableSDQBands: {
			{"Emotional symptoms", lt, lt, "0", lt, "0", sp},
			{"Conduct problems", lt, "0", "0", lt, "0", sp},
			{"Hyperactivity/inattention", lt, "0", "0", lt, "0", sp},
			{"Peer relationship problems", lt, "0", "0", lt, "0", sp},
			{"Prosocial behaviour", lt, "0", "0", lt, "0", sp},
			{"Total difficulties", lt, "0", "0", lt, "0", sp},
		},
		TableResilience: {{"CYRM-R total", lt, "0", sp, sp, sp, sp}},
		TableGrowth: {
			{"Stunted (HAZ < -2)", lt, lt, sp},
			{"Severely stunted (HAZ < -3)", "0", lt, sp},
			{"Underweight (WAZ < -2)", "0", lt, sp},
			{"Thin/wasted (BAZ < -2)", "0", lt, sp},
			{"Severely thin (BAZ < -3)", "0", lt, sp},
			{"Overweight (BAZ > +1)", lt, lt, sp},
			{"Obese (BAZ > +2)", "0", lt, sp},
		},
		TableRiskByDomain: {
			{"Health & <growth>", lt, "0", lt, "0", lt, lt, sp},
			{"Education", "0", lt, lt, "0", lt, lt, sp},
		},
		// One referral: a median over 1 is suppressed.
		TableReferralsBySector: {
			{"Health", lt, "0", lt, "0", "0", "0", "0", sp, sp},
			{"All sectors", lt, "0", lt, "0", "0", "0", "0", sp, sp},
		},
		TablePlanActionsBySector: {{"Health", lt, "0", lt, sp}, {"All sectors", lt, "0", lt, sp}},
	},
	"school:sch-c": {
		TableCohort: {{"In cohort", lt}, {"Scored (assessed)", lt}, {"Not assessed", "0"}, {"With an agreed plan", lt}},
		TableCSG: {
			{"Received", lt, sp}, {"Not received: applied, awaiting", "0", sp}, {"Not received: not applied", lt, sp},
			{"Not answered", lt, sp}, {"All scored children", lt, sp},
		},
		TableBirthCertificate: {{"Yes", lt, sp}, {"No", "0", sp}, {"Not answered", lt, sp}, {"All scored children", lt, sp}},
		TableFoodInsecurity: {
			{"Never", lt, sp}, {"Sometimes", lt, sp}, {"Often", lt, sp}, {"Not answered", "0", sp},
			{"All scored children", lt, sp},
		},
		TableChildHunger: {{"Went to bed hungry", "0", lt, sp}, {"Skipped a meal for lack of food", "0", lt, sp}},
		TableCaregiverDepression: {
			{"Minimal (0-4)", lt, sp}, {"Mild (5-9)", "0", sp}, {"Moderate (10-14)", lt, sp},
			{"Moderately severe (15-19)", "0", sp}, {"Severe (20-27)", "0", sp}, {"Computed (any band)", lt, sp},
			{"Not computed", "0", ""}, {"Moderate or worse (score 10 or more)", lt, sp},
		},
		TableSDQBands: {
			{"Emotional symptoms", lt, lt, "0", lt, "0", sp},
			{"Conduct problems", lt, "0", "0", lt, "0", sp},
			{"Hyperactivity/inattention", lt, "0", "0", lt, "0", sp},
			{"Peer relationship problems", lt, "0", "0", lt, "0", sp},
			{"Prosocial behaviour", lt, "0", "0", lt, "0", sp},
			{"Total difficulties", lt, "0", lt, lt, "0", sp},
		},
		TableResilience: {{"CYRM-R total", lt, "0", sp, sp, sp, sp}},
		TableGrowth: {
			{"Stunted (HAZ < -2)", lt, lt, sp},
			{"Severely stunted (HAZ < -3)", "0", lt, sp},
			{"Underweight (WAZ < -2)", "0", lt, sp},
			{"Thin/wasted (BAZ < -2)", "0", lt, sp},
			{"Severely thin (BAZ < -3)", "0", lt, sp},
			{"Overweight (BAZ > +1)", "0", lt, sp},
			{"Obese (BAZ > +2)", "0", lt, sp},
		},
		TableRiskByDomain: {
			{"Health & <growth>", lt, "0", lt, "0", lt, lt, sp},
			{"Education", "0", "0", lt, "0", lt, "0", sp},
		},
		// No time to service: the median is empty.
		TableReferralsBySector: {
			{"Other", lt, "0", "0", "0", lt, "0", "0", sp, ""},
			{"All sectors", lt, "0", "0", "0", lt, "0", "0", sp, ""},
		},
		// No actions: 0 shown as 0, the rate empty.
		TablePlanActionsBySector: {{"All sectors", "0", "0", "0", ""}},
	},
}

func TestBuildPublishedCells(t *testing.T) {
	r := Build(testInput())
	var keys []string
	for _, s := range r.Scopes {
		keys = append(keys, s.Key)
		var ids []string
		for _, tb := range s.Tables {
			ids = append(ids, tb.ID)
		}
		if !slices.Equal(ids, TableIDs) {
			t.Errorf("%s tables %v", s.Key, ids)
		}
	}
	if want := []string{"site", "school:sch-a", "school:=cmd", "school:sch-c"}; !slices.Equal(keys, want) {
		t.Fatalf("scopes %v, want %v", keys, want)
	}
	for _, s := range r.Scopes {
		for _, id := range TableIDs {
			t.Run(s.Key+"/"+id, func(t *testing.T) {
				tb, _ := s.Table(id)
				got := tb.Cells(true)
				exp := want[s.Key][id]
				if len(got) != len(exp) {
					t.Fatalf("%d rows, want %d:\n%s", len(got), len(exp), show(got))
				}
				for i := range exp {
					if !slices.Equal(got[i], exp[i]) {
						t.Errorf("row %d\n got %q\nwant %q", i, got[i], exp[i])
					}
					if len(got[i]) != len(tb.Columns) {
						t.Errorf("row %d has %d cells for %d columns", i, len(got[i]), len(tb.Columns))
					}
				}
			})
		}
	}
}

func show(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " | ") + "\n")
	}
	return b.String()
}

// TestRawCells checks the unsuppressed view for the programme manager's
// screen.
func TestRawCells(t *testing.T) {
	r := Build(testInput())
	cases := []struct {
		scope, table string
		want         [][]string
	}{
		// 9/17=52.94, 5/17=29.41, 3/17=17.65.
		{"site", TableFoodInsecurity, [][]string{
			{"Never", "9", "52.9"}, {"Sometimes", "5", "29.4"}, {"Often", "3", "17.6"}, {"Not answered", "0", "0.0"},
			{"All scored children", "17", "100.0"},
		}},
		// Completion 5/5, 4/7=57.14, 0/1, 9/13.
		{"site", TableReferralsBySector, [][]string{
			{"Social work", "5", "0", "5", "0", "0", "0", "0", "100.0", "2.0"},
			{"Health", "7", "2", "4", "1", "0", "2", "1", "57.1", "3.5"},
			{"Other", "1", "0", "0", "0", "1", "0", "0", "0.0", ""},
			{"All sectors", "13", "2", "9", "1", "1", "2", "1", "69.2", "2.0"},
		}},
		// 17, 51, 33: mean 33.67, median 33.
		{"school:=cmd", TableResilience, [][]string{{"CYRM-R total", "3", "0", "33.7", "33.0", "17.0", "51.0"}}},
	}
	for _, c := range cases {
		t.Run(c.scope+"/"+c.table, func(t *testing.T) {
			s, _ := r.Scope(c.scope)
			tb, _ := s.Table(c.table)
			if got := tb.Cells(false); !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("got\n%swant\n%s", show(got), show(c.want))
			}
		})
	}
}

// TestSuppressionRules checks the rules on small hand-made tables.
func TestSuppressionRules(t *testing.T) {
	cases := []struct {
		name   string
		counts []int // categories; the total row is their sum
		want   []string
	}{
		{"nothing small", []int{5, 6, 0}, []string{"5", "6", "0", "11"}},
		{"one small: smallest other non-zero hidden", []int{9, 3, 6, 0}, []string{"9", lt, sp, "0", "18"}},
		{"ties: the first", []int{7, 7, 2}, []string{sp, "7", lt, "16"}},
		{"two small: enough", []int{9, 3, 1}, []string{"9", lt, lt, "13"}},
		{"one small, only zeros beside it", []int{0, 2, 0}, []string{"0", lt, "0", lt}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cats []category
			var kids []Child
			for i, n := range c.counts {
				cats = append(cats, category{string(rune('a' + i)), string(rune('A' + i))})
				for range n {
					kids = append(kids, Child{Scored: true, FoodShort: string(rune('a' + i))})
				}
			}
			tb := categorical("x", "X", "X", cats, kids, func(ch Child) int { return int(ch.FoodShort[0] - 'a') })
			r := Report{Scopes: []Scope{{Key: "site", Tables: []Table{cohortTable(len(kids), len(kids), 0), tb}}}}
			r.suppress(nil)
			var got []string
			for _, row := range r.Scopes[0].Tables[1].Cells(true) {
				got = append(got, row[1])
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestSiteNotSumOfSchools checks that the site is tied to its schools only
// when every record belongs to a listed school.
func TestSiteNotSumOfSchools(t *testing.T) {
	in := testInput()
	yes := true
	in.Children = append(in.Children, Child{School: "unlisted", Scored: true, CSGReceived: &yes})
	r := Build(in)
	a, _ := r.Scope("school:sch-a")
	csg, _ := a.Table(TableCSG)
	// Site awaiting 6 = A 5 + B 1 + C 0 + the unlisted school's 0: with
	// a child outside the schools, the sum no longer gives B away.
	if got := csg.Cells(true)[1]; !slices.Equal(got, []string{"Not received: applied, awaiting", "5", "45.5"}) {
		t.Errorf("A awaiting %q", got)
	}
	// Referrals are all in listed schools: still tied.
	ref, _ := a.Table(TableReferralsBySector)
	if got := ref.Cells(true)[1][1]; got != sp {
		t.Errorf("A health referrals made %q", got)
	}
}

func TestServiceDaysAndMedian(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Referral
		days float64
		ok   bool
	}{
		{"acknowledged", Referral{Status: "acknowledged", CreatedAt: t0, AcknowledgedAt: day(2)}, 2, true},
		{"acknowledged wins", Referral{Status: "completed", CreatedAt: t0, AcknowledgedAt: day(2), ClosedAt: day(5)}, 2, true},
		{"completed", Referral{Status: "completed", CreatedAt: t0, ClosedAt: tp(t0.Add(36 * time.Hour))}, 1.5, true},
		{"declined, closed", Referral{Status: "declined", CreatedAt: t0, ClosedAt: day(5)}, 0, false},
		{"open", Referral{Status: "dispatched", CreatedAt: t0}, 0, false},
		{"before it was made", Referral{Status: "completed", CreatedAt: t0, AcknowledgedAt: day(-1)}, 0, false},
	} {
		if d, ok := serviceDays(c.f); d != c.days || ok != c.ok {
			t.Errorf("%s: %v %v, want %v %v", c.name, d, ok, c.days, c.ok)
		}
	}
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{4}, 4}, {[]float64{4, 1}, 2.5}, {[]float64{5, 1, 3}, 3}, {[]float64{1, 4, 2, 3}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}
