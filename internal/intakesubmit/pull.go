package intakesubmit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/cycleupdate"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/intake"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/plugins"
)

// MaxReportErrors bounds the row errors a pull's report lists; the counts
// still cover every row.
const MaxReportErrors = activities.MaxIntakeReportErrors

// maxPullRows bounds the submissions of one pull (as an upload's).
const maxPullRows = 20000

// ErrUnavailable marks a pull stopped by something that passes (the
// database, the engine): the next attempt submits the rest, and nothing is
// submitted twice.
var ErrUnavailable = errors.New("intake pull stopped")

// Report tells what one pull did (see activities.IntakeReport).
type Report = activities.IntakeReport

// RowError is why one row of a pull was not submitted.
type RowError = activities.IntakeRowError

func fail(r *Report, row int, instanceID, reason string) {
	r.NotSubmitted++
	if len(r.Errors) < MaxReportErrors {
		r.Errors = append(r.Errors, RowError{Row: row, InstanceID: instanceID, Reason: reason})
	}
}

// Intakers gives a site's intake plugin.
type Intakers interface {
	Intaker(siteID string) (plugins.Intaker, error)
}

// Puller asks a site's intake plugin for its form server's submissions and
// submits each new one to its cycle.
type Puller struct {
	Submitter *Submitter
	Plugins   Intakers
	// Instrument gives the site's effective instrument.
	Instrument func(siteID string) (*instrument.Instrument, error)
}

// Who is the submitted_by of pulled forms (before the instanceID mark).
const Who = "intake pull"

// Pull fetches the site's submissions and submits those not yet submitted.
// Rows that cannot be submitted (unreadable, another site's child, refused
// by the cycle) are counted and listed and the pull goes on. An error
// wrapping plugins.ErrPermanent means the plugin's settings or the server's
// answer need a person; one wrapping ErrUnavailable means a later attempt
// will do the rest.
// progress, if not nil, is called as rows are done (an activity heartbeats).
func (p *Puller) Pull(ctx context.Context, siteID string, progress func(done, total int)) (Report, error) {
	if progress == nil {
		progress = func(int, int) {}
	}
	var rep Report
	in, err := p.Instrument(siteID)
	if err != nil {
		return rep, fmt.Errorf("the instrument of site %s: %w", siteID, err)
	}
	intaker, err := p.Plugins.Intaker(siteID)
	if err != nil {
		return rep, fmt.Errorf("the intake plugin of site %s: %w", siteID, err)
	}
	batch, err := intaker.Fetch(ctx, plugins.IntakeRequest{SiteID: siteID})
	if err != nil {
		return rep, fmt.Errorf("fetching submissions: %w", err)
	}
	rep.Source = batch.Source
	format, err := intake.ParseFormat(batch.Format)
	if err != nil {
		return rep, fmt.Errorf("%w: the plugin named an unknown export format %q", plugins.ErrPermanent, batch.Format)
	}
	var subs []intake.Submission
	sum, err := intake.Parse(bytes.NewReader(batch.Data), in, intake.Options{Site: siteID, Format: format, MaxRows: maxPullRows}, func(s intake.Submission) error {
		subs = append(subs, s)
		return nil
	})
	batch.Data = nil
	if err != nil {
		return rep, fmt.Errorf("%w: reading the export from %s: %v", plugins.ErrPermanent, batch.Source, err)
	}
	rep.Format, rep.Rows = sum.Format, sum.Rows
	for _, e := range sum.Errors {
		reason := e.Reason
		if e.Field != "" {
			reason = e.Field + ": " + reason
		}
		fail(&rep, e.Row, e.InstanceID, reason)
	}
	flags := in.PortableFlags()
	sites := map[string]string{}
	for i, sub := range subs {
		progress(i, len(subs))
		if sub.Rejected {
			rep.Rejected++
			continue
		}
		childSite, ok := sites[sub.Child]
		if !ok {
			childSite, _, err = p.Submitter.Store.ChildSchool(ctx, sub.Child)
			switch {
			case errors.Is(err, store.ErrNotFound):
				childSite = ""
			case err != nil:
				return rep, fmt.Errorf("%w: the database did not answer: %v", ErrUnavailable, err)
			}
			sites[sub.Child] = childSite
		}
		if childSite != siteID {
			fail(&rep, sub.Row, sub.InstanceID, "cycle_ref: no such child at this site")
			continue
		}
		outcome, err := p.Submitter.Submit(ctx, Who, sub)
		if err != nil {
			reason, stop := classify(err, sub.Wave)
			if stop {
				return rep, fmt.Errorf("%w: %s", ErrUnavailable, reason)
			}
			fail(&rep, sub.Row, sub.InstanceID, reason)
			continue
		}
		switch outcome {
		case Already:
			rep.Already++
		case Submitted:
			rep.Submitted++
			rep.RedFlags += RedFlags(flags, sub.Answers)
		}
	}
	progress(len(subs), len(subs))
	return rep, nil
}

// classify turns a submission's failure into a row's reason, or says the
// pull must stop because nothing more can be submitted for now.
func classify(err error, wave int) (reason string, stop bool) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case cycle.ErrTypeInvalidInput:
			var fields []cycle.FieldError
			_ = appErr.Details(&fields)
			msgs := make([]string, 0, min(len(fields), 3))
			for _, f := range fields[:min(len(fields), 3)] {
				msgs = append(msgs, f.Message)
			}
			if len(fields) > 3 {
				msgs = append(msgs, fmt.Sprintf("and %d more", len(fields)-3))
			}
			return "the cycle rejected the answers: " + strings.Join(msgs, "; "), false
		case cycle.ErrTypeConflict:
			return appErr.Message(), false
		}
	}
	if errors.Is(err, cycleupdate.ErrClosed) {
		return fmt.Sprintf("the child's wave %d cycle has closed", wave), false
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Sprintf("no running cycle for this child in wave %d: it may not exist or may have closed", wave), false
	}
	if errors.Is(err, ErrStoreDown) {
		return "the database did not answer", true
	}
	return "the engine did not take the form (" + err.Error() + ")", true
}
