package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/intakesubmit"
	"github.com/khula-cop/khula/internal/messages"
	"github.com/khula-cop/khula/internal/retention"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/temporalx"
	"github.com/khula-cop/khula/plugins/host"
	"github.com/khula-cop/khula/sites"
	"github.com/khula-cop/khula/workflows"
)

// Scoring is what the workers need from the instrument registry.
type Scoring interface {
	workflows.FormChecker
	activities.Scorer
	// SiteInstrument names the instrument version a site uses.
	SiteInstrument(siteID string) (cycle.InstrumentRef, bool)
	// Instrument returns a loaded instrument version.
	Instrument(ref cycle.InstrumentRef) (*instrument.Instrument, bool)
}

// WorkerOptions tune the site workers.
type WorkerOptions struct {
	// MaxConcurrentActivities bounds activities per worker. Default 64.
	MaxConcurrentActivities int
	// MaxConcurrentWorkflowTasks bounds workflow tasks per worker. Default 32.
	MaxConcurrentWorkflowTasks int
}

// SDKOptions is the Temporal worker tuning every khula worker uses (and
// khula bench's baseline, so the comparison is like for like).
//
// Workflow-task pollers autoscale rather than use the SDK's default pair of
// mixed pollers: a mixed poller always prefers the sticky queue while it
// reports a backlog, so under sustained load (many open cycles firing
// reminders) the first task of every new workflow (a referral, a meeting)
// waited minutes in the normal queue. The autoscaling balancer keeps at
// least one poll open on the normal queue at all times.
func (o WorkerOptions) SDKOptions() worker.Options {
	if o.MaxConcurrentActivities == 0 {
		o.MaxConcurrentActivities = 64
	}
	if o.MaxConcurrentWorkflowTasks == 0 {
		o.MaxConcurrentWorkflowTasks = 32
	}
	return worker.Options{
		MaxConcurrentActivityExecutionSize:     o.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: o.MaxConcurrentWorkflowTasks,
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{
			InitialNumberOfPollers: 2, MinimumNumberOfPollers: 1, MaximumNumberOfPollers: 8,
		}),
		WorkflowPanicPolicy: worker.BlockWorkflow,
		// Let running activities finish on a graceful stop instead of
		// leaving them to time out on the engine.
		WorkerStopTimeout: 10 * time.Second,
	}
}

// StartWorkers starts one worker per site on the site's task queue.
func StartWorkers(c client.Client, dir *sitedir.Directory, scoring Scoring, st *store.Store, plugs activities.Plugins, opts WorkerOptions) ([]worker.Worker, error) {
	acts := &activities.Activities{
		Records:   st,
		Sites:     dir,
		Scorer:    scoring,
		Plugins:   plugs,
		Messages:  messages.NewCatalog(),
		Starter:   &temporalx.Starter{Client: c},
		Retention: &retention.Runner{Store: st, Sites: dir},
		Intake: &intakesubmit.Puller{
			Submitter:  &intakesubmit.Submitter{Temporal: c, Store: st},
			Plugins:    plugs,
			Instrument: siteInstrument(scoring),
		},
	}
	wf := &workflows.Workflows{Forms: scoring}
	var started []worker.Worker
	for _, site := range dir.Sites() {
		w := worker.New(c, site.TaskQueue(), opts.SDKOptions())
		workflows.Register(w, wf, acts)
		if err := w.Start(); err != nil {
			for _, s := range started {
				s.Stop()
			}
			return nil, fmt.Errorf("starting worker for %s: %w", site.ID, err)
		}
		started = append(started, w)
	}
	return started, nil
}

// siteInstrument finds a site's effective instrument in the registry.
func siteInstrument(scoring Scoring) func(siteID string) (*instrument.Instrument, error) {
	return func(siteID string) (*instrument.Instrument, error) {
		ref, ok := scoring.SiteInstrument(siteID)
		if !ok {
			return nil, fmt.Errorf("site %s has no instrument loaded", siteID)
		}
		in, ok := scoring.Instrument(ref)
		if !ok {
			return nil, fmt.Errorf("instrument %s of site %s is not loaded", ref, siteID)
		}
		return in, nil
	}
}

// EnsureIntakeSchedules creates, per site with an intake plugin, a Temporal
// Schedule that pulls its form submissions every plugins.intake.every (a
// pull still running when the next is due is not doubled). An existing
// schedule is left as it is unless its interval differs from the site's,
// in which case it is updated.
func EnsureIntakeSchedules(ctx context.Context, c client.Client, dir *sitedir.Directory) (int, error) {
	changed := 0
	for _, site := range dir.Sites() {
		if !site.Plugins.Intake.Configured() {
			continue
		}
		every := site.Plugins.Intake.Interval()
		id := "intake/" + site.ID
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:      id,
			Spec:    spec,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			Action: &client.ScheduleWorkflowAction{
				ID: id, Workflow: workflows.IntakeWorkflowName, Args: []any{site.ID}, TaskQueue: site.TaskQueue(),
			},
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			updated := false
			err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					cur := in.Description.Schedule.Spec
					if cur != nil && len(cur.Intervals) == 1 && cur.Intervals[0].Every == every {
						return nil, temporal.ErrSkipScheduleUpdate
					}
					in.Description.Schedule.Spec = &spec
					updated = true
					return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
				},
			})
			if err != nil {
				return changed, fmt.Errorf("intake schedule for %s: %w", site.ID, err)
			}
			if updated {
				changed++
			}
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("intake schedule for %s: %w", site.ID, err)
		}
		changed++
	}
	return changed, nil
}

