// Package sites loads and checks site configurations: everything that differs
// between an urban Johannesburg school and a rural replication lives in
// sites/<site>/ (site.yaml and the files it names) rather than in code.
// The shipped sites are embedded in the binary; a directory on disk can replace them.
package sites

import (
	"embed"
	"io/fs"
	"sort"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// Embedded holds the site folders shipped with khula and the site schema.
//
//go:embed */*.yaml site.schema.json
var Embedded embed.FS

// SchemaFile is the published JSON Schema of site.yaml, inside Embedded.
const SchemaFile = "site.schema.json"

// FS returns the embedded site folders as a file system rooted at the sites directory.
func FS() fs.FS { return Embedded }

// Roles a person on a school's LLCoP can hold.
const (
	RoleSocialWorker    = "social_worker"
	RoleTeacher         = "teacher"
	RoleNurse           = "nurse"
	RoleFieldworker     = "fieldworker"
	RoleSiteCoordinator = "site_coordinator"
	// RoleProgrammeManager is who a wait escalates to after the coordinator.
	RoleProgrammeManager = "programme_manager"
)

// Site is one site's configuration after loading and checking.
type Site struct {
	ID              string       `yaml:"id"`
	Name            string       `yaml:"name"`
	Province        string       `yaml:"province"`
	Setting         string       `yaml:"setting"`
	Timezone        string       `yaml:"timezone"`
	Languages       []string     `yaml:"languages"`
	DefaultLanguage string       `yaml:"default_language"`
	Respondents     []string     `yaml:"respondents"`
	InstrumentFile  string       `yaml:"instrument"`
	ServicesFile    string       `yaml:"services"`
	MessagesFile    string       `yaml:"messages"`
	Connectivity    Connectivity `yaml:"connectivity"`
	Retention       Retention    `yaml:"retention"`
	Consent         Consent      `yaml:"consent"`
	Coordinator     Person       `yaml:"coordinator"`
	// ProgrammeManager is told when a wait the coordinator was told of
	// stays unanswered (optional: the coordinator is told again without one).
	ProgrammeManager *Person   `yaml:"programme_manager"`
	Durations        Durations `yaml:"durations"`
	// ALCoP is the advisory partners' part in the cycle.
	ALCoP ALCoP `yaml:"alcop"`
	// BreakGlass tunes emergency access to children outside one's schools.
	BreakGlass BreakGlass     `yaml:"break_glass"`
	Meetings   MeetingCadence `yaml:"meetings"`
	Schools    []School       `yaml:"schools"`
	Plugins    Plugins        `yaml:"plugins"`

	// Services is read from ServicesFile.
	Services []Service `yaml:"-"`
	// Messages are the site's message templates from MessagesFile, by
	// template name and language.
	Messages map[string]map[string]MessageText `yaml:"-"`
	// Dir is the site's folder inside the file system it was loaded from.
	Dir string `yaml:"-"`
}

// Person is someone the cycle notifies: an LLCoP member or the coordinator.
// Staff are named by title only; khula needs no staff names to run the cycle.
type Person struct {
	Role         string  `yaml:"role"`
	Title        string  `yaml:"title"`
	Safeguarding bool    `yaml:"safeguarding"`
	Language     string  `yaml:"language"`
	Contact      Contact `yaml:"contact"`
}

// Contact is how a person or service is reached.
type Contact struct {
	Channel string `yaml:"channel"`
	Address string `yaml:"address"`
}

// Durations are the cycle's waits, read by the workflows through their inputs.
type Durations struct {
	AssessmentWindow   Duration `yaml:"assessment_window"`
	ReminderEvery      Duration `yaml:"reminder_every"`
	PlanDeadline       Duration `yaml:"plan_deadline"`
	UrgentReferralSLA  Duration `yaml:"urgent_referral_sla"`
	ReferralAckSLA     Duration `yaml:"referral_ack_sla"`
	ReferralSLA        Duration `yaml:"referral_sla"`
	FollowUpEvery      Duration `yaml:"follow_up_every"`
	ReassessAfter      Duration `yaml:"reassess_after"`
	ReassessmentWindow Duration `yaml:"reassessment_window"`
	// PlanGiveUpAfter is how long after scoring a cycle waits for a plan
	// before it closes as plan_not_agreed and is carried to the next wave
	// (default three plan deadlines).
	PlanGiveUpAfter Duration `yaml:"plan_give_up_after"`
	// ReportAfter is how long after the assessment window closes the wave
	// report is produced, with cycles still open listed (default 30 days).
	ReportAfter Duration `yaml:"report_after"`
}

// BreakGlass tunes a site's break-the-glass access.
type BreakGlass struct {
	// Approval makes a grant wait for a second person (the site's
	// coordinator or a programme manager) before it opens the record.
	Approval bool `yaml:"approval"`
}

// ALCoP is the Advisory Level CoP's part in a site's cycle.
type ALCoP struct {
	// ReviewHighRiskPlans makes a plan for a child at high risk wait for an
	// advisor's review before its referrals start.
	ReviewHighRiskPlans bool `yaml:"review_high_risk_plans"`
	// ReviewWithin bounds that wait (DefaultReviewWithin when 0).
	ReviewWithin Duration `yaml:"review_within"`
}

// DefaultReviewWithin is how long a plan waits for the ALCoP's review
// before the coordinator is told.
const DefaultReviewWithin = Duration(7 * 24 * time.Hour)

// Review is how long a high-risk plan waits for a review at the site: 0
// when the site does not ask for reviews.
func (a ALCoP) Review() Duration {
	switch {
	case !a.ReviewHighRiskPlans:
		return 0
	case a.ReviewWithin > 0:
		return a.ReviewWithin
	}
	return DefaultReviewWithin
}

// Defaults of the optional durations.
const (
	DefaultPlanDeadlinesBeforeGivingUp = 3
	DefaultReportAfter                 = Duration(30 * 24 * time.Hour)
)

// PlanGiveUp is the site's plan_give_up_after, or its default.
func (d Durations) PlanGiveUp() Duration {
	if d.PlanGiveUpAfter > 0 {
		return d.PlanGiveUpAfter
	}
	return DefaultPlanDeadlinesBeforeGivingUp * d.PlanDeadline
}

// Report is the site's report_after, or its default.
func (d Durations) Report() Duration {
	if d.ReportAfter > 0 {
		return d.ReportAfter
	}
	return DefaultReportAfter
}

// Connectivity says how practitioners' devices reach khula.
type Connectivity struct {
	// Mode is online (the default) or intermittent: forms are captured
	// offline and arrive in batches at least every SyncEvery.
	Mode      string   `yaml:"mode"`
	SyncEvery Duration `yaml:"sync_every"`
}

// Intermittent reports whether forms arrive in batches after connectivity gaps.
func (c Connectivity) Intermittent() bool { return c.Mode == "intermittent" }

// Retention says how long a site keeps children's personal data.
type Retention struct {
	// DeidentifyAfter erases a child's personal fields once every wave they
	// were in has been closed this long (0: keep until consent is withdrawn).
	DeidentifyAfter Duration `yaml:"deidentify_after"`
}

// Consent renewal modes.
const (
	// ConsentStanding: a consent covers every wave until withdrawn (or
	// until ValidFor passes, when set).
	ConsentStanding = "standing"
	// ConsentEachWave: a consent covers the wave it was given or renewed
	// for; each later wave needs a renewal after the previous wave launched.
	ConsentEachWave = "each_wave"
)

// Consent says how long a caregiver's consent covers the child's waves.
type Consent struct {
	// Renewal is standing (the default) or each_wave.
	Renewal string `yaml:"renewal"`
	// ValidFor, when set, lapses a consent this long after it was given or
	// last renewed.
	ValidFor Duration `yaml:"valid_for"`
}

// EachWave reports whether consent must be renewed for every wave.
func (c Consent) EachWave() bool { return c.Renewal == ConsentEachWave }

// Policy is the consent setting in the cycle's terms.
func (c Consent) Policy() cycle.ConsentPolicy {
	return cycle.ConsentPolicy{EachWave: c.EachWave(), ValidFor: c.ValidFor.D()}
}

// MessageText is one template in one language.
type MessageText struct {
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
}

// MeetingCadence says when a school's LLCoP meets.
type MeetingCadence struct {
	Every   Duration `yaml:"every"`
	Weekday string   `yaml:"weekday"`
	Time    string   `yaml:"time"`
}

// School is one school of the site, with its Local Level CoP.
type School struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Quintile int      `yaml:"quintile"`
	LLCoP    []Person `yaml:"llcop"`
}

