package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
)

const chromiumPath = "/usr/bin/chromium"

// pdfPage matches a page object of a PDF (not the /Pages tree).
var pdfPage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// TestPrintablePagesInChromium prints the LLCoP school pack and the wave
// findings report to PDF through the DevTools protocol in Debian's
// Chromium: A4 pages, the expected page count, and no table wider than the
// printed page. The PDFs and screenshots are kept as test artifacts
// (go test -artifacts -outputdir DIR).
func TestPrintablePagesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI installs Debian's chromium (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("needs Debian's chromium at %s: apt-get install -y chromium", chromiumPath)
	}
	f := newEvidenceFixture(t)
	ctx := context.Background()
	// An LLCoP meeting at Meadowlands in wave 2 with its 7 children on the
	// agenda, filled in as the meeting workflow fills it.
	var items []cycle.AgendaItem
	for _, c := range f.children {
		if c.school != "meadowlands" {
			continue
		}
		id := cycle.CycleID("johannesburg", 2, c.id)
		var risks []store.DomainRisk
		require.NoError(t, f.store.DB(ctx).Where("cycle_id = ? AND phase = ?", id, cycle.PhaseBaseline).Find(&risks).Error)
		levels := map[string]string{}
		for _, r := range risks {
			levels[r.Domain] = r.Level
		}
		items = append(items, cycle.AgendaItem{CycleID: id, ChildID: c.id, Reason: cycle.AgendaAwaitingPlan, Domains: levels})
	}
	require.Len(t, items, 7)
	site, _ := f.dir.Site("johannesburg")
	require.NoError(t, f.store.AgendaDetails(ctx, items, site.Respondents))
	require.NoError(t, f.store.SaveMeeting(ctx, cycle.MeetingRecord{MeetingID: cycle.MeetingID("johannesburg", "meadowlands", "2027-03-25"),
		SiteID: "johannesburg", SchoolID: "meadowlands", Date: "2027-03-25", Status: cycle.MeetingAwaitingMinutes, Agenda: items, At: now}))

	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 1400))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate("about:blank")))
	bctx, cancel := context.WithTimeout(browser, 120*time.Second)
	defer cancel()
	_, err := chromedp.Call(bctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + f.pm}})
	require.NoError(t, err)

	out := t.ArtifactDir()
	for _, tt := range []struct {
		name, path, want   string
		minPages, maxPages int
	}{
		// 7 children of about a third of a page each, then the summary on its own page.
		{"school-pack", "/api/v1/meetings/johannesburg/meadowlands/2027-03-25/pack.html", "LLCoP meeting pack", 3, 6},
		// The site and its five schools, each from a new page.
		{"findings-report", "/api/v1/waves/johannesburg/2/report.html", "Findings", 6, 40},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := chromedp.Run(bctx, chromedp.NavigateResponse(srv.URL+tt.path))
			require.NoError(t, err)
			require.Equal(t, int64(http.StatusOK), res.Status)
			title, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("h1").textContent`))
			require.NoError(t, err)
			require.Contains(t, title, tt.want)
			shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(80))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(out, tt.name+".jpg"), shot, 0o644))

			// Laid out for print at the A4 text width (210 mm less 2 × 12 mm
			// margins ≈ 703 CSS px): no table may be wider than its page.
			_, err = chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
			require.NoError(t, err)
			require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(703, 1000)))
			clipped, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`(() => {
				const out = [];
				const page = document.documentElement.clientWidth;
				for (const t of document.querySelectorAll("table, svg")) {
					const r = t.getBoundingClientRect();
					if (r.right > page + 1 || t.scrollWidth > Math.ceil(r.width) + 1) {
						out.push((t.querySelector("caption") || t).textContent.slice(0, 60) + " (" + Math.round(r.right) + " > " + page + ")");
					}
				}
				return out;
			})()`))
			require.NoError(t, err)
			require.Empty(t, clipped, "tables or charts wider than the printed page")

			pdf, err := chromedp.Call(bctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: ptr(true), PrintBackground: ptr(true)})
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(pdf.Data), "%PDF"), "not a PDF")
			require.NoError(t, os.WriteFile(filepath.Join(out, tt.name+".pdf"), pdf.Data, 0o644))
			pages := len(pdfPage.FindAll(pdf.Data, -1))
			t.Logf("%s: %d pages, %d bytes", tt.name, pages, len(pdf.Data))
			require.GreaterOrEqual(t, pages, tt.minPages)
			require.LessOrEqual(t, pages, tt.maxPages)
			_, err = chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""})
			require.NoError(t, err)
			require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(1000, 1400)))
		})
	}
	// The pack is for people scoped to the school: audited per child.
	var n int64
	f.store.DB(ctx).Model(&store.AuditEntry{}).Where("what LIKE ?", "LLCoP pack of %").Count(&n)
	require.EqualValues(t, 7, n)
}

func ptr[T any](v T) *T { return &v }
