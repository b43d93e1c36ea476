package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/longitudinal"
	"github.com/khula-cop/khula/internal/store"
)

// Made-up names for the benchmark's children: no real person. The lists
// are long enough that a name and birth date pick out few children, as in
// a real cohort.
var (
	benchGiven = []string{"Amahle", "Andile", "Ayanda", "Bokang", "Boitumelo", "Busisiwe", "Dimpho", "Dineo", "Karabo", "Kagiso",
		"Katlego", "Lebo", "Lerato", "Lesedi", "Lindiwe", "Lwazi", "Mbali", "Mpho", "Naledi", "Neo", "Nomvula", "Nosipho", "Olwethu",
		"Onalenna", "Palesa", "Refilwe", "Sipho", "Siyabonga", "Tebogo", "Thabo", "Thandiwe", "Tshepo", "Tumelo", "Unathi", "Zanele",
		"Zinhle", "Zodwa", "Khanyi", "Nandi", "Sbu"}
	benchFamily = []string{"Dlamini", "Nkosi", "Ndlovu", "Khumalo", "Mokoena", "Mahlangu", "Mathebula", "Sithole", "Zulu", "Mabena",
		"Masilela", "Skosana", "Mthembu", "Ngcobo", "Molefe", "Mofokeng", "Radebe", "Shabalala", "Nxumalo", "Phiri", "Maluleke",
		"Baloyi", "Chauke", "Mkhize", "Cele", "Mnguni", "Hlongwane", "Nkadimeng", "Sebola", "Mathebe", "Ramatsetse", "Phala",
		"Tau", "Motaung", "Mashaba", "Mtshali", "Zwane", "Mazibuko", "Kubheka", "Ntuli", "Gumede", "Buthelezi", "Mabaso",
		"Shezi", "Vilakazi", "Madonsela", "Msimango", "Dube", "Ngubane", "Zungu"}
)

// madeUpPerson is bench child i's made-up identity: names, birth date
// spread over six years and a caregiver's phone, all derived from i.
func madeUpPerson(i int) (given, family string, born time.Time, cgGiven, phone string) {
	h := uint64(i)*2654435761 + 12345
	given = benchGiven[h%uint64(len(benchGiven))]
	family = benchFamily[(h/7)%uint64(len(benchFamily))]
	born = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int((h/13)%(6*365)))
	cgGiven = benchGiven[(h/17)%uint64(len(benchGiven))]
	phone = fmt.Sprintf("07%08d", (h/19)%100000000)
	return
}

// madeUpFamily is bench child i as a family to store.
func madeUpFamily(i int, child, school string, now time.Time) store.Family {
	given, family, born, cgGiven, phone := madeUpPerson(i)
	return store.Family{
		Caregiver: store.Caregiver{ID: "cg-" + child, SiteID: "johannesburg", GivenName: cgGiven, FamilyName: family, Phone: phone, Language: "en", CreatedAt: now},
		Child: store.Child{ID: child, SiteID: "johannesburg", SchoolID: school, CaregiverID: "cg-" + child, GivenName: given, FamilyName: family,
			Sex: "female", BirthDate: born, Grade: "1", CreatedAt: now},
	}
}

// followChildren measures following children across waves on the
// dashboard database: it adds waves 2 and 3 for every child, then times a
// child's trajectory, the change between two waves and the duplicate
// check of a class list against every child known.
func (b *bench) followChildren(ctx context.Context, st *store.Store, n int) error {
	fmt.Fprintf(b.progress, "following children: adding waves 2 and 3 for %d children\n", n)
	if err := fillLaterWaves(ctx, st, n, []int{2, 3}); err != nil {
		return err
	}
	// A child's record across three waves.
	var lat []time.Duration
	for k := range 20 {
		child := fmt.Sprintf("ch-%07d", (k*7919)%n)
		start := time.Now()
		rec, err := st.Trajectory(ctx, "johannesburg", child)
		if err != nil {
			return fmt.Errorf("trajectory of %s: %w", child, err)
		}
		lat = append(lat, time.Since(start))
		if len(rec.TimePoints) != 3 {
			return fmt.Errorf("trajectory of %s has %d time points, want 3", child, len(rec.TimePoints))
		}
	}
	sortDurations(lat)
	worst := lat[len(lat)-1]
	b.rep.add(Figure{Name: fmt.Sprintf("a child's record across waves, %d children × 3 waves", n), Value: ms(percentile(lat, 0.5)), Unit: "ms (median)",
		Target: "< 50 ms", Met: met(worst < 50*time.Millisecond), Note: fmt.Sprintf("worst of 20: %.1f ms (store query; the API adds an audit write)", ms(worst))})

	// The change between waves 1 and 2 for the whole site.
	start := time.Now()
	from, err := st.WaveLevels(ctx, "johannesburg", 1)
	if err != nil {
		return err
	}
	to, err := st.WaveLevels(ctx, "johannesburg", 2)
	if err != nil {
		return err
	}
	rep := longitudinal.Build(1, 2, []string{"health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver"}, from, to)
	el := time.Since(start)
	b.rep.add(Figure{Name: fmt.Sprintf("change between two waves (transitions per domain and school), %d children", n), Value: ms(el), Unit: "ms",
		Note: fmt.Sprintf("%d children in both waves", rep.Site.Both)})

	return b.duplicateCheck(ctx, st, n)
}

