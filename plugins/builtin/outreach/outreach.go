// Package outreach is the built-in "outreach" referral plugin for rural
// sites, where the service is a community health worker (CHW) on foot
// rather than an office with an inbox. A referral is assigned to a CHW
// (round-robin over the configured CHWs, in the order referrals first
// arrive), given a home-visit date (the next configured visit weekday at
// least lead_days ahead; the next day when urgent) and recorded in that
// CHW's daily digest. Connectivity is poor, so CHWs get one digest a day:
// after send_at (site time) each CHW's digest for the day is written to
// <state dir>/digest/<date>/<chw>.txt and, when the CHW has an email or
// webhook contact, sent there, once (journaled). Urgent referrals are also
// sent to the CHW at once.
//
// Settings (site.yaml plugins.referral.config):
//
//	chws:
//	  - {id: chw-ward7-a, title: CHW ward 7, contact: {channel: email, address: chw7a@example.org}}
//	  - {id: chw-ward7-b, title: CHW ward 7, contact: {channel: webhook, address: https://sms.example.org/chw}}
//	visit_days: [tuesday, thursday]   # default tuesday, thursday
//	lead_days: 1                      # default 1
//	send_at: "17:00"                  # default 17:00
//	smtp: {...}                       # needed for email contacts
//	webhook: {...}                    # optional secret_env, headers, timeout
package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "outreach"

// CHW is a community health worker referrals can be assigned to. Title and
// contact only: no staff names are needed.
type CHW struct {
	ID      string  `json:"id"`
	Title   string  `json:"title,omitempty"`
	Contact Contact `json:"contact,omitempty"`
}

// Contact is how a CHW gets the digest ("email", "webhook" or empty for the file only).
type Contact struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// Settings are the plugin's config.
type Settings struct {
	CHWs      []CHW           `json:"chws"`
	VisitDays []string        `json:"visit_days,omitempty"`
	LeadDays  *int            `json:"lead_days,omitempty"`
	SendAt    string          `json:"send_at,omitempty"`
	SMTP      *deliver.SMTP   `json:"smtp,omitempty"`
	Webhook   deliver.Webhook `json:"webhook,omitempty"`
	// CheckEvery is how often the plugin looks for digests due; default 5m.
	CheckEvery deliver.Duration `json:"check_every,omitempty"`
}

// Plugin is the outreach referral plugin.
type Plugin struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	settings  Settings
	site      string
	loc       *time.Location
	visitDays []time.Weekday
	lead      int
	sendAt    time.Duration
	dir       string
	referrals *journal.Journal
	digests   *journal.Journal
	http      *http.Client
	services  []plugins.Service
	log       *slog.Logger

	mu     sync.Mutex // orders recording into a digest against reading it for sending
	cancel context.CancelFunc
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl             = (*Plugin)(nil)
	_ plugins.ReferralService = (*Plugin)(nil)
)

