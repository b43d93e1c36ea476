// Package webhook is the built-in "webhook" notify plugin: each message is
// POSTed as JSON to a configured URL (an SMS or WhatsApp gateway, a chat
// bridge) or, without one, to a recipient whose channel is "webhook" and
// whose address is a URL. Every request carries an Idempotency-Key header
// equal to the message's idempotency key, the same on every attempt, and a
// message is sent once per key (see plugins/journal).
//
// A recipient whose channel is "sms" or "whatsapp" is a phone number: it is
// read as internal/phone reads it (South African without a country code)
// and posted in its E.164 form ("+27821234567"), which gateways expect. An
// address that is not a valid phone number is a permanent error (journaled
// as failed), whose text does not repeat the number, and nothing is posted.
//
// Settings (site.yaml plugins.notify.config):
//
//	url: https://gateway.example.org/khula/messages
//	secret_env: KHULA_WEBHOOK_SECRET   # X-Khula-Signature: sha256=<HMAC of the body>
//	headers: {X-Tenant: moutse}
//	timeout: 15s
package webhook

import (
	"context"
	"net/http"

	"github.com/khula-cop/khula/internal/phone"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "webhook"

// Plugin is the webhook notifier.
type Plugin struct {
	settings deliver.Webhook
	site     string
	journal  *journal.Journal
	http     *http.Client
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl           = (*Plugin)(nil)
	_ plugins.NotifyService = (*Plugin)(nil)
)

// Name returns "webhook".
func (p *Plugin) Name() string { return Name }

// Configure reads the settings and opens the journal.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.journal != nil {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	if p.settings.URL != "" {
		if err := deliver.CheckURL(p.settings.URL); err != nil {
			return err
		}
	}
	if _, err := deliver.Secret(p.settings.SecretEnv); err != nil {
		return err
	}
	j, err := deliver.OpenJournal(cfg, "messages")
	if err != nil {
		return err
	}
	p.site, p.journal, p.http = cfg.SiteID, j, deliver.HTTPClient()
	return nil
}

// Payload is the JSON body the webhook receives.
type Payload struct {
	IdempotencyKey string    `json:"idempotency_key"`
	SiteID         string    `json:"site_id"`
	Recipient      Recipient `json:"recipient"`
	Language       string    `json:"language"`
	Template       string    `json:"template"`
	Subject        string    `json:"subject"`
	Body           string    `json:"body"`
}

// Recipient is who the message is for.
type Recipient struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// Send posts the message once per idempotency key.
func (p *Plugin) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	target := p.settings.URL
	if target == "" {
		if msg.To.Channel != "webhook" {
			return plugins.Delivery{}, deliver.Permanent("recipient channel %q: the webhook plugin has no url and the recipient is not a webhook", msg.To.Channel)
		}
		target = msg.To.Address
	}
	d, dup, err := journal.Do(ctx, p.journal, msg.IdempotencyKey, journal.Op[struct{}, plugins.Delivery]{
		Fingerprint: deliver.Fingerprint(msg),
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (plugins.Delivery, error) {
			to, err := recipient(msg.To)
			if err != nil {
				return plugins.Delivery{}, err
			}
			ref, err := p.settings.Post(ctx, p.http, target, msg.IdempotencyKey, Payload{
				IdempotencyKey: msg.IdempotencyKey, SiteID: msg.SiteID,
				Recipient: to,
				Language:  msg.Language, Template: msg.Template, Subject: msg.Subject, Body: msg.Body,
			})
			if err != nil {
				return plugins.Delivery{}, err
			}
			if ref == "" {
				ref = "webhook:" + deliver.Hash(msg.IdempotencyKey)
			}
			return plugins.Delivery{MessageRef: ref}, nil
		},
	})
	d.Duplicate = dup
	return d, err
}

// phoneChannels are the channels whose address is a phone number.
var phoneChannels = map[string]bool{"sms": true, "whatsapp": true}

// recipient is the payload's recipient: a phone number in its E.164 form,
// any other address as it is. An invalid phone number is a permanent error
// (retrying cannot mend it) that does not contain the number.
func recipient(c plugins.Contact) (Recipient, error) {
	if !phoneChannels[c.Channel] {
		return Recipient{Channel: c.Channel, Address: c.Address}, nil
	}
	e164, err := phone.E164(c.Address)
	if err != nil {
		return Recipient{}, deliver.Permanent("recipient of channel %s: %v", c.Channel, err)
	}
	return Recipient{Channel: c.Channel, Address: e164}, nil
}

// DeliveryStatus reports the journal's state of a message.
func (p *Plugin) DeliveryStatus(ctx context.Context, key string) (plugins.DeliveryState, error) {
	return deliver.DeliveryState(p.journal, key), nil
}
