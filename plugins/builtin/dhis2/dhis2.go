// Package dhis2 is the built-in "dhis2" export plugin. Records become a
// DHIS2 Tracker import (POST /api/tracker, nested payload: trackedEntities ->
// enrollments -> events with dataValues) and aggregates a data value set
// (POST /api/dataValueSets), both with HTTP basic auth.
//
// Only what the config maps leaves khula: a record attribute or value whose
// key has no DHIS2 identifier in the config is not exported. The mapping is
// the data-sharing agreement, written down.
//
// Exactly-once: the tracked entity, enrollment and event UIDs are derived
// from the site, the child reference and the record ID (11 characters, a
// letter then letters and digits, as DHIS2 requires), and the import uses
// CREATE_AND_UPDATE, so a batch resent after a crash updates what the first
// attempt created instead of duplicating it. Batches are journaled too: a
// batch done is not sent again.
//
// Settings (site.yaml plugins.export.config):
//
//	base_url: https://dhis2.example.org      # /api/... is appended
//	username: khula-export
//	password_env: KHULA_DHIS2_PASSWORD
//	program: IpHINAT79UW
//	tracked_entity_type: nEenWmSyUEp
//	program_stages: {baseline: A03MvHHogjR, followup: ZzYYXq4fJie}   # "*" for any other stage
//	org_units: {meadowlands: DiszpKrYNg8}                            # school ID -> org unit
//	attributes: {child_ref: lZGmxYbs97q, sex: cejWyOfXge6}          # child_ref exports the reference
//	data_elements: {risk.health: qrur9Dvnyt5}
//	aggregate_data_elements: {children.high_risk: UXz7xuGCEhU}
//	timeout: 60s
package dhis2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "dhis2"

// Settings are the plugin's config.
type Settings struct {
	BaseURL               string            `json:"base_url"`
	Username              string            `json:"username"`
	PasswordEnv           string            `json:"password_env"`
	Program               string            `json:"program"`
	TrackedEntityType     string            `json:"tracked_entity_type"`
	ProgramStages         map[string]string `json:"program_stages"`
	OrgUnits              map[string]string `json:"org_units"`
	Attributes            map[string]string `json:"attributes,omitempty"`
	DataElements          map[string]string `json:"data_elements,omitempty"`
	AggregateDataElements map[string]string `json:"aggregate_data_elements,omitempty"`
	Timeout               deliver.Duration  `json:"timeout,omitempty"`
}

// Plugin is the DHIS2 exporter.
type Plugin struct {
	settings Settings
	password string
	site     string
	loc      *time.Location
	journal  *journal.Journal
	http     *http.Client
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl      = (*Plugin)(nil)
	_ plugins.Exporter = (*Plugin)(nil)
)

// Name returns "dhis2".
func (p *Plugin) Name() string { return Name }

// Configure checks the settings and opens the journal.
func (p *Plugin) Configure(ctx context.Context, cfg plugins.Config) error {
	if p.journal != nil {
		return deliver.Permanent("already configured")
	}
	s := &p.settings
	if err := deliver.Decode(cfg.Settings, s); err != nil {
		return err
	}
	if err := deliver.CheckURL(s.BaseURL); err != nil {
		return deliver.Permanent("base_url: %v", err)
	}
	for name, v := range map[string]string{"username": s.Username, "password_env": s.PasswordEnv, "program": s.Program, "tracked_entity_type": s.TrackedEntityType} {
		if v == "" {
			return deliver.Permanent("%s is required", name)
		}
	}
	if len(s.ProgramStages) == 0 || len(s.OrgUnits) == 0 {
		return deliver.Permanent("program_stages and org_units are required")
	}
	var err error
	if p.password, err = deliver.Secret(s.PasswordEnv); err != nil {
		return err
	}
	if p.loc, err = deliver.Location(cfg.Timezone); err != nil {
		return err
	}
	if p.journal, err = deliver.OpenJournal(cfg, "pushes"); err != nil {
		return err
	}
	p.site, p.http = cfg.SiteID, deliver.HTTPClient()
	return nil
}

// Push sends the batch once per idempotency key.
func (p *Plugin) Push(ctx context.Context, b plugins.ExportBatch) (plugins.ExportReceipt, error) {
	tracker, err := p.TrackerPayload(b.Records)
	if err != nil {
		return plugins.ExportReceipt{}, err
	}
	values, err := p.DataValueSet(b.Aggregates)
	if err != nil {
		return plugins.ExportReceipt{}, err
	}
	r, dup, err := journal.Do(ctx, p.journal, b.IdempotencyKey, journal.Op[struct{}, plugins.ExportReceipt]{
		Fingerprint: deliver.Fingerprint(b),
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (plugins.ExportReceipt, error) {
			accepted := 0
			if len(tracker.TrackedEntities) > 0 {
				n, err := p.post(ctx, "/api/tracker?async=false&importStrategy=CREATE_AND_UPDATE&atomicMode=OBJECT&reportMode=ERRORS", tracker)
				if err != nil {
					return plugins.ExportReceipt{}, err
				}
				accepted += n
			}
			if len(values.DataValues) > 0 {
				n, err := p.post(ctx, "/api/dataValueSets?importStrategy=CREATE_AND_UPDATE", values)
				if err != nil {
					return plugins.ExportReceipt{}, err
				}
				accepted += n
			}
			return plugins.ExportReceipt{PushRef: "dhis2:" + deliver.Hash(b.SiteID, b.IdempotencyKey), Accepted: accepted}, nil
		},
	})
	r.Duplicate = dup
	return r, err
}

