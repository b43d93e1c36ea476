package simulate

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
)

// Between two simulated waves a coordinator records who left and renews
// consents that lapsed, as the study does between time points.
const (
	// defaultLeaveShare of the children seen in a wave leave the study
	// before the next, unless Options.LeaveShare says otherwise.
	defaultLeaveShare = 0.05
	// unreachableShare of the children whose consent lapsed are not reached
	// to renew it: the next wave lists them and does not assess them.
	unreachableShare = 0.10
)

// leaveReasons are the reasons the simulated coordinator records.
var leaveReasons = []string{cycle.LeftMovedSchool, cycle.LeftArea, cycle.LeftLostToFollowUp}

// sawChild notes a child whose forms the wave asked for.
func (s *sim) sawChild(child string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.children[child] = true
}

// seenChildren lists, sorted, the children the wave asked forms for.
func (s *sim) seenChildren() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.children))
	for c := range s.children {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// runWaves plays opts.Waves consecutive waves on the same children.
func runWaves(ctx context.Context, opts Options) (Summary, error) {
	api := &apiClient{base: opts.Addr, token: opts.Token, timeout: opts.RequestTimeout, http: &http.Client{Timeout: opts.RequestTimeout + 5*time.Second}}
	var sum Summary
	first, last := 0, 0
	for i := range opts.Waves {
		if i > 0 {
			opts.Wave = last + 1
		}
		one := opts
		var children []string
		var err error
		sum, children, err = runWave(ctx, one)
		if err != nil {
			return sum, err
		}
		last = waveNumberOf(sum.WaveID)
		if i == 0 {
			first = last
		}
		if i < opts.Waves-1 {
			if err := betweenWaves(ctx, api, opts, last, children); err != nil {
				return sum, err
			}
		}
	}
	return sum, printChange(ctx, api, opts, first, last)
}

// waveNumberOf reads the number at the end of a wave ID.
func waveNumberOf(id string) int {
	n := 0
	fmt.Sscanf(id[strings.LastIndex(id, "/")+1:], "%d", &n)
	return n
}

// preview is the part of the launch preview the simulator prints.
type preview struct {
	Continuing   int            `json:"continuing"`
	New          int            `json:"new"`
	Held         int            `json:"held"`
	LeftByReason map[string]int `json:"left_by_reason"`
	Left         []struct{}     `json:"left"`
	Lapsed       []struct {
		ChildID string `json:"child_id"`
		Reason  string `json:"reason"`
	} `json:"lapsed"`
}

// betweenWaves records leavers among the children of wave n, imports a
// class list of new intake, renews the consents that would lapse for wave
// n+1 (but for the few not reached) and prints who wave n+1 will start.
func betweenWaves(ctx context.Context, api *apiClient, opts Options, n int, children []string) error {
	fmt.Fprintf(opts.Out, "\nbetween waves %d and %d:\n", n, n+1)
	intake, err := importIntake(ctx, api, opts, n+1)
	if err != nil {
		return err
	}
	share := opts.LeaveShare
	if share <= 0 {
		share = defaultLeaveShare
	}
	left := 0
	for _, child := range children {
		if hash01(fmt.Sprintf("%d/leaves/%s/%d", opts.Seed, child, n)) >= share {
			continue
		}
		reason := leaveReasons[int(hash01(fmt.Sprintf("%d/why/%s", opts.Seed, child))*float64(len(leaveReasons)))]
		body := map[string]string{"reason": reason, "recorded_by": "simulated coordinator"}
		err := api.do(ctx, http.MethodPost, "/api/v1/children/"+opts.Site+"/"+child+"/leave", "", body, nil)
		if err != nil && statusOf(err) != http.StatusConflict && statusOf(err) != http.StatusNotFound {
			return fmt.Errorf("simulate: recording that %s left: %w", child, err)
		}
		if err == nil {
			left++
		}
	}
	var p preview
	path := fmt.Sprintf("/api/v1/waves/%s/%d/preview", opts.Site, n+1)
	if err := api.do(ctx, http.MethodGet, path, "", nil, &p); err != nil {
		return fmt.Errorf("simulate: previewing wave %d: %w", n+1, err)
	}
	renewed := 0
	for _, l := range p.Lapsed {
		if hash01(fmt.Sprintf("%d/unreached/%s/%d", opts.Seed, l.ChildID, n)) < unreachableShare {
			continue
		}
		err := api.do(ctx, http.MethodPost, "/api/v1/children/"+opts.Site+"/"+l.ChildID+"/consent/renew", "",
			map[string]string{"recorded_by": "simulated coordinator"}, nil)
		switch {
		case err == nil:
			renewed++
		case statusOf(err) == http.StatusConflict: // no consent to renew, or left
		default:
			return fmt.Errorf("simulate: renewing consent: %w", err)
		}
	}
	if err := api.do(ctx, http.MethodGet, path, "", nil, &p); err != nil {
		return fmt.Errorf("simulate: previewing wave %d: %w", n+1, err)
	}
	fmt.Fprintf(opts.Out, "  %d children left the study; %d new children enrolled from a class list; %d consents renewed\n", left, intake, renewed)
	fmt.Fprintf(opts.Out, "  wave %d will start %d continuing and %d new; %d not assessed (consent lapsed or missing); %d held as likely duplicates; left since wave %d: %s\n",
		n+1, p.Continuing, p.New, len(p.Lapsed), p.Held, n, formatCounts(p.LeftByReason))
	return nil
}

// change is the part of the transitions report the simulator prints.
type change struct {
	Domains []string `json:"domains"`
	Site    struct {
		Both    int `json:"both"`
		Domains map[string]struct {
			Better    int     `json:"better"`
			Same      int     `json:"same"`
			Worse     int     `json:"worse"`
			ShareFrom float64 `json:"share_from"`
			ShareTo   float64 `json:"share_to"`
		} `json:"domains"`
		Worsened []struct {
			ChildID string `json:"child_id"`
		} `json:"worsened"`
	} `json:"site"`
}

// printChange prints how the children seen in the first and last waves changed.
func printChange(ctx context.Context, api *apiClient, opts Options, from, to int) error {
	if from == to {
		return nil
	}
	var c change
	if err := api.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/sites/%s/transitions?from=%d&to=%d", opts.Site, from, to), "", nil, &c); err != nil {
		return fmt.Errorf("simulate: reading the change between waves: %w", err)
	}
	out := opts.Out
	fmt.Fprintf(out, "\nfrom wave %d to wave %d, %d children were assessed in both:\n", from, to, c.Site.Both)
	for _, d := range c.Domains {
		s := c.Site.Domains[d]
		fmt.Fprintf(out, "  %-13s at risk %3.0f%% → %3.0f%%; better %d, same %d, worse %d\n", d, 100*s.ShareFrom, 100*s.ShareTo, s.Better, s.Same, s.Worse)
	}
	ids := make([]string, 0, len(c.Site.Worsened))
	for _, w := range c.Site.Worsened {
		ids = append(ids, w.ChildID)
	}
	if len(ids) > 0 {
		slices.Sort(ids)
		fmt.Fprintf(out, "  see a child's record across waves: %s/children/%s/%s\n", opts.Addr, opts.Site, ids[0])
	}
	return nil
}

