package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

// TestBrowser drives Debian's Chromium through the UI of a real khula dev
// (embedded engine, workers, plugins, database) as every role: a programme
// manager launches a wave on compressed time, a social worker captures the
// nurse's form (skip logic, a validation error, then valid answers), holds
// the LLCoP meeting and records a plan, and reads the child's timeline; a
// coordinator checks the site's configuration; ops sees health and no child.
// Screenshots go to the test's artifact directory (go test -artifacts).
// Every page visited must fit a 360 px wide screen without sideways scrolling.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine and a browser")
	}
	needChromium(t)
	shots := t.ArtifactDir()
	t.Logf("screenshots in %s (keep them with go test -artifacts -outputdir DIR)", shots)

	d, access, dataDir := startDev(t)
	defer d.Stop(context.Background())
	base := d.BaseURL

	ctx, closeBrowser := newChromium(t, t.TempDir(), 150*time.Second, chromedp.WindowSize(1280, 900))
	defer closeBrowser()

	br := &chrome{t: t, ctx: ctx, base: base, shots: shots}

	// Programme manager: launch a wave on compressed time.
	br.login("manager", access["manager"])
	br.desktop()
	br.open("/waves", "Waves")
	br.do(chromedp.SetValue(chromedp.CSS("#f-number"), "1"), chromedp.SendKeys(chromedp.CSS("#f-day_length"), "2s"))
	br.shot("manager-launch-form")
	br.submit(`form[action="/waves"][method=post] button[type=submit]`, "", http.StatusOK)
	br.wantText("main", "The wave was launched")
	br.wantText("h1", "wave 1")
	br.shot("manager-wave-launched")
	br.fits360("/waves/johannesburg/1")
	br.logout()

	// Wait for the wave to enrol Meadowlands' children; pick one with consent.
	child := waitForCycle(t, d.Store, "meadowlands", cycle.StageAssess)
	childPath := fmt.Sprintf("/cycles/johannesburg/1/%s", child)

	// Social worker, on a 360 px phone: today's work, then the nurse's form.
	br.login("social-worker", access["social-worker"])
	br.phone()
	br.open("/work", "Today's work")
	br.wantText("main", child)
	br.shot("social-worker-today")
	br.open(childPath+"/forms/nurse?phase=baseline", "Nurse form")
	// The page's script runs the skip logic and the checks on the device.
	if br.count(`[data-item="imm_up_to_date"]:not([hidden])`) != 0 {
		t.Fatal("immunisations are asked before the booklet was seen")
	}
	br.do(chromedp.Click(chromedp.CSS("#i-rthb_seen")))
	if br.count(`[data-item="imm_up_to_date"]:not([hidden])`) != 1 {
		t.Fatal("skip logic: immunisations not asked once the booklet was seen")
	}
	br.do(
		chromedp.SendKeys(chromedp.CSS("#i-weight_kg"), "500"),
		chromedp.SendKeys(chromedp.CSS("#i-height_cm"), "112"),
		chromedp.Click(chromedp.CSS("#i-imm_up_to_date")),
		chromedp.Click(chromedp.CSS("#i-chronic_illness-1")),
	)
	br.do(chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	br.wantText(`[data-item="weight_kg"] .err`, "“Weight” must be from 5 to 80")
	br.wantText("#errors-js", "Nothing was recorded")
	br.shot("social-worker-form-validation-error")
	br.do(chromedp.SetValue(chromedp.CSS("#i-weight_kg"), "20.5"))
	br.do(chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	waitJS(br, `Promise.resolve((document.querySelector("#queued h2") || {}).textContent === "The form was recorded.")`)
	br.shot("social-worker-form-recorded")

	// The other respondents answer through the API (a teacher's tablet, say):
	// reading not achieved puts the child at risk in education.
	submitForms(t, base, app.TokenFile(dataDir, app.SimulatorUser), child)
	waitForStage(t, d.Store, child, cycle.StagePlan)

	// The LLCoP meeting: hold it now, record a plan for the child.
	br.open("/sites/johannesburg/meetings", "meeting calendar")
	br.do(chromedp.SetValue(chromedp.CSS("#m-school"), "meadowlands"))
	br.submit(`form[action="/meetings"] button`, "", http.StatusOK)
	br.wantText("h1", "LLCoP meeting")
	br.wantText("main", child)
	br.shot("social-worker-meeting-agenda")
	br.do(
		chromedp.SetValue(chromedp.CSS(`select[name="p0.a0.service"]`), "learning_support"),
		chromedp.SendKeys(chromedp.CSS(`input[name="p0.a0.note"]`), "Reading support twice a week"),
	)
	br.submit(`form[action$="/minutes"] button[type=submit]`, "", http.StatusOK)
	br.wantText("main", "The minutes were recorded")
	br.shot("social-worker-minutes-recorded")
	waitForStage(t, d.Store, child, cycle.StageRefer, cycle.StageFollowUp)

	// The child's page: name (in scope), results, plan and timeline.
	br.open(childPath, "Child "+child)
	br.wantText("main", "Demo child")
	br.wantText("main", "Reading support twice a week")
	br.wantText(".timeline", "Plan")
	br.shot("social-worker-child-timeline")

	// A concern seen at a check-in goes to the safeguarding fast path at
	// once: an urgent referral to social development.
	br.do(
		chromedp.SendKeys(chromedp.CSS("#note"), "Home visit with the caregiver"),
		chromedp.Click(chromedp.CSS(`input[name=concerns][value="protection.disclosure"]`)),
	)
	br.shot("social-worker-check-in-concern")
	br.submit(`form[action$="/follow-ups"] button[type=submit]`, "", http.StatusOK)
	br.wantText("main", "safeguarding fast path")
	waitForUrgent(t, d.Store, child)

	// Put the child on the next LLCoP agenda from the child's page.
	br.do(chromedp.SendKeys(chromedp.CSS("#reason"), "The teacher is worried about the child's weight"))
	br.submit(`form[action$="/agenda"] button[type=submit]`, "", http.StatusOK)
	br.wantText("main", "put on the next LLCoP agenda")
	br.do(chromedp.SendKeys(chromedp.CSS("#reason"), "The teacher is still worried"))
	br.submit(`form[action$="/agenda"] button[type=submit]`, "", http.StatusConflict)
	br.wantText("#agenda + p + .problem", "Already on the agenda")
	br.shot("social-worker-agenda-conflict")
	br.fits360(childPath)

	// The child's record across waves, on the phone: one chart per domain.
	br.open("/children/johannesburg/"+child, "across waves")
	br.wantText("main", "Wave 1")
	if n := br.count(`.charts svg.chart`); n < 7 {
		t.Errorf("the record across waves shows %d charts, want one per domain at least", n)
	}
	br.shot("social-worker-child-across-waves")
	br.fits360("/children/johannesburg/" + child)
	br.logout()

	// Site coordinator: overview and configuration check.
	br.login("coordinator", access["coordinator"])
	br.desktop()
	br.open("/sites/johannesburg", "City of Johannesburg")
	br.shot("coordinator-site")
	br.open("/sites/johannesburg/check", "configuration check")
	br.wantText("main", "No problems")
	br.shot("coordinator-check")
	br.fits360("/sites/johannesburg/referrals")
	br.open("/sites/johannesburg/duplicates", "Likely duplicates")
	br.fits360("/sites/johannesburg/duplicates")
	// How the CoP works: the meeting held above, with its plan.
	br.open("/sites/johannesburg/cop", "How the CoP works")
	br.wantText("main", "Wave 1")
	br.shot("coordinator-cop-dashboard")
	br.fits360("/sites/johannesburg/cop")
	br.open("/sites/johannesburg/reviews", "Plans for children at high risk")
	br.fits360("/sites/johannesburg/reviews")
	br.logout()

	// Programme manager again: the heatmap has the scored child.
	br.login("manager", access["manager"])
	br.desktop()
	br.open("/waves/johannesburg/1", "wave 1")
	if br.count(`svg.heat`) != 1 {
		t.Error("no risk heatmap on the wave's page")
	}
	br.shot("manager-wave-heatmap")
	br.fits360("/waves/johannesburg/1")
	br.fits360("/compare?site=johannesburg")
	br.open("/exports/research", "Research dataset")
	br.shot("manager-research-export")
	br.logout()

	// Ops: health, and no child's page.
	br.login("ops", access["ops"])
	br.open("/ops", "Health")
	br.wantText("main", "Ready")
	br.shot("ops-health")
	br.openStatus(childPath, http.StatusForbidden)
	br.logout()
}

// chrome is a browser tab with the test's helpers.
type chrome struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	n     int
}

