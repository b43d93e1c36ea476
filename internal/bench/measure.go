package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/simulate"
	"github.com/khula-cop/khula/internal/store"
)

// addChildren brings a site's cohort up to n made-up children (with consent).
func (b *bench) addChildren(ctx context.Context, site string, n int) error {
	have, err := b.d.Store.CountChildren(ctx, site)
	if err != nil {
		return err
	}
	s, ok := b.d.Sites.Site(site)
	if !ok {
		return fmt.Errorf("no site %s", site)
	}
	now := time.Now().UTC()
	var batch []store.Family
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := b.d.Store.AddFamilies(ctx, batch)
		batch = batch[:0]
		return err
	}
	for i := int(have); i < n; i++ {
		id := fmt.Sprintf("bench-%s-%06d", site, i)
		school := s.Schools[i%len(s.Schools)].ID
		batch = append(batch, store.Family{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: site, GivenName: "Bench", FamilyName: "Caregiver", Language: s.DefaultLanguage, CreatedAt: now},
			Child: store.Child{ID: id, SiteID: site, SchoolID: school, CaregiverID: "cg-" + id, GivenName: "Bench", FamilyName: "Child",
				Sex: []string{"female", "male"}[i%2], BirthDate: now.AddDate(-6, -(i % 12), 0), Grade: "1", CreatedAt: now},
			Consent: &store.Consent{ID: "consent-" + id, ChildID: id, CaregiverID: "cg-" + id, Relationship: "parent", Scope: "cop-cycle", GivenAt: now},
		})
		if len(batch) == 2000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// post calls the API as the simulator's user.
func (b *bench) post(ctx context.Context, path string, body any) (int, []byte, error) {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.d.BaseURL+path, bytes.NewReader(data))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.d.SimulatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), nil
}

// launches measures children per second from "launch wave" until every
// cycle waits for its assessment, at each size.
func (b *bench) launches(ctx context.Context, baseline float64) error {
	for i, n := range b.o.Launch {
		if err := b.addChildren(ctx, "johannesburg", n); err != nil {
			return err
		}
		wave := i + 1
		fmt.Fprintf(b.progress, "wave launch: %d children\n", n)
		start := time.Now()
		code, body, err := b.post(ctx, "/api/v1/waves", map[string]any{"site": "johannesburg", "number": wave, "window_close": time.Now().Add(30 * 24 * time.Hour)})
		if err != nil || code != http.StatusAccepted {
			return fmt.Errorf("launching wave %d: %d %s %v", wave, code, body, err)
		}
		waveID := cycle.WaveID("johannesburg", wave)
		if err := b.waitForAssess(ctx, waveID, n, start); err != nil {
			return err
		}
		el := time.Since(start)
		rate := float64(n) / el.Seconds()
		ratio := rate / baseline
		b.rep.add(Figure{Name: fmt.Sprintf("wave launch: %d children until all wait for forms", n), Value: rate, Unit: "children/s",
			Baseline: "empty workflows/s", Ratio: ratio, Target: "≥ 0.90", Met: met(ratio >= 0.9), Note: fmt.Sprintf("%s in all", el.Round(time.Millisecond))})
		if rss, err := currentRSS(); err == nil {
			open, _ := b.d.Store.WaveProgress(ctx, waveID)
			b.rep.add(Figure{Name: fmt.Sprintf("resident memory with %d cycles open", b.openCycles(ctx)), Value: float64(rss) / 1024, Unit: "MiB", Note: fmt.Sprintf("wave %d open: %d", wave, open.Open)})
		}
		if i == 0 {
			b.apiWave = wave
		}
	}
	return nil
}

