// Package plugins defines the contracts khula's site plugins implement: a
// referral role (find a service and dispatch a referral to it), a notify role
// (send a message to a person in their language), an export role and an
// intake role (fetch form submissions from ODK Central or KoboToolbox). The
// activities depend only on these Go interfaces; how a site's plugin runs
// (inside the process or as a separate go-plugin process) is the host's business
// (package plugins/host). The wire protocol is in plugins/proto and the shims
// that translate it to these types in plugins/shared.
//
// Errors: wrap ErrPermanent when retrying cannot help (the activity then
// stops retrying) and ErrUnavailable when it can; any other error is treated
// as transient too.
package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"
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

// ErrUnavailable marks a transient plugin failure: the plugin process crashed
// or was restarted, a call timed out, or the plugin could not reach its
// service for now. Retrying the same request (with the same idempotency key)
// is safe and expected.
var ErrUnavailable = errors.New("plugin: unavailable")

// ErrUnsupported marks a call the plugin does not implement (an optional
// method such as Status). It also wraps ErrPermanent: retrying cannot help.
var ErrUnsupported = fmt.Errorf("plugin: operation not supported: %w", ErrPermanent)

// Roles a plugin can serve; a site names one plugin per role.
const (
	RoleReferral = "referral"
	RoleNotify   = "notify"
	RoleExport   = "export"
	RoleIntake   = "intake"
)

// Service is one entry of a site's services directory as plugins see it.
type Service struct {
	ID      string
	Name    string
	Type    string
	Domains []string
	// Schools lists the schools the service takes referrals from; empty
	// means every school of the site.
	Schools []string
	Contact Contact
}

// ServiceQuery asks a referral plugin which services can meet a need.
// Empty fields match anything.
type ServiceQuery struct {
	// Need is the service type a plan action asks for (e.g. "clinic").
	Need     string
	Domain   string
	SchoolID string
	// Area narrows the search geographically (a ward, a district) for
	// plugins backed by a regional directory; others ignore it.
	Area string
}

// ServiceFinder lists the services that can meet a need.
type ServiceFinder interface {
	FindServices(ctx context.Context, q ServiceQuery) ([]Service, error)
}

// Referral states a plugin reports for an idempotency key.
const (
	// ReferralUnknown: the plugin has no record of the key.
	ReferralUnknown = "unknown"
	// ReferralPending: dispatch started but is not confirmed (a crash or a
	// failure left it open); a retry of Dispatch resends with the same key.
	ReferralPending = "pending"
	// ReferralDispatched: the service received the referral.
	ReferralDispatched = "dispatched"
	// ReferralAcknowledged: the service confirmed it will act.
	ReferralAcknowledged = "acknowledged"
	ReferralCompleted    = "completed"
	ReferralDeclined     = "declined"
	ReferralUnreachable  = "unreachable"
	// ReferralFailed: the plugin gave up on the key with a permanent error.
	ReferralFailed = "failed"
)

// ReferralStatus is what a plugin knows about one referral.
type ReferralStatus struct {
	IdempotencyKey string
	State          string
	DispatchRef    string
	Detail         string
	UpdatedAt      time.Time
}

// ReferralTracker reports what became of a dispatched referral.
type ReferralTracker interface {
	Status(ctx context.Context, idempotencyKey string) (ReferralStatus, error)
}

// ReferralService is everything a referral plugin offers. The host's
// Referrer values implement it; a plugin may implement only Referrer and
// answer ErrUnsupported for the rest.
type ReferralService interface {
	Referrer
	ServiceFinder
	ReferralTracker
}

