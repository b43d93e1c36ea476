package intakesubmit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/intakesubmit"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/plugins"
)

var now = time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)

// fakeIntake is a site's intake plugin serving a recorded export.
type fakeIntake struct {
	batch plugins.IntakeBatch
	err   error
}

func (f *fakeIntake) Intaker(siteID string) (plugins.Intaker, error) {
	if siteID != "moutse" {
		return nil, errors.New("no intake plugin")
	}
	return f, nil
}

func (f *fakeIntake) Fetch(context.Context, plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	b := f.batch
	b.Data = append([]byte(nil), f.batch.Data...)
	return b, f.err
}

// engine answers Updates as the cycles would: an Update ID is applied once
// and an applied form is saved, as the worker's SaveAssessment does.
type engine struct {
	st      *store.Store
	down    bool
	mu      sync.Mutex
	calls   []string
	applied map[string]bool
}

func (e *engine) update(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.down {
		return nil, serviceerror.NewUnavailable("engine restarting")
	}
	e.calls = append(e.calls, o.UpdateID)
	if !e.applied[o.UpdateID] {
		e.applied[o.UpdateID] = true
		in := o.Args[0].(cycle.SubmitAssessmentInput)
		if err := e.st.SaveAssessment(context.Background(), cycle.AssessmentRecord{CycleID: o.WorkflowID, Phase: in.Phase,
			Respondent: in.Respondent, Answers: in.Answers, SubmittedBy: in.SubmittedBy, SubmittedAt: now}); err != nil {
			return nil, err
		}
	}
	h := &mocks.WorkflowUpdateHandle{}
	h.On("Get", mock.Anything, mock.Anything).Return(nil)
	return h, nil
}

func (e *engine) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.calls
	e.calls = nil
	return out
}

// newPuller sets up the Moutse site with the two children of package
// intake's recorded samples, at the assess stage of wave 1.
func newPuller(t *testing.T, export string) (*intakesubmit.Puller, *engine, *fakeIntake) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "khula.db"))
	require.NoError(t, err)
	st.SetFieldCipher(codectest.Keyring())
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	dir, err := sitedir.Load("../../sites")
	require.NoError(t, err)
	reg, err := scoring.New(dir.Sites(), dir.FS, nil)
	require.NoError(t, err)
	site, ok := dir.Site("moutse")
	require.True(t, ok)
	require.NoError(t, demo.EnsureSite(ctx, st, site))
	for _, id := range []string{"ch-0bf35071b4", "ch-5a1c9e2f07"} {
		require.NoError(t, st.AddFamilies(ctx, []store.Family{{
			Caregiver: store.Caregiver{ID: "cg-" + id, SiteID: "moutse", GivenName: "Demo", FamilyName: "Caregiver", Language: "en", CreatedAt: now},
			Child: store.Child{ID: id, SiteID: "moutse", SchoolID: "moutse-primary", CaregiverID: "cg-" + id, GivenName: "Demo", FamilyName: "Child",
				Sex: "female", BirthDate: now.AddDate(-6, 0, 0), Grade: "1", CreatedAt: now},
		}}))
	}
	require.NoError(t, st.SaveWave(ctx, cycle.WaveRecord{WaveID: "wave/moutse/1", SiteID: "moutse", Number: 1, WindowOpen: now,
		WindowClose: now.AddDate(0, 1, 0), Status: cycle.WaveOpen, At: now}))
	for _, child := range []string{"ch-0bf35071b4", "ch-5a1c9e2f07"} {
		require.NoError(t, st.RecordStage(ctx, cycle.StageRecord{CycleID: "cycle/moutse/1/" + child, WaveID: "wave/moutse/1", SiteID: "moutse",
			SchoolID: "moutse-primary", ChildID: child, Seq: 2, Stage: cycle.StageAssess, At: now}))
	}
	e := &engine{st: st, applied: map[string]bool{}}
	tc := &mocks.Client{}
	tc.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(e.update)
	data, err := os.ReadFile(export)
	require.NoError(t, err)
	in := &fakeIntake{batch: plugins.IntakeBatch{Data: data, Source: "recorded export"}}
	p := &intakesubmit.Puller{
		Submitter: &intakesubmit.Submitter{Temporal: tc, Store: st},
		Plugins:   in,
		Instrument: func(siteID string) (*instrument.Instrument, error) {
			ref, ok := reg.SiteInstrument(siteID)
			require.True(t, ok)
			inst, ok := reg.Instrument(ref)
			require.True(t, ok)
			return inst, nil
		},
	}
	return p, e, in
}