// waitForAssess waits until want cycles of a wave wait for their forms,
// giving up after 50 ms a child and two minutes more.
func (b *bench) waitForAssess(ctx context.Context, waveID string, want int, start time.Time) error {
	for {
		p, err := b.d.Store.WaveProgress(ctx, waveID)
		if err != nil {
			return err
		}
		if p.ByStage[cycle.StageAssess] >= want {
			return nil
		}
		if time.Since(start) > time.Duration(want)*50*time.Millisecond+2*time.Minute {
			return fmt.Errorf("%s: only %d of %d cycles reached assess in %s", waveID, p.ByStage[cycle.StageAssess], want, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *bench) openCycles(ctx context.Context) int64 {
	var n int64
	b.d.Store.DB(ctx).Model(&store.Cycle{}).Where("status = ?", store.CycleOpen).Count(&n)
	return n
}

// api submits assessments at a fixed rate over loopback and reports latency.
func (b *bench) api(ctx context.Context) error {
	if b.apiWave == 0 {
		return nil
	}
	total := int(float64(b.o.APIRate) * b.o.APIDuration.Seconds())
	var kids []string
	if err := b.d.Store.DB(ctx).Model(&store.Cycle{}).Where("wave_id = ?", cycle.WaveID("johannesburg", b.apiWave)).Order("id").Pluck("child_id", &kids).Error; err != nil {
		return err
	}
	if len(kids) == 0 {
		return fmt.Errorf("no cycles to submit to")
	}
	answerer, err := simulate.NewAnswerer(b.o.SitesDir, "johannesburg", 7)
	if err != nil {
		return err
	}
	respondents := []string{"caregiver", "teacher", "child", "nurse"}
	fmt.Fprintf(b.progress, "API: %d assessment submissions at %d/s\n", total, b.o.APIRate)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(b.o.APIRate))
	defer tick.Stop()
	for i := 0; i < total; i++ {
		<-tick.C
		child := kids[i%len(kids)]
		resp := respondents[(i/len(kids))%len(respondents)]
		answers, err := answerer.Answers(child, cycle.PhaseBaseline, resp)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			code, _, err := b.post(ctx, fmt.Sprintf("/api/v1/cycles/johannesburg/%d/%s/assessments", b.apiWave, child),
				map[string]any{"phase": cycle.PhaseBaseline, "respondent": resp, "answers": answers, "submitted_by": "bench"})
			el := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, el)
			if err != nil || code != http.StatusOK {
				errs++
			}
		}()
	}
	wg.Wait()
	sortDurations(lat)
	p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
	b.rep.add(Figure{Name: fmt.Sprintf("API: assessment submission p50 at %d req/s", b.o.APIRate), Value: ms(p50), Unit: "ms"})
	b.rep.add(Figure{Name: fmt.Sprintf("API: assessment submission p99 at %d req/s", b.o.APIRate), Value: ms(p99), Unit: "ms", Target: "≤ 50 ms", Met: met(p99 <= 50*time.Millisecond)})
	b.rep.add(Figure{Name: "API: submission errors", Value: float64(errs), Unit: "requests", Target: "0", Met: met(errs == 0), Note: fmt.Sprintf("of %d", total)})
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// fullCycles measures cycles per second from launch to closed with the
// practitioners simulated through the API and durations compressed.
func (b *bench) fullCycles(ctx context.Context, baseline float64) error {
	for i, n := range b.o.Full {
		if err := b.addChildren(ctx, "moutse", n); err != nil {
			return err
		}
		wave := i + 1
		waveID := cycle.WaveID("moutse", wave)
		fmt.Fprintf(b.progress, "full cycle: %d children\n", n)
		simCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := simulate.RunSummary(simCtx, simulate.Options{
				Addr: b.d.BaseURL, Token: b.d.SimulatorToken, Site: "moutse", Wave: wave, DayLength: b.o.DayLength,
				Concurrency: b.o.Concurrency, EveryoneAnswers: true, WindowClose: time.Duration(n)*20*time.Millisecond + time.Minute,
				Timeout: time.Duration(n)*200*time.Millisecond + 5*time.Minute, SitesDir: b.o.SitesDir, Quiet: true,
			})
			done <- err
		}()
		var el time.Duration
		for {
			select {
			case err := <-done:
				cancel()
				return fmt.Errorf("full cycle %d: the simulation stopped early: %v", n, err)
			case <-time.After(200 * time.Millisecond):
			}
			p, err := b.d.Store.WaveProgress(ctx, waveID)
			if err != nil {
				cancel()
				return err
			}
			if p.ByStage[cycle.StageClosed] >= n {
				el = time.Since(start)
				break
			}
		}
		cancel()
		<-done
		rate := float64(n) / el.Seconds()
		ratio := rate / baseline
		b.rep.add(Figure{Name: fmt.Sprintf("full cycle: %d children from launch to closed", n), Value: rate, Unit: "cycles/s",
			Baseline: "7-activity workflows/s", Ratio: ratio, Target: "≥ 0.70", Met: met(ratio >= 0.7),
			Note: fmt.Sprintf("%s in all, one day = %s", el.Round(time.Millisecond), b.o.DayLength)})
		perChild, err := b.eventsPerChild(ctx, waveID, n)
		if err != nil {
			return err
		}
		if perChild > 0 && b.sevenEvents > 0 {
			work := rate * perChild
			base := baseline * float64(b.sevenEvents)
			b.rep.add(Figure{Name: fmt.Sprintf("full cycle: %d children, engine work (history events/s)", n), Value: work, Unit: "events/s",
				Baseline: "7-activity events/s", Ratio: work / base,
				Note: fmt.Sprintf("a child's cycle and referrals average %.0f events; a seven-activity workflow has %d", perChild, b.sevenEvents)})
		}
		if i == 0 {
			if err := b.history(ctx, waveID); err != nil {
				return err
			}
		}
	}
	return nil
}