func (c *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.fail("%v", err)
	}
}

func (c *chrome) fail(format string, args ...any) {
	c.t.Helper()
	c.shot("failure")
	loc, _ := chromedp.Run(c.ctx, chromedp.Location())
	c.t.Fatalf("at %s: %s", loc, fmt.Sprintf(format, args...))
}

// open loads a page, checks it answered 200 and its h1.
func (c *chrome) open(path, h1 string) {
	c.t.Helper()
	c.openStatus(path, http.StatusOK)
	c.wantText("h1", h1)
}

func (c *chrome) openStatus(path string, status int) {
	c.t.Helper()
	res, err := chromedp.Run(c.ctx, chromedp.NavigateResponse(c.base+path))
	if err != nil {
		c.fail("opening %s: %v", path, err)
	}
	if int(res.Status) != status {
		c.fail("%s answered %d, want %d", path, res.Status, status)
	}
}

// submit clicks a button that submits a form and waits for the next page.
func (c *chrome) submit(sel, fallback string, status int) {
	c.t.Helper()
	if c.count(sel) == 0 && fallback != "" {
		sel = fallback
	}
	res, err := chromedp.RunResponse(c.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		c.fail("submitting with %s: %v", sel, err)
	}
	if int(res.Status) != status {
		c.fail("the form answered %d, want %d", res.Status, status)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.fail("reading %s: %v", sel, err)
	}
	return s
}