// Name returns "outreach".
func (p *Plugin) Name() string { return Name }

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// Configure reads the settings, opens the journals and starts the digest clock.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.referrals != nil {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	s := p.settings
	if len(s.CHWs) == 0 {
		return deliver.Permanent("outreach needs at least one CHW in chws")
	}
	seen := map[string]bool{}
	for _, c := range s.CHWs {
		if c.ID == "" || strings.ContainsAny(c.ID, `/\.`) || seen[c.ID] {
			return deliver.Permanent("chws: id %q must be unique, non-empty, without / \\ or .", c.ID)
		}
		seen[c.ID] = true
		switch c.Contact.Channel {
		case "", "webhook":
		case "email":
			if s.SMTP == nil {
				return deliver.Permanent("CHW %s is reached by email but the plugin config has no smtp settings", c.ID)
			}
		default:
			return deliver.Permanent("CHW %s: channel %q: want email, webhook or none", c.ID, c.Contact.Channel)
		}
	}
	if s.SMTP != nil {
		if err := s.SMTP.Check(); err != nil {
			return err
		}
	}
	days := s.VisitDays
	if len(days) == 0 {
		days = []string{"tuesday", "thursday"}
	}
	p.visitDays = nil
	for _, d := range days {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			return deliver.Permanent("visit_days: %q is not a weekday", d)
		}
		p.visitDays = append(p.visitDays, wd)
	}
	p.lead = 1
	if s.LeadDays != nil {
		if *s.LeadDays < 0 {
			return deliver.Permanent("lead_days must not be negative")
		}
		p.lead = *s.LeadDays
	}
	at := s.SendAt
	if at == "" {
		at = "17:00"
	}
	t, err := time.Parse("15:04", at)
	if err != nil {
		return deliver.Permanent("send_at %q: want HH:MM", at)
	}
	p.sendAt = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	if p.loc, err = deliver.Location(cfg.Timezone); err != nil {
		return err
	}
	if p.referrals, err = deliver.OpenJournal(cfg, "referrals"); err != nil {
		return err
	}
	if p.digests, err = deliver.OpenJournal(cfg, "digests"); err != nil {
		p.referrals.Close()
		p.referrals = nil
		return err
	}
	p.site, p.services, p.dir, p.http = cfg.SiteID, cfg.Services, filepath.Join(cfg.StateDir, "digest"), deliver.HTTPClient()
	if p.log == nil {
		p.log = shared.Logger()
	}

	clock, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.digestClock(clock, s.CheckEvery.Or(5*time.Minute))
	return nil
}

// Close stops the digest clock and closes the journals.
func (p *Plugin) Close() error {
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	if p.referrals != nil {
		errs = append(errs, p.referrals.Close())
	}
	if p.digests != nil {
		errs = append(errs, p.digests.Close())
	}
	return errors.Join(errs...)
}

func (p *Plugin) now() time.Time {
	if p.Now != nil {
		return p.Now().In(p.loc)
	}
	return time.Now().In(p.loc)
}

func (p *Plugin) digestClock(ctx context.Context, every time.Duration) {
	p.flushLogged(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.flushLogged(ctx)
		}
	}
}

func (p *Plugin) flushLogged(ctx context.Context) {
	if _, err := p.FlushDigests(ctx); err != nil {
		p.log.Error("sending CHW digests", "error", err.Error())
	}
}

// FindServices lists the site's services matching q; an outreach team takes
// any need, so with no match it offers the CHW team itself.
func (p *Plugin) FindServices(ctx context.Context, q plugins.ServiceQuery) ([]plugins.Service, error) {
	var out []plugins.Service
	for _, s := range p.services {
		if (q.Need == "" || s.Type == q.Need) && (q.Domain == "" || slices.Contains(s.Domains, q.Domain)) &&
			(q.SchoolID == "" || len(s.Schools) == 0 || slices.Contains(s.Schools, q.SchoolID)) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = append(out, plugins.Service{ID: "outreach", Name: "Community health worker outreach", Type: "outreach"})
	}
	return out, nil
}

// Plan is what a referral was assigned: decided once, journaled, reused by retries.
type Plan struct {
	CHW string `json:"chw"`
	// Visit is the home-visit date, YYYY-MM-DD in site time.
	Visit string `json:"visit"`
	// Digest is the day whose digest carries the referral.
	Digest string `json:"digest"`
	Urgent bool   `json:"urgent,omitempty"`
}

// Item is one referral in a CHW's digest file.
type Item struct {
	Key         string `json:"key"`
	Visit       string `json:"visit"`
	Urgent      bool   `json:"urgent,omitempty"`
	SchoolID    string `json:"school_id"`
	ServiceType string `json:"service_type"`
	Domain      string `json:"domain"`
	ChildRef    string `json:"child_ref"`
	Language    string `json:"language"`
}

