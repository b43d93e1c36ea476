package sites

import (
	"io/fs"
	"path"
	"time"

	"go.yaml.in/yaml/v3"
)

type validator struct {
	*checker
	file string
	root *yaml.Node
	fsys fs.FS
	site *Site
}

func (v *validator) at(steps ...any) int { return line(v.root, steps...) }

func (v *validator) check() {
	s := v.site
	if s.ID == "" {
		v.add(v.file, v.at("id"), "id is required: the site's short name, e.g. %q", s.Dir)
	} else if !idPattern.MatchString(s.ID) {
		v.add(v.file, v.at("id"), "id %q must be lower-case letters, digits and '-', starting with a letter", s.ID)
	} else if s.ID != s.Dir {
		v.add(v.file, v.at("id"), "id %q differs from its folder %q: rename one so they match", s.ID, s.Dir)
	}
	if s.Name == "" {
		v.add(v.file, v.at("name"), "name is required")
	}
	if s.Setting != "urban" && s.Setting != "rural" {
		v.add(v.file, v.at("setting"), "setting %q must be urban or rural", s.Setting)
	}
	if s.Timezone == "" {
		v.add(v.file, v.at("timezone"), "timezone is required, e.g. Africa/Johannesburg")
	} else if _, err := time.LoadLocation(s.Timezone); err != nil {
		v.add(v.file, v.at("timezone"), "timezone %q is not an IANA time zone name (e.g. Africa/Johannesburg)", s.Timezone)
	}
	v.checkLanguages()
	if len(s.Respondents) == 0 {
		v.add(v.file, v.at("respondents"), "respondents is required: list who answers (%s)", keys(knownRespondents))
	}
	for i, r := range s.Respondents {
		if !knownRespondents[r] {
			v.add(v.file, v.at("respondents", i), "respondent %q is not one of %s", r, keys(knownRespondents))
		}
	}
	v.checkFileRef("instrument", s.InstrumentFile)
	v.checkFileRef("services", s.ServicesFile)
	if s.MessagesFile != "" {
		v.checkFileRef("messages", s.MessagesFile)
	}
	v.checkConnectivity()
	if r := v.site.Retention.DeidentifyAfter; r != 0 && r.D() < 30*24*time.Hour {
		v.add(v.file, v.at("retention", "deidentify_after"), "retention.deidentify_after of %s is under 30 days: too short to follow children up", r)
	}
	if c := v.site.Consent.ValidFor; c != 0 && c.D() < 30*24*time.Hour {
		v.add(v.file, v.at("consent", "valid_for"), "consent.valid_for of %s is under 30 days: consent would lapse within a wave", c)
	}
	v.checkPerson(s.Coordinator, "coordinator")
	if s.Coordinator.Role != "" && s.Coordinator.Role != RoleSiteCoordinator {
		v.add(v.file, v.at("coordinator", "role"), "coordinator role must be %s", RoleSiteCoordinator)
	}
	if pm := s.ProgrammeManager; pm != nil {
		v.checkPerson(*pm, "programme_manager")
		if pm.Role != "" && pm.Role != RoleProgrammeManager {
			v.add(v.file, v.at("programme_manager", "role"), "programme_manager role must be %s", RoleProgrammeManager)
		}
	}
	v.checkDurations()
	v.checkMeetings()
	v.checkALCoP()
	v.checkSchools()
	v.checkPlugins()
}

func (v *validator) checkLanguages() {
	s := v.site
	if len(s.Languages) == 0 {
		v.add(v.file, v.at("languages"), "languages is required: list the languages messages and forms are offered in (%s)", keys(knownLanguages))
	}
	for i, l := range s.Languages {
		if !knownLanguages[l] {
			v.add(v.file, v.at("languages", i), "language %q is not a known code (%s)", l, keys(knownLanguages))
		}
	}
	if s.DefaultLanguage == "" {
		v.add(v.file, v.at("default_language"), "default_language is required")
	} else if !v.hasLanguage(s.DefaultLanguage) {
		v.add(v.file, v.at("default_language"), "default_language %q is not in languages", s.DefaultLanguage)
	}
}

func (v *validator) hasLanguage(l string) bool {
	for _, have := range v.site.Languages {
		if have == l {
			return true
		}
	}
	return false
}

