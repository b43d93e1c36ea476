package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/research"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/simulate"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// seededChild is a made-up child whose personal values the export must
// never contain.
type seededChild struct {
	site, school, id       string
	given, family, phone   string
	birth                  time.Time
	csgReceived, birthCert bool
}

// evidenceFixture seeds two waves at Johannesburg (Meadowlands 7
// children, Alexandra 2) and one at Moutse (2 children), every form
// answered and scored by the real instrument, with the items the report
// counts set by hand.
type evidenceFixture struct {
	*fixture
	children []seededChild
	pm, sw   string
}

func newEvidenceFixture(t *testing.T) *evidenceFixture {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	reg, err := scoring.New(f.dir.Sites(), f.dir.FS, nil)
	require.NoError(t, err)
	f.srv.Instruments = reg
	ef := &evidenceFixture{fixture: f}
	add := func(site, school string, n int, csgYes, certYes int) {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("ev-%s-%s-%02d", site[:3], school[:3], i)
			ef.children = append(ef.children, seededChild{site: site, school: school, id: id,
				given: fmt.Sprintf("Zanelethu%02d", i), family: "Mkhabela" + school[:3], phone: fmt.Sprintf("08270%05d", 31000+len(ef.children)),
				birth: time.Date(2019, time.Month(1+i%12), 3+i, 0, 0, 0, 0, time.UTC), csgReceived: i < csgYes, birthCert: i < certYes})
		}
	}
	// Meadowlands: 7 children, 6 receive the grant, 3 have a birth certificate.
	add("johannesburg", "meadowlands", 7, 6, 3)
	// Alexandra: 2 children, both receive the grant, both have certificates.
	add("johannesburg", "alexandra", 2, 2, 2)
	// Moutse: 2 children.
	add("moutse", "moutse-primary", 2, 1, 1)
	require.NoError(t, demo.EnsureSite(ctx, f.store, mustSite(t, f.dir, "moutse")))
	for _, c := range ef.children {
		require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + c.id, SiteID: c.site, GivenName: "Nomvula", FamilyName: c.family, Phone: c.phone, Language: "en", CreatedAt: now},
			Child: store.Child{ID: c.id, SiteID: c.site, SchoolID: c.school, CaregiverID: "cg-" + c.id, GivenName: c.given, FamilyName: c.family,
				Sex: "female", BirthDate: c.birth, Grade: "R", CreatedAt: now},
		}}))
	}
	waves := map[string]int{"johannesburg": 2, "moutse": 1}
	for site, n := range waves {
		ref, ok := reg.SiteInstrument(site)
		require.True(t, ok)
		f.dir.SetInstrument(site, ref)
		ans, err := simulate.NewAnswerer("../../sites", site, 7)
		require.NoError(t, err)
		for w := 1; w <= n; w++ {
			open := time.Date(2025+w, 3, 1, 0, 0, 0, 0, time.UTC)
			require.NoError(t, f.store.SaveWave(ctx, cycle.WaveRecord{WaveID: cycle.WaveID(site, w), SiteID: site, Number: w,
				WindowOpen: open, WindowClose: open.AddDate(0, 0, 42), Status: cycle.WaveClosed, At: open}))
			for _, c := range ef.children {
				if c.site != site {
					continue
				}
				cycleID := cycle.CycleID(site, w, c.id)
				require.NoError(t, f.store.RecordStage(ctx, cycle.StageRecord{CycleID: cycleID, WaveID: cycle.WaveID(site, w), SiteID: site,
					SchoolID: c.school, ChildID: c.id, Seq: 1, Stage: cycle.StageClosed, Outcome: cycle.OutcomeLowRisk, At: open.AddDate(0, 0, 20)}))
				all := map[string]cycle.Answers{}
				s, _ := f.dir.Site(site)
				for _, r := range s.Respondents {
					a, err := ans.Answers(c.id, cycle.PhaseBaseline, r)
					require.NoError(t, err)
					if r == "caregiver" {
						a["csg_received"], a["birth_cert"] = c.csgReceived, c.birthCert
						delete(a, "csg_applied")
						if !c.csgReceived {
							a["csg_applied"] = true
						}
					}
					all[r] = a
					require.NoError(t, f.store.SaveAssessment(ctx, cycle.AssessmentRecord{CycleID: cycleID, Phase: cycle.PhaseBaseline, Respondent: r,
						Answers: a, SubmittedBy: "Sipho the fieldworker", SubmittedAt: open.AddDate(0, 0, 10)}))
				}
				out, result, err := reg.Score(ref, cycle.Subject{Sex: "female", BirthDate: c.birth}, open.AddDate(0, 0, 10), all)
				require.NoError(t, err)
				require.NoError(t, f.store.SaveScore(ctx, cycle.ScoreRecord{CycleID: cycleID, WaveID: cycle.WaveID(site, w), SiteID: site, SchoolID: c.school,
					Phase: cycle.PhaseBaseline, Instrument: ref, Domains: out.Domains, Flags: out.Flags, Result: result, ComputedAt: open.AddDate(0, 0, 10)}))
			}
		}
	}
	for name, spec := range map[string]users.Spec{
		"pm":      {Role: auth.ProgrammeManager},
		"sw":      {Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}},
		"advisor": {Role: auth.Advisor},
	} {
		spec.Username = name
		_, err := users.Create(ctx, f.store, f.dir, spec)
		require.NoError(t, err)
		tok, err := users.NewToken(ctx, f.store, name, "t", 0)
		require.NoError(t, err)
		switch name {
		case "pm":
			ef.pm = tok
		case "sw":
			ef.sw = tok
		}
	}
	return ef
}

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err)
	return rows
}