// duplicateCheck times the check of a 5,000-line class list (a tenth of it
// children already known, typed with slips) against every child known.
func (b *bench) duplicateCheck(ctx context.Context, st *store.Store, known int) error {
	rows := min(5000, known)
	planted := rows / 10
	fmt.Fprintf(b.progress, "following children: checking %d new lines against %d children\n", rows, known)
	now := time.Now().UTC()
	families := make([]store.Family, 0, rows)
	for i := range rows {
		var f store.Family
		if i < planted {
			// A known child typed again: the day and month of birth swapped
			// where that is a date, the phone written with +27.
			k := (i * 104729) % known
			f = madeUpFamily(k, fmt.Sprintf("new-%05d", i), "meadowlands", now)
			if d := f.Child.BirthDate; d.Day() <= 12 && d.Day() != int(d.Month()) {
				f.Child.BirthDate = time.Date(d.Year(), time.Month(d.Day()), int(d.Month()), 0, 0, 0, 0, time.UTC)
			}
			f.Caregiver.Phone = "+27 " + f.Caregiver.Phone[1:]
		} else {
			f = madeUpFamily(known+i, fmt.Sprintf("new-%05d", i), "meadowlands", now)
		}
		families = append(families, f)
	}
	var lat []time.Duration
	var found int
	for range 3 {
		start := time.Now()
		sus, err := st.FindDuplicates(ctx, "johannesburg", families)
		if err != nil {
			return fmt.Errorf("duplicate check: %w", err)
		}
		lat = append(lat, time.Since(start))
		found = 0
		for _, s := range sus {
			if s.Index < planted {
				found++
			}
		}
	}
	sortDurations(lat)
	worst := lat[len(lat)-1]
	b.rep.add(Figure{Name: fmt.Sprintf("duplicate check of a %d-line class list against %d children", rows, known), Value: lat[len(lat)/2].Seconds(), Unit: "s (median of 3)",
		Target: "< 10 s", Met: met(worst < 10*time.Second),
		Note: fmt.Sprintf("worst %.2f s; %d of the %d known children typed again were found (blind index + Jaro–Winkler)", worst.Seconds(), found, planted)})
	return nil
}

