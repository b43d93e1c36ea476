// Package record is the built-in referral and notify implementation for dev
// and tests: it records every dispatch and message in the app database's
// outbox instead of sending it, keyed by idempotency key so a retry after a
// crash records nothing twice. Production sites use go-plugin processes.
package record

import (
	"context"
	"fmt"
	"time"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/plugins"
)

// Outbox is where records go.
type Outbox interface {
	RecordOutbox(ctx context.Context, r cycle.OutboxRecord) (inserted bool, err error)
}

// Kinds of outbox records.
const (
	KindReferral = "referral"
	KindMessage  = "message"
)

// Referrer records referral dispatches.
type Referrer struct {
	Outbox Outbox
	Now    func() time.Time
}

var _ plugins.Referrer = (*Referrer)(nil)

// Dispatch records the referral once and returns its key as the dispatch reference.
func (r *Referrer) Dispatch(ctx context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	if req.IdempotencyKey == "" {
		return plugins.ReferralReceipt{}, fmt.Errorf("%w: referral without an idempotency key", plugins.ErrPermanent)
	}
	urgency := "routine"
	if req.Urgent {
		urgency = "URGENT"
	}
	inserted, err := r.Outbox.RecordOutbox(ctx, cycle.OutboxRecord{
		Key: req.IdempotencyKey, Kind: KindReferral, SiteID: req.SiteID,
		Recipient: req.ServiceID, Channel: req.Contact.Channel, Language: req.Language, Template: "referral",
		Body: fmt.Sprintf("%s referral %s for %s (%s domain) from school %s", urgency, req.IdempotencyKey, req.ServiceType, req.Domain, req.SchoolID),
		At:   now(r.Now),
	})
	if err != nil {
		return plugins.ReferralReceipt{}, fmt.Errorf("recording referral: %w", err)
	}
	return plugins.ReferralReceipt{DispatchRef: "outbox:" + req.IdempotencyKey, Duplicate: !inserted}, nil
}

// Notifier records messages.
type Notifier struct {
	Outbox Outbox
	Now    func() time.Time
}

var _ plugins.Notifier = (*Notifier)(nil)

// Send records the message once.
func (n *Notifier) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	if msg.IdempotencyKey == "" {
		return plugins.Delivery{}, fmt.Errorf("%w: message without an idempotency key", plugins.ErrPermanent)
	}
	inserted, err := n.Outbox.RecordOutbox(ctx, cycle.OutboxRecord{
		Key: msg.IdempotencyKey, Kind: KindMessage, SiteID: msg.SiteID,
		Recipient: msg.To.Address, Channel: msg.To.Channel, Language: msg.Language, Template: msg.Template,
		Body: msg.Subject + "\n" + msg.Body, At: now(n.Now),
	})
	if err != nil {
		return plugins.Delivery{}, fmt.Errorf("recording message: %w", err)
	}
	return plugins.Delivery{MessageRef: "outbox:" + msg.IdempotencyKey, Duplicate: !inserted}, nil
}

func now(f func() time.Time) time.Time {
	if f != nil {
		return f().UTC()
	}
	return time.Now().UTC()
}
