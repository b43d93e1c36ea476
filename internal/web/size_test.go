package web_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/stretchr/testify/require"
)

// pageBudget is the most bytes of HTML a page may weigh: pages are used on
// cheap phones over slow connections.
const pageBudget = 40 << 10

// measured are the pages PAGES.md lists, each as the role that uses it.
var measured = []struct{ name, who, path string }{
	{"Sign in", "", "/login"},
	{"Waves and launch form", "manager", "/waves"},
	{"Wave: progress, heatmap, report", "manager", "/waves/johannesburg/2"},
	{"School drill-down", "manager", "/waves/johannesburg/2/schools/meadowlands"},
	{"Compare waves", "manager", "/compare?site=johannesburg&a=1&b=2"},
	{"Site overview", "coordinator", "/sites/johannesburg"},
	{"Services directory", "coordinator", "/sites/johannesburg/services"},
	{"Meeting calendar", "coordinator", "/sites/johannesburg/meetings"},
	{"Referrals (overdue first)", "coordinator", "/sites/johannesburg/referrals"},
	{"Configuration check", "coordinator", "/sites/johannesburg/check"},
	{"Cohort import", "coordinator", "/sites/johannesburg/cohort"},
	{"Forms from ODK Collect / KoboCollect", "coordinator", "/sites/johannesburg/intake"},
	{"Today's work", "social-worker", "/work"},
	{"Child's page and timeline", "social-worker", childPage},
	{"Child across waves (charts per domain and scale)", "social-worker", "/children/johannesburg/" + childPlan},
	{"Likely duplicates", "coordinator", "/sites/johannesburg/duplicates"},
	{"Caregiver form (the longest: SDQ, PHQ-9, hunger, material)", "social-worker", formPage},
	{"Nurse form", "social-worker", "/cycles/johannesburg/2/" + childAssess + "/forms/nurse"},
	{"LLCoP meeting and plan form", "social-worker", meetingPage},
	{"Health (ops)", "ops", "/ops"},
}

// TestPagesAreSmallAndAccessible renders every page, checks its weight and
// the accessibility rules a page can be held to without a browser, and with
// KHULA_UPDATE_PAGES=1 writes the sizes to PAGES.md.
func TestPagesAreSmallAndAccessible(t *testing.T) {
	f := newFixture(t, true)
	browsers := map[string]*browser{}
	var table strings.Builder
	for _, m := range measured {
		var body string
		if m.who == "" {
			anon := &browser{f: f, client: f.srv.Client()}
			body = anon.get(m.path).body
		} else {
			b := browsers[m.who]
			if b == nil {
				b = f.as(m.who)
				browsers[m.who] = b
			}
			res := b.get(m.path)
			require.Equal(t, 200, res.status, "%s: %s", m.path, excerpt(res.body))
			body = res.body
		}
		if len(body) > pageBudget {
			t.Errorf("%s weighs %d bytes, over the budget of %d", m.path, len(body), pageBudget)
		}
		for _, problem := range lint(body) {
			t.Errorf("%s: %s", m.path, problem)
		}
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = w.Write([]byte(body))
		_ = w.Close()
		fmt.Fprintf(&table, "| %s | %s | `%s` | %.1f | %.1f |\n", m.name, roleOf(m.who), m.path, float64(len(body))/1024, float64(gz.Len())/1024)
	}
	if os.Getenv("KHULA_UPDATE_PAGES") == "" {
		t.Logf("page sizes (set KHULA_UPDATE_PAGES=1 to write PAGES.md):\n%s", table.String())
		return
	}
	css, err := os.ReadFile("static/khula.css")
	require.NoError(t, err)
	doc := "# Web UI pages and their weight\n\n" +
		"Every page is HTML drawn on the server, with one stylesheet (`static/khula.css`, " + fmt.Sprintf("%.1f KB", float64(len(css))/1024) +
		", cached for a year under a name that changes with its content), charts as inline SVG, no JavaScript and no web fonts or images. Pages are served gzipped to browsers that accept it.\n" +
		"Sizes are of the HTML as served for the handler tests' data (a wave of a few children; lists grow with the children they list, " +
		"and paged lists stop at 25 to 100 rows). Pages must stay under " + fmt.Sprintf("%d KB", pageBudget>>10) + " (a test fails above it).\n" +
		"Sizes are of the English pages. Every page's footer offers the languages of the user's sites that the UI has words for " +
		"(`internal/uitext`); the choice is kept in a cookie, and without one the pages are in the default language of the user's first site. " +
		"The layout (navigation, breadcrumbs, footer), the sign-in page, Today's work (with its outbox panel), the child's page, the referrals " +
		"and the error page are drawn in that language; the main part of the other pages is still English, marked `lang=\"en\"`.\n\n" +
		"Regenerate with `KHULA_UPDATE_PAGES=1 go test ./internal/web -run TestPagesAreSmallAndAccessible`.\n\n" +
		"| page | used by | path | KB | KB gzipped |\n|---|---|---|---:|---:|\n" + table.String()
	require.NoError(t, os.WriteFile("PAGES.md", []byte(doc), 0o644))
}

