package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

// An assessment form is drawn from the site's instrument: the respondent's
// items in form order, grouped by domain, labelled in the chosen language.
// Skip logic runs on the server: "Update the form" redraws it with the
// items the answers so far show or hide, and submitting leaves hidden items
// out. The API's validator has the last word: its field errors (422) are
// shown next to each item and in a summary at the top.

type choiceOption struct {
	Value, Label, ID, Lang string
	Checked                bool
}

type formItem struct {
	ID, Label, Help, Type, Unit, Lang string
	Required                          bool
	// Hidden items are not asked for the answers so far; the page keeps
	// them (hidden) so that the form's script can show them on the device.
	Hidden   bool
	Choices  []choiceOption
	Value    string
	Error    string
	Min, Max string
	Decimal  bool
}

type formSection struct {
	Label string
	Items []formItem
}

type formChild struct {
	Name, Sex, Grade string
	Age              string
}

type langOption struct {
	Code, Name string
	Selected   bool
}

type formView struct {
	Ref        cycle.CycleRef
	Respondent string
	Phase      string
	Lang       string
	Languages  []langOption
	Sections   []formSection
	Hidden     int
	Summary    []formError
	Problem    string
	Key        string
	SchoolName string
	Done       bool
	// Asked names the domains a reassessment asks (nil: the whole form).
	Asked []string
	// Child is who the form is about (an audited read); empty on the copy
	// kept on the device (?device=1), which carries no name.
	Child *formChild
	// Spec is the offline spec for khula.js; nil when the form can only
	// be checked online.
	Spec *offlineSpec
}

func (u *UI) instrumentOf(siteID string) (*instrument.Instrument, error) {
	ref, ok := u.o.Sites.Instrument(siteID)
	if !ok {
		return nil, errNoInstrument
	}
	in, ok := u.o.Instruments.Instrument(ref)
	if !ok {
		return nil, errNoInstrument
	}
	return in, nil
}

// formContext checks the cycle through the API (scope, existence) and loads
// what the form needs; it renders the failure itself.
func (u *UI) formContext(c *gin.Context) (*sites.Site, *instrument.Instrument, store.CycleDetail, cycle.CycleRef, bool) {
	var d store.CycleDetail
	siteID, n, ok := waveParams(c)
	if !ok {
		u.failMsg(c, http.StatusNotFound, "error.not_found", "error.no_cycle", nil)
		return nil, nil, d, cycle.CycleRef{}, false
	}
	ref := cycle.CycleRef{Site: siteID, Wave: n, Child: c.Param("child")}
	if !u.get(c, fmt.Sprintf("/api/v1/cycles/%s/%d/%s", url.PathEscape(siteID), n, url.PathEscape(ref.Child)), &d) {
		return nil, nil, d, ref, false
	}
	site, _ := u.o.Sites.Site(siteID)
	in, err := u.instrumentOf(siteID)
	if err != nil {
		u.failDetail(c, http.StatusServiceUnavailable, "error.no_instrument", err.Error())
		return nil, nil, d, ref, false
	}
	if !slices.Contains(in.Respondents(), c.Param("respondent")) {
		u.failMsg(c, http.StatusNotFound, "error.unknown_respondent", "error.no_respondent", map[string]any{"Respondent": c.Param("respondent")})
		return nil, nil, d, ref, false
	}
	crumbs(c, navLink{Href: "/work", Label: uitext.T(u.lang(c), "work.title")}, navLink{Href: fmt.Sprintf("/cycles/%s/%d/%s", siteID, n, ref.Child),
		Label: uitext.Data(u.lang(c), "layout.crumb.child", map[string]any{"Child": ref.Child})})
	return site, in, d, ref, true
}

func (u *UI) formPage(c *gin.Context) {
	site, in, d, ref, ok := u.formContext(c)
	if !ok {
		return
	}
	phase := c.DefaultQuery("phase", phaseOf(d.Cycle.Stage))
	u.showForm(c, http.StatusOK, site, in, d, ref, phase, pickLang(site, c.Query("lang")), instrument.Answers{}, nil)
}

func phaseOf(stage string) string {
	if stage == cycle.StageReassess {
		return cycle.PhaseReassessment
	}
	return cycle.PhaseBaseline
}

func pickLang(site *sites.Site, lang string) string {
	if slices.Contains(site.Languages, lang) {
		return lang
	}
	if site.DefaultLanguage != "" {
		return site.DefaultLanguage
	}
	return site.Languages[0]
}