// Plugins names the plugin serving each role.
type Plugins struct {
	Referral PluginRef `yaml:"referral"`
	Notify   PluginRef `yaml:"notify"`
	Export   PluginRef `yaml:"export"`
	// Intake, when set, pulls form submissions from a form server (ODK
	// Central, KoboToolbox) on a schedule; without it a coordinator uploads
	// export files instead.
	Intake IntakeRef `yaml:"intake"`
}

// DefaultIntakeEvery is how often an intake plugin is asked for new
// submissions when the site does not say.
const DefaultIntakeEvery = 15 * time.Minute

// IntakeRef is the intake plugin and how often it is asked.
type IntakeRef struct {
	PluginRef `yaml:",inline"`
	// Every is the time between pulls (DefaultIntakeEvery when zero).
	Every Duration `yaml:"every"`
}

// Configured reports whether the site names an intake plugin.
func (r IntakeRef) Configured() bool { return r.Builtin != "" || r.Path != "" }

// Interval is the time between pulls.
func (r IntakeRef) Interval() time.Duration {
	if r.Every <= 0 {
		return DefaultIntakeEvery
	}
	return r.Every.D()
}

// PluginRef names a built-in plugin or a third-party executable pinned by SHA-256.
type PluginRef struct {
	Builtin string         `yaml:"builtin"`
	Path    string         `yaml:"path"`
	SHA256  string         `yaml:"sha256"`
	Config  map[string]any `yaml:"config"`
}