// Dispatch assigns the referral to a CHW and records it once per key.
func (p *Plugin) Dispatch(ctx context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	rec, dup, err := journal.Do(ctx, p.referrals, req.IdempotencyKey, journal.Op[Plan, plugins.ReferralReceipt]{
		Fingerprint: deliver.Fingerprint(req),
		Plan: func(seq int) (Plan, error) {
			now := p.now()
			return Plan{
				CHW:    p.settings.CHWs[seq%len(p.settings.CHWs)].ID,
				Visit:  NextVisit(now, req.Urgent, p.visitDays, p.lead).Format(time.DateOnly),
				Digest: p.digestDay(now),
				Urgent: req.Urgent,
			}, nil
		},
		Send: func(ctx context.Context, plan Plan, a journal.Attempt) (plugins.ReferralReceipt, error) {
			item := Item{Key: req.IdempotencyKey, Visit: plan.Visit, Urgent: req.Urgent, SchoolID: req.SchoolID,
				ServiceType: req.ServiceType, Domain: req.Domain, ChildRef: req.ChildRef, Language: req.Language}
			if err := p.record(plan, item); err != nil {
				return plugins.ReferralReceipt{}, err
			}
			if req.Urgent {
				if err := p.sendUrgent(ctx, plan, item); err != nil {
					return plugins.ReferralReceipt{}, err
				}
			}
			return plugins.ReferralReceipt{DispatchRef: fmt.Sprintf("outreach:%s:%s:%s", plan.CHW, plan.Visit, deliver.Hash(req.IdempotencyKey)[:8])}, nil
		},
	})
	rec.Duplicate = dup
	return rec, err
}

// Status reports the journal's state of a referral.
func (p *Plugin) Status(ctx context.Context, key string) (plugins.ReferralStatus, error) {
	st := deliver.ReferralStatus(p.referrals, key)
	if e, ok := p.referrals.Get(key); ok && len(e.Plan) > 0 {
		var plan Plan
		if json.Unmarshal(e.Plan, &plan) == nil {
			st.Detail = strings.TrimSpace(st.Detail + fmt.Sprintf(" assigned to %s, home visit %s", plan.CHW, plan.Visit))
		}
	}
	return st, nil
}

