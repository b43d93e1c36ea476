// Package messages renders the texts khula sends practitioners. A message
// names a child only by the opaque cycle reference: the recipient opens khula
// to see more, where access is checked and audited.
package messages

import (
	"bytes"
	"fmt"
	"sort"
	"text/template"
)

// Template names.
const (
	AssessmentReminder = "assessment_reminder"
	SafeguardingAlert  = "safeguarding_alert"
	PlanOverdue        = "plan_overdue"
	MeetingAgenda      = "meeting_agenda"
	MinutesMissing     = "minutes_missing"
	ReferralAckOverdue = "referral_ack_overdue"
	ReferralOverdue    = "referral_overdue"
	ReferralDeclined   = "referral_declined"
	FollowUpDue        = "follow_up_due"
	ReassessmentDue    = "reassessment_due"
	// SafeguardingPrompt asks the safeguarding social worker to look at a
	// concern that makes no referral by itself (a declined self-harm item).
	SafeguardingPrompt = "safeguarding_prompt"
	// PlanNotAgreed tells the coordinator and programme manager that a
	// child's wait for a plan ended without one.
	PlanNotAgreed = "plan_not_agreed"
	// AssessmentToComplete asks the LLCoP to collect an incomplete
	// assessment's missing forms, as the plan assigned.
	AssessmentToComplete = "assessment_to_complete"
	// ReviewOverdue tells the coordinator and programme manager that a
	// high-risk plan still waits for the ALCoP's review.
	ReviewOverdue = "review_overdue"
	// ReviewMissed says a plan's referrals started without the review.
	ReviewMissed = "review_missed"
	// BreakGlassGranted tells the coordinator at once that a practitioner
	// gave themselves emergency access to a child outside their schools.
	BreakGlassGranted = "break_glass_granted"
	// BreakGlassRequested asks the coordinator to approve (or not) a
	// break-the-glass grant at a site that needs a second person.
	BreakGlassRequested = "break_glass_requested"
)

type text struct{ subject, body string }

// builtin holds the English texts; sites add translations (see Catalog.Add).
var builtin = map[string]text{
	AssessmentReminder:   {"Forms outstanding", "Cycle {{.cycle}}: the {{.respondents}} form(s) are still outstanding. The assessment window closes on {{.window_close}}."},
	SafeguardingAlert:    {"URGENT: safeguarding concern", "Cycle {{.cycle}} at {{.school}} raised a safeguarding concern ({{.flags}}). An urgent referral has been made. Please act today."},
	PlanOverdue:          {"Plan overdue", "Cycle {{.cycle}} at {{.school}} has waited {{.waited}} for an LLCoP plan. Please put it on the next meeting's agenda."},
	MeetingAgenda:        {"LLCoP meeting agenda", "The LLCoP meeting {{.meeting}} has {{.count}} child(ren) on its agenda. Please record the minutes in khula."},
	MinutesMissing:       {"Meeting minutes missing", "No minutes were recorded for meeting {{.meeting}}. Its {{.count}} child(ren) roll over to the next meeting."},
	ReferralAckOverdue:   {"Referral not acknowledged", "Referral {{.referral}} ({{.service_type}}) has not been acknowledged within {{.sla}}."},
	ReferralOverdue:      {"Referral overdue", "Referral {{.referral}} ({{.service_type}}) has no outcome after {{.sla}}."},
	ReferralDeclined:     {"Referral declined", "Referral {{.referral}} ({{.service_type}}) was declined. The child's plan may need another service."},
	FollowUpDue:          {"Follow-up due", "Cycle {{.cycle}} has {{.open}} open referral(s). Please record a follow-up check-in."},
	ReassessmentDue:      {"Reassessment due", "Cycle {{.cycle}} is due for reassessment of: {{.domains}}."},
	SafeguardingPrompt:   {"Safeguarding: please follow up today", "Cycle {{.cycle}} at {{.school}} needs a social worker's attention ({{.flags}}). No referral has been made: please contact the family today."},
	PlanNotAgreed:        {"No plan agreed", "Cycle {{.cycle}} at {{.school}} waited {{.waited}} and no LLCoP agreed a plan. It is closed as plan not agreed and carried to the next wave's agenda."},
	ReviewOverdue:        {"ALCoP review overdue", "The plan of cycle {{.cycle}} at {{.school}} has waited {{.waited}} for the ALCoP's review; its referrals start when it is reviewed."},
	ReviewMissed:         {"Referrals started without the ALCoP's review", "The plan of cycle {{.cycle}} at {{.school}} waited {{.waited}} for the ALCoP's review; its referrals have started without it."},
	BreakGlassGranted:    {"Emergency access to a child's record", "{{.user}} used break-the-glass to read the record of child {{.child}} at {{.school}} for {{.minutes}} minutes (until {{.until}}). Read the reason they gave in khula's access grants list and act if it is not justified."},
	BreakGlassRequested:  {"Approval needed: emergency access to a child's record", "{{.user}} asks to read the record of child {{.child}} at {{.school}} for {{.minutes}} minutes (break-the-glass). Nothing opens until you or a programme manager approve it in khula's access grants list, by {{.until}}; read the reason there first."},
	AssessmentToComplete: {"Assessment to complete", "Cycle {{.cycle}}: the LLCoP asked {{.owner}} to collect the missing {{.respondents}} form(s) by {{.window_close}}."},
}

