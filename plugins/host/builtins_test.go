package host

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

// messageID is the Message-ID the protocol documents for a key: a digest of
// the key, so a resend carries the same one.
func messageID(key, domain string) string {
	sum := sha256.Sum256([]byte("message-id\x00" + key + "\x00"))
	return "<khula." + hex.EncodeToString(sum[:])[:24] + "@" + domain + ">"
}

func TestSMTPNotifier(t *testing.T) {
	t.Parallel()
	mail := startSMTP(t)
	s := testSite("s1", sites.Plugins{Notify: sites.PluginRef{Builtin: "smtp", Config: map[string]any{
		"addr": mail.Addr, "from": "khula@moutse.example.org", "tls": "none",
	}}})
	h, _ := newHost(t, Options{}, s)
	n, err := h.NotifyService("s1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	msg := plugins.Message{IdempotencyKey: "notify/meeting/s1/2026-08-11/0", SiteID: "s1",
		To: plugins.Contact{Channel: "email", Address: "sw@example.org"}, Language: "nso", Template: "meeting_agenda",
		Subject: "LLCoP meeting on Tuesday", Body: "Agenda: 4 children.\nPlace: staff room."}
	d, err := n.Send(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	wantID := messageID(msg.IdempotencyKey, "moutse.example.org")
	if d.MessageRef != "email:"+wantID || d.Duplicate {
		t.Errorf("delivery %+v, want ref email:%s", d, wantID)
	}
	again, err := n.Send(ctx, msg)
	if err != nil || !again.Duplicate || again.MessageRef != d.MessageRef {
		t.Errorf("second send %+v, %v", again, err)
	}
	msgs := mail.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the relay got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	for h, want := range map[string]string{
		"Message-ID": wantID, "From": "khula@moutse.example.org", "To": "sw@example.org",
		"Subject": "LLCoP meeting on Tuesday", "Content-Language": "nso", "X-Khula-Template": "meeting_agenda",
		"X-Khula-Idempotency-Key": msg.IdempotencyKey, "Content-Type": "text/plain; charset=utf-8",
	} {
		if got := m.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if strings.TrimSpace(m.Body) != msg.Body || m.From != "khula@moutse.example.org" || m.To[0] != "sw@example.org" {
		t.Errorf("envelope %s -> %v, body %q", m.From, m.To, m.Body)
	}
	st, err := n.DeliveryStatus(ctx, msg.IdempotencyKey)
	if err != nil || st.State != plugins.DeliverySent || st.MessageRef != d.MessageRef {
		t.Errorf("DeliveryStatus %+v, %v", st, err)
	}
	if _, err := n.Send(ctx, plugins.Message{IdempotencyKey: "k2", To: plugins.Contact{Channel: "sms", Address: "+27"}}); !errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("sms through smtp: %v, want permanent", err)
	}
}

func TestDirectoryDispatchesByEmail(t *testing.T) {
	t.Parallel()
	mail := startSMTP(t)
	s := testSite("s1", sites.Plugins{Referral: sites.PluginRef{Builtin: "directory", Config: map[string]any{
		"smtp": map[string]any{"addr": mail.Addr, "from": "Referrals <referrals@jhb.example.org>"},
	}}},
		sites.Service{ID: "clinic-a", Name: "Clinic A", Type: "clinic", Domains: []string{"health", "nutrition"}, Schools: []string{"school-a"}, Contact: sites.Contact{Channel: "email", Address: "clinic.a@example.org"}},
		sites.Service{ID: "dsd", Name: "DSD", Type: "social_development", Domains: []string{"protection"}, Contact: sites.Contact{Channel: "email", Address: "dsd@example.org"}},
		sites.Service{ID: "wa", Name: "WhatsApp line", Type: "helpline", Contact: sites.Contact{Channel: "whatsapp", Address: "+27"}},
	)
	h, _ := newHost(t, Options{}, s)
	r, err := h.ReferralService("s1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	found, err := r.FindServices(ctx, plugins.ServiceQuery{Need: "clinic", Domain: "nutrition", SchoolID: "school-a"})
	if err != nil || len(found) != 1 || found[0].ID != "clinic-a" || found[0].Contact.Address != "clinic.a@example.org" {
		t.Errorf("FindServices = %+v, %v", found, err)
	}
	if found, _ := r.FindServices(ctx, plugins.ServiceQuery{Need: "clinic", SchoolID: "school-b"}); len(found) != 0 {
		t.Errorf("clinic-a does not serve school-b: %+v", found)
	}
	req := plugins.ReferralRequest{IdempotencyKey: "referral/s1/2/child-3/1", SiteID: "s1", SchoolID: "school-a", ServiceID: "clinic-a",
		ServiceType: "clinic", Domain: "health", Urgent: true, ChildRef: "cycle/s1/2/child-3", Language: "zu",
		Contact: plugins.Contact{Channel: "email", Address: "clinic.a@example.org"}}
	rec, err := r.Dispatch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	wantID := messageID(req.IdempotencyKey, "jhb.example.org")
	if rec.DispatchRef != "email:"+wantID {
		t.Errorf("receipt %+v", rec)
	}
	m := mail.Messages()[0]
	if m.Header.Get("Message-ID") != wantID || m.Header.Get("X-Khula-Idempotency-Key") != req.IdempotencyKey ||
		m.Header.Get("X-Priority") != "1" || !strings.HasPrefix(m.Header.Get("Subject"), "URGENT referral") {
		t.Errorf("headers %v", m.Header)
	}
	for _, want := range []string{"Clinic A (clinic-a)", "cycle/s1/2/child-3", "Well-being area:  health", req.IdempotencyKey} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	req.IdempotencyKey, req.ServiceID, req.Contact = "referral/s1/2/child-3/2", "wa", plugins.Contact{}
	if _, err := r.Dispatch(ctx, req); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "whatsapp") {
		t.Errorf("whatsapp service: %v, want a permanent error", err)
	}
	if got := len(mail.Messages()); got != 1 {
		t.Errorf("%d mails", got)
	}
}

func TestWebhookAndLogNotifiers(t *testing.T) {
	t.Parallel()
	rc, srv := newReceiver(t)
	hook := testSite("hook", sites.Plugins{Notify: sites.PluginRef{Builtin: "webhook", Config: map[string]any{"url": srv.URL + "/messages"}}})
	logged := testSite("logged", sites.Plugins{Notify: sites.PluginRef{Builtin: "log"}})
	state := t.TempDir()
	h, _ := newHost(t, Options{StateDir: state}, hook, logged)
	ctx := context.Background()
	msg := plugins.Message{IdempotencyKey: "notify/x/0", SiteID: "hook", To: plugins.Contact{Channel: "sms", Address: "+27820000000"},
		Language: "nr", Template: "safeguarding_alert", Subject: "Urgent", Body: "A child at school-a needs a safeguarding visit today."}

	n, err := h.Notifier("hook")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		d, err := n.Send(ctx, msg)
		if err != nil || d.MessageRef != "rcv-a" || d.Duplicate != (i == 1) {
			t.Errorf("send %d: %+v, %v", i, d, err)
		}
	}
	if req, del := rc.counts(); req != 1 || del != 1 {
		t.Errorf("webhook got %d requests, want 1", req)
	}
	var body map[string]any
	json.Unmarshal(rc.bodies[msg.IdempotencyKey], &body)
	if body["body"] != msg.Body || body["template"] != "safeguarding_alert" || body["language"] != "nr" ||
		body["recipient"].(map[string]any)["address"] != "+27820000000" {
		t.Errorf("webhook body %v", body)
	}
	// A phone number written as people write it reaches the gateway in
	// E.164; one that is not a valid number is refused for good, unsent,
	// by an error that does not repeat it.
	local := msg
	local.IdempotencyKey, local.To.Address = "notify/x/1", "082 000 0001"
	if _, err := n.Send(ctx, local); err != nil {
		t.Fatal(err)
	}
	var localBody map[string]any
	json.Unmarshal(rc.bodies[local.IdempotencyKey], &localBody)
	if to, _ := localBody["recipient"].(map[string]any); to == nil || to["address"] != "+27820000001" {
		t.Errorf("recipient %v, want +27820000001", localBody["recipient"])
	}
	bad := msg
	bad.IdempotencyKey, bad.To.Address = "notify/x/2", "082 000 000"
	if _, err := n.Send(ctx, bad); !errors.Is(err, plugins.ErrPermanent) || strings.Contains(err.Error(), "082 000 000") {
		t.Errorf("an invalid SMS number: %v, want a permanent error without the number", err)
	}
	if req, _ := rc.counts(); req != 2 {
		t.Errorf("webhook got %d requests, want 2", req)
	}

	ln, err := h.Notifier("logged")
	if err != nil {
		t.Fatal(err)
	}
	msg.SiteID = "logged"
	for range 2 {
		if _, err := ln.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(state, "logged", "notify-log", "notify.log"))
	if err != nil {
		t.Fatal(err)
	}
	line := string(data)
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, `key="notify/x/0"`) || !strings.Contains(line, "channel=sms template=safeguarding_alert language=nr") {
		t.Errorf("log line %q", line)
	}
	for _, secret := range []string{"+27820000000", "Urgent", "safeguarding visit"} {
		if strings.Contains(line, secret) {
			t.Errorf("the log holds %q: %q", secret, line)
		}
	}
}