// The findings report's CSV counts the seeded answers: at Meadowlands 6 of
// 7 receive the grant and 1 does not (written <5, and then the smallest
// other count of the row group is suppressed too); at the site 8 of 9.
func TestWaveReportCountsAndSuppresses(t *testing.T) {
	f := newEvidenceFixture(t)
	get := func(path string) *http.Response {
		rec := f.doAs(t, "GET", path, "", "Authorization", "Bearer "+f.pm)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Result()
	}
	body := func(r *http.Response) []byte { b, _ := io.ReadAll(r.Body); return b }

	site := readCSV(t, body(get("/api/v1/waves/johannesburg/1/report.csv?scope=site&table=csg")))
	school := readCSV(t, body(get("/api/v1/waves/johannesburg/1/report.csv?scope=school:meadowlands&table=csg")))
	t.Logf("site csg: %v", site)
	t.Logf("meadowlands csg: %v", school)
	cell := func(rows [][]string, rowLabel string) []string {
		for _, r := range rows[1:] {
			l := strings.ToLower(r[0])
			if strings.HasPrefix(l, rowLabel) || (rowLabel == "applied" && strings.Contains(l, "applied, awaiting")) {
				return r
			}
		}
		t.Fatalf("no row %q in %v", rowLabel, rows)
		return nil
	}
	// By hand: the site has 9 scored children, 8 receive the grant and 1
	// applied. The 1 is written "<5"; 8 is the only other non-zero count of
	// the row group, and 9 − 8 would give the 1 away, so it is suppressed
	// too (secondary suppression); zeros and the total stay.
	want := map[string][2]string{
		"received":            {"suppressed", "suppressed"},
		"applied":             {"<5", "suppressed"},
		"not received: not a": {"0", "0.0"},
		"not answered":        {"0", "0.0"},
		"all scored":          {"9", "100.0"},
	}
	for label, w := range want {
		r := cell(site, label)
		require.Equal(t, w[0], r[1], "site %s count", label)
		require.Equal(t, w[1], r[2], "site %s share", label)
	}
	// Meadowlands: 7 scored, 6 received, 1 applied. Alexandra's 2 are
	// suppressed, so Meadowlands' total (9 − 2) must be suppressed as well.
	require.Equal(t, "suppressed", cell(school, "received")[1])
	require.Equal(t, "<5", cell(school, "applied")[1])
	require.Equal(t, "suppressed", cell(school, "all scored")[1])

	// The printable page holds every table and no child's name.
	html := string(body(get("/api/v1/waves/johannesburg/1/report.html")))
	for _, c := range f.children {
		require.NotContains(t, html, c.given)
		require.NotContains(t, html, c.id)
	}
	require.Contains(t, html, "<svg")

	// A practitioner of the site may read it; a bad table is a 404 with the field.
	rec := f.doAs(t, "GET", "/api/v1/waves/johannesburg/1/report.csv?scope=site&table=nope", "", "Authorization", "Bearer "+f.sw)
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	rec = f.doAs(t, "GET", "/api/v1/waves/johannesburg/9/report.html", "", "Authorization", "Bearer "+f.pm)
	require.Equal(t, http.StatusNotFound, rec.Code)
}