// fillLaterWaves writes, for each wave number, a closed cycle with a
// score and baseline domain risks for every dashboard child.
func fillLaterWaves(ctx context.Context, st *store.Store, n int, waves []int) error {
	domains := []string{"health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver"}
	levels := []string{"low", "low", "low", "moderate", "high"}
	schools := []string{"meadowlands", "ivory-park", "doornkop", "malvern", "alexandra"}
	now := time.Now().UTC()
	db := st.DB(ctx)
	result := `{"scales":{"sdq.total":{"score":12,"band":"normal","computed":true},"phq9.total":{"score":6,"band":"mild","computed":true},` +
		`"cyrm.total":{"score":41,"computed":true}},"growth":{"hfa":{"z":-0.8,"computed":true},"wfa":{"z":-0.3,"computed":true},"bfa":{"z":0.2,"computed":true}}}`
	for _, w := range waves {
		waveID := cycle.WaveID("johannesburg", w)
		if err := db.Create(&store.Wave{ID: waveID, SiteID: "johannesburg", Number: w, WindowOpen: now, WindowClose: now, Status: "closed", LaunchedAt: now}).Error; err != nil {
			return err
		}
		const batch = 1000
		for lo := 0; lo < n; lo += batch {
			var cycles []store.Cycle
			var risks []store.DomainRisk
			var scores []store.Score
			for i := lo; i < min(lo+batch, n); i++ {
				child := fmt.Sprintf("ch-%07d", i)
				id := cycle.CycleID("johannesburg", w, child)
				school := schools[i%len(schools)]
				cycles = append(cycles, store.Cycle{ID: id, WaveID: waveID, SiteID: "johannesburg", SchoolID: school, ChildID: child,
					Stage: cycle.StageClosed, Status: store.CycleClosed, Outcome: cycle.OutcomeCompleted, CreatedAt: now, UpdatedAt: now})
				scores = append(scores, benchScore(id, result, now))
				for j, d := range domains {
					risks = append(risks, store.DomainRisk{CycleID: id, Phase: cycle.PhaseBaseline, Domain: d, WaveID: waveID, SiteID: "johannesburg",
						SchoolID: school, Level: levels[(i+j+w)%len(levels)]})
				}
			}
			for _, rows := range []any{cycles, scores, risks} {
				if err := db.CreateInBatches(rows, 500).Error; err != nil {
					return err
				}
			}
		}
	}
	// The first wave's cycles get their scores too.
	for lo := 0; lo < n; lo += 1000 {
		var scores []store.Score
		for i := lo; i < min(lo+1000, n); i++ {
			id := cycle.CycleID("johannesburg", 1, fmt.Sprintf("ch-%07d", i))
			scores = append(scores, benchScore(id, result, now))
		}
		if err := db.CreateInBatches(scores, 500).Error; err != nil {
			return err
		}
	}
	return db.Exec("ANALYZE").Error
}

// benchScore is a cycle's baseline score row with the given result.
func benchScore(cycleID, result string, at time.Time) store.Score {
	return store.Score{ID: cycleID + "/" + cycle.PhaseBaseline, CycleID: cycleID, Phase: cycle.PhaseBaseline, InstrumentID: "cwtt",
		InstrumentVersion: "1.0.0", Result: result, ComputedAt: at}
}

// followUpLaunch measures a first wave and a follow-up wave of the same
// children at a site whose consent must be renewed for each wave: between
// them most consents are renewed and a few children leave. It reports the
// follow-up's launch rate against the bare engine and the first wave.
func (b *bench) followUpLaunch(ctx context.Context, n int, baseline float64) error {
	const site = "moutse"
	if err := b.addChildren(ctx, site, n); err != nil {
		return err
	}
	rates := make([]float64, 0, 2)
	for wave := 1; wave <= 2; wave++ {
		if wave == 2 {
			at := time.Now().UTC()
			if err := b.d.Store.DB(ctx).Model(&store.Consent{}).Where("child_id LIKE ?", "bench-"+site+"-%").Update("renewed_at", at).Error; err != nil {
				return err
			}
			for i := 0; i < n; i += 50 {
				if _, err := b.d.Store.LeaveStudy(ctx, site, fmt.Sprintf("bench-%s-%06d", site, i), cycle.LeftMovedSchool, "bench", at); err != nil {
					return err
				}
			}
		}
		want := n
		if wave == 2 {
			want = n - (n+49)/50
		}
		fmt.Fprintf(b.progress, "follow-up: %s wave %d, %d children\n", site, wave, want)
		start := time.Now()
		code, body, err := b.post(ctx, "/api/v1/waves", map[string]any{"site": site, "number": wave, "window_close": time.Now().Add(60 * 24 * time.Hour)})
		if err != nil || code != http.StatusAccepted {
			return fmt.Errorf("launching %s wave %d: %d %s %v", site, wave, code, body, err)
		}
		if err := b.waitForAssess(ctx, cycle.WaveID(site, wave), want, start); err != nil {
			return err
		}
		el := time.Since(start)
		rates = append(rates, float64(want)/el.Seconds())
		if wave == 1 {
			continue
		}
		b.rep.add(Figure{Name: fmt.Sprintf("follow-up wave: %d continuing children (consent renewed, 2%% left) until all wait for forms", want), Value: rates[1],
			Unit: "children/s", Baseline: "empty workflows/s", Ratio: rates[1] / baseline, Target: "≥ 0.90 of the first wave's rate", Met: met(rates[1] >= 0.9*rates[0]),
			Note: fmt.Sprintf("%s in all; the first wave of the same children: %.0f children/s (follow-up / first = %.2f)", el.Round(time.Millisecond), rates[0], rates[1]/rates[0])})
	}
	return nil
}