func roleOf(who string) string {
	switch who {
	case "":
		return "anyone"
	case "manager":
		return "programme manager"
	case "coordinator":
		return "site coordinator"
	case "social-worker":
		return "practitioner"
	}
	return who
}

// lint checks what a page can be held to without a browser: a language,
// one main landmark and one h1, unique IDs, a label for every field, a
// legend for every group of radios, and a text alternative for every chart.
func lint(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{"does not parse: " + err.Error()}
	}
	var problems []string
	ids := map[string]int{}
	labelFor := map[string]bool{}
	counts := map[string]int{}
	type field struct {
		id, kind  string
		inLabel   bool
		inLegendd bool
	}
	var fields []field
	var walk func(n *html.Node, inLabel, inFieldset bool)
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	walk = func(n *html.Node, inLabel, inFieldset bool) {
		if n.Type == html.ElementNode {
			counts[n.Data]++
			if id, ok := attr(n, "id"); ok {
				ids[id]++
			}
			switch n.Data {
			case "html":
				if l, _ := attr(n, "lang"); l == "" {
					problems = append(problems, "<html> has no lang")
				}
			case "label":
				if f, ok := attr(n, "for"); ok {
					labelFor[f] = true
				}
				inLabel = true
			case "fieldset":
				inFieldset = true
			case "input", "select", "textarea":
				typ, _ := attr(n, "type")
				if typ != "hidden" && typ != "submit" {
					id, _ := attr(n, "id")
					fields = append(fields, field{id: id, kind: n.Data + "/" + typ, inLabel: inLabel, inLegendd: inFieldset})
				}
			case "svg":
				if r, _ := attr(n, "role"); r == "img" {
					if l, _ := attr(n, "aria-labelledby"); l == "" {
						problems = append(problems, "an SVG image has no aria-labelledby")
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel, inFieldset)
		}
	}
	walk(doc, false, false)
	if counts["main"] != 1 {
		problems = append(problems, fmt.Sprintf("%d <main> landmarks, want 1", counts["main"]))
	}
	if counts["h1"] != 1 {
		problems = append(problems, fmt.Sprintf("%d <h1>, want 1", counts["h1"]))
	}
	if counts["fieldset"] != counts["legend"] {
		problems = append(problems, fmt.Sprintf("%d fieldsets but %d legends", counts["fieldset"], counts["legend"]))
	}
	for id, n := range ids {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("id %q is used %d times", id, n))
		}
	}
	for _, f := range fields {
		if !f.inLabel && !labelFor[f.id] {
			problems = append(problems, fmt.Sprintf("a %s field (id %q) has no label", f.kind, f.id))
		}
		if strings.HasSuffix(f.kind, "/radio") && !f.inLegendd {
			problems = append(problems, fmt.Sprintf("radio %q is not in a fieldset with a legend", f.id))
		}
	}
	return problems
}

func TestLintCatchesProblems(t *testing.T) {
	bad := `<!doctype html><html><body><main><h1>a</h1><h1>b</h1><input id="x" type="text"><input type="radio" id="r" name="r"><p id="r"></p>` +
		`<svg role="img"></svg></main></body></html>`
	got := strings.Join(lint(bad), "\n")
	for _, want := range []string{"no lang", "2 <h1>", "has no label", "not in a fieldset", `id "r" is used 2 times`, "no aria-labelledby"} {
		if !strings.Contains(got, want) {
			t.Errorf("lint missed %q:\n%s", want, got)
		}
	}
}

func TestPagesAreGzipped(t *testing.T) {
	f := newFixture(t, false)
	b := f.as("social-worker")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+formPage, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := b.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(res.Body)
	require.NoError(t, err)
	body, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Contains(t, string(body), "Caregiver form")
}
