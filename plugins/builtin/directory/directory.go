// Package directory is the built-in "directory" referral plugin: it finds
// services in the site's services file and dispatches a referral to a
// service by e-mail (SMTP) or webhook, as the service's contact channel says,
// once per idempotency key (see plugins/journal).
//
// Settings (site.yaml plugins.referral.config):
//
//	smtp:    {addr: mail.example.org:587, from: referrals@example.org, username: ..., password_env: KHULA_SMTP_PASSWORD}
//	webhook: {secret_env: KHULA_WEBHOOK_SECRET, timeout: 15s}
//
// An "email" service gets a plain-text mail whose Message-ID is derived from
// the idempotency key and which carries it in X-Khula-Idempotency-Key; a
// "webhook" service (contact address an http(s) URL) gets a JSON POST with
// an Idempotency-Key header. Other channels are refused as permanent errors.
package directory

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "directory"

// Settings are the plugin's config.
type Settings struct {
	SMTP    *deliver.SMTP   `json:"smtp,omitempty"`
	Webhook deliver.Webhook `json:"webhook,omitempty"`
}

// Plugin is the directory referral plugin.
type Plugin struct {
	site     string
	settings Settings
	services []plugins.Service
	journal  *journal.Journal
	http     *http.Client
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl             = (*Plugin)(nil)
	_ plugins.ReferralService = (*Plugin)(nil)
)

// Name returns "directory".
func (p *Plugin) Name() string { return Name }

// Configure reads the settings and opens the journal.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.journal != nil {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	if p.settings.SMTP != nil {
		if err := p.settings.SMTP.Check(); err != nil {
			return err
		}
	}
	for _, s := range cfg.Services {
		if s.Contact.Channel == "email" && p.settings.SMTP == nil {
			return deliver.Permanent("service %s is reached by email but the plugin config has no smtp settings", s.ID)
		}
	}
	j, err := deliver.OpenJournal(cfg, "referrals")
	if err != nil {
		return err
	}
	p.site, p.services, p.journal, p.http = cfg.SiteID, cfg.Services, j, deliver.HTTPClient()
	return nil
}

// FindServices lists the site's services matching q (need = service type).
// Area is ignored: the services file has no areas.
func (p *Plugin) FindServices(ctx context.Context, q plugins.ServiceQuery) ([]plugins.Service, error) {
	var out []plugins.Service
	for _, s := range p.services {
		if q.Need != "" && s.Type != q.Need {
			continue
		}
		if q.Domain != "" && !slices.Contains(s.Domains, q.Domain) {
			continue
		}
		if q.SchoolID != "" && len(s.Schools) > 0 && !slices.Contains(s.Schools, q.SchoolID) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// Dispatch sends the referral to the service once per idempotency key.
func (p *Plugin) Dispatch(ctx context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	svc, known := p.service(req.ServiceID)
	contact := req.Contact
	if contact.Channel == "" {
		if !known {
			return plugins.ReferralReceipt{}, deliver.Permanent("service %q is not in the site's services file", req.ServiceID)
		}
		contact = svc.Contact
	}
	if !known {
		svc = plugins.Service{ID: req.ServiceID, Name: req.ServiceID, Type: req.ServiceType, Contact: contact}
	}
	var send func(ctx context.Context) (string, error)
	switch contact.Channel {
	case "email":
		if p.settings.SMTP == nil {
			return plugins.ReferralReceipt{}, deliver.Permanent("service %s is reached by email but the plugin config has no smtp settings", svc.ID)
		}
		send = func(ctx context.Context) (string, error) {
			id, err := p.settings.SMTP.Send(ctx, referralMail(req, svc, contact.Address))
			return "email:" + id, err
		}
	case "webhook":
		target := contact.Address
		if target == "" {
			target = p.settings.Webhook.URL
		}
		send = func(ctx context.Context) (string, error) {
			ref, err := p.settings.Webhook.Post(ctx, p.http, target, req.IdempotencyKey, referralPayload(req, svc))
			if ref == "" {
				ref = "webhook:" + deliver.Hash(req.IdempotencyKey)
			}
			return ref, err
		}
	default:
		return plugins.ReferralReceipt{}, deliver.Permanent("service %s is reached by %q: the directory plugin dispatches by email or webhook only", svc.ID, contact.Channel)
	}
	rec, dup, err := journal.Do(ctx, p.journal, req.IdempotencyKey, journal.Op[struct{}, plugins.ReferralReceipt]{
		Fingerprint: deliver.Fingerprint(req),
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (plugins.ReferralReceipt, error) {
			ref, err := send(ctx)
			if err != nil {
				return plugins.ReferralReceipt{}, err
			}
			return plugins.ReferralReceipt{DispatchRef: ref}, nil
		},
	})
	rec.Duplicate = dup
	return rec, err
}

// Status reports the journal's state of a referral.
func (p *Plugin) Status(ctx context.Context, key string) (plugins.ReferralStatus, error) {
	return deliver.ReferralStatus(p.journal, key), nil
}

func (p *Plugin) service(id string) (plugins.Service, bool) {
	for _, s := range p.services {
		if s.ID == id {
			return s, true
		}
	}
	return plugins.Service{}, false
}

// Payload is the JSON body a webhook service receives.
type Payload struct {
	IdempotencyKey string `json:"idempotency_key"`
	SiteID         string `json:"site_id"`
	SchoolID       string `json:"school_id"`
	ServiceID      string `json:"service_id"`
	ServiceType    string `json:"service_type"`
	Domain         string `json:"domain"`
	Urgent         bool   `json:"urgent"`
	ChildRef       string `json:"child_ref"`
	Language       string `json:"language"`
}

func referralPayload(req plugins.ReferralRequest, svc plugins.Service) Payload {
	return Payload{
		IdempotencyKey: req.IdempotencyKey, SiteID: req.SiteID, SchoolID: req.SchoolID,
		ServiceID: svc.ID, ServiceType: req.ServiceType, Domain: req.Domain, Urgent: req.Urgent,
		ChildRef: req.ChildRef, Language: req.Language,
	}
}

func referralMail(req plugins.ReferralRequest, svc plugins.Service, to string) deliver.Mail {
	urgency := "Referral"
	if req.Urgent {
		urgency = "URGENT referral"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s from the Local Level Community of Practice of school %s.\n\n", urgency, req.SchoolID)
	fmt.Fprintf(&b, "Service:          %s (%s)\n", svc.Name, svc.ID)
	fmt.Fprintf(&b, "Service type:     %s\n", req.ServiceType)
	fmt.Fprintf(&b, "Well-being area:  %s\n", req.Domain)
	fmt.Fprintf(&b, "Child reference:  %s\n", req.ChildRef)
	fmt.Fprintf(&b, "Family language:  %s\n\n", req.Language)
	b.WriteString("The school's social worker or fieldworker will contact you with the family's details.\n")
	b.WriteString("Please reply to this message to acknowledge the referral.\n\n")
	fmt.Fprintf(&b, "Referral key: %s\n", req.IdempotencyKey)
	headers := map[string]string{"X-Khula-Service": svc.ID}
	if req.Urgent {
		headers["X-Priority"] = "1"
		headers["Importance"] = "high"
	}
	return deliver.Mail{
		Key: req.IdempotencyKey, To: to, Language: req.Language, Headers: headers,
		Subject: fmt.Sprintf("%s: %s, school %s", urgency, req.ServiceType, req.SchoolID),
		Body:    b.String(),
	}
}
