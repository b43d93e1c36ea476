// Package retention de-identifies children whose data a site no longer
// keeps: once every wave a child was in has been closed for the site's
// retention period, their personal fields are erased (as on withdrawal of
// consent) while de-identified scores stay for aggregate statistics. Each
// erasure is audited.
package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// Result says what a run did.
type Result struct {
	Period   time.Duration
	Cutoff   time.Time
	Due      int
	Erased   int
	DryRun   bool
	NoPeriod bool
}

func (r Result) String() string {
	if r.NoPeriod {
		return "no retention period configured (retention.deidentify_after): nothing done"
	}
	if r.DryRun {
		return fmt.Sprintf("%d children due (waves closed before %s); dry run, nothing erased", r.Due, r.Cutoff.Format(time.DateOnly))
	}
	return fmt.Sprintf("%d children de-identified (waves closed before %s)", r.Erased, r.Cutoff.Format(time.DateOnly))
}

// batch bounds each pass.
const batch = 200

// Run de-identifies a site's children past its retention period.
func Run(ctx context.Context, st *store.Store, site *sites.Site, now time.Time, dryRun bool, progress func(done int)) (Result, error) {
	res := Result{Period: site.Retention.DeidentifyAfter.D(), DryRun: dryRun}
	if res.Period <= 0 {
		res.NoPeriod = true
		return res, nil
	}
	res.Cutoff = now.Add(-res.Period)
	for {
		due, err := st.RetentionDue(ctx, site.ID, res.Cutoff, batch)
		if err != nil {
			return res, fmt.Errorf("retention for %s: %w", site.ID, err)
		}
		res.Due += len(due)
		if dryRun || len(due) == 0 {
			return res, nil
		}
		for _, child := range due {
			if err := st.ErasePersonal(ctx, child, now); err != nil {
				return res, fmt.Errorf("retention for %s: %w", site.ID, err)
			}
			if _, err := st.Audit(ctx, store.AuditEntry{At: now, Actor: "system", ActorName: "retention", Role: "system",
				Action: store.AuditErase, SiteID: site.ID, ChildID: child, What: "personal fields erased; de-identified scores kept",
				Why: fmt.Sprintf("retention: every wave closed more than %s ago", site.Retention.DeidentifyAfter)}); err != nil {
				return res, err
			}
			res.Erased++
		}
		if progress != nil {
			progress(res.Erased)
		}
	}
}

// Runner runs retention for the activities: it finds the site and audits as "system".
type Runner struct {
	Store *store.Store
	Sites interface {
		Site(id string) (*sites.Site, bool)
	}
	Now func() time.Time
}

// RunRetention de-identifies a site's children past its retention period.
func (r *Runner) RunRetention(ctx context.Context, siteID string) (string, error) {
	site, ok := r.Sites.Site(siteID)
	if !ok {
		return "", fmt.Errorf("no site %q", siteID)
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	res, err := Run(ctx, r.Store, site, now, false, nil)
	if err != nil {
		return res.String(), err
	}
	// Idempotency-Keys are bound to their requests for a month, then forgotten.
	pruned, err := r.Store.PruneIdempotencyKeys(ctx, now.Add(-store.IdempotencyKeyRetention))
	if err != nil {
		return res.String(), fmt.Errorf("pruning Idempotency-Keys: %w", err)
	}
	return fmt.Sprintf("%s; %d Idempotency-Key(s) forgotten", res, pruned), nil
}