// Made-up names for the new intake: no real person.
var (
	intakeGiven  = []string{"Amahle", "Bokang", "Dimpho", "Kagiso", "Lesedi", "Mbali", "Neo", "Onalenna", "Palesa", "Tumelo", "Zinhle", "Karabo"}
	intakeFamily = []string{"Mokgadi", "Sebola", "Mathebe", "Ramatsetse", "Nkadimeng", "Mabena", "Masilela", "Skosana", "Mahlangu", "Phala"}
)

// importIntake enrols opts.Intake new children for wave n through the
// class list import (made-up names; the import's duplicate check runs as
// for any list). It returns how many the import added.
func importIntake(ctx context.Context, api *apiClient, opts Options, n int) (int, error) {
	if opts.Intake <= 0 {
		return 0, nil
	}
	var site struct {
		Languages []string `json:"languages"`
		Schools   []struct {
			ID string `json:"id"`
		} `json:"schools"`
	}
	if err := api.do(ctx, http.MethodGet, "/api/v1/sites/"+opts.Site, "", nil, &site); err != nil {
		return 0, fmt.Errorf("simulate: reading site %s: %w", opts.Site, err)
	}
	if len(site.Schools) == 0 || len(site.Languages) == 0 {
		return 0, fmt.Errorf("simulate: site %s has no schools or languages for a class list", opts.Site)
	}
	var b strings.Builder
	b.WriteString("school,child_given_name,child_family_name,sex,birth_date,grade,caregiver_given_name,caregiver_family_name,caregiver_phone,caregiver_language,consent_given_by,consent_relationship,consent_date\n")
	today := time.Now().UTC().Format(time.DateOnly)
	for i := range opts.Intake {
		h := func(what string) float64 { return hash01(fmt.Sprintf("%d/intake/%d/%d/%s", opts.Seed, n, i, what)) }
		pick := func(list []string, what string) string { return list[int(h(what)*float64(len(list)))] }
		family := pick(intakeFamily, "family")
		born := time.Date(2019+int(h("year")*3), time.Month(1+int(h("month")*12)), 1+int(h("day")*28), 0, 0, 0, 0, time.UTC)
		sex := "female"
		if h("sex") < 0.5 {
			sex = "male"
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,R,%s,%s,07%08d,%s,caregiver,parent,%s\n", site.Schools[int(h("school")*float64(len(site.Schools)))].ID, pick(intakeGiven, "given"), family, sex,
			born.Format(time.DateOnly), pick(intakeGiven, "carer"), family, int(h("phone")*1e8), site.Languages[0], today)
	}
	var res struct {
		Imported int `json:"imported"`
	}
	key := fmt.Sprintf("sim-intake-%s-%d-%d", opts.Site, n, opts.Seed)
	if err := api.do(ctx, http.MethodPost, "/api/v1/sites/"+opts.Site+"/cohort?mode=partial", key, csvBody(b.String()), &res); err != nil {
		return 0, fmt.Errorf("simulate: importing the new intake: %w", err)
	}
	return res.Imported, nil
}