// historyLength counts the events in a workflow's history.
func (b *bench) historyLength(ctx context.Context, workflowID string) (int, error) {
	it := b.d.Client.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			return 0, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		n++
	}
	return n, nil
}

// eventsPerChild estimates the engine work one child of a wave cost: the
// mean history length of a sample of its cycles plus, scaled by how many
// the wave made, the mean length of a sample of its referrals.
func (b *bench) eventsPerChild(ctx context.Context, waveID string, n int) (float64, error) {
	mean := func(ids []string) (float64, error) {
		if len(ids) == 0 {
			return 0, nil
		}
		total := 0
		for _, id := range ids {
			l, err := b.historyLength(ctx, id)
			if err != nil {
				return 0, err
			}
			total += l
		}
		return float64(total) / float64(len(ids)), nil
	}
	db := b.d.Store.DB(ctx)
	var cycles, referrals []string
	if err := db.Model(&store.Cycle{}).Where("wave_id = ?", waveID).Order("id").Limit(100).Pluck("id", &cycles).Error; err != nil {
		return 0, err
	}
	var nReferrals int64
	if err := db.Model(&store.Referral{}).Where("wave_id = ?", waveID).Count(&nReferrals).Error; err != nil {
		return 0, err
	}
	if err := db.Model(&store.Referral{}).Where("wave_id = ?", waveID).Order("id").Limit(100).Pluck("id", &referrals).Error; err != nil {
		return 0, err
	}
	perCycle, err := mean(cycles)
	if err != nil {
		return 0, err
	}
	perReferral, err := mean(referrals)
	if err != nil {
		return 0, err
	}
	return perCycle + perReferral*float64(nReferrals)/float64(n), nil
}

// history reports the length of the longest of a sample of closed cycles' histories.
func (b *bench) history(ctx context.Context, waveID string) error {
	var ids []string
	if err := b.d.Store.DB(ctx).Model(&store.Cycle{}).Where("wave_id = ? AND outcome = ?", waveID, cycle.OutcomeCompleted).Order("id").Limit(20).Pluck("id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		b.d.Store.DB(ctx).Model(&store.Cycle{}).Where("wave_id = ?", waveID).Order("id").Limit(20).Pluck("id", &ids)
	}
	longest := 0
	for _, id := range ids {
		n, err := b.historyLength(ctx, id)
		if err != nil {
			return err
		}
		longest = max(longest, n)
	}
	b.rep.add(Figure{Name: "history length of one child's cycle (longest of 20)", Value: float64(longest), Unit: "events", Target: "< 500", Met: met(longest < 500),
		Note: "a cycle with a plan, referrals and reassessment"})
	return nil
}