func TestDHIS2Export(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	var tracker, values map[string]any
	reply := `{"status":"OK","stats":{"created":3,"updated":0,"ignored":0,"total":3}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if user != "khula" || pass != "district" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.Path+"?"+r.URL.RawQuery)
		switch r.URL.Path {
		case "/dhis/api/tracker":
			json.Unmarshal(body, &tracker)
			if strings.Contains(string(body), "REJECT") {
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"status":"ERROR","validationReport":{"errorReports":[{"message":"Value REJECT is not a valid option","errorCode":"E1125","trackerType":"EVENT","uid":"x"}]}}`)
				return
			}
			io.WriteString(w, reply)
		case "/dhis/api/dataValueSets":
			json.Unmarshal(body, &values)
			io.WriteString(w, `{"status":"OK","response":{"status":"SUCCESS","importCount":{"imported":1,"updated":0,"ignored":0}}}`)
		}
	}))
	defer srv.Close()
	s := testSite("s1", sites.Plugins{Export: sites.PluginRef{Builtin: "dhis2", Config: map[string]any{
		"base_url": srv.URL + "/dhis", "username": "khula", "password_env": "KHULA_TEST_DHIS2_PASSWORD",
		"program": "IpHINAT79UW", "tracked_entity_type": "nEenWmSyUEp",
		"program_stages":          map[string]any{"baseline": "A03MvHHogjR", "followup": "ZzYYXq4fJie"},
		"org_units":               map[string]any{"school-a": "DiszpKrYNg8"},
		"attributes":              map[string]any{"child_ref": "lZGmxYbs97q", "sex": "cejWyOfXge6"},
		"data_elements":           map[string]any{"risk.health": "qrur9Dvnyt5", "zwfa": "UXz7xuGCEhU"},
		"aggregate_data_elements": map[string]any{"children.high_risk": "bx6fsa0t90x"},
	}}})
	h, _ := newHost(t, Options{}, s)
	e, err := h.Exporter("s1")
	if err != nil {
		t.Fatal(err)
	}
	enrolled := time.Date(2026, 7, 20, 8, 0, 0, 0, time.UTC)
	batch := plugins.ExportBatch{IdempotencyKey: "export/s1/wave-2/0", SiteID: "s1",
		Records: []plugins.ExportRecord{
			{RecordID: "cycle/s1/2/c1#baseline", ChildRef: "c1", SchoolID: "school-a", Stage: "baseline", EnrolledAt: enrolled, OccurredAt: enrolled.Add(48 * time.Hour),
				Attributes: map[string]string{"sex": "F", "home_language": "nso"}, Values: map[string]string{"risk.health": "high", "zwfa": "-2.31", "unmapped": "x"}},
			{RecordID: "cycle/s1/2/c1#followup", ChildRef: "c1", SchoolID: "school-a", Stage: "followup", EnrolledAt: enrolled, OccurredAt: enrolled.Add(120 * 24 * time.Hour),
				Values: map[string]string{"risk.health": "moderate"}},
		},
		Aggregates: []plugins.ExportAggregate{{SchoolID: "school-a", Period: "202608", Key: "children.high_risk", Value: "4"}, {SchoolID: "school-a", Period: "202608", Key: "not.mapped", Value: "1"}},
	}
	rec, err := e.Push(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Accepted != 4 || !strings.HasPrefix(rec.PushRef, "dhis2:") || rec.Duplicate {
		t.Errorf("receipt %+v", rec)
	}
	mu.Lock()
	if len(paths) != 2 || paths[0] != "/dhis/api/tracker?async=false&importStrategy=CREATE_AND_UPDATE&atomicMode=OBJECT&reportMode=ERRORS" || !strings.HasPrefix(paths[1], "/dhis/api/dataValueSets?") {
		t.Errorf("requests %v", paths)
	}
	// Field by field, the nested tracker payload.
	tes := tracker["trackedEntities"].([]any)
	if len(tes) != 1 {
		t.Fatalf("%d tracked entities, want 1 (one child)", len(tes))
	}
	te := tes[0].(map[string]any)
	uid := func(v any) bool {
		s, _ := v.(string)
		return len(s) == 11 && strings.ContainsAny(s[:1], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
	}
	if !uid(te["trackedEntity"]) || te["trackedEntityType"] != "nEenWmSyUEp" || te["orgUnit"] != "DiszpKrYNg8" {
		t.Errorf("tracked entity %v", te)
	}
	wantAttrs := []any{map[string]any{"attribute": "lZGmxYbs97q", "value": "c1"}, map[string]any{"attribute": "cejWyOfXge6", "value": "F"}}
	if !reflect.DeepEqual(te["attributes"], wantAttrs) {
		t.Errorf("attributes %v, want %v (home_language is not mapped)", te["attributes"], wantAttrs)
	}
	en := te["enrollments"].([]any)[0].(map[string]any)
	if !uid(en["enrollment"]) || en["program"] != "IpHINAT79UW" || en["orgUnit"] != "DiszpKrYNg8" || en["status"] != "ACTIVE" ||
		en["enrolledAt"] != "2026-07-20T10:00:00.000" || en["occurredAt"] != "2026-07-20T10:00:00.000" {
		t.Errorf("enrollment %v", en)
	}
	evs := en["events"].([]any)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0].(map[string]any)
	if !uid(ev["event"]) || ev["program"] != "IpHINAT79UW" || ev["programStage"] != "A03MvHHogjR" || ev["orgUnit"] != "DiszpKrYNg8" ||
		ev["status"] != "COMPLETED" || ev["occurredAt"] != "2026-07-22T10:00:00.000" {
		t.Errorf("event %v", ev)
	}
	wantValues := []any{map[string]any{"dataElement": "qrur9Dvnyt5", "value": "high"}, map[string]any{"dataElement": "UXz7xuGCEhU", "value": "-2.31"}}
	if !reflect.DeepEqual(ev["dataValues"], wantValues) {
		t.Errorf("dataValues %v, want %v", ev["dataValues"], wantValues)
	}
	if evs[1].(map[string]any)["programStage"] != "ZzYYXq4fJie" || evs[1].(map[string]any)["event"] == ev["event"] {
		t.Errorf("follow-up event %v", evs[1])
	}
	wantDVS := map[string]any{"dataValues": []any{map[string]any{"dataElement": "bx6fsa0t90x", "period": "202608", "orgUnit": "DiszpKrYNg8", "value": "4"}}}
	if !reflect.DeepEqual(values, wantDVS) {
		t.Errorf("data value set %v, want %v", values, wantDVS)
	}
	firstTE := te["trackedEntity"]
	mu.Unlock()

	// The same batch again: answered from the journal.
	again, err := e.Push(context.Background(), batch)
	if err != nil || !again.Duplicate || again.PushRef != rec.PushRef {
		t.Errorf("repeat push %+v, %v", again, err)
	}
	// Another batch about the same child: the same DHIS2 identifiers (an update, not a new entity).
	batch2 := batch
	batch2.IdempotencyKey, batch2.Aggregates = "export/s1/wave-2/1", nil
	if _, err := e.Push(context.Background(), batch2); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(paths) != 3 || tracker["trackedEntities"].([]any)[0].(map[string]any)["trackedEntity"] != firstTE {
		t.Errorf("second batch: requests %v, entity %v (want %v)", paths, tracker["trackedEntities"], firstTE)
	}
	mu.Unlock()
	// A rejected import is a permanent error that says why.
	bad := plugins.ExportBatch{IdempotencyKey: "export/s1/wave-2/2", SiteID: "s1", Records: []plugins.ExportRecord{{RecordID: "r", ChildRef: "c9", SchoolID: "school-a", Stage: "baseline", OccurredAt: enrolled, Values: map[string]string{"risk.health": "REJECT"}}}}
	if _, err := e.Push(context.Background(), bad); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "E1125") {
		t.Errorf("rejected import: %v", err)
	}
	bad.IdempotencyKey, bad.Records[0].SchoolID = "export/s1/wave-2/3", "school-z"
	if _, err := e.Push(context.Background(), bad); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "school-z") {
		t.Errorf("unmapped school: %v", err)
	}
}