func (v *validator) checkFileRef(key, name string) {
	if name == "" {
		v.add(v.file, v.at(key), "%s is required: the file name, relative to the site folder", key)
		return
	}
	if path.IsAbs(name) || !fs.ValidPath(name) {
		v.add(v.file, v.at(key), "%s %q must be a file inside the site folder", key, name)
		return
	}
	if _, err := fs.Stat(v.fsys, path.Join(v.site.Dir, name)); err != nil {
		v.add(v.file, v.at(key), "%s file %q does not exist in the site folder", key, name)
	}
}

func (v *validator) checkPerson(p Person, steps ...any) {
	if p.Role == "" {
		v.add(v.file, v.at(steps...), "role is required (%s)", keys(knownRoles))
	} else if !knownRoles[p.Role] {
		v.add(v.file, v.at(append(steps, "role")...), "role %q is not one of %s", p.Role, keys(knownRoles))
	}
	if p.Title == "" {
		v.add(v.file, v.at(steps...), "title is required: the person's job title (no names needed)")
	}
	if p.Language == "" {
		v.add(v.file, v.at(steps...), "language is required: the language messages to this person use")
	} else if !v.hasLanguage(p.Language) {
		v.add(v.file, v.at(append(steps, "language")...), "language %q is not one of the site's languages", p.Language)
	}
	v.checkContact(p.Contact, v.file, v.root, append(steps, "contact")...)
}

func (v *validator) checkContact(c Contact, file string, root *yaml.Node, steps ...any) {
	if c.Channel == "" {
		v.add(file, line(root, steps...), "contact channel is required (%s)", keys(knownChannels))
	} else if !knownChannels[c.Channel] {
		v.add(file, line(root, append(steps, "channel")...), "contact channel %q is not one of %s", c.Channel, keys(knownChannels))
	}
	if c.Address == "" {
		v.add(file, line(root, steps...), "contact address is required")
	}
}

func (v *validator) checkDurations() {
	d := v.site.Durations
	fields := []struct {
		key string
		val Duration
		min time.Duration
	}{
		{"assessment_window", d.AssessmentWindow, 24 * time.Hour},
		{"reminder_every", d.ReminderEvery, time.Hour},
		{"plan_deadline", d.PlanDeadline, 24 * time.Hour},
		{"urgent_referral_sla", d.UrgentReferralSLA, time.Minute},
		{"referral_ack_sla", d.ReferralAckSLA, time.Hour},
		{"referral_sla", d.ReferralSLA, 24 * time.Hour},
		{"follow_up_every", d.FollowUpEvery, 24 * time.Hour},
		{"reassess_after", d.ReassessAfter, 24 * time.Hour},
		{"reassessment_window", d.ReassessmentWindow, 24 * time.Hour},
	}
	for _, f := range fields {
		switch {
		case f.val == 0:
			v.add(v.file, v.at("durations", f.key), "durations.%s is required and must be more than zero", f.key)
		case f.val.D() < 0:
			v.add(v.file, v.at("durations", f.key), "durations.%s is %s: a wait cannot be negative", f.key, f.val)
		case f.val.D() < f.min:
			v.add(v.file, v.at("durations", f.key), "durations.%s of %s is shorter than the least sensible %s", f.key, f.val, Duration(f.min))
		}
	}
	for _, f := range []struct {
		key string
		val Duration
	}{{"plan_give_up_after", d.PlanGiveUpAfter}, {"report_after", d.ReportAfter}} {
		if f.val != 0 && f.val.D() < 24*time.Hour {
			v.add(v.file, v.at("durations", f.key), "durations.%s of %s is shorter than the least sensible 1d", f.key, f.val)
		}
	}
	if d.PlanGiveUpAfter > 0 && d.PlanDeadline > 0 && d.PlanGiveUpAfter <= 2*d.PlanDeadline {
		v.add(v.file, v.at("durations", "plan_give_up_after"), "plan_give_up_after (%s) must be longer than two plan deadlines (%s): the coordinator, then the programme manager, are told first", d.PlanGiveUpAfter, 2*d.PlanDeadline)
	}
	if d.ReferralAckSLA > 0 && d.ReferralSLA > 0 && d.ReferralAckSLA >= d.ReferralSLA {
		v.add(v.file, v.at("durations", "referral_ack_sla"), "referral_ack_sla (%s) must be shorter than referral_sla (%s)", d.ReferralAckSLA, d.ReferralSLA)
	}
	if d.ReminderEvery > 0 && d.AssessmentWindow > 0 && d.ReminderEvery >= d.AssessmentWindow {
		v.add(v.file, v.at("durations", "reminder_every"), "reminder_every (%s) must be shorter than assessment_window (%s), or no reminder is ever sent", d.ReminderEvery, d.AssessmentWindow)
	}
}

