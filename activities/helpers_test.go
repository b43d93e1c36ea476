package activities_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

// fixedNow is the activities' clock in every test.
var fixedNow = time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC)

// fakeRecords is an in-memory Records. Only the methods the activities
// under test read have behaviour; the rest accept and forget.
type fakeRecords struct {
	aggregates []cycle.Aggregate
	mu         sync.Mutex

	answers      map[string]map[string]cycle.Answers // cycleID/phase -> respondent -> answers
	answersErr   error
	subject      cycle.Subject
	subjectCalls []string
	scores       []cycle.ScoreRecord
	saveScoreErr error

	openCycles []string // sorted, for OpenCycles

	cohort      []cycle.CohortMember // sorted by child ID
	cohortCalls []cohortCall
	cohortErr   error

	waves       []cycle.WaveRecord
	report      cycle.WaveReport
	reportErr   error
	saveWaveErr error

	agenda   []cycle.AgendaItem
	meetings []cycle.MeetingRecord
	progress cycle.WaveProgress
}

type cohortCall struct {
	Site  string
	After string
	Limit int
}

func (f *fakeRecords) RecordStage(context.Context, cycle.StageRecord) error { return nil }
func (f *fakeRecords) Enrolment(context.Context, cycle.EnrolmentQuery) (cycle.Enrolment, error) {
	return cycle.Enrolment{}, nil
}

func (f *fakeRecords) Subject(_ context.Context, childID string) (cycle.Subject, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subjectCalls = append(f.subjectCalls, childID)
	return f.subject, nil
}

func (f *fakeRecords) SaveAssessment(context.Context, cycle.AssessmentRecord) error { return nil }

func (f *fakeRecords) Assessments(_ context.Context, cycleID, phase string) (map[string]cycle.Answers, error) {
	if f.answersErr != nil {
		return nil, f.answersErr
	}
	return f.answers[cycleID+"/"+phase], nil
}

