package shared

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/khula-cop/khula/plugins"
	pb "github.com/khula-cop/khula/plugins/proto/khula/plugin/v1"
)

// fake implements every role and records what it received.
type fake struct {
	cfg      plugins.Config
	referral plugins.ReferralRequest
	msg      plugins.Message
	batch    plugins.ExportBatch
	query    plugins.ServiceQuery
	fetch    plugins.IntakeRequest
	intake   plugins.IntakeBatch
	err      error
	emptyRef bool
}

func (f *fake) Name() string    { return "fake" }
func (f *fake) Version() string { return "9.9" }
func (f *fake) Configure(_ context.Context, cfg plugins.Config) error {
	f.cfg = cfg
	return f.err
}
func (f *fake) FindServices(_ context.Context, q plugins.ServiceQuery) ([]plugins.Service, error) {
	f.query = q
	return []plugins.Service{{ID: "s1", Name: "Clinic", Type: "clinic", Domains: []string{"health"}, Schools: []string{"a"}, Contact: plugins.Contact{Channel: "email", Address: "c@example.org"}}}, f.err
}
func (f *fake) Dispatch(_ context.Context, r plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	f.referral = r
	if f.emptyRef {
		return plugins.ReferralReceipt{}, nil
	}
	return plugins.ReferralReceipt{DispatchRef: "ref-1", Duplicate: true}, f.err
}
func (f *fake) Status(_ context.Context, key string) (plugins.ReferralStatus, error) {
	return plugins.ReferralStatus{IdempotencyKey: key, State: plugins.ReferralAcknowledged, DispatchRef: "ref-1", Detail: "seen", UpdatedAt: time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)}, f.err
}
func (f *fake) Send(_ context.Context, m plugins.Message) (plugins.Delivery, error) {
	f.msg = m
	return plugins.Delivery{MessageRef: "msg-1"}, f.err
}
func (f *fake) DeliveryStatus(_ context.Context, key string) (plugins.DeliveryState, error) {
	return plugins.DeliveryState{IdempotencyKey: key, State: plugins.DeliveryDelivered, MessageRef: "msg-1"}, f.err
}
func (f *fake) Push(_ context.Context, b plugins.ExportBatch) (plugins.ExportReceipt, error) {
	f.batch = b
	return plugins.ExportReceipt{PushRef: "push-1", Accepted: 3}, f.err
}

func (f *fake) Fetch(_ context.Context, req plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	f.fetch = req
	if f.err != nil {
		return plugins.IntakeBatch{}, f.err
	}
	return f.intake, nil
}