func (v *validator) checkConnectivity() {
	c := v.site.Connectivity
	switch c.Mode {
	case "", "online":
		if c.SyncEvery != 0 {
			v.add(v.file, v.at("connectivity", "sync_every"), "connectivity.sync_every applies only to mode: intermittent")
		}
	case "intermittent":
		if c.SyncEvery.D() <= 0 {
			v.add(v.file, v.at("connectivity", "sync_every"), "connectivity.sync_every is required for intermittent sites: how often devices sync at least, e.g. 7d")
		} else if v.site.Durations.AssessmentWindow > 0 && c.SyncEvery >= v.site.Durations.AssessmentWindow {
			v.add(v.file, v.at("connectivity", "sync_every"), "connectivity.sync_every (%s) must be shorter than assessment_window (%s), or forms arrive after the window closes", c.SyncEvery, v.site.Durations.AssessmentWindow)
		}
	default:
		v.add(v.file, v.at("connectivity", "mode"), "connectivity.mode %q must be online or intermittent", c.Mode)
	}
}

func (v *validator) checkMeetings() {
	m := v.site.Meetings
	if m.Every.D() <= 0 {
		v.add(v.file, v.at("meetings", "every"), "meetings.every must be a positive duration, e.g. 14d")
	} else if m.Every.D() < 24*time.Hour {
		v.add(v.file, v.at("meetings", "every"), "meetings.every of %s is less than a day", m.Every)
	}
	if _, ok := knownWeekdays[m.Weekday]; !ok {
		v.add(v.file, v.at("meetings", "weekday"), "meetings.weekday %q must be a day name in lower case, e.g. thursday", m.Weekday)
	}
	if !clockPattern.MatchString(m.Time) {
		v.add(v.file, v.at("meetings", "time"), "meetings.time %q must be HH:MM on a 24-hour clock", m.Time)
	}
}

func (v *validator) checkALCoP() {
	a := v.site.ALCoP
	switch {
	case a.ReviewWithin < 0:
		v.add(v.file, v.at("alcop", "review_within"), "alcop.review_within must be a positive duration, e.g. 7d")
	case a.ReviewWithin > 0 && a.ReviewWithin.D() < time.Hour:
		v.add(v.file, v.at("alcop", "review_within"), "alcop.review_within of %s is under an hour: no advisor could review in time", a.ReviewWithin)
	case a.ReviewWithin > 0 && !a.ReviewHighRiskPlans:
		v.add(v.file, v.at("alcop", "review_within"), "alcop.review_within is set but review_high_risk_plans is not true: no plan would wait")
	}
}

func (v *validator) checkSchools() {
	if len(v.site.Schools) == 0 {
		v.add(v.file, v.at("schools"), "schools is required: a site has at least one school")
	}
	seen := map[string]bool{}
	for i, sc := range v.site.Schools {
		switch {
		case sc.ID == "":
			v.add(v.file, v.at("schools", i), "school id is required")
		case !idPattern.MatchString(sc.ID):
			v.add(v.file, v.at("schools", i, "id"), "school id %q must be lower-case letters, digits and '-'", sc.ID)
		case seen[sc.ID]:
			v.add(v.file, v.at("schools", i, "id"), "school id %q appears twice", sc.ID)
		}
		seen[sc.ID] = true
		if sc.Name == "" {
			v.add(v.file, v.at("schools", i), "school %q needs a name", sc.ID)
		}
		if sc.Quintile < 1 || sc.Quintile > 5 {
			v.add(v.file, v.at("schools", i, "quintile"), "school %q quintile %d must be 1 to 5", sc.ID, sc.Quintile)
		}
		if len(sc.LLCoP) == 0 {
			v.add(v.file, v.at("schools", i), "school %q has no LLCoP members: list at least a social worker, a teacher and a nurse under llcop", sc.ID)
			continue
		}
		safeguarding := 0
		for j, p := range sc.LLCoP {
			v.checkPerson(p, "schools", i, "llcop", j)
			if p.Safeguarding {
				safeguarding++
				if p.Role != RoleSocialWorker {
					v.add(v.file, v.at("schools", i, "llcop", j, "safeguarding"), "only a social worker can be the designated safeguarding lead (school %q)", sc.ID)
				}
			}
		}
		if safeguarding == 0 {
			v.add(v.file, v.at("schools", i, "llcop"), "school %q has no designated safeguarding social worker: mark one social worker with safeguarding: true", sc.ID)
		}
	}
}