func (f *fakeRecords) SaveScore(_ context.Context, r cycle.ScoreRecord) error {
	if f.saveScoreErr != nil {
		return f.saveScoreErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scores = append(f.scores, r)
	return nil
}

func (f *fakeRecords) SaveReferral(context.Context, cycle.ReferralRecord) error { return nil }

func (f *fakeRecords) PendingAgenda(context.Context, string, string) ([]cycle.AgendaItem, error) {
	return f.agenda, nil
}

// AgendaDetails marks each item with the respondents it was asked about.
func (f *fakeRecords) AgendaDetails(_ context.Context, items []cycle.AgendaItem, respondents []string) error {
	for i := range items {
		items[i].Missing = append([]string(nil), respondents...)
	}
	return nil
}

// ClosedCycleReferrals: the cycle has one referral (k = 1) and runs on real time.
func (f *fakeRecords) ClosedCycleReferrals(context.Context, string) (int, time.Duration, error) {
	return 2, 0, nil
}

// OpenCycles pages through openCycles, which the test keeps sorted.
func (f *fakeRecords) OpenCycles(_ context.Context, _ string, after string, limit int) ([]string, error) {
	var out []string
	for _, id := range f.openCycles {
		if id > after && len(out) < limit {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fakeRecords) SaveMeeting(_ context.Context, r cycle.MeetingRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meetings = append(f.meetings, r)
	return nil
}

func (f *fakeRecords) SaveMinutes(context.Context, string, []cycle.ChildPlan, map[string]int, time.Time) error {
	return nil
}

func (f *fakeRecords) OverdueActionItems(context.Context, string, string, time.Time) ([]cycle.AgendaItem, error) {
	return nil, nil
}
func (f *fakeRecords) SaveFollowUp(context.Context, cycle.FollowUpRecord) error { return nil }

func (f *fakeRecords) SaveWave(_ context.Context, r cycle.WaveRecord) error {
	if f.saveWaveErr != nil {
		return f.saveWaveErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waves = append(f.waves, r)
	return nil
}

func (f *fakeRecords) CohortPage(_ context.Context, siteID, after string, limit int) ([]cycle.CohortMember, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cohortCalls = append(f.cohortCalls, cohortCall{Site: siteID, After: after, Limit: limit})
	if f.cohortErr != nil {
		return nil, f.cohortErr
	}
	var out []cycle.CohortMember
	for _, m := range f.cohort {
		if m.ChildID > after && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

func (f *fakeRecords) WaveProgress(context.Context, string) (cycle.WaveProgress, error) {
	return f.progress, nil
}

func (f *fakeRecords) WaveReport(context.Context, string) (cycle.WaveReport, error) {
	return f.report, f.reportErr
}

func (f *fakeRecords) WaveAggregates(context.Context, string) ([]cycle.Aggregate, error) {
	return f.aggregates, nil
}

// fakeSites is a SiteDirectory of sites built in the test.
type fakeSites map[string]*sites.Site

func (f fakeSites) Site(id string) (*sites.Site, bool) {
	s, ok := f[id]
	return s, ok
}

// fakePlugins hands out one notifier and one referrer for every site.
type fakePlugins struct {
	exporter    *fakeExporter
	notifier    *fakeNotifier
	referrer    *fakeReferrer
	notifierErr error
	referrerErr error
}

func (p *fakePlugins) Referrer(string) (plugins.Referrer, error) {
	if p.referrerErr != nil {
		return nil, p.referrerErr
	}
	return p.referrer, nil
}

func (p *fakePlugins) Notifier(string) (plugins.Notifier, error) {
	if p.notifierErr != nil {
		return nil, p.notifierErr
	}
	return p.notifier, nil
}

func (p *fakePlugins) Intaker(string) (plugins.Intaker, error) {
	return nil, errors.New("no intake plugin in this test")
}

func (p *fakePlugins) Exporter(string) (plugins.Exporter, error) {
	if p.exporter == nil {
		return nil, errors.New("no exporter")
	}
	return p.exporter, nil
}

// fakeExporter records pushed batches.
type fakeExporter struct{ got []plugins.ExportBatch }

func (e *fakeExporter) Push(_ context.Context, b plugins.ExportBatch) (plugins.ExportReceipt, error) {
	e.got = append(e.got, b)
	return plugins.ExportReceipt{PushRef: "push-1", Accepted: len(b.Aggregates)}, nil
}

// fakeNotifier records every message and, like a real plugin, sends each
// idempotency key once: a key seen before is reported as a duplicate.
type fakeNotifier struct {
	mu   sync.Mutex
	got  []plugins.Message
	seen map[string]bool
	// failOn makes the send of that key fail once with err.
	failOn string
	err    error
}

func (n *fakeNotifier) Send(_ context.Context, msg plugins.Message) (plugins.Delivery, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil && (n.failOn == "" || n.failOn == msg.IdempotencyKey) {
		err := n.err
		if n.failOn != "" {
			n.err = nil
		}
		return plugins.Delivery{}, err
	}
	n.got = append(n.got, msg)
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if n.seen[msg.IdempotencyKey] {
		return plugins.Delivery{MessageRef: "m-" + msg.IdempotencyKey, Duplicate: true}, nil
	}
	n.seen[msg.IdempotencyKey] = true
	return plugins.Delivery{MessageRef: "m-" + msg.IdempotencyKey}, nil
}

// fakeReferrer records dispatches and answers with a fixed receipt or error.
type fakeReferrer struct {
	mu      sync.Mutex
	got     []plugins.ReferralRequest
	receipt plugins.ReferralReceipt
	err     error
}

func (r *fakeReferrer) Dispatch(_ context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	return r.receipt, r.err
}

// fakeScorer returns a fixed score and records what it was asked.
type fakeScorer struct {
	out activities.ScoreOutput
	doc []byte
	err error

	gotRef        cycle.InstrumentRef
	gotSubject    cycle.Subject
	gotAssessedOn time.Time
	gotAnswers    map[string]cycle.Answers
	scoreCalls    int

	changes     map[string]string
	gotBaseline map[string]string
	gotFollow   map[string]string
}

func (s *fakeScorer) Score(ref cycle.InstrumentRef, subject cycle.Subject, assessedOn time.Time, answers map[string]cycle.Answers) (activities.ScoreOutput, []byte, error) {
	s.scoreCalls++
	s.gotRef, s.gotSubject, s.gotAssessedOn, s.gotAnswers = ref, subject, assessedOn, answers
	if s.err != nil {
		return activities.ScoreOutput{}, nil, s.err
	}
	return s.out, s.doc, nil
}

func (s *fakeScorer) Compare(baseline, follow map[string]string) map[string]string {
	s.gotBaseline, s.gotFollow = baseline, follow
	return s.changes
}

// fakeStarter starts cycles concurrently-safely; a child already started (or
// listed in existing) reports started=false, as Temporal's duplicate ID does.
type fakeStarter struct {
	mu       sync.Mutex
	existing map[string]bool
	got      []cycle.CycleInput
	// failOn makes starting that child fail once.
	failOn string
	// signalled records SignalCycle calls as "id name phase".
	signalled []string
}

func (s *fakeStarter) SignalCycle(_ context.Context, id, name string, arg any) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	phase := ""
	if sig, ok := arg.(cycle.CloseWindowSignal); ok {
		phase = sig.Phase
	}
	s.signalled = append(s.signalled, id+" "+name+" "+phase)
	return true, nil
}

func (s *fakeStarter) StartCycle(_ context.Context, in cycle.CycleInput) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, in)
	if in.ChildID == s.failOn {
		s.failOn = ""
		return false, errors.New("engine unavailable")
	}
	if s.existing == nil {
		s.existing = map[string]bool{}
	}
	if s.existing[in.ChildID] {
		return false, nil
	}
	s.existing[in.ChildID] = true
	return true, nil
}

func (s *fakeStarter) children() map[string]cycle.CycleInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]cycle.CycleInput{}
	for _, in := range s.got {
		out[in.ChildID] = in
	}
	return out
}

// heartbeats records every StartPageOutput an activity heartbeats (the
// environment's own listener only sees throttled heartbeats).
type heartbeats struct {
	interceptor.WorkerInterceptorBase
	mu  sync.Mutex
	got []activities.StartPageOutput
}

func (h *heartbeats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	in := &heartbeatInbound{root: h}
	in.Next = next
	return in
}

func (h *heartbeats) list() []activities.StartPageOutput {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]activities.StartPageOutput(nil), h.got...)
}