// connect serves impl over a real gRPC connection (no subprocess) and
// returns the host-side clients.
func connect(t *testing.T, impl Impl) (Controller, plugins.ReferralService, plugins.NotifyService, plugins.Exporter, plugins.Intaker) {
	t.Helper()
	set, err := PluginSet(impl)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := plugin.TestPluginGRPCConn(t, false, set)
	// Closing the client stops the server: go-plugin's Close sends the
	// controller's Shutdown, whose handler calls server.Stop. Calling Stop
	// here as well raced with that handler (go-plugin's Stop is not safe
	// to call twice at once; the race detector saw it in CI).
	t.Cleanup(func() { client.Close() })
	get := func(name string) any {
		raw, err := client.Dispense(name)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	ctl := get(NameControl).(Controller)
	var r plugins.ReferralService
	var n plugins.NotifyService
	var e plugins.Exporter
	var i plugins.Intaker
	if _, ok := set[NameReferral]; ok {
		r = get(NameReferral).(plugins.ReferralService)
	}
	if _, ok := set[NameNotify]; ok {
		n = get(NameNotify).(plugins.NotifyService)
	}
	if _, ok := set[NameExport]; ok {
		e = get(NameExport).(plugins.Exporter)
	}
	if _, ok := set[NameIntake]; ok {
		i = get(NameIntake).(plugins.Intaker)
	}
	return ctl, r, n, e, i
}

func TestShimsCarryEveryField(t *testing.T) {
	ctx := context.Background()
	f := &fake{}
	ctl, ref, notify, exp, intake := connect(t, f)

	info, err := ctl.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := plugins.Info{Name: "fake", Version: "9.9", ProtocolVersion: ProtocolVersion, Roles: []string{plugins.RoleReferral, plugins.RoleNotify, plugins.RoleExport, plugins.RoleIntake}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Info = %+v, want %+v", info, want)
	}

	// Calls before Configure are refused.
	if _, err := ref.Dispatch(ctx, plugins.ReferralRequest{IdempotencyKey: "k"}); !errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("Dispatch before Configure: %v, want a permanent error", err)
	}

	cfg := plugins.Config{
		SiteID: "moutse", Role: plugins.RoleReferral, Settings: []byte(`{"a":1}`), StateDir: "/var/lib/x",
		Timezone: "Africa/Johannesburg", Languages: []string{"en", "nso"}, DefaultLanguage: "nso",
		Services: []plugins.Service{{ID: "s", Name: "S", Type: "clinic", Domains: []string{"health"}, Schools: []string{"a", "b"}, Contact: plugins.Contact{Channel: "webhook", Address: "https://x"}}},
	}
	if err := ctl.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.cfg, cfg) {
		t.Errorf("Configure carried %+v, want %+v", f.cfg, cfg)
	}

	q := plugins.ServiceQuery{Need: "clinic", Domain: "health", SchoolID: "a", Area: "ward 7"}
	svcs, err := ref.FindServices(ctx, q)
	if err != nil || len(svcs) != 1 || svcs[0].Contact.Address != "c@example.org" || svcs[0].Schools[0] != "a" {
		t.Errorf("FindServices = %+v, %v", svcs, err)
	}
	if f.query != q {
		t.Errorf("query carried %+v, want %+v", f.query, q)
	}

	req := plugins.ReferralRequest{IdempotencyKey: "referral/moutse/1/c1/0", SiteID: "moutse", SchoolID: "moutse-primary",
		ServiceID: "wbot", ServiceType: "outreach", Domain: "health", Urgent: true, ChildRef: "cycle/x",
		Contact: plugins.Contact{Channel: "email", Address: "w@example.org"}, Language: "nso"}
	rec, err := ref.Dispatch(ctx, req)
	if err != nil || rec != (plugins.ReferralReceipt{DispatchRef: "ref-1", Duplicate: true}) {
		t.Errorf("Dispatch = %+v, %v", rec, err)
	}
	if f.referral != req {
		t.Errorf("Dispatch carried %+v, want %+v", f.referral, req)
	}
	st, err := ref.Status(ctx, "k1")
	if err != nil || st.State != plugins.ReferralAcknowledged || st.IdempotencyKey != "k1" || st.Detail != "seen" || !st.UpdatedAt.Equal(time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Status = %+v, %v", st, err)
	}

	msg := plugins.Message{IdempotencyKey: "n/1", SiteID: "moutse", To: plugins.Contact{Channel: "sms", Address: "+27"},
		Language: "nr", Template: "reminder", Subject: "S", Body: "B"}
	d, err := notify.Send(ctx, msg)
	if err != nil || d.MessageRef != "msg-1" || d.Duplicate {
		t.Errorf("Send = %+v, %v", d, err)
	}
	if f.msg != msg {
		t.Errorf("Send carried %+v, want %+v", f.msg, msg)
	}
	ds, err := notify.DeliveryStatus(ctx, "n/1")
	if err != nil || ds.State != plugins.DeliveryDelivered || ds.UpdatedAt != (time.Time{}) {
		t.Errorf("DeliveryStatus = %+v, %v", ds, err)
	}

	at := time.Date(2026, 8, 3, 9, 30, 0, 0, time.UTC)
	batch := plugins.ExportBatch{IdempotencyKey: "export/1", SiteID: "moutse",
		Records: []plugins.ExportRecord{{RecordID: "r1", ChildRef: "c1", SchoolID: "s", Stage: "baseline", EnrolledAt: at, OccurredAt: at.Add(time.Hour),
			Attributes: map[string]string{"sex": "F"}, Values: map[string]string{"risk.health": "high"}}},
		Aggregates: []plugins.ExportAggregate{{SchoolID: "s", Period: "202608", Key: "high", Value: "4"}}}
	pr, err := exp.Push(ctx, batch)
	if err != nil || pr.PushRef != "push-1" || pr.Accepted != 3 {
		t.Errorf("Push = %+v, %v", pr, err)
	}
	if !f.batch.Records[0].EnrolledAt.Equal(at) {
		t.Errorf("EnrolledAt carried %v", f.batch.Records[0].EnrolledAt)
	}
	f.batch.Records[0].EnrolledAt, f.batch.Records[0].OccurredAt = at, at.Add(time.Hour)
	if !reflect.DeepEqual(f.batch, batch) {
		t.Errorf("Push carried %+v, want %+v", f.batch, batch)
	}

	f.intake = plugins.IntakeBatch{Format: "central-json", Source: "ODK Central https://central.example.org, form cwbtt", Data: []byte(`{"value":[]}`)}
	got, err := intake.Fetch(ctx, plugins.IntakeRequest{SiteID: "moutse"})
	if err != nil || !reflect.DeepEqual(got, f.intake) {
		t.Errorf("Fetch = %+v, %v; want %+v", got, err, f.intake)
	}
	if f.fetch != (plugins.IntakeRequest{SiteID: "moutse"}) {
		t.Errorf("Fetch carried %+v", f.fetch)
	}
}

func TestShimsTranslateErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		err       error
		permanent bool
		unsupp    bool
		transient bool
	}{
		{"permanent", errors.Join(errors.New("service refused"), plugins.ErrPermanent), true, false, false},
		{"unsupported", plugins.ErrUnsupported, true, true, false},
		{"transient", errors.New("connection reset"), false, false, true},
		{"unavailable", plugins.ErrUnavailable, false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{}
			ctl, ref, _, _, intake := connect(t, f)
			if err := ctl.Configure(ctx, plugins.Config{}); err != nil {
				t.Fatal(err)
			}
			f.err = c.err
			_, err := ref.Dispatch(ctx, plugins.ReferralRequest{IdempotencyKey: "k"})
			_, ferr := intake.Fetch(ctx, plugins.IntakeRequest{SiteID: "s"})
			for _, err := range []error{err, ferr} {
				if err == nil {
					t.Fatal("no error")
				}
				if errors.Is(err, plugins.ErrPermanent) != c.permanent || errors.Is(err, plugins.ErrUnsupported) != c.unsupp || errors.Is(err, plugins.ErrUnavailable) != c.transient {
					t.Errorf("%v: permanent=%v unsupported=%v unavailable=%v", err, errors.Is(err, plugins.ErrPermanent), errors.Is(err, plugins.ErrUnsupported), errors.Is(err, plugins.ErrUnavailable))
				}
			}
		})
	}
}

func TestShimsRefuseGarbage(t *testing.T) {
	ctx := context.Background()
	f := &fake{emptyRef: true}
	ctl, ref, _, _, _ := connect(t, f)
	if err := ctl.Configure(ctx, plugins.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Dispatch(ctx, plugins.ReferralRequest{IdempotencyKey: "k"}); !errors.Is(err, errGarbage) || !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("empty dispatch reference: %v, want a retryable protocol error", err)
	}
	if _, err := ref.Dispatch(ctx, plugins.ReferralRequest{}); !errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("empty idempotency key: %v, want a permanent error", err)
	}
}

// notifyOnly implements one role and none of the optional methods.
type notifyOnly struct{}

func (notifyOnly) Name() string                                    { return "n" }
func (notifyOnly) Configure(context.Context, plugins.Config) error { return nil }
func (notifyOnly) Send(context.Context, plugins.Message) (plugins.Delivery, error) {
	return plugins.Delivery{MessageRef: "x"}, nil
}

func TestShimsOptionalMethods(t *testing.T) {
	ctx := context.Background()
	ctl, _, notify, _, _ := connect(t, notifyOnly{})
	info, err := ctl.Info(ctx)
	if err != nil || !reflect.DeepEqual(info.Roles, []string{plugins.RoleNotify}) {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := ctl.Configure(ctx, plugins.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.DeliveryStatus(ctx, "k"); !errors.Is(err, plugins.ErrUnsupported) {
		t.Errorf("DeliveryStatus on a plugin without it: %v, want ErrUnsupported", err)
	}
	if _, err := PluginSet(struct{ notifyOnlyImpl }{}); err == nil {
		t.Error("PluginSet accepted an implementation with no role")
	}
}

type notifyOnlyImpl struct{}

func (notifyOnlyImpl) Name() string                                    { return "none" }
func (notifyOnlyImpl) Configure(context.Context, plugins.Config) error { return nil }

func TestRecoverUnary(t *testing.T) {
	_, err := recoverUnary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/khula.plugin.v1.Referral/Dispatch"},
		func(context.Context, any) (any, error) { panic("boom") })
	if err == nil {
		t.Fatal("a panic became no error")
	}
	if got := fromStatus("Dispatch", err); !errors.Is(got, plugins.ErrUnavailable) || errors.Is(got, plugins.ErrPermanent) {
		t.Errorf("panic surfaces as %v, want a retryable error", got)
	}
}

// export is n bytes that differ from chunk to chunk and within chunks, so a
// lost, repeated or reordered chunk shows.
func export(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/intakeChunk)
	}
	return b
}

