package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/temporalx"
)

// TestWithdrawalShredsTheEnginesCopy proves crypto-shredding on the
// embedded engine: a child's cycle history is read back from the engine
// raw (as anyone with the engine's database would), before and after the
// child's consent is withdrawn. Before, every payload of the child's cycle
// names the child's data key and opens; after, the same payloads cannot be
// opened with any key that remains (the keyring and every other data key),
// while another child's history opens as before.
func TestWithdrawalShredsTheEnginesCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	d := startDev(t, t.TempDir())
	defer d.Stop(context.Background())

	launchWave(t, d, "johannesburg", 1)
	children := cyclesAt(t, d, "wave/johannesburg/1", "assess", 2)
	withdrawn, kept := children[0], children[1]

	// A fresh codec, as another process would have: no cached keys.
	fresh := func() *codec.PayloadCodec {
		return codec.New(codectest.Keyring()).WithDataKeys(codec.NewDataKeys(d.Store, temporalx.ChildSubject))
	}
	// The child's payloads: the workflow's input, activity inputs and
	// results. (Search attributes are payloads too,
	// unsealed by design: IDs and stages only. Failures, which must never
	// hold personal data, are sealed with the keyring.)
	var before []*commonpb.Payload
	keyring := 0
	for _, p := range historyPayloads(t, d, "cycle/johannesburg/1/"+withdrawn) {
		if string(p.GetMetadata()[codec.MetadataEncoding]) != codec.EncodingEncrypted {
			continue
		}
		if !bytes.HasPrefix(p.GetMetadata()[codec.MetadataKeyID], []byte("dek:")) {
			keyring++
			continue
		}
		if _, err := fresh().Decode([]*commonpb.Payload{p}); err != nil {
			t.Fatalf("before the withdrawal a payload does not open: %v", err)
		}
		before = append(before, p)
	}
	if len(before) < 3 {
		t.Fatalf("only %d payloads of the child's cycle are sealed with the child's data key (%d with the keyring)", len(before), keyring)
	}
	t.Logf("%d payloads sealed with the child's key, %d with the keyring", len(before), keyring)

	apiCall(t, d, http.MethodPost, "/api/v1/children/johannesburg/"+withdrawn+"/consent/withdraw", "shred-withdraw",
		map[string]any{"reason": "family asked to leave the study", "recorded_by": "coordinator"})

	shredded := 0
	for _, p := range historyPayloads(t, d, "cycle/johannesburg/1/"+withdrawn) {
		if !bytes.HasPrefix(p.GetMetadata()[codec.MetadataKeyID], []byte("dek:")) {
			continue
		}
		if _, err := fresh().Decode([]*commonpb.Payload{p}); !errors.Is(err, codec.ErrDataKeyDestroyed) {
			t.Fatalf("a payload of the withdrawn child's history: %v, want ErrDataKeyDestroyed", err)
		}
		shredded++
	}
	if shredded < len(before) {
		t.Fatalf("%d of the child's %d sealed payloads found after the withdrawal", shredded, len(before))
	}
	// The process that withdrew forgot the key at once too.
	if _, err := codec.New(codectest.Keyring()).WithDataKeys(d.DataKeys).Decode(before[:1]); !errors.Is(err, codec.ErrDataKeyDestroyed) {
		t.Fatalf("the running process still opens the child's payloads: %v", err)
	}
	for _, p := range historyPayloads(t, d, "cycle/johannesburg/1/"+kept) {
		if _, err := fresh().Decode([]*commonpb.Payload{p}); err != nil {
			t.Fatalf("another child's history no longer opens: %v", err)
		}
	}
}

// apiCall sends a JSON request as the simulator's user (a site
// coordinator) and fails the test unless it succeeds.
func apiCall(t *testing.T, d *Dev, method, path, key string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, d.BaseURL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+d.SimulatorToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, msg)
	}
}

// historyPayloads reads a workflow's history from the engine without
// decoding it and returns every payload in it.
func historyPayloads(t *testing.T, d *Dev, workflowID string) []*commonpb.Payload {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*commonpb.Payload
	it := d.Client.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("reading the history of %s: %v", workflowID, err)
		}
		collectPayloads(ev.ProtoReflect(), &out)
	}
	return out
}

// collectPayloads walks a message and appends a copy of every Payload in it.
func collectPayloads(m protoreflect.Message, out *[]*commonpb.Payload) {
	eachPayload(m, func(p *commonpb.Payload) { *out = append(*out, proto.Clone(p).(*commonpb.Payload)) })
}

// eachPayload walks a message and calls fn with every Payload in it (in
// place: fn may change it).
func eachPayload(m protoreflect.Message, fn func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		fn(p)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				eachPayload(v.List().Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				eachPayload(mv.Message(), fn)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			eachPayload(v.Message(), fn)
		}
		return true
	})
}
