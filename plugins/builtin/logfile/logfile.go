// Package logfile is the built-in "log" notify plugin, for sites without a
// messaging channel yet and for trials: it writes one line per message to
// notify.log in its state directory (and, with stderr: true, to the
// worker's log). A line holds the time, the idempotency key, the channel,
// the template and the language: never the address, subject or body, which
// may name staff or describe a child's situation. A key is logged once (see
// plugins/journal).
//
// Settings (site.yaml plugins.notify.config): {stderr: true} (default false).
package logfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "log"

// File is the log's name in the state directory.
const File = "notify.log"

// Settings are the plugin's config.
type Settings struct {
	Stderr bool `json:"stderr,omitempty"`
}

// Plugin is the log notifier.
type Plugin struct {
	settings Settings
	journal  *journal.Journal

	mu   sync.Mutex
	file *os.File
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl           = (*Plugin)(nil)
	_ plugins.NotifyService = (*Plugin)(nil)
)

// Name returns "log".
func (p *Plugin) Name() string { return Name }

// Configure reads the settings and opens the log and the journal.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.journal != nil {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	j, err := deliver.OpenJournal(cfg, "messages")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(cfg.StateDir, File), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		j.Close()
		return fmt.Errorf("%w: opening the message log: %v", plugins.ErrPermanent, err)
	}
	p.journal, p.file = j, f
	return nil
}

// Send logs the message once per idempotency key.
func (p *Plugin) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	d, dup, err := journal.Do(ctx, p.journal, msg.IdempotencyKey, journal.Op[struct{}, plugins.Delivery]{
		Fingerprint: deliver.Fingerprint(msg),
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (plugins.Delivery, error) {
			line := fmt.Sprintf("%s key=%s site=%s channel=%s template=%s language=%s\n",
				time.Now().UTC().Format(time.RFC3339), strconv.Quote(msg.IdempotencyKey), msg.SiteID,
				msg.To.Channel, msg.Template, msg.Language)
			p.mu.Lock()
			_, err := p.file.WriteString(line)
			if err == nil {
				err = p.file.Sync()
			}
			p.mu.Unlock()
			if err != nil {
				return plugins.Delivery{}, fmt.Errorf("%w: writing the message log: %v", plugins.ErrUnavailable, err)
			}
			if p.settings.Stderr {
				shared.Logger().Info("message", "key", msg.IdempotencyKey, "site", msg.SiteID,
					"channel", msg.To.Channel, "template", msg.Template, "language", msg.Language)
			}
			return plugins.Delivery{MessageRef: "log:" + deliver.Hash(msg.IdempotencyKey)}, nil
		},
	})
	d.Duplicate = dup
	return d, err
}

// DeliveryStatus reports the journal's state of a message.
func (p *Plugin) DeliveryStatus(ctx context.Context, key string) (plugins.DeliveryState, error) {
	return deliver.DeliveryState(p.journal, key), nil
}