// NextVisit is the home-visit date of a referral made at now: the next day
// when urgent, else the first visit weekday at least lead days ahead.
func NextVisit(now time.Time, urgent bool, days []time.Weekday, lead int) time.Time {
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if urgent {
		return d.AddDate(0, 0, 1)
	}
	d = d.AddDate(0, 0, lead)
	for i := 0; i < 7; i++ {
		if slices.Contains(days, d.Weekday()) {
			return d
		}
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// digestDay is the day whose digest a referral made at now joins: today
// until send_at, tomorrow after.
func (p *Plugin) digestDay(now time.Time) string {
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if now.Sub(midnight) >= p.sendAt {
		return midnight.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	return midnight.Format(time.DateOnly)
}

func digestKey(day, chw string) string { return "digest/" + day + "/" + chw }

// record appends the item to its CHW's digest, moving to a later day if the
// planned day's digest has begun going out. A resumed attempt may append the
// same item twice; readers keep the first line per key.
func (p *Plugin) record(plan Plan, item Item) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	day := plan.Digest
	for {
		if _, begun := p.digests.Get(digestKey(day, plan.CHW)); !begun {
			break
		}
		t, _ := time.ParseInLocation(time.DateOnly, day, p.loc)
		day = t.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	dir := filepath.Join(p.dir, day)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("digest directory: %w", err)
	}
	line, _ := json.Marshal(item)
	f, err := os.OpenFile(filepath.Join(dir, plan.CHW+".jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("digest: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("digest: %w", err)
	}
	return f.Close()
}

func (p *Plugin) chw(id string) CHW {
	for _, c := range p.settings.CHWs {
		if c.ID == id {
			return c
		}
	}
	return CHW{ID: id}
}

func (p *Plugin) sendUrgent(ctx context.Context, plan Plan, item Item) error {
	c := p.chw(plan.CHW)
	text := "URGENT home visit by " + plan.Visit + "\n\n" + itemText(item)
	_, err := p.deliver(ctx, c, item.Key, "URGENT referral: home visit by "+plan.Visit, text, []Item{item})
	return err
}

// FlushDigests sends every digest that is due (its day is past, or it is
// today and send_at has passed) and not yet sent, and returns how many it sent.
func (p *Plugin) FlushDigests(ctx context.Context) (int, error) {
	days, err := os.ReadDir(p.dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("digest directory: %w", err)
	}
	now := p.now()
	due := p.digestDay(now) // digests of earlier days are due
	sent := 0
	var errs []error
	for _, d := range days {
		if !d.IsDir() || d.Name() >= due {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(p.dir, d.Name(), "*.jsonl"))
		sort.Strings(files)
		for _, f := range files {
			chw := strings.TrimSuffix(filepath.Base(f), ".jsonl")
			_, dup, err := p.sendDigest(ctx, d.Name(), chw, f)
			if err != nil {
				errs = append(errs, err)
			} else if !dup {
				sent++
			}
		}
	}
	return sent, errors.Join(errs...)
}

func (p *Plugin) sendDigest(ctx context.Context, day, chw, file string) (string, bool, error) {
	return journal.Do(ctx, p.digests, digestKey(day, chw), journal.Op[struct{}, string]{
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (string, error) {
			// The pending line is on disk: record sends later items to
			// another day, so what is read here is the whole digest.
			p.mu.Lock()
			items, err := readItems(file)
			p.mu.Unlock()
			if err != nil {
				return "", err
			}
			c := p.chw(chw)
			var b strings.Builder
			fmt.Fprintf(&b, "Home visits from referrals recorded for %s (%s), digest of %s: %d\n\n", c.ID, c.Title, day, len(items))
			for i, it := range items {
				fmt.Fprintf(&b, "%d. %s\n", i+1, itemText(it))
			}
			txt := strings.TrimSuffix(file, ".jsonl") + ".txt"
			if err := writeFileSync(txt, []byte(b.String())); err != nil {
				return "", err
			}
			key := digestKey(day, chw) + "@" + p.site
			if _, err := p.deliver(ctx, c, key, fmt.Sprintf("Home visits digest %s: %d referral(s)", day, len(items)), b.String(), items); err != nil {
				return "", err
			}
			return "digest:" + day + ":" + chw, nil
		},
	})
}

// deliver sends text to a CHW by their channel under key; no channel means
// the digest file is the delivery.
func (p *Plugin) deliver(ctx context.Context, c CHW, key, subject, text string, items []Item) (string, error) {
	switch c.Contact.Channel {
	case "email":
		return p.settings.SMTP.Send(ctx, deliver.Mail{Key: key, To: c.Contact.Address, Subject: subject, Body: text})
	case "webhook":
		return p.settings.Webhook.Post(ctx, p.http, c.Contact.Address, key, map[string]any{
			"idempotency_key": key, "site_id": p.site, "chw": c.ID, "subject": subject, "text": text, "referrals": items,
		})
	}
	return "file", nil
}

func itemText(it Item) string {
	urgent := ""
	if it.Urgent {
		urgent = "URGENT "
	}
	return fmt.Sprintf("%svisit by %s: child %s, school %s, %s (%s), language %s [ref %s]",
		urgent, it.Visit, it.ChildRef, it.SchoolID, it.ServiceType, it.Domain, it.Language, deliver.Hash(it.Key)[:8])
}

// readItems reads a digest file, keeping the first line of each key and
// skipping a torn last line.
func readItems(path string) ([]Item, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	seen := map[string]bool{}
	var out []Item
	for _, line := range strings.Split(string(data), "\n") {
		var it Item
		if json.Unmarshal([]byte(line), &it) != nil || it.Key == "" || seen[it.Key] {
			continue
		}
		seen[it.Key] = true
		out = append(out, it)
	}
	return out, nil
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("digest: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("digest: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	return os.Rename(tmp, path)
}