// readAnswers reads the posted form's answers (see answersFromForm).
func readAnswers(c *gin.Context, in *instrument.Instrument, respondent string) (instrument.Answers, int) {
	return answersFromForm(in, respondent, func(id string) string { return c.PostForm("a." + id) })
}

func numericChoices(it instrument.Item) bool {
	for _, ch := range it.Choices {
		if _, ok := ch.Value.(float64); !ok {
			return false
		}
	}
	return len(it.Choices) > 0
}

func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// showForm draws the respondent's form for the answers so far.
func (u *UI) showForm(c *gin.Context, status int, site *sites.Site, in *instrument.Instrument, d store.CycleDetail, ref cycle.CycleRef,
	phase, lang string, answers instrument.Answers, prob *api.Problem) {
	respondent := c.Param("respondent")
	v := formView{Ref: ref, Respondent: respondent, Phase: phase, Lang: lang, Key: uuid.NewString()}
	if sc, ok := site.School(d.Cycle.SchoolID); ok {
		v.SchoolName = sc.Name
	}
	if c.Query("device") != "1" {
		// The practitioner sees who they are asking about; the read is audited.
		if !u.audit(c, ref.Site, ref.Child, fmt.Sprintf("%s form of cycle %s (web): name, age, sex, grade", respondent, d.Cycle.ID)) {
			return
		}
		if ch, err := u.childRecord(c.Request.Context(), ref.Child); err == nil && ch.ErasedAt == nil {
			fc := &formChild{Name: strings.TrimSpace(ch.GivenName + " " + ch.FamilyName), Sex: humanize(ch.Sex), Grade: ch.Grade}
			if age, ok := store.AgeAt(ch.BirthDate, u.now()); ok {
				fc.Age = fmt.Sprintf("%d y %d m", age.Years, age.Months)
			}
			v.Child = fc
		}
	}
	for _, l := range site.Languages {
		v.Languages = append(v.Languages, langOption{Code: l, Name: languageName(l), Selected: l == lang})
	}
	errs := map[string]string{}
	if prob != nil {
		// The validator names items by id; the practitioner reads labels.
		for i, fe := range prob.Errors {
			if id, ok := strings.CutPrefix(fe.Field, "answers."); ok {
				prob.Errors[i].Message = relabel(fe.Message, id, in.Label(id, lang))
			}
		}
		for _, fe := range prob.Errors {
			if id, ok := strings.CutPrefix(fe.Field, "answers."); ok {
				if _, dup := errs[id]; !dup {
					errs[id] = fe.Message
				}
			}
		}
		if len(prob.Errors) == 0 || status == http.StatusConflict {
			v.Problem = prob.Title
			if prob.Detail != "" {
				v.Problem += ": " + prob.Detail
			}
		}
	}
	def := in.Languages()[0]
	domainLabel := map[string]string{}
	for _, dm := range in.Domains() {
		domainLabel[dm.ID] = dm.Label.In(lang, def)
	}
	asked := askedDomains(d, phase)
	if spec, err := buildSpec(in, site, d.Cycle.SchoolID, ref, respondent, phase, lang, recordedBy(me(c)), asked); err == nil {
		v.Spec = &spec
	} else {
		u.o.Logger.Warn("form works online only", "site", site.ID, "respondent", respondent, "reason", err)
	}
	if len(asked) > 0 {
		v.Asked = make([]string, 0, len(asked))
		for _, dom := range asked {
			v.Asked = append(v.Asked, domainLabel[dom])
		}
	}
	shownIDs := map[string]bool{}
	// A reassessment asks the domains found at risk, and always the
	// safeguarding items.
	for _, it := range in.ItemsAsked(respondent, asked) {
		shown, _ := in.Shown(it.ID, answers)
		if !shown {
			v.Hidden++
		} else {
			shownIDs[it.ID] = true
		}
		fi := formItem{ID: it.ID, Hidden: !shown, Label: in.Label(it.ID, lang), Help: it.Help.In(lang, def), Type: string(it.Type), Unit: it.Unit,
			Lang: lang, Required: it.Required, Value: valueString(answers[it.ID]), Error: errs[it.ID], Decimal: !it.Integer}
		if it.Label[lang] == "" {
			fi.Lang = def
		}
		if it.Min != nil {
			fi.Min = strconv.FormatFloat(*it.Min, 'f', -1, 64)
		}
		if it.Max != nil {
			fi.Max = strconv.FormatFloat(*it.Max, 'f', -1, 64)
		}
		switch it.Type {
		case instrument.TypeChoice:
			for k, ch := range it.Choices {
				val := valueString(ch.Value)
				cl := lang
				if ch.Label[lang] == "" {
					cl = def
				}
				fi.Choices = append(fi.Choices, choiceOption{Value: val, Label: ch.Label.In(lang, def), ID: choiceID(it.ID, k), Lang: cl, Checked: val == fi.Value})
			}
			if it.Declinable {
				// The respondent may choose not to answer (PHQ-9 item 9):
				// the safeguarding social worker is prompted at once.
				fi.Choices = append(fi.Choices, choiceOption{Value: instrument.Declined, Label: uitext.T(lang, "form.declined"), ID: choiceID(it.ID, len(it.Choices)),
					Lang: uiLang(lang, "form.declined"), Checked: fi.Value == instrument.Declined})
				if fi.Help == "" {
					fi.Help = declinedHelp
				}
			}
		case instrument.TypeYesNo:
			fi.Choices = []choiceOption{
				{Value: "true", Label: uitext.T(lang, "form.yes"), ID: choiceID(it.ID, 0), Lang: uiLang(lang, "form.yes"), Checked: fi.Value == "true"},
				{Value: "false", Label: uitext.T(lang, "form.no"), ID: choiceID(it.ID, 1), Lang: uiLang(lang, "form.no"), Checked: fi.Value == "false"},
			}
		}
		label := domainLabel[it.Domain]
		if n := len(v.Sections); n == 0 || v.Sections[n-1].Label != label {
			v.Sections = append(v.Sections, formSection{Label: label})
		}
		sec := &v.Sections[len(v.Sections)-1]
		sec.Items = append(sec.Items, fi)
	}
	v.Summary = summary(prob, func(fe cycle.FieldError) string {
		if id, ok := strings.CutPrefix(fe.Field, "answers."); ok && shownIDs[id] {
			return "i-" + id
		}
		return ""
	})
	u.render(c, status, "form", fmt.Sprintf("%s form: child %s", humanize(respondent), ref.Child), v)
}

