// Package csvexport is the built-in "csv" export plugin: each batch is
// written as CSV files in a configured directory (a drop folder another
// system collects from): <prefix>-<site>-<time>-<ref>-records.csv with one
// row per record, and ...-aggregates.csv with one row per aggregate. Files
// appear atomically (written aside, synced, renamed) and a batch is written
// once per idempotency key (see plugins/journal); the file name is fixed at
// the first attempt, so a resend after a crash overwrites the same file.
//
// Settings (site.yaml plugins.export.config):
//
//	dir: /var/lib/khula/exports     # required (or dir_env naming a variable), must exist
//	prefix: khula                   # default khula
package csvexport

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "csv"

// Settings are the plugin's config.
type Settings struct {
	Dir string `json:"dir,omitempty"`
	// DirEnv names an environment variable holding the directory, for a
	// drop folder that differs per deployment (khula dev uses its data directory).
	DirEnv string `json:"dir_env,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

// Plugin is the CSV exporter.
type Plugin struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	settings Settings
	site     string
	loc      *time.Location
	journal  *journal.Journal
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl      = (*Plugin)(nil)
	_ plugins.Exporter = (*Plugin)(nil)
)

// Name returns "csv".
func (p *Plugin) Name() string { return Name }

// Configure checks the settings and opens the journal.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.journal != nil {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	if p.settings.Prefix == "" {
		p.settings.Prefix = "khula"
	}
	if strings.ContainsAny(p.settings.Prefix, `/\`) {
		return deliver.Permanent("prefix %q must not contain a path separator", p.settings.Prefix)
	}
	if p.settings.Dir == "" && p.settings.DirEnv != "" {
		p.settings.Dir = os.Getenv(p.settings.DirEnv)
		if p.settings.Dir == "" {
			return deliver.Permanent("dir_env: $%s is not set (the export directory)", p.settings.DirEnv)
		}
	}
	if !filepath.IsAbs(p.settings.Dir) {
		return deliver.Permanent("dir %q: an absolute path to an existing directory is required", p.settings.Dir)
	}
	if st, err := os.Stat(p.settings.Dir); err != nil || !st.IsDir() {
		return deliver.Permanent("dir %q is not a directory", p.settings.Dir)
	}
	var err error
	if p.loc, err = deliver.Location(cfg.Timezone); err != nil {
		return err
	}
	if p.journal, err = deliver.OpenJournal(cfg, "pushes"); err != nil {
		return err
	}
	p.site = cfg.SiteID
	return nil
}

type plan struct {
	Base string `json:"base"`
}

// Push writes the batch's files once per idempotency key.
func (p *Plugin) Push(ctx context.Context, b plugins.ExportBatch) (plugins.ExportReceipt, error) {
	r, dup, err := journal.Do(ctx, p.journal, b.IdempotencyKey, journal.Op[plan, plugins.ExportReceipt]{
		Fingerprint: deliver.Fingerprint(b),
		Plan: func(int) (plan, error) {
			now := time.Now()
			if p.Now != nil {
				now = p.Now()
			}
			return plan{Base: fmt.Sprintf("%s-%s-%s-%s", p.settings.Prefix, p.site, now.In(p.loc).Format("20060102T150405"), deliver.Hash(b.IdempotencyKey)[:12])}, nil
		},
		Send: func(ctx context.Context, pl plan, _ journal.Attempt) (plugins.ExportReceipt, error) {
			var files []string
			if len(b.Records) > 0 {
				name := pl.Base + "-records.csv"
				if err := writeAtomic(filepath.Join(p.settings.Dir, name), RecordRows(b.Records)); err != nil {
					return plugins.ExportReceipt{}, err
				}
				files = append(files, name)
			}
			if len(b.Aggregates) > 0 {
				name := pl.Base + "-aggregates.csv"
				if err := writeAtomic(filepath.Join(p.settings.Dir, name), AggregateRows(b.Aggregates)); err != nil {
					return plugins.ExportReceipt{}, err
				}
				files = append(files, name)
			}
			return plugins.ExportReceipt{PushRef: "csv:" + strings.Join(files, ","), Accepted: len(b.Records) + len(b.Aggregates)}, nil
		},
	})
	r.Duplicate = dup
	return r, err
}

// RecordRows lays records out as CSV rows, header first: fixed columns,
// then one column per attribute ("attr.<key>") and per value, sorted.
func RecordRows(records []plugins.ExportRecord) [][]string {
	attrs, vals := map[string]bool{}, map[string]bool{}
	for _, r := range records {
		for k := range r.Attributes {
			attrs[k] = true
		}
		for k := range r.Values {
			vals[k] = true
		}
	}
	ak, vk := sorted(attrs), sorted(vals)
	header := []string{"record_id", "child_ref", "school_id", "stage", "enrolled_at", "occurred_at"}
	for _, k := range ak {
		header = append(header, "attr."+k)
	}
	header = append(header, vk...)
	rows := [][]string{header}
	for _, r := range records {
		row := []string{r.RecordID, r.ChildRef, r.SchoolID, r.Stage, date(r.EnrolledAt), date(r.OccurredAt)}
		for _, k := range ak {
			row = append(row, r.Attributes[k])
		}
		for _, k := range vk {
			row = append(row, r.Values[k])
		}
		rows = append(rows, row)
	}
	return rows
}

// AggregateRows lays aggregates out as CSV rows, header first.
func AggregateRows(aggs []plugins.ExportAggregate) [][]string {
	rows := [][]string{{"school_id", "period", "key", "value"}}
	for _, a := range aggs {
		rows = append(rows, []string{a.SchoolID, a.Period, a.Key, a.Value})
	}
	return rows
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defuse keeps a spreadsheet from reading a cell as a formula.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeAtomic(path string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, row := range rows {
		for i := range row {
			row[i] = defuse(row[i])
		}
		if err := w.Write(row); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("%w: writing %s: %v", plugins.ErrUnavailable, path, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("%w: writing %s: %v", plugins.ErrUnavailable, path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%w: writing %s: %v", plugins.ErrUnavailable, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: writing %s: %v", plugins.ErrUnavailable, path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: writing %s: %v", plugins.ErrUnavailable, path, err)
	}
	return nil
}