// Service is one entry of the site's services directory.
type Service struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Type    string   `yaml:"type"`
	Domains []string `yaml:"domains"`
	Schools []string `yaml:"schools"`
	Contact Contact  `yaml:"contact"`
}

// School returns the school with id, or false.
func (s *Site) School(id string) (School, bool) {
	for _, sc := range s.Schools {
		if sc.ID == id {
			return sc, true
		}
	}
	return School{}, false
}

// SafeguardingLead returns the school's designated safeguarding social worker,
// falling back to the site coordinator when the school names none.
func (s *Site) SafeguardingLead(schoolID string) Person {
	if sc, ok := s.School(schoolID); ok {
		for _, p := range sc.LLCoP {
			if p.Safeguarding {
				return p
			}
		}
	}
	return s.Coordinator
}

// Escalation returns who a wait escalates to after the coordinator: the
// programme manager, or the coordinator again where the site names none.
func (s *Site) Escalation() Person {
	if s.ProgrammeManager != nil {
		return *s.ProgrammeManager
	}
	return s.Coordinator
}

// ServicesFor lists services of the given type that serve a school (a
// service without a school list serves every school of the site).
func (s *Site) ServicesFor(serviceType, schoolID string) []Service {
	var out []Service
	for _, svc := range s.Services {
		if svc.Type != serviceType {
			continue
		}
		if len(svc.Schools) == 0 {
			out = append(out, svc)
			continue
		}
		for _, id := range svc.Schools {
			if id == schoolID {
				out = append(out, svc)
				break
			}
		}
	}
	return out
}

// TaskQueue is the Temporal task queue serving the site.
func (s *Site) TaskQueue() string { return TaskQueue(s.ID) }

// TaskQueue is the Temporal task queue serving site id.
func TaskQueue(siteID string) string { return "khula-" + siteID }

// ServiceTypes lists the distinct service types of the site's directory, sorted.
func (s *Site) ServiceTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, svc := range s.Services {
		if !seen[svc.Type] {
			seen[svc.Type] = true
			out = append(out, svc.Type)
		}
	}
	sort.Strings(out)
	return out
}