// Tracker is a nested tracker import payload.
type Tracker struct {
	TrackedEntities []TrackedEntity `json:"trackedEntities"`
}

// TrackedEntity is one child in DHIS2.
type TrackedEntity struct {
	TrackedEntity     string       `json:"trackedEntity"`
	TrackedEntityType string       `json:"trackedEntityType"`
	OrgUnit           string       `json:"orgUnit"`
	Attributes        []Attribute  `json:"attributes,omitempty"`
	Enrollments       []Enrollment `json:"enrollments"`
}

// Attribute is a tracked entity attribute value.
type Attribute struct {
	Attribute string `json:"attribute"`
	Value     string `json:"value"`
}

// Enrollment is the child's enrolment in the programme.
type Enrollment struct {
	Enrollment string  `json:"enrollment"`
	Program    string  `json:"program"`
	OrgUnit    string  `json:"orgUnit"`
	Status     string  `json:"status"`
	EnrolledAt string  `json:"enrolledAt"`
	OccurredAt string  `json:"occurredAt"`
	Events     []Event `json:"events"`
}

// Event is one record (an assessment, a follow-up).
type Event struct {
	Event        string      `json:"event"`
	Program      string      `json:"program"`
	ProgramStage string      `json:"programStage"`
	OrgUnit      string      `json:"orgUnit"`
	Status       string      `json:"status"`
	OccurredAt   string      `json:"occurredAt"`
	DataValues   []DataValue `json:"dataValues"`
}

// DataValue is an event's value of a data element.
type DataValue struct {
	DataElement string `json:"dataElement"`
	Value       string `json:"value"`
}

// DataValueSet is an aggregate import payload.
type DataValueSet struct {
	DataValues []AggregateValue `json:"dataValues"`
}

// AggregateValue is one aggregate data value.
type AggregateValue struct {
	DataElement string `json:"dataElement"`
	Period      string `json:"period"`
	OrgUnit     string `json:"orgUnit"`
	Value       string `json:"value"`
}

const stamp = "2006-01-02T15:04:05.000"

// TrackerPayload builds the tracker import of records: one tracked entity
// per child reference, one enrollment in the programme, one event per record.
func (p *Plugin) TrackerPayload(records []plugins.ExportRecord) (Tracker, error) {
	s := p.settings
	var out Tracker
	index := map[string]int{}
	for _, r := range records {
		if r.ChildRef == "" || r.RecordID == "" {
			return Tracker{}, deliver.Permanent("record without child reference or record ID")
		}
		ou, ok := s.OrgUnits[r.SchoolID]
		if !ok {
			return Tracker{}, deliver.Permanent("school %q has no DHIS2 org unit in org_units", r.SchoolID)
		}
		stage, ok := s.ProgramStages[r.Stage]
		if !ok {
			if stage, ok = s.ProgramStages["*"]; !ok {
				return Tracker{}, deliver.Permanent("stage %q has no DHIS2 program stage in program_stages", r.Stage)
			}
		}
		enrolled := r.EnrolledAt
		if enrolled.IsZero() {
			enrolled = r.OccurredAt
		}
		i, seen := index[r.ChildRef]
		if !seen {
			te := TrackedEntity{
				TrackedEntity:     UID(p.site, "trackedEntity", r.ChildRef),
				TrackedEntityType: s.TrackedEntityType,
				OrgUnit:           ou,
				Attributes:        p.attributes(r),
				Enrollments: []Enrollment{{
					Enrollment: UID(p.site, "enrollment", r.ChildRef, s.Program),
					Program:    s.Program, OrgUnit: ou, Status: "ACTIVE",
					EnrolledAt: p.format(enrolled), OccurredAt: p.format(enrolled),
				}},
			}
			out.TrackedEntities = append(out.TrackedEntities, te)
			i = len(out.TrackedEntities) - 1
			index[r.ChildRef] = i
		}
		var values []DataValue
		for _, k := range sortedKeys(r.Values) {
			if de, ok := s.DataElements[k]; ok {
				values = append(values, DataValue{DataElement: de, Value: r.Values[k]})
			}
		}
		en := &out.TrackedEntities[i].Enrollments[0]
		en.Events = append(en.Events, Event{
			Event: UID(p.site, "event", r.RecordID), Program: s.Program, ProgramStage: stage,
			OrgUnit: ou, Status: "COMPLETED", OccurredAt: p.format(r.OccurredAt), DataValues: values,
		})
	}
	return out, nil
}