// Delivery states a notify plugin reports for an idempotency key.
const (
	DeliveryUnknown   = "unknown"
	DeliveryPending   = "pending"
	DeliverySent      = "sent"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// DeliveryState is what a plugin knows about one message.
type DeliveryState struct {
	IdempotencyKey string
	State          string
	MessageRef     string
	Detail         string
	UpdatedAt      time.Time
}

// DeliveryTracker reports what became of a sent message.
type DeliveryTracker interface {
	DeliveryStatus(ctx context.Context, idempotencyKey string) (DeliveryState, error)
}

// NotifyService is everything a notify plugin offers. The host's Notifier
// values implement it.
type NotifyService interface {
	Notifier
	DeliveryTracker
}

// ExportRecord is one child's record for a data system such as DHIS2
// Tracker: a pseudonymous reference, never a name.
type ExportRecord struct {
	// RecordID is stable for one event of one child (e.g. a cycle ID and a
	// phase); exporters derive their target identifiers from it, so a
	// re-export updates instead of duplicating.
	RecordID string
	ChildRef string
	SchoolID string
	// Stage names the kind of event (e.g. "baseline", "followup").
	Stage      string
	EnrolledAt time.Time
	OccurredAt time.Time
	// Attributes describe the child (e.g. "sex", "age_band"); keys are
	// khula names that the exporter's config maps to target identifiers.
	Attributes map[string]string
	// Values are the event's data (e.g. "risk.health": "high").
	Values map[string]string
}

// ExportAggregate is one aggregate figure (e.g. children at high risk in a
// school in a period).
type ExportAggregate struct {
	SchoolID string
	// Period in DHIS2 notation: "202608" (month), "2026W32" (week), "2026" (year).
	Period string
	Key    string
	Value  string
}

// ExportBatch is one push to an export target.
type ExportBatch struct {
	// IdempotencyKey is the same on every retry of one batch.
	IdempotencyKey string
	SiteID         string
	Records        []ExportRecord
	Aggregates     []ExportAggregate
}

// ExportReceipt is the exporter's record of a push.
type ExportReceipt struct {
	PushRef   string
	Accepted  int
	Duplicate bool
}

// Exporter pushes records and aggregates to a site's data system.
type Exporter interface {
	Push(ctx context.Context, batch ExportBatch) (ExportReceipt, error)
}

// MaxIntakeBytes bounds one export an intake plugin returns: a plugin
// answers ErrPermanent rather than cut an export short, and the host
// refuses a longer one.
const MaxIntakeBytes = 32 << 20

// IntakeRequest asks an intake plugin for the form submissions its server
// holds for the site's form.
type IntakeRequest struct {
	SiteID string
}

// IntakeBatch is one export of form submissions, as the server gave it.
// It holds children's answers: a plugin keeps it only as long as the call.
type IntakeBatch struct {
	// Format names the export format as package intake reads it
	// ("central-json", "central-csv", "kobo-json", "kobo-csv"); "" lets the
	// reader detect it.
	Format string
	// Data is the export, at most MaxIntakeBytes.
	Data []byte
	// Source names where it came from for the operator, without
	// credentials (e.g. "ODK Central https://central.example.org, form cwbtt").
	Source string
}

// Intaker fetches the submissions of a site's form from a form server
// (ODK Central, KoboToolbox). Fetching changes nothing on the server, so a
// retry is always safe; khula submits each submission once, by its
// instanceID, however often it is fetched.
type Intaker interface {
	Fetch(ctx context.Context, req IntakeRequest) (IntakeBatch, error)
}

// Info describes a running plugin.
type Info struct {
	Name            string
	Version         string
	Roles           []string
	ProtocolVersion int
}

// Config is what the host gives a plugin before the first call.
type Config struct {
	SiteID string
	// Role is the role the host uses the plugin for.
	Role string
	// Settings is the site's plugin config (PluginRef.Config) as JSON.
	Settings []byte
	// Services is the site's services directory.
	Services        []Service
	Timezone        string
	Languages       []string
	DefaultLanguage string
	// StateDir is a directory only this plugin (site and role) uses,
	// kept across restarts; plugins keep their idempotency journal there.
	StateDir string
}
