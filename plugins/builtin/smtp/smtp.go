// Package smtp is the built-in "smtp" notify plugin: each message goes as a
// plain-text mail through a relay to a recipient whose channel is "email".
// Its Message-ID is derived from the idempotency key (identical on every
// attempt, so a receiving system that deduplicates on Message-ID keeps one
// copy) and the key itself rides in X-Khula-Idempotency-Key; a message is
// sent once per key (see plugins/journal).
//
// Settings (site.yaml plugins.notify.config): those of deliver.SMTP:
//
//	addr: mail.example.org:587
//	from: khula@example.org
//	username: khula
//	password_env: KHULA_SMTP_PASSWORD
//	tls: starttls            # or require, none
//	ca_file: /etc/khula/relay-ca.pem   # optional: a private CA that signed the relay's certificate
package smtp

import (
	"context"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "smtp"

// Plugin is the SMTP notifier.
type Plugin struct {
	settings deliver.SMTP
	journal  *journal.Journal
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl           = (*Plugin)(nil)
	_ plugins.NotifyService = (*Plugin)(nil)
)

// Name returns "smtp".
func (p *Plugin) Name() string { return Name }

// Configure reads the settings and opens the journal.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.journal != nil {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	if err := p.settings.Check(); err != nil {
		return err
	}
	j, err := deliver.OpenJournal(cfg, "messages")
	if err != nil {
		return err
	}
	p.journal = j
	return nil
}

// Send mails the message once per idempotency key.
func (p *Plugin) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	if msg.To.Channel != "email" {
		return plugins.Delivery{}, deliver.Permanent("recipient channel %q: the smtp plugin sends email only", msg.To.Channel)
	}
	d, dup, err := journal.Do(ctx, p.journal, msg.IdempotencyKey, journal.Op[struct{}, plugins.Delivery]{
		Fingerprint: deliver.Fingerprint(msg),
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (plugins.Delivery, error) {
			id, err := p.settings.Send(ctx, deliver.Mail{
				Key: msg.IdempotencyKey, To: msg.To.Address, Subject: msg.Subject, Body: msg.Body,
				Language: msg.Language, Headers: map[string]string{"X-Khula-Template": msg.Template},
			})
			if err != nil {
				return plugins.Delivery{}, err
			}
			return plugins.Delivery{MessageRef: "email:" + id}, nil
		},
	})
	d.Duplicate = dup
	return d, err
}

// DeliveryStatus reports the journal's state of a message.
func (p *Plugin) DeliveryStatus(ctx context.Context, key string) (plugins.DeliveryState, error) {
	return deliver.DeliveryState(p.journal, key), nil
}