type heartbeatInbound struct {
	interceptor.ActivityInboundInterceptorBase
	root *heartbeats
}

func (i *heartbeatInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	out := &heartbeatOutbound{root: i.root}
	out.Next = outbound
	return i.Next.Init(out)
}

type heartbeatOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	root *heartbeats
}

func (o *heartbeatOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	for _, d := range details {
		if p, ok := d.(activities.StartPageOutput); ok {
			o.root.mu.Lock()
			o.root.got = append(o.root.got, p)
			o.root.mu.Unlock()
		}
	}
	o.Next.RecordHeartbeat(ctx, details...)
}

// newEnv registers a on a fresh activity environment.
func newEnv(a *activities.Activities, hb *heartbeats) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	// The environment logs every failed activity at ERROR; the tests check
	// the errors themselves.
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	if hb != nil {
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{hb}})
	}
	env.RegisterActivity(a)
	return env
}

// wantAppError checks that err is (or wraps) an application error of type
// typ with the given retryability, and returns it.
func wantAppError(t *testing.T, err error, typ string, nonRetryable bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a %s application error", typ)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v (%T) is not an application error", err, err)
	}
	if appErr.Type() != typ {
		t.Errorf("error type = %q, want %q (error: %v)", appErr.Type(), typ, err)
	}
	if appErr.NonRetryable() != nonRetryable {
		t.Errorf("NonRetryable = %v, want %v (error: %v)", appErr.NonRetryable(), nonRetryable, err)
	}
}

// wantRetryable checks that err is an error Temporal will retry: not a
// non-retryable application error, and not of any of the activities'
// non-retryable types.
func wantRetryable(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a retryable one")
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.NonRetryable() {
			t.Errorf("error %v is non-retryable, want retryable", err)
		}
		switch appErr.Type() {
		case activities.ErrTypePluginRejected, activities.ErrTypeNoService, activities.ErrTypeUnknownSite, activities.ErrTypeScoring:
			t.Errorf("error type = %q, want an ordinary (retryable) error", appErr.Type())
		}
	}
}