// Catalog renders templates by name and language, falling back to English.
// Sites may add their own texts (per language), which win over the built-in ones.
type Catalog struct {
	texts map[string]map[string]text            // template -> language -> text
	sites map[string]map[string]map[string]text // site -> template -> language -> text
}

// NewCatalog returns a catalog holding the built-in English texts.
func NewCatalog() *Catalog {
	c := &Catalog{texts: map[string]map[string]text{}, sites: map[string]map[string]map[string]text{}}
	for name, t := range builtin {
		c.texts[name] = map[string]text{"en": t}
	}
	return c
}

// Add registers a translation; it fails on an unknown template or a text that does not parse.
func (c *Catalog) Add(name, lang, subject, body string) error {
	if _, ok := c.texts[name]; !ok {
		return fmt.Errorf("messages: unknown template %q (known: %v)", name, Names())
	}
	for _, s := range []string{subject, body} {
		if _, err := template.New(name).Option("missingkey=error").Parse(s); err != nil {
			return fmt.Errorf("messages: template %q (%s): %w", name, lang, err)
		}
	}
	c.texts[name][lang] = text{subject, body}
	return nil
}

// AddSite registers a site's own text for a template in a language.
func (c *Catalog) AddSite(site, name, lang, subject, body string) error {
	if _, ok := c.texts[name]; !ok {
		return fmt.Errorf("messages: unknown template %q (known: %v)", name, Names())
	}
	for _, src := range []string{subject, body} {
		if _, err := template.New(name).Option("missingkey=error").Parse(src); err != nil {
			return fmt.Errorf("messages: site %s template %q (%s): %w", site, name, lang, err)
		}
	}
	if c.sites[site] == nil {
		c.sites[site] = map[string]map[string]text{}
	}
	if c.sites[site][name] == nil {
		c.sites[site][name] = map[string]text{}
	}
	c.sites[site][name][lang] = text{subject, body}
	return nil
}

// RenderFor fills a template for a site: the site's text in lang, else the
// built-in text in lang, else English.
func (c *Catalog) RenderFor(site, name, lang string, params map[string]string) (subject, body string, err error) {
	if t, ok := c.sites[site][name][lang]; ok {
		if subject, err = fill(name, t.subject, params); err != nil {
			return "", "", err
		}
		if body, err = fill(name, t.body, params); err != nil {
			return "", "", err
		}
		return subject, body, nil
	}
	return c.Render(name, lang, params)
}

// Names lists the template names.
func Names() []string {
	out := make([]string, 0, len(builtin))
	for n := range builtin {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Render fills template name in lang (or English) with params.
func (c *Catalog) Render(name, lang string, params map[string]string) (subject, body string, err error) {
	byLang, ok := c.texts[name]
	if !ok {
		return "", "", fmt.Errorf("messages: unknown template %q", name)
	}
	t, ok := byLang[lang]
	if !ok {
		t = byLang["en"]
	}
	if subject, err = fill(name, t.subject, params); err != nil {
		return "", "", err
	}
	if body, err = fill(name, t.body, params); err != nil {
		return "", "", err
	}
	return subject, body, nil
}

func fill(name, src string, params map[string]string) (string, error) {
	tpl, err := template.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", fmt.Errorf("messages: template %q: %w", name, err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, params); err != nil {
		return "", fmt.Errorf("messages: template %q: %w", name, err)
	}
	return b.String(), nil
}
