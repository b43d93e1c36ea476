package findings

import "time"

// Child is one child's baseline result in the wave. It carries no name
// and no ID: the report only counts.
type Child struct {
	School string // school ID
	// Scored is false for a child never assessed (no consent, not
	// assessed): counted in the cohort table only.
	Scored      bool
	CSGReceived *bool // Child Support Grant received (nil: not answered)
	CSGApplied  *bool // applied for and awaited (asked only when not received)
	BirthCert   *bool // the child has a birth certificate
	// FoodShort says whether the household ran out of food or of money
	// for food in the last 30 days: "never", "sometimes", "often", or ""
	// (unanswered; any other value is read as unanswered).
	FoodShort string
	// HungerBed is how often the child went to bed hungry in the last 30
	// days: 0 never, 1 rarely, 2 sometimes, 3 often (nil, or out of range:
	// not answered).
	HungerBed *int
	// HungerSkip is how often the child skipped a meal for lack of food,
	// on the same scale as HungerBed.
	HungerSkip *int
	// PHQ9Band is the caregiver's depression band: minimal, mild,
	// moderate, moderately_severe or severe; anything else is "not computed".
	PHQ9Band string
	// SDQBands maps "sdq.emotional", "sdq.conduct", "sdq.hyperactivity",
	// "sdq.peer", "sdq.prosocial" and "sdq.total" to normal, borderline or
	// abnormal; an absent (or other) value is "not computed".
	SDQBands map[string]string
	// Resilience is the CYRM-R total (17 items, 17 to 51); nil (or not a
	// finite number): not computed.
	Resilience *float64
	// HAZ, WAZ and BAZ are the WHO z-scores height-for-age, weight-for-age
	// and BMI-for-age; nil (or not finite): not computed or flagged
	// implausible.
	HAZ, WAZ, BAZ *float64
	// Domains maps a domain ID to high, moderate, low or not_assessed; an
	// absent (or other) value is read as not assessed.
	Domains map[string]string
}

// Referral is one referral made in the wave.
type Referral struct {
	School string
	// Sector is social_work, education, health, parents, ngo, government
	// or other; any other value is counted as other.
	Sector      string
	ServiceType string // e.g. clinic, sassa, food_relief
	Urgent      bool
	// Status is created, dispatched, acknowledged, completed, declined or
	// unreachable; anything but the last three is counted as still open.
	Status    string
	Overdue   bool
	CreatedAt time.Time
	// AcknowledgedAt is the service's first response. The time to service
	// is AcknowledgedAt minus CreatedAt, or, for a completed referral never
	// acknowledged, ClosedAt minus CreatedAt; a negative one is ignored.
	AcknowledgedAt *time.Time
	ClosedAt       *time.Time
}

// PlanAction is one action of an agreed plan. Sector is read like
// [Referral.Sector].
type PlanAction struct {
	School, Domain, Sector string
	Done, Overdue          bool
}

// School is a school of the site, by ID and display name.
type School struct{ ID, Name string }

// Domain is a risk domain, by ID and display label.
type Domain struct{ ID, Label string }

// Input is everything the report reads.
type Input struct {
	Site, SiteName string
	Wave           int
	WaveStatus     string // open, closing, reported or closed
	GeneratedAt    time.Time
	Schools        []School // in display order; a repeated ID is ignored
	Domains        []Domain // in display order
	Children       []Child
	// Plans is the number of children with an agreed plan in the site;
	// PlansBySchool the same per school ID.
	Plans         int
	PlansBySchool map[string]int
	Referrals     []Referral
	Actions       []PlanAction
}

// Table IDs, in the order every scope lists them.
const (
	TableCohort              = "cohort"
	TableCSG                 = "csg"
	TableBirthCertificate    = "birth_certificate"
	TableFoodInsecurity      = "food_insecurity"
	TableChildHunger         = "child_hunger"
	TableCaregiverDepression = "caregiver_depression"
	TableSDQBands            = "sdq_bands"
	TableResilience          = "resilience"
	TableGrowth              = "growth"
	TableRiskByDomain        = "risk_by_domain"
	TableReferralsBySector   = "referrals_by_sector"
	TablePlanActionsBySector = "plan_actions_by_sector"
)

// TableIDs lists the table IDs in the order every scope has them.
var TableIDs = []string{
	TableCohort, TableCSG, TableBirthCertificate, TableFoodInsecurity,
	TableChildHunger, TableCaregiverDepression, TableSDQBands, TableResilience,
	TableGrowth, TableRiskByDomain, TableReferralsBySector, TablePlanActionsBySector,
}

// Scope kinds.
const (
	KindSite   = "site"
	KindSchool = "school"
)

// Report is a wave's findings: the site's scope first, then one per school.
type Report struct {
	Site, SiteName string
	Wave           int
	WaveStatus     string
	GeneratedAt    time.Time
	Scopes         []Scope
}

// Scope is the site or one school, with every table.
type Scope struct {
	// Key names the scope in [Report.WriteTableCSV], [Report.Chart] and
	// [HTMLOptions.CSVLink]: "site", or "school:" and the school's ID.
	Key      string
	Kind     string // KindSite or KindSchool
	SchoolID string // empty for the site
	Name     string
	Tables   []Table
}

// Table is one table of a scope, with raw values.
type Table struct {
	ID, Title string
	// Note says what the percentages are of (the denominator).
	Note string
	// Columns are the headers; the first heads the row labels.
	Columns []Column
	Rows    []Row

	groups []group    // counts that add up, within a scope
	hidden [][]hiding // per row and value; nil before the report's suppression
}

// Column is a column header, with a stable key for machine-readable output.
type Column struct{ Key, Label string }

// Row is one row: a stable key, a label, and one value per column after
// the first.
type Row struct {
	Key, Label string
	Values     []Value
}

// ValueKind says what a [Value] holds.
type ValueKind int

// Value kinds.
const (
	// Text is fixed text (empty where nothing applies).
	Text ValueKind = iota
	// Count is a number of children, referrals or actions.
	Count
	// Percent is 100*Num/Den, one decimal, empty when Den is 0.
	Percent
	// Stat is a mean, median, minimum or maximum over N children or referrals.
	Stat
)

// Value is one cell of a table before it is written.
type Value struct {
	Kind ValueKind
	N    int     // Count: the count; Stat: how many values it is over
	X    float64 // Stat
	Text string  // Text

	numAt, denAt pos // Percent: the counts it divides
}

// pos is a cell of a table: row, and index into the row's values.
type pos struct{ r, c int }

// loc is a count cell of a scope: in table (empty: the table itself) at p.
type loc struct {
	table string
	p     pos
}

// group is counts that add up: the parts sum to the total.
type group struct {
	parts      []loc
	total      loc
	totalFirst bool // prefer hiding the total to hiding a part
}
