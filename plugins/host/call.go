package host

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/shared"
)

func execCommand(path string) *exec.Cmd { return exec.Command(path) }

// call runs one method on the site's plugin: starting it if need be, under
// the call time-out, counting it, and turning a crash or a time-out into a
// retryable error that says what happened.
func call[S, T any](ctx context.Context, p *proc, method string, fn func(ctx context.Context, svc S) (T, error)) (T, error) {
	return callWithin(ctx, p, method, p.h.opts.CallTimeout, fn)
}

// callWithin is call with its own time-out, for a call that waits on a
// slow outside server (an intake plugin's download).
func callWithin[S, T any](ctx context.Context, p *proc, method string, timeout time.Duration, fn func(ctx context.Context, svc S) (T, error)) (T, error) {
	var zero T
	start := time.Now()
	run, err := p.ensure(ctx)
	if err != nil {
		p.h.metrics.call(p.site.ID, p.role, p.label, method, time.Since(start), kindStart)
		return zero, err
	}
	svc, ok := run.svc.(S)
	if !ok {
		p.h.metrics.call(p.site.ID, p.role, p.label, method, time.Since(start), kindStart)
		return zero, fmt.Errorf("%w: %w: %s: unexpected client %T", plugins.ErrUnavailable, ErrStart, p.what(), run.svc)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := fn(cctx, svc)
	kind := ""
	switch {
	case err == nil:
	case ctx.Err() != nil:
		kind = kindCanceled
		err = fmt.Errorf("%s: %s: %w", p.what(), method, ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded) || pastDeadline(cctx):
		kind = kindTimeout
		if p.failed(run.gen) {
			kind = kindCrash
		}
		err = fmt.Errorf("%w: %w: %s: %s did not answer within %s; the call is safe to retry with the same idempotency key",
			plugins.ErrUnavailable, ErrTimeout, p.what(), method, timeout)
	case shared.IsTransport(err) && p.failed(run.gen):
		kind = kindCrash
		err = fmt.Errorf("%w: %w: %s crashed during %s; it is restarted on the next call, which is safe to retry with the same idempotency key (%v)",
			plugins.ErrUnavailable, ErrCrashed, p.what(), method, err)
	case errors.Is(err, plugins.ErrUnsupported):
		kind = kindUnsupported
		err = fmt.Errorf("%s: %w", p.what(), err)
	case errors.Is(err, plugins.ErrPermanent):
		kind = kindPermanent
		err = fmt.Errorf("%s: %w", p.what(), err)
	default:
		kind = kindTransient
		err = fmt.Errorf("%s: %w", p.what(), err)
	}
	p.h.metrics.call(p.site.ID, p.role, p.label, method, time.Since(start), kind)
	if err != nil {
		return zero, err
	}
	return out, nil
}

// referrer is a site's referral plugin as the activities see it.
type referrer struct{ p *proc }

var _ plugins.ReferralService = (*referrer)(nil)

func (r *referrer) Dispatch(ctx context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	if req.IdempotencyKey == "" {
		return plugins.ReferralReceipt{}, fmt.Errorf("%w: referral without an idempotency key", plugins.ErrPermanent)
	}
	return call(ctx, r.p, "Dispatch", func(ctx context.Context, s plugins.ReferralService) (plugins.ReferralReceipt, error) {
		return s.Dispatch(ctx, req)
	})
}

func (r *referrer) FindServices(ctx context.Context, q plugins.ServiceQuery) ([]plugins.Service, error) {
	return call(ctx, r.p, "FindServices", func(ctx context.Context, s plugins.ReferralService) ([]plugins.Service, error) {
		return s.FindServices(ctx, q)
	})
}

func (r *referrer) Status(ctx context.Context, key string) (plugins.ReferralStatus, error) {
	return call(ctx, r.p, "Status", func(ctx context.Context, s plugins.ReferralService) (plugins.ReferralStatus, error) {
		return s.Status(ctx, key)
	})
}

// notifier is a site's notify plugin as the activities see it.
type notifier struct{ p *proc }

var _ plugins.NotifyService = (*notifier)(nil)

func (n *notifier) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	if msg.IdempotencyKey == "" {
		return plugins.Delivery{}, fmt.Errorf("%w: message without an idempotency key", plugins.ErrPermanent)
	}
	return call(ctx, n.p, "Send", func(ctx context.Context, s plugins.NotifyService) (plugins.Delivery, error) {
		return s.Send(ctx, msg)
	})
}

func (n *notifier) DeliveryStatus(ctx context.Context, key string) (plugins.DeliveryState, error) {
	return call(ctx, n.p, "DeliveryStatus", func(ctx context.Context, s plugins.NotifyService) (plugins.DeliveryState, error) {
		return s.DeliveryStatus(ctx, key)
	})
}

// exporter is a site's export plugin as the activities see it.
type exporter struct{ p *proc }

var _ plugins.Exporter = (*exporter)(nil)

func (e *exporter) Push(ctx context.Context, b plugins.ExportBatch) (plugins.ExportReceipt, error) {
	if b.IdempotencyKey == "" {
		return plugins.ExportReceipt{}, fmt.Errorf("%w: export batch without an idempotency key", plugins.ErrPermanent)
	}
	return call(ctx, e.p, "Push", func(ctx context.Context, s plugins.Exporter) (plugins.ExportReceipt, error) {
		return s.Push(ctx, b)
	})
}

// intaker is a site's intake plugin as the activities see it.
type intaker struct{ p *proc }

var _ plugins.Intaker = (*intaker)(nil)

func (i *intaker) Fetch(ctx context.Context, req plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	return callWithin(ctx, i.p, "Fetch", i.p.h.opts.FetchTimeout, func(ctx context.Context, s plugins.Intaker) (plugins.IntakeBatch, error) {
		return s.Fetch(ctx, req)
	})
}

// pastDeadline reports whether ctx's deadline has passed. gRPC enforces the
// deadline with its own timer, so on a busy machine a call can fail with
// DeadlineExceeded a moment before ctx.Err() says so.
func pastDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