func TestIntakeStreamsExports(t *testing.T) {
	ctx := context.Background()
	const source = "KoboToolbox https://kf.example.org, asset aB3"
	cases := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one chunk", 1000},
		{"exactly one chunk", intakeChunk},
		{"several chunks", 3*intakeChunk + 17},
		{"the limit", plugins.MaxIntakeBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{intake: plugins.IntakeBatch{Format: "kobo-json", Source: source, Data: export(c.n)}}
			ctl, _, _, _, intake := connect(t, f)
			if _, err := intake.Fetch(ctx, plugins.IntakeRequest{SiteID: "s"}); !errors.Is(err, plugins.ErrPermanent) {
				t.Errorf("Fetch before Configure: %v, want a permanent error", err)
			}
			if err := ctl.Configure(ctx, plugins.Config{}); err != nil {
				t.Fatal(err)
			}
			got, err := intake.Fetch(ctx, plugins.IntakeRequest{SiteID: "s"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != "kobo-json" || got.Source != source {
				t.Errorf("Fetch gave format %q, source %q", got.Format, got.Source)
			}
			if !bytes.Equal(got.Data, f.intake.Data) {
				t.Errorf("Fetch gave %d bytes, not the plugin's %d", len(got.Data), c.n)
			}
		})
	}
}

func TestIntakeRefusesOversizeExports(t *testing.T) {
	ctx := context.Background()
	// The plugin side refuses an export over the limit before sending it.
	f := &fake{intake: plugins.IntakeBatch{Format: "central-csv", Data: export(plugins.MaxIntakeBytes + 1)}}
	ctl, _, _, _, intake := connect(t, f)
	if err := ctl.Configure(ctx, plugins.Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := intake.Fetch(ctx, plugins.IntakeRequest{SiteID: "s"}); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversize export from a Go plugin: %v, want a permanent error", err)
	}

	// The host side refuses one from a plugin that streams on regardless,
	// and stops reading.
	done := make(chan error, 1)
	raw := rawIntake(t, func(_ *pb.FetchRequest, s pb.Intake_FetchServer) error {
		chunk := make([]byte, intakeChunk)
		for i := 0; i < 200; i++ {
			if err := s.Send(&pb.FetchChunk{Format: "central-csv", Data: chunk}); err != nil {
				done <- err
				return err
			}
		}
		done <- nil
		return nil
	})
	_, err := raw.Fetch(ctx, plugins.IntakeRequest{SiteID: "s"})
	if !errors.Is(err, plugins.ErrPermanent) || !errors.Is(err, errTooLarge) {
		t.Errorf("oversize stream: %v, want a permanent errTooLarge", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("the plugin sent 200 MiB: the host read on after the limit")
		}
	case <-time.After(10 * time.Second):
		t.Error("the plugin's stream did not end after the host gave up")
	}
}

func TestIntakeRefusesGarbage(t *testing.T) {
	raw := rawIntake(t, func(*pb.FetchRequest, pb.Intake_FetchServer) error { return nil })
	if _, err := raw.Fetch(context.Background(), plugins.IntakeRequest{}); !errors.Is(err, errGarbage) || !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("stream without a chunk: %v, want a retryable protocol error", err)
	}
}

// rawIntake serves fetch as the Intake service, bypassing the plugin-side
// shim (as a plugin in another language would), and returns the host side.
func rawIntake(t *testing.T, fetch func(*pb.FetchRequest, pb.Intake_FetchServer) error) plugins.Intaker {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{NameIntake: &rawIntakePlugin{fetch: fetch}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(NameIntake)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(plugins.Intaker)
}

type rawIntakePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	fetch func(*pb.FetchRequest, pb.Intake_FetchServer) error
}

func (p *rawIntakePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterIntakeServer(s, rawIntakeServer{fetch: p.fetch})
	return nil
}

func (p *rawIntakePlugin) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return (&IntakePlugin{}).GRPCClient(ctx, b, c)
}

type rawIntakeServer struct {
	pb.UnimplementedIntakeServer
	fetch func(*pb.FetchRequest, pb.Intake_FetchServer) error
}

func (s rawIntakeServer) Fetch(req *pb.FetchRequest, stream pb.Intake_FetchServer) error {
	return s.fetch(req, stream)
}

func TestRecoverStream(t *testing.T) {
	err := recoverStream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/khula.plugin.v1.Intake/Fetch", IsServerStream: true},
		func(any, grpc.ServerStream) error { panic("boom") })
	if err == nil {
		t.Fatal("a panic became no error")
	}
	if got := fromStatus("Fetch", err); !errors.Is(got, plugins.ErrUnavailable) || errors.Is(got, plugins.ErrPermanent) {
		t.Errorf("panic surfaces as %v, want a retryable error", got)
	}
}