// askedDomains are the domains a reassessment asks: those found at risk,
// as the cycle recorded them when it entered the reassess stage. Nil for
// a baseline form (every domain).
func askedDomains(d store.CycleDetail, phase string) []string {
	if phase != cycle.PhaseReassessment {
		return nil
	}
	var out []string
	for _, e := range d.Timeline {
		if e.Stage == cycle.StageReassess {
			out = cycle.ReassessDomains(e.Detail)
		}
	}
	return out
}

// uiLang is the language a UI word is shown in: lang where the word is
// translated, else English (the fallback).
func uiLang(lang, id string) string {
	if lang != "en" && uitext.T(lang, id) == uitext.T("en", id) {
		return "en"
	}
	return lang
}

// declinedHelp explains a declinable item whose instrument gives no help.
const declinedHelp = "If the respondent prefers not to answer, choose \u201cDeclined to answer\u201d: the safeguarding social worker will follow up."

func choiceID(item string, k int) string {
	if k == 0 {
		return "i-" + item
	}
	return fmt.Sprintf("i-%s-%d", item, k)
}

// submitForm redraws the form (skip logic) or submits it through the API.
func (u *UI) submitForm(c *gin.Context) {
	site, in, d, ref, ok := u.formContext(c)
	if !ok {
		return
	}
	respondent := c.Param("respondent")
	phase := c.PostForm("phase")
	if phase == "" {
		phase = phaseOf(d.Cycle.Stage)
	}
	lang := pickLang(site, c.PostForm("lang"))
	answers, _ := readAnswers(c, in, respondent)
	if c.PostForm("action") != "submit" {
		u.showForm(c, http.StatusOK, site, in, d, ref, phase, lang, answers, nil)
		return
	}
	path := fmt.Sprintf("/api/v1/cycles/%s/%d/%s/assessments", url.PathEscape(ref.Site), ref.Wave, url.PathEscape(ref.Child))
	res := u.send(c, http.MethodPost, path, cycle.SubmitAssessmentInput{
		Phase: phase, Respondent: respondent, Answers: cycle.Answers(answers), SubmittedBy: recordedBy(me(c)),
	})
	if prob := res.problem(); prob != nil {
		u.showForm(c, res.Status, site, in, d, ref, phase, lang, answers, prob)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cycles/%s/%d/%s?ok=form", ref.Site, ref.Wave, url.PathEscape(ref.Child)))
}