// dashboard times the progress and heatmap queries on a database of the
// configured size (a separate SQLite file filled directly).
func (b *bench) dashboard(ctx context.Context) error {
	n := b.o.DashboardChildren
	fmt.Fprintf(b.progress, "dashboard: filling a database with %d children\n", n)
	st, err := store.Open(ctx, filepath.Join(b.dir, "dashboard.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := codec.NewKey("bench")
	if err != nil {
		return err
	}
	kr, err := codec.ParseKeyring(keys)
	if err != nil {
		return err
	}
	st.SetFieldCipher(kr)
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	if err := fillDashboard(ctx, st, n); err != nil {
		return err
	}
	waveID := cycle.WaveID("johannesburg", 1)
	queries := []struct {
		name string
		run  func() error
	}{
		{"progress by stage", func() error { _, err := st.WaveProgress(ctx, waveID); return err }},
		{"progress by school and stage", func() error { _, err := st.StageBySchool(ctx, waveID); return err }},
		{"risk heatmap (domain × school)", func() error { _, err := st.RiskHeatmap(ctx, waveID); return err }},
	}
	for _, q := range queries {
		var lat []time.Duration
		for range 10 {
			start := time.Now()
			if err := q.run(); err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lat = append(lat, time.Since(start))
		}
		sortDurations(lat)
		worst := lat[len(lat)-1]
		b.rep.add(Figure{Name: fmt.Sprintf("dashboard: %s, %d children", q.name, n), Value: ms(percentile(lat, 0.5)), Unit: "ms (median)",
			Target: "≤ 200 ms", Met: met(worst <= 200*time.Millisecond), Note: fmt.Sprintf("worst of 10: %.1f ms", ms(worst))})
	}
	return b.followChildren(ctx, st, n)
}

// fillDashboard writes n children's cycles and baseline domain risks for
// wave 1 of johannesburg directly, spread over five schools.
func fillDashboard(ctx context.Context, st *store.Store, n int) error {
	schools := []string{"meadowlands", "ivory-park", "doornkop", "malvern", "alexandra"}
	stages := cycle.Stages
	domains := []string{"health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver"}
	levels := []string{"low", "low", "low", "moderate", "high"}
	now := time.Now().UTC()
	db := st.DB(ctx)
	var schoolRows []store.School
	for i, sc := range schools {
		schoolRows = append(schoolRows, store.School{ID: sc, SiteID: "johannesburg", Name: sc, Quintile: 1 + i%3, CreatedAt: now})
	}
	if err := st.EnsureSite(ctx, store.Site{ID: "johannesburg", Name: "Johannesburg", Setting: "urban", CreatedAt: now}, schoolRows); err != nil {
		return err
	}
	if err := db.Create(&store.Wave{ID: cycle.WaveID("johannesburg", 1), SiteID: "johannesburg", Number: 1, WindowOpen: now, WindowClose: now, Status: "open", LaunchedAt: now}).Error; err != nil {
		return err
	}
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		var cycles []store.Cycle
		var risks []store.DomainRisk
		var families []store.Family
		for i := lo; i < min(lo+batch, n); i++ {
			id := fmt.Sprintf("cycle/johannesburg/1/ch-%07d", i)
			school := schools[i%len(schools)]
			child := fmt.Sprintf("ch-%07d", i)
			families = append(families, madeUpFamily(i, child, school, now))
			cycles = append(cycles, store.Cycle{ID: id, WaveID: cycle.WaveID("johannesburg", 1), SiteID: "johannesburg", SchoolID: school,
				ChildID: fmt.Sprintf("ch-%07d", i), Stage: stages[i%len(stages)], Status: "open", CreatedAt: now, UpdatedAt: now})
			for j, d := range domains {
				risks = append(risks, store.DomainRisk{CycleID: id, Phase: cycle.PhaseBaseline, Domain: d, WaveID: cycle.WaveID("johannesburg", 1),
					SiteID: "johannesburg", SchoolID: school, Level: levels[(i+j)%len(levels)]})
			}
		}
		if err := st.AddFamilies(ctx, families); err != nil {
			return err
		}
		if err := db.CreateInBatches(cycles, 500).Error; err != nil {
			return err
		}
		if err := db.CreateInBatches(risks, 500).Error; err != nil {
			return err
		}
	}
	return db.Exec("ANALYZE").Error
}
