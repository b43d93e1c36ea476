// Package plugins defines the contracts khula's site plugins implement: a
// referral role (find a service and dispatch a referral to it), a notify role
// (send a message to a person in their language) and an export role. The
// activities depend only on these Go interfaces; how a site's plugin runs
// (inside the process or as a separate go-plugin process) is the host's business.
package plugins

import (
	"context"
	"errors"
)

// ErrPermanent marks a plugin failure that retrying cannot fix (a rejected
// request, an unknown service). Wrap it so activities stop retrying.
var ErrPermanent = errors.New("plugin: permanent failure")

// Contact is how a plugin reaches a person or service.
type Contact struct {
	Channel string
	Address string
}

// ReferralRequest asks a service to take a child on. It carries an opaque
// child reference, never the child's name: the service learns who the child
// is through its own channel with the family.
type ReferralRequest struct {
	// IdempotencyKey is the same on every retry of one referral; a plugin
	// must dispatch a key at most once.
	IdempotencyKey string
	SiteID         string
	SchoolID       string
	ServiceID      string
	ServiceType    string
	Domain         string
	Urgent         bool
	ChildRef       string
	Contact        Contact
	Language       string
}

// ReferralReceipt is the plugin's record of a dispatch.
type ReferralReceipt struct {
	DispatchRef string
	// Duplicate is true when the key had been dispatched before and the
	// plugin returned the earlier receipt instead of sending again.
	Duplicate bool
}

// Referrer dispatches referrals to services.
type Referrer interface {
	Dispatch(ctx context.Context, req ReferralRequest) (ReferralReceipt, error)
}

// Message is one notification to one person.
type Message struct {
	// IdempotencyKey is the same on every retry; a plugin sends a key once.
	IdempotencyKey string
	SiteID         string
	To             Contact
	Language       string
	Template       string
	Subject        string
	Body           string
}

// Delivery is the plugin's record of a sent message.
type Delivery struct {
	MessageRef string
	Duplicate  bool
}

// Notifier sends messages.
type Notifier interface {
	Send(ctx context.Context, msg Message) (Delivery, error)
}