func TestCSVExport(t *testing.T) {
	t.Parallel()
	drop := t.TempDir()
	s := testSite("s1", sites.Plugins{Export: sites.PluginRef{Builtin: "csv", Config: map[string]any{"dir": drop, "prefix": "moutse"}}})
	h, _ := newHost(t, Options{}, s)
	e, err := h.Exporter("s1")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)
	batch := plugins.ExportBatch{IdempotencyKey: "export/s1/w1/0", SiteID: "s1",
		Records: []plugins.ExportRecord{
			{RecordID: "r1", ChildRef: "c1", SchoolID: "a", Stage: "baseline", OccurredAt: at, Attributes: map[string]string{"sex": "F"}, Values: map[string]string{"risk.health": "high", "note": "=cmd()"}},
			{RecordID: "r2", ChildRef: "c2", SchoolID: "a", Stage: "baseline", OccurredAt: at, Values: map[string]string{"risk.health": "low"}},
		},
		Aggregates: []plugins.ExportAggregate{{SchoolID: "a", Period: "202608", Key: "children.high_risk", Value: "1"}},
	}
	rec, err := e.Push(context.Background(), batch)
	if err != nil || rec.Accepted != 3 {
		t.Fatalf("Push = %+v, %v", rec, err)
	}
	files, _ := filepath.Glob(filepath.Join(drop, "moutse-s1-*"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	read := func(suffix string) [][]string {
		for _, f := range files {
			if strings.HasSuffix(f, suffix) {
				fh, _ := os.Open(f)
				defer fh.Close()
				rows, err := csv.NewReader(fh).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				return rows
			}
		}
		t.Fatalf("no %s file", suffix)
		return nil
	}
	wantRecords := [][]string{
		{"record_id", "child_ref", "school_id", "stage", "enrolled_at", "occurred_at", "attr.sex", "note", "risk.health"},
		{"r1", "c1", "a", "baseline", "", "2026-08-03T09:00:00Z", "F", "'=cmd()", "high"},
		{"r2", "c2", "a", "baseline", "", "2026-08-03T09:00:00Z", "", "", "low"},
	}
	if got := read("-records.csv"); !reflect.DeepEqual(got, wantRecords) {
		t.Errorf("records\n%v\nwant\n%v", got, wantRecords)
	}
	if got := read("-aggregates.csv"); !reflect.DeepEqual(got, [][]string{{"school_id", "period", "key", "value"}, {"a", "202608", "children.high_risk", "1"}}) {
		t.Errorf("aggregates %v", got)
	}
	again, err := e.Push(context.Background(), batch)
	if err != nil || !again.Duplicate || again.PushRef != rec.PushRef {
		t.Errorf("repeat push %+v, %v", again, err)
	}
	if more, _ := filepath.Glob(filepath.Join(drop, "*")); len(more) != 2 {
		t.Errorf("files after a repeat: %v", more)
	}
}

func TestOutreachAssignsCHWsRoundRobin(t *testing.T) {
	t.Parallel()
	rc, srv := newReceiver(t)
	state := t.TempDir()
	s := testSite("moutse", sites.Plugins{Referral: sites.PluginRef{Builtin: "outreach", Config: map[string]any{
		"chws": []any{
			map[string]any{"id": "chw-a", "title": "CHW ward 7"},
			map[string]any{"id": "chw-b", "title": "CHW ward 7", "contact": map[string]any{"channel": "webhook", "address": srv.URL}},
		},
		"visit_days": []any{"tuesday", "thursday"},
	}}})
	h, _ := newHost(t, Options{StateDir: state}, s)
	r, err := h.ReferralService("moutse")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var chws []string
	for i, urgent := range []bool{false, true, false} {
		req := referral("referral/moutse/1/c" + string(rune('0'+i)) + "/0")
		req.Urgent = urgent
		rec, err := r.Dispatch(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(rec.DispatchRef, ":")
		if len(parts) != 4 || parts[0] != "outreach" {
			t.Fatalf("dispatch ref %q", rec.DispatchRef)
		}
		visit, err := time.Parse(time.DateOnly, parts[2])
		if err != nil || (!urgent && visit.Weekday() != time.Tuesday && visit.Weekday() != time.Thursday) {
			t.Errorf("visit %q (urgent %v)", parts[2], urgent)
		}
		chws = append(chws, parts[1])
	}
	if !reflect.DeepEqual(chws, []string{"chw-a", "chw-b", "chw-a"}) {
		t.Errorf("assignments %v, want round-robin a, b, a", chws)
	}
	// The urgent referral went to chw-b's webhook at once.
	if req, _ := rc.counts(); req != 1 {
		t.Errorf("urgent webhook requests: %d, want 1", req)
	}
	again, err := r.Dispatch(ctx, referral("referral/moutse/1/c0/0"))
	if err != nil || !again.Duplicate || !strings.Contains(again.DispatchRef, "chw-a") {
		t.Errorf("repeat dispatch %+v, %v", again, err)
	}
	st, err := r.Status(ctx, "referral/moutse/1/c1/0")
	if err != nil || st.State != plugins.ReferralDispatched || !strings.Contains(st.Detail, "assigned to chw-b") {
		t.Errorf("Status %+v, %v", st, err)
	}
	digests, _ := filepath.Glob(filepath.Join(state, "moutse", "referral-outreach", "digest", "*", "*.jsonl"))
	if len(digests) != 2 {
		t.Errorf("digest files %v, want one per CHW", digests)
	}
}

func TestExampleSMSGatewayPlugin(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the example plugin")
	}
	bin := filepath.Join(t.TempDir(), "sms-gateway")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "examples", "sms-gateway")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the example plugin: %v\n%s", err, out)
	}
	sum := sha256File(t, bin)

	var mu sync.Mutex
	var got []map[string]string
	var keys []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/messages" || r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got, keys = append(got, m), append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		io.WriteString(w, `{"id":"gw-1"}`)
	}))
	defer gw.Close()

	s := testSite("s1", sites.Plugins{Notify: sites.PluginRef{Path: "sms-gateway", SHA256: sum, Config: map[string]any{
		"url": gw.URL + "/api", "api_key_env": "KHULA_TEST_SMS_KEY", "sender_id": "KHULA",
	}}})
	s.Dir = "s1"
	sitesDir := filepath.Dir(filepath.Dir(bin))
	if err := os.MkdirAll(filepath.Join(sitesDir, "s1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin, filepath.Join(sitesDir, "s1", "sms-gateway")); err != nil {
		t.Fatal(err)
	}
	h, _ := newHost(t, Options{SitesDir: sitesDir}, s)
	n, err := h.NotifyService("s1")
	if err != nil {
		t.Fatal(err)
	}
	msg := plugins.Message{IdempotencyKey: "notify/s1/reminder/0", SiteID: "s1", To: plugins.Contact{Channel: "sms", Address: "+27821234567"},
		Language: "nso", Template: "reminder", Body: "Kgopotšo: kopano ka Labobedi."}
	for i := range 2 {
		d, err := n.Send(context.Background(), msg)
		if err != nil || d.MessageRef != "sms:gw-1" || d.Duplicate != (i == 1) {
			t.Errorf("send %d: %+v, %v", i, d, err)
		}
	}
	mu.Lock()
	if len(got) != 1 || got[0]["to"] != "+27821234567" || got[0]["text"] != msg.Body || got[0]["from"] != "KHULA" ||
		got[0]["reference"] != msg.IdempotencyKey || keys[0] != msg.IdempotencyKey {
		t.Errorf("gateway got %v with keys %v", got, keys)
	}
	mu.Unlock()
	if st, err := n.DeliveryStatus(context.Background(), msg.IdempotencyKey); err != nil || st.State != plugins.DeliverySent {
		t.Errorf("DeliveryStatus %+v, %v", st, err)
	}
	if _, err := n.Send(context.Background(), plugins.Message{IdempotencyKey: "k2", To: plugins.Contact{Channel: "email", Address: "a@b"}}); !errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("email through the SMS plugin: %v", err)
	}
	procs := h.Processes()
	if len(procs) != 1 || procs[0].Plugin != "sms-gateway" || procs[0].PID == 0 {
		t.Errorf("processes %+v", procs)
	}
}