// EnsureMeetingSchedules creates one Temporal Schedule per school that starts
// its MeetingWorkflow at the site's cadence; existing schedules are left as they are.
func EnsureMeetingSchedules(ctx context.Context, c client.Client, dir *sitedir.Directory) (int, error) {
	created := 0
	for _, site := range dir.Sites() {
		offset, err := meetingOffset(site)
		if err != nil {
			return created, err
		}
		types := site.ServiceTypes()
		for _, sc := range site.Schools {
			_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
				ID: fmt.Sprintf("meetings/%s/%s", site.ID, sc.ID),
				Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{
					Every: site.Meetings.Every.D(), Offset: offset % site.Meetings.Every.D(),
				}}},
				Action: &client.ScheduleWorkflowAction{
					ID:        fmt.Sprintf("meeting/%s/%s/scheduled", site.ID, sc.ID),
					Workflow:  workflows.MeetingWorkflowName,
					Args:      []any{cycle.MeetingInput{SiteID: site.ID, SchoolID: sc.ID, MinutesAfter: 7 * 24 * time.Hour, ServiceTypes: types}},
					TaskQueue: site.TaskQueue(),
				},
			})
			if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
				continue
			}
			if err != nil {
				return created, fmt.Errorf("meeting schedule for %s/%s: %w", site.ID, sc.ID, err)
			}
			created++
		}
	}
	return created, nil
}

// meetingOffset places the interval on the site's weekday and local time:
// intervals count from the Unix epoch, a Thursday at 00:00 UTC.
func meetingOffset(site *sites.Site) (time.Duration, error) {
	loc, err := time.LoadLocation(site.Timezone)
	if err != nil {
		return 0, fmt.Errorf("site %s time zone: %w", site.ID, err)
	}
	clock, err := time.ParseInLocation("15:04", site.Meetings.Time, loc)
	if err != nil {
		return 0, fmt.Errorf("site %s meeting time: %w", site.ID, err)
	}
	weekdays := map[string]int{"thursday": 0, "friday": 1, "saturday": 2, "sunday": 3, "monday": 4, "tuesday": 5, "wednesday": 6}
	days, ok := weekdays[strings.ToLower(site.Meetings.Weekday)]
	if !ok {
		return 0, fmt.Errorf("site %s meeting weekday %q", site.ID, site.Meetings.Weekday)
	}
	_, zoneOffset := time.Date(2026, 1, 1, 12, 0, 0, 0, loc).Zone()
	local := time.Duration(clock.Hour())*time.Hour + time.Duration(clock.Minute())*time.Minute
	off := time.Duration(days)*24*time.Hour + local - time.Duration(zoneOffset)*time.Second
	if off < 0 {
		off += 7 * 24 * time.Hour
	}
	return off, nil
}

// EnsureRetentionSchedules creates, per site with a retention period, a
// Temporal Schedule running the retention workflow daily at 02:00 site time.
func EnsureRetentionSchedules(ctx context.Context, c client.Client, dir *sitedir.Directory) (int, error) {
	created := 0
	for _, site := range dir.Sites() {
		if site.Retention.DeidentifyAfter <= 0 {
			continue
		}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: "retention/" + site.ID,
			Spec: client.ScheduleSpec{
				Calendars:    []client.ScheduleCalendarSpec{{Hour: []client.ScheduleRange{{Start: 2}}}},
				TimeZoneName: site.Timezone,
			},
			Action: &client.ScheduleWorkflowAction{
				ID: "retention/" + site.ID, Workflow: workflows.RetentionWorkflowName, Args: []any{site.ID}, TaskQueue: site.TaskQueue(),
			},
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			continue
		}
		if err != nil {
			return created, fmt.Errorf("retention schedule for %s: %w", site.ID, err)
		}
		created++
	}
	return created, nil
}

// SiteWorkers are the running parts that serve some sites: their plugin
// host, a Temporal worker per site, and how many meeting schedules exist.
type SiteWorkers struct {
	Plugins          *host.Host
	Workers          []worker.Worker
	MeetingSchedules int
}

// Stop stops the workers, then the plugin processes they call.
func (s *SiteWorkers) Stop() {
	for _, w := range s.Workers {
		w.Stop()
	}
	if s.Plugins != nil {
		_ = s.Plugins.Close()
	}
}

// RunSites starts what serving sites takes, as `khula worker` and `khula
// dev` both do: the plugin host, a worker per site, and the sites'
// Schedules (school meetings, retention, intake pulls). On an error it
// stops what it had started.
func (rt *Runtime) RunSites(ctx context.Context, dir *sitedir.Directory, po PluginOptions, wo WorkerOptions) (*SiteWorkers, error) {
	s := &SiteWorkers{}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	var err error
	if s.Plugins, err = rt.StartPlugins(po); err != nil {
		return nil, err
	}
	if s.Workers, err = StartWorkers(rt.Client, dir, rt.Scoring, rt.Store, s.Plugins, wo); err != nil {
		return nil, err
	}
	if s.MeetingSchedules, err = EnsureMeetingSchedules(ctx, rt.Client, dir); err != nil {
		return nil, err
	}
	if _, err := EnsureRetentionSchedules(ctx, rt.Client, dir); err != nil {
		return nil, err
	}
	if _, err := EnsureIntakeSchedules(ctx, rt.Client, dir); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}