func (v *validator) checkPlugins() {
	p := v.site.Plugins
	v.checkPlugin("referral", p.Referral, true)
	v.checkPlugin("notify", p.Notify, true)
	v.checkPlugin("export", p.Export, false)
	v.checkPlugin("intake", p.Intake.PluginRef, false)
	if p.Intake.Every != 0 && p.Intake.Every.D() < time.Minute {
		v.add(v.file, v.at("plugins", "intake", "every"), "plugins.intake.every is %s: pull at most once a minute (1m or more)", p.Intake.Every)
	}
	if p.Intake.Every != 0 && !p.Intake.Configured() {
		v.add(v.file, v.at("plugins", "intake", "every"), "plugins.intake.every is set but no intake plugin is named: add builtin or path")
	}
}

func (v *validator) checkPlugin(role string, ref PluginRef, required bool) {
	steps := []any{"plugins", role}
	switch {
	case ref.Builtin == "" && ref.Path == "":
		if required {
			v.add(v.file, v.at(steps...), "plugins.%s is required: name a builtin (%v) or a path with its sha256", role, knownBuiltins[role])
		}
	case ref.Builtin != "" && ref.Path != "":
		v.add(v.file, v.at(steps...), "plugins.%s names both a builtin and a path: choose one", role)
	case ref.Builtin != "":
		ok := false
		for _, b := range knownBuiltins[role] {
			ok = ok || b == ref.Builtin
		}
		if !ok {
			v.add(v.file, v.at(append(steps, "builtin")...), "plugins.%s builtin %q is not one of %v", role, ref.Builtin, knownBuiltins[role])
		}
	default:
		if !sha256Pattern.MatchString(ref.SHA256) {
			v.add(v.file, v.at(steps...), "plugins.%s path %q needs sha256: the executable's SHA-256 as 64 lower-case hex digits (sha256sum prints it)", role, ref.Path)
		}
	}
}

// servicesFile is the shape of a site's services directory file.
type servicesFile struct {
	Services []Service `yaml:"services"`
}

func (v *validator) loadServices() {
	file := path.Join(v.site.Dir, v.site.ServicesFile)
	data, err := fs.ReadFile(v.fsys, file)
	if err != nil {
		return // already reported by checkFileRef
	}
	var sf servicesFile
	root := v.decode(file, data, &sf)
	if root == nil {
		return
	}
	if len(sf.Services) == 0 {
		v.add(file, line(root, "services"), "services lists no service: a site needs somewhere to refer children")
	}
	seen := map[string]bool{}
	for i, svc := range sf.Services {
		at := func(steps ...any) int { return line(root, append([]any{"services", i}, steps...)...) }
		switch {
		case svc.ID == "":
			v.add(file, at(), "service id is required")
		case !idPattern.MatchString(svc.ID):
			v.add(file, at("id"), "service id %q must be lower-case letters, digits and '-'", svc.ID)
		case seen[svc.ID]:
			v.add(file, at("id"), "service id %q appears twice", svc.ID)
		}
		seen[svc.ID] = true
		if svc.Name == "" {
			v.add(file, at(), "service %q needs a name", svc.ID)
		}
		if svc.Type == "" {
			v.add(file, at(), "service %q needs a type (what plan actions ask for, e.g. clinic)", svc.ID)
		}
		if len(svc.Domains) == 0 {
			v.add(file, at(), "service %q lists no domains", svc.ID)
		}
		for j, d := range svc.Domains {
			if !knownDomains[d] {
				v.add(file, at("domains", j), "service %q domain %q is not one of %s", svc.ID, d, keys(knownDomains))
			}
		}
		for j, sc := range svc.Schools {
			if _, ok := v.site.School(sc); !ok {
				v.add(file, at("schools", j), "service %q names school %q, which is not in %s", svc.ID, sc, v.file)
			}
		}
		v.checkContact(svc.Contact, file, root, "services", i, "contact")
	}
	v.site.Services = sf.Services
}