// The Update IDs of the three good rows of the recorded samples.
var sampleIDs = []string{
	"assessment/baseline/caregiver/odk:uuid:6f1c2b7e-3d4a-4c8e-9b1f-2a7d5e8c0f13",
	"assessment/baseline/teacher/odk:uuid:0b9e4d2a-7c15-4f3e-8a6d-91c2b3e4f5a6",
	"assessment/reassessment/nurse/odk:uuid:9a7b6c5d-4e3f-4a1b-8c2d-3e4f5a6b7c8d",
}

// A scheduled pull submits each new submission once: pulling the same
// export again (Central's JSON feed, then Kobo's) sends nothing twice.
func TestPullSubmitsEachSubmissionOnce(t *testing.T) {
	cases := []struct {
		name, export, format, otherSite string
	}{
		{"ODK Central JSON", "../intake/testdata/central.json", "central-json", "uuid:c3d8e1f0-5a2b-4e7c-b9d4-6f1a2c3b4d5e"},
		{"KoboToolbox JSON", "../intake/testdata/kobo.json", "kobo-json", "uuid:c3d8e1f0-5a2b-4e7c-b9d4-6f1a2c3b4d5e"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, e, _ := newPuller(t, tc.export)
			var progress []int
			rep, err := p.Pull(context.Background(), "moutse", func(done, total int) { progress = append(progress, done) })
			require.NoError(t, err)
			assert.Equal(t, tc.format, rep.Format)
			assert.Equal(t, "recorded export", rep.Source)
			assert.Equal(t, 4, rep.Rows)
			assert.Equal(t, 3, rep.Submitted)
			assert.Zero(t, rep.Already)
			assert.Equal(t, 1, rep.NotSubmitted)
			assert.Equal(t, 1, rep.RedFlags, "the caregiver's PHQ-9 item 9")
			require.Len(t, rep.Errors, 1)
			assert.Equal(t, tc.otherSite, rep.Errors[0].InstanceID)
			assert.Contains(t, rep.Errors[0].Reason, "another site")
			assert.ElementsMatch(t, sampleIDs, e.take())
			assert.Equal(t, 3, progress[len(progress)-1], "progress ends at the last row")

			rep, err = p.Pull(context.Background(), "moutse", nil)
			require.NoError(t, err)
			assert.Zero(t, rep.Submitted)
			assert.Equal(t, 3, rep.Already)
			assert.Empty(t, e.take(), "a recorded submission is not sent again")

			var got []store.Assessment
			require.NoError(t, p.Submitter.Store.DB(context.Background()).Find(&got).Error)
			assert.Len(t, got, 3)
			for _, a := range got {
				assert.Contains(t, a.SubmittedBy, "intake pull, imported from submission uuid:")
			}
		})
	}
}

// An engine that stops answering stops the pull with a retryable error;
// the next pull submits the rest and nothing twice.
func TestPullStopsWhenTheEngineIsDown(t *testing.T) {
	p, e, _ := newPuller(t, "../intake/testdata/central.json")
	e.down = true
	rep, err := p.Pull(context.Background(), "moutse", nil)
	require.ErrorIs(t, err, intakesubmit.ErrUnavailable)
	assert.Zero(t, rep.Submitted)

	e.down = false
	rep, err = p.Pull(context.Background(), "moutse", nil)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Submitted)
	assert.ElementsMatch(t, sampleIDs, e.take())
}

// What the operator must fix (the plugin's settings, an export khula cannot
// read) comes back as permanent, with nothing submitted.
func TestPullPermanentProblems(t *testing.T) {
	t.Run("the plugin refuses", func(t *testing.T) {
		p, e, in := newPuller(t, "../intake/testdata/central.json")
		in.err = errors.Join(plugins.ErrPermanent, errors.New("401 Unauthorized: the server did not accept the token"))
		_, err := p.Pull(context.Background(), "moutse", nil)
		require.ErrorIs(t, err, plugins.ErrPermanent)
		assert.Empty(t, e.take())
	})
	t.Run("an unreadable export", func(t *testing.T) {
		p, e, in := newPuller(t, "../intake/testdata/central.json")
		in.batch.Data = []byte("<html>login page</html>")
		_, err := p.Pull(context.Background(), "moutse", nil)
		require.ErrorIs(t, err, plugins.ErrPermanent)
		assert.Contains(t, err.Error(), "recorded export")
		assert.Empty(t, e.take())
	})
	t.Run("an unknown format", func(t *testing.T) {
		p, _, in := newPuller(t, "../intake/testdata/central.json")
		in.batch.Format = "xlsx"
		_, err := p.Pull(context.Background(), "moutse", nil)
		require.ErrorIs(t, err, plugins.ErrPermanent)
	})
}