// The research export holds no name, phone, child ID or birth date of any
// seeded child; its pseudonyms are stable across waves and differ between
// the sites' keys; every export is audited with its purpose; a missing
// purpose or a role other than programme manager is refused.
func TestResearchExportIsDeidentified(t *testing.T) {
	f := newEvidenceFixture(t)
	ctx := context.Background()
	rec := f.doAs(t, "GET", "/api/v1/exports/research?site=johannesburg", "", "Authorization", "Bearer "+f.pm)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), "purpose")
	rec = f.doAs(t, "GET", "/api/v1/exports/research?site=johannesburg&purpose=wave+findings+report", "", "Authorization", "Bearer "+f.sw)
	require.Equal(t, http.StatusForbidden, rec.Code)

	exportOf := func(site string) (data, codebook []byte) {
		rec := f.doAs(t, "GET", "/api/v1/exports/research?site="+site+"&purpose=wave+findings+report+2026", "", "Authorization", "Bearer "+f.pm)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "application/zip", rec.Header().Get("Content-Type"))
		z, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
		require.NoError(t, err)
		for _, file := range z.File {
			rc, err := file.Open()
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			require.NoError(t, err)
			switch file.Name {
			case "data.csv":
				data = b
			case "codebook.csv":
				codebook = b
			}
		}
		require.NotEmpty(t, data)
		require.NotEmpty(t, codebook)
		return data, codebook
	}
	jhb, codebook := exportOf("johannesburg")
	mou, _ := exportOf("moutse")
	for _, c := range f.children {
		for _, v := range []string{c.id, c.given, c.family, c.phone, "Nomvula", "Sipho",
			c.birth.Format("2006-01-02"), c.birth.Format("02/01/2006"), c.birth.Format("20060102")} {
			require.NotContains(t, string(jhb), v, "the Johannesburg export holds a seeded value")
			require.NotContains(t, string(mou), v, "the Moutse export holds a seeded value")
		}
	}
	rows := readCSV(t, jhb)
	head := rows[0]
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q", name)
		return -1
	}
	// 9 children × 2 waves, baseline only.
	require.Len(t, rows, 1+18)
	waves := map[string][]string{}
	for _, r := range rows[1:] {
		waves[r[col("pseudonym")]] = append(waves[r[col("pseudonym")]], r[col("wave")])
		require.NotEmpty(t, r[col("age_months")])
	}
	require.Len(t, waves, 9, "one pseudonym per child")
	for p, ws := range waves {
		require.ElementsMatch(t, []string{"1", "2"}, ws, "pseudonym %s in both waves", p)
	}
	// Every data column has its codebook row.
	cb := readCSV(t, codebook)
	require.Len(t, cb, len(head)+1)
	// The two sites' keys differ, so the same child ID would get two pseudonyms.
	kj, err := f.store.ResearchKeyFor(ctx, "johannesburg", research.NewKey)
	require.NoError(t, err)
	km, err := f.store.ResearchKeyFor(ctx, "moutse", research.NewKey)
	require.NoError(t, err)
	pj, _ := research.Pseudonym(kj, f.children[0].id)
	pm, _ := research.Pseudonym(km, f.children[0].id)
	require.NotEqual(t, pj, pm)
	require.Contains(t, string(jhb), pj)
	// Each export is in the audit log with its purpose.
	var n int64
	f.store.DB(ctx).Model(&store.AuditEntry{}).Where("action = ? AND why LIKE ?", store.AuditExport, "%wave findings report 2026%").Count(&n)
	require.EqualValues(t, 2, n)
}