func (c *chrome) wantText(sel, want string) {
	c.t.Helper()
	if got := c.text(sel); !strings.Contains(got, want) {
		c.fail("%s says %q, want it to contain %q", sel, clipText(got), want)
	}
}

func clipText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func (c *chrome) count(sel string) int {
	c.t.Helper()
	n, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		c.fail("counting %s: %v", sel, err)
	}
	return n
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// shot saves a full-page screenshot.
func (c *chrome) shot(name string) {
	c.t.Helper()
	c.n++
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(c.shots, fmt.Sprintf("%02d-%s.png", c.n, unsafeName.ReplaceAllString(name, "-")))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		c.t.Errorf("saving %s: %v", file, err)
	}
}

func (c *chrome) login(user, password string) {
	c.t.Helper()
	c.openStatus("/login", http.StatusOK)
	c.do(chromedp.SendKeys(chromedp.CSS("#username"), user), chromedp.SendKeys(chromedp.CSS("#password"), password))
	c.submit(`form[action="/login"] button`, "", http.StatusOK)
	if c.count(`form.signout`) != 1 {
		c.fail("%s is not signed in", user)
	}
}

func (c *chrome) logout() {
	c.t.Helper()
	c.submit(`form.signout button`, "", http.StatusOK)
	c.wantText("main", "You signed out")
}

func (c *chrome) desktop() { c.do(chromedp.EmulateViewport(1280, 900)) }
func (c *chrome) phone()   { c.do(chromedp.EmulateViewport(360, 740)) }

