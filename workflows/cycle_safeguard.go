package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/messages"
)

// screenJob is something to look at for red flags: the forms of a phase
// received so far (after one arrives), or the concerns a practitioner
// recorded at a check-in.
type screenJob struct {
	phase    string
	concerns []string
	// source names the observation: the phase, or "check-in/<n>".
	source string
}

// safeguard runs beside the cycle for its whole life: each accepted form
// and each check-in with concerns is screened for red flags at once, and a
// red flag opens the fast path then, whatever the cycle is waiting for.
func (c *cycleRun) safeguard(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(c.screens) > 0 }); err != nil {
			return
		}
		c.screening = true
		job := c.screens[0]
		c.screens = c.screens[1:]
		flags, source := c.screen(ctx, job)
		if err := c.raise(ctx, flags, source); err != nil {
			workflow.GetLogger(ctx).Error("safeguarding fast path failed", "cycle", c.id, "error", err)
		}
		c.screening = false
	}
}

// screen finds the red flags of one job with their routes.
func (c *cycleRun) screen(ctx workflow.Context, job screenJob) ([]cycle.RedFlag, string) {
	if job.phase == "" {
		// The routes come from the instrument as this worker loaded it:
		// recorded, so a release that re-routes a flag replays the same.
		var flags []cycle.RedFlag
		err := workflow.SideEffect(ctx, func(workflow.Context) any {
			var out []cycle.RedFlag
			for _, code := range job.concerns {
				if f, ok := c.w.Forms.RedFlag(c.in.Instrument, code); ok {
					out = append(out, f)
				}
			}
			return out
		}).Get(&flags)
		if err != nil {
			workflow.GetLogger(ctx).Error("routing check-in concerns failed", "cycle", c.id, "error", err)
		}
		return flags, job.source
	}
	var flags []cycle.RedFlag
	err := workflow.ExecuteActivity(recordCtx(ctx), a.ScreenRedFlags, activities.ScreenInput{
		CycleID: c.id, ChildID: c.in.ChildID, Phase: job.phase, Instrument: c.in.Instrument, AssessedOn: workflow.Now(ctx),
	}).Get(ctx, &flags)
	if err != nil {
		// A form that cannot be scored fails the phase's scoring too, where
		// it is visible; the screening must not stop the next one.
		workflow.GetLogger(ctx).Error("screening for red flags failed", "cycle", c.id, "phase", job.phase, "error", err)
		return nil, job.phase
	}
	return flags, job.phase
}

// awaitScreening waits until every queued screening has been acted on.
func (c *cycleRun) awaitScreening(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return len(c.screens) == 0 && !c.screening })
}

// raise acts on the red flags of one observation (a phase's forms, a
// check-in) not acted on before: one urgent referral per service type the
// flags declare, unless an urgent referral to that service is still open,
// then the designated social worker is told. A flag that declares no
// service prompts the social worker only. A phase's forms are screened
// again as each arrives: a flag is acted on once per phase.
func (c *cycleRun) raise(ctx workflow.Context, flags []cycle.RedFlag, source string) error {
	var fresh []cycle.RedFlag
	for _, f := range flags {
		key := source + "/" + f.Code
		if f.Code == "" || c.handled[key] {
			continue
		}
		c.handled[key] = true
		fresh = append(fresh, f)
	}
	if len(fresh) == 0 {
		return nil
	}
	var codes []string
	byService := map[string][]string{}
	var services []string
	domainOf := map[string]string{}
	for _, f := range fresh {
		codes = append(codes, f.Code)
		if !slices.Contains(c.flags, f.Code) {
			c.flags = append(c.flags, f.Code)
		}
		if f.ServiceType == "" {
			continue
		}
		if _, seen := byService[f.ServiceType]; !seen {
			services = append(services, f.ServiceType)
			domainOf[f.ServiceType] = f.Domain
		}
		byService[f.ServiceType] = append(byService[f.ServiceType], f.Code)
	}
	referred := 0
	for _, svc := range services {
		if _, done := c.urgentTo[svc]; done {
			continue
		}
		reason := fmt.Sprintf("red flag (%s): %s", source, strings.Join(byService[svc], ", "))
		if err := c.startReferral(ctx, c.allocK(true), domainOf[svc], svc, true, reason); err != nil {
			return err
		}
		c.urgentTo[svc] = c.referrals[len(c.referrals)-1]
		referred++
	}
	c.alerts++
	template := messages.SafeguardingAlert
	if referred == 0 && len(services) == 0 {
		template = messages.SafeguardingPrompt
	}
	c.notify(ctx, fmt.Sprintf("safeguarding/%d", c.alerts), activities.ToSafeguarding, template, map[string]string{
		"cycle": c.id, "school": c.in.SchoolID, "flags": strings.Join(codes, ", "),
	})
	// The cycle's row carries the flags from now on (agenda, work lists).
	return c.saveRow(ctx, "red flag ("+source+"): "+strings.Join(codes, ", "))
}

// legacyFastPath is the fast path of cycles started before the duty-of-care
// change: one urgent referral for all flags, its service guessed from the
// first flag's code. Kept so their histories replay.
func (c *cycleRun) legacyFastPath(ctx workflow.Context) error {
	domain := strings.SplitN(c.flags[0], ".", 2)[0]
	for _, f := range c.flags {
		if strings.HasPrefix(f, "protection.") {
			domain = "protection"
		}
	}
	c.notify(ctx, "safeguarding", activities.ToSafeguarding, messages.SafeguardingAlert, map[string]string{
		"cycle": c.id, "school": c.in.SchoolID, "flags": strings.Join(c.flags, ", "),
	})
	service := "social_development"
	switch domain {
	case "health", "nutrition", "caregiver":
		service = "clinic"
	}
	return c.startReferral(ctx, c.allocK(true), domain, service, true, "red flag: "+strings.Join(c.flags, ", "))
}