func (p *Plugin) attributes(r plugins.ExportRecord) []Attribute {
	var out []Attribute
	if id, ok := p.settings.Attributes["child_ref"]; ok {
		out = append(out, Attribute{Attribute: id, Value: r.ChildRef})
	}
	for _, k := range sortedKeys(r.Attributes) {
		if id, ok := p.settings.Attributes[k]; ok && k != "child_ref" {
			out = append(out, Attribute{Attribute: id, Value: r.Attributes[k]})
		}
	}
	return out
}

// DataValueSet builds the aggregate import of aggregates.
func (p *Plugin) DataValueSet(aggs []plugins.ExportAggregate) (DataValueSet, error) {
	var out DataValueSet
	for _, a := range aggs {
		de, ok := p.settings.AggregateDataElements[a.Key]
		if !ok {
			continue
		}
		ou, ok := p.settings.OrgUnits[a.SchoolID]
		if !ok {
			return DataValueSet{}, deliver.Permanent("school %q has no DHIS2 org unit in org_units", a.SchoolID)
		}
		out.DataValues = append(out.DataValues, AggregateValue{DataElement: de, Period: a.Period, OrgUnit: ou, Value: a.Value})
	}
	return out, nil
}

func (p *Plugin) format(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.In(p.loc).Format(stamp)
}

// importReport is the part of a DHIS2 import summary khula reads; tracker
// and data value set imports (old and new shapes) all fit it.
type importReport struct {
	Status string `json:"status"`
	Stats  struct {
		Created int `json:"created"`
		Updated int `json:"updated"`
		Ignored int `json:"ignored"`
	} `json:"stats"`
	ImportCount struct {
		Imported int `json:"imported"`
		Updated  int `json:"updated"`
		Ignored  int `json:"ignored"`
	} `json:"importCount"`
	ValidationReport struct {
		ErrorReports []struct {
			Message     string `json:"message"`
			ErrorCode   string `json:"errorCode"`
			TrackerType string `json:"trackerType"`
			UID         string `json:"uid"`
		} `json:"errorReports"`
	} `json:"validationReport"`
	Message  string        `json:"message"`
	Response *importReport `json:"response"`
}

func (p *Plugin) post(ctx context.Context, path string, body any) (int, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, deliver.Permanent("DHIS2 payload: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.settings.Timeout.Or(60*time.Second))
	defer cancel()
	target := strings.TrimRight(p.settings.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return 0, deliver.Permanent("DHIS2 request: %v", err)
	}
	req.SetBasicAuth(p.settings.Username, p.password)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, deliver.Transient("posting to DHIS2 %s: %v", redact(target), err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var rep importReport
	_ = json.Unmarshal(raw, &rep)
	if rep.Response != nil {
		inner := *rep.Response
		if inner.Status == "" {
			inner.Status = rep.Status
		}
		rep = inner
	}
	reports := func() string {
		var msgs []string
		for _, e := range rep.ValidationReport.ErrorReports {
			msgs = append(msgs, fmt.Sprintf("%s %s %s: %s", e.ErrorCode, e.TrackerType, e.UID, e.Message))
			if len(msgs) == 5 {
				break
			}
		}
		if len(msgs) == 0 && rep.Message != "" {
			msgs = append(msgs, rep.Message)
		}
		return strings.Join(msgs, "; ")
	}
	switch {
	case resp.StatusCode == 401 || resp.StatusCode == 403:
		return 0, deliver.Permanent("DHIS2 refused the credentials of %s: %s", p.settings.Username, resp.Status)
	case resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode >= 500:
		return 0, deliver.Transient("DHIS2 answered %s", resp.Status)
	case strings.EqualFold(rep.Status, "ERROR") || resp.StatusCode >= 400:
		return 0, deliver.Permanent("DHIS2 rejected the import (%s): %s", resp.Status, reports())
	case rep.Stats.Ignored > 0 || len(rep.ValidationReport.ErrorReports) > 0:
		// atomicMode=OBJECT: the valid objects are in; resending the batch
		// after fixing the rest updates them (stable UIDs).
		return 0, deliver.Permanent("DHIS2 imported part of the batch and ignored %d object(s): %s", rep.Stats.Ignored, reports())
	}
	return rep.Stats.Created + rep.Stats.Updated + rep.ImportCount.Imported + rep.ImportCount.Updated, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "DHIS2"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

const (
	uidLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	uidChars   = uidLetters + "0123456789"
)

// UID derives a DHIS2 UID (a letter, then 10 letters or digits) from parts:
// the same parts give the same UID, so a resent import updates, not duplicates.
func UID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := make([]byte, 11)
	b[0] = uidLetters[int(sum[0])%len(uidLetters)]
	for i := 1; i < 11; i++ {
		b[i] = uidChars[int(sum[i])%len(uidChars)]
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