// fits360 opens a page 360 px wide and checks nothing makes it scroll sideways.
func (c *chrome) fits360(path string) {
	c.t.Helper()
	c.phone()
	c.openStatus(path, http.StatusOK)
	wide, err := chromedp.Run(c.ctx, chromedp.Evaluate[int]("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"))
	if err != nil {
		c.fail("measuring %s: %v", path, err)
	}
	if wide > 0 {
		c.shot("too-wide")
		c.t.Errorf("%s is %d px wider than a 360 px screen", path, wide)
	}
	c.shot("360px" + strings.ReplaceAll(strings.Split(path, "?")[0], "/", "-"))
	c.desktop()
}

// startDev starts khula dev on random ports with a small demo cohort and
// returns it with the dev users' passwords.
func startDev(t *testing.T) (*app.Dev, map[string]string, string) {
	t.Helper()
	return startDevWith(t, 2)
}

// startDevWith is startDev with perSchool demo children in each school.
func startDevWith(t *testing.T, perSchool int) (*app.Dev, map[string]string, string) {
	t.Helper()
	t.Setenv(app.EnvPayloadKeys, codectest.Spec)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := app.StartDev(ctx, app.DevOptions{
		DataDir: dataDir, Addr: "127.0.0.1:0", SitesDir: filepath.Join(root, "sites"), TemporalPort: 0,
		DemoSite: "johannesburg", DemoPerSchool: perSchool, PluginCommand: pluginCommand,
	})
	if err != nil {
		t.Fatalf("starting khula dev: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "dev-access.txt"))
	if err != nil {
		d.Stop(context.Background())
		t.Fatal(err)
	}
	access := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\S+)\s+role \S+\s+password (\S+)`).FindAllStringSubmatch(string(raw), -1) {
		access[m[1]] = m[2]
	}
	for _, u := range []string{"manager", "coordinator", "social-worker", "ops"} {
		if access[u] == "" {
			d.Stop(context.Background())
			t.Fatalf("no password for %s in dev-access.txt", u)
		}
	}
	return d, access, dataDir
}

// waitForCycle waits for a school's first cycle at a stage and returns its child.
func waitForCycle(t *testing.T, st *store.Store, school, stage string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var c store.Cycle
		err := st.DB(context.Background()).Where("school_id = ? AND stage = ?", school, stage).Order("id").First(&c).Error
		if err == nil {
			return c.ChildID
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no cycle of %s reached %s", school, stage)
	return ""
}

func waitForStage(t *testing.T, st *store.Store, child string, stages ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var c store.Cycle
	for time.Now().Before(deadline) {
		if err := st.DB(context.Background()).Where("child_id = ?", child).First(&c).Error; err == nil {
			for _, s := range stages {
				if c.Stage == s {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("child %s is at %q, want one of %v", child, c.Stage, stages)
}

// waitForUrgent waits for the child's first urgent referral.
func waitForUrgent(t *testing.T, st *store.Store, child string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int64
		err := st.DB(context.Background()).Model(&store.Referral{}).Where("cycle_id LIKE ? AND urgent = ?", "%/"+child, true).Count(&n).Error
		if err == nil && n > 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no urgent referral for child %s", child)
}

// submitForms sends the caregiver's, child's and teacher's forms through the API.
func submitForms(t *testing.T, base, tokenFile, child string) {
	t.Helper()
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	caregiver := map[string]any{"hunger_bed": 0, "hunger_skip": 0, "csg_received": true, "birth_cert": true}
	for i := 1; i <= 9; i++ {
		caregiver[fmt.Sprintf("phq9_%d", i)] = 0
	}
	forms := map[string]map[string]any{
		"caregiver": caregiver,
		"child":     {"child_feels_safe": "yes", "child_disclosure": false},
		"teacher":   {"edu_number": "not_achieved", "edu_reading": "not_achieved", "edu_days_absent": 12},
	}
	for respondent, answers := range forms {
		body, _ := json.Marshal(map[string]any{"phase": "baseline", "respondent": respondent, "answers": answers, "submitted_by": respondent + " (browser test)"})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/cycles/johannesburg/1/"+child+"/assessments", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s form: %d", respondent, res.StatusCode)
		}
	}
}
