package codec

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
)

// memVault is a DataKeyVault in memory, counting its lookups.
type memVault struct {
	mu        sync.Mutex
	bySubject map[string]string
	keys      map[string][]byte
	destroyed map[string]bool
	lookups   int
}

func newMemVault() *memVault {
	return &memVault{bySubject: map[string]string{}, keys: map[string][]byte{}, destroyed: map[string]bool{}}
}

func (v *memVault) DataKey(_ context.Context, subject string) (string, []byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lookups++
	if v.destroyed[subject] {
		return "", nil, ErrDataKeyDestroyed
	}
	id, ok := v.bySubject[subject]
	if !ok {
		id = "key-of-" + subject
		v.bySubject[subject] = id
		v.keys[id] = key(byte(len(v.keys) + 10))
	}
	return id, v.keys[id], nil
}

func (v *memVault) OpenDataKey(_ context.Context, id string) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lookups++
	k, ok := v.keys[id]
	if !ok {
		return nil, ErrDataKeyDestroyed
	}
	return k, nil
}

func (v *memVault) destroy(subject string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.keys, v.bySubject[subject])
	v.destroyed[subject] = true
}

// cycleSubject treats "cycle/<child>" IDs as about one child.
func cycleSubject(id string) (string, bool) { return strings.CutPrefix(id, "cycle/") }

func dataKeysCodec(t *testing.T) (*PayloadCodec, *memVault, *DataKeys) {
	t.Helper()
	kr, err := NewKeyring("a", map[string][]byte{"a": key(1)})
	if err != nil {
		t.Fatal(err)
	}
	vault := newMemVault()
	dk := NewDataKeys(vault, cycleSubject)
	return New(kr).WithDataKeys(dk), vault, dk
}

// inWorkflow is the data converter as the SDK uses it for a workflow's payloads.
func inWorkflow(c *PayloadCodec, workflowID string) converter.DataConverter {
	return converter.WithDataConverterSerializationContext(c.DataConverter(), converter.WorkflowSerializationContext{Namespace: "khula", WorkflowID: workflowID})
}

func TestChildPayloadsAreSealedWithTheChildsKey(t *testing.T) {
	c, vault, dk := dataKeysCodec(t)
	answers := map[string]string{"note": "Demo-Child said something"}
	tests := []struct {
		name    string
		dc      converter.DataConverter
		wantKey string
	}{
		{"a child's cycle", inWorkflow(c, "cycle/ch-1"), "dek:key-of-ch-1"},
		{"an activity of the child's cycle", converter.WithDataConverterSerializationContext(c.DataConverter(),
			converter.ActivitySerializationContext{WorkflowID: "cycle/ch-1", ActivityType: "Score"}), "dek:key-of-ch-1"},
		{"another child's cycle", inWorkflow(c, "cycle/ch-2"), "dek:key-of-ch-2"},
		{"a wave (no one child)", inWorkflow(c, "wave/site/1"), "a"},
		{"no context at all", c.DataConverter(), "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.dc.ToPayload(answers)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(p.GetMetadata()[MetadataKeyID]); got != tc.wantKey {
				t.Fatalf("sealed with %q, want %q", got, tc.wantKey)
			}
			if strings.Contains(string(p.GetData()), "Demo-Child") {
				t.Fatal("the payload holds the plaintext")
			}
			// Any codec of the process opens it: the key ID is on the payload.
			var back map[string]string
			if err := c.DataConverter().FromPayload(p, &back); err != nil || back["note"] != answers["note"] {
				t.Fatalf("opened %v, %v", back, err)
			}
		})
	}

	p, err := inWorkflow(c, "cycle/ch-1").ToPayload(answers)
	if err != nil {
		t.Fatal(err)
	}
	other, err := inWorkflow(c, "cycle/ch-2").ToPayload(answers)
	if err != nil {
		t.Fatal(err)
	}
	vault.destroy("ch-1")
	dk.Forget("ch-1")
	var back map[string]string
	if err := c.DataConverter().FromPayload(p, &back); !errors.Is(err, ErrDataKeyDestroyed) {
		t.Fatalf("opening a destroyed child's payload = %v, want ErrDataKeyDestroyed", err)
	}
	if err := c.DataConverter().FromPayload(other, &back); err != nil {
		t.Fatalf("another child's payload stays readable: %v", err)
	}
	if _, err := inWorkflow(c, "cycle/ch-1").ToPayload(answers); !errors.Is(err, ErrDataKeyDestroyed) {
		t.Fatalf("sealing for an erased child = %v, want ErrDataKeyDestroyed (no new key)", err)
	}
}

// TestPayloadsFromBeforeDataKeysStayReadable: histories of cycles started
// before the change hold payloads sealed with the keyring; a codec with
// data keys opens them.
func TestPayloadsFromBeforeDataKeysStayReadable(t *testing.T) {
	c, _, _ := dataKeysCodec(t)
	old := New(c.keys)
	p, err := old.DataConverter().ToPayload("an old form")
	if err != nil {
		t.Fatal(err)
	}
	var back string
	if err := inWorkflow(c, "cycle/ch-1").FromPayload(p, &back); err != nil || back != "an old form" {
		t.Fatalf("old payload = %q, %v", back, err)
	}
	// And a process without the vault says which key it lacks.
	newer, err := inWorkflow(c, "cycle/ch-1").ToPayload("a new form")
	if err != nil {
		t.Fatal(err)
	}
	if err := old.DataConverter().FromPayload(newer, &back); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("without a vault = %v, want ErrUnknownKey", err)
	}
}

func TestDataKeysAreCached(t *testing.T) {
	c, vault, dk := dataKeysCodec(t)
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	dk.now = func() time.Time { return now }
	dc := inWorkflow(c, "cycle/ch-1")
	for range 100 {
		p, err := dc.ToPayload("x")
		if err != nil {
			t.Fatal(err)
		}
		var back string
		if err := dc.FromPayload(p, &back); err != nil {
			t.Fatal(err)
		}
	}
	if vault.lookups != 1 {
		t.Fatalf("100 round trips made %d vault lookups, want 1 (the key sealed with opens too)", vault.lookups)
	}
	now = now.Add(DataKeyCacheFor + time.Second)
	if _, err := dc.ToPayload("x"); err != nil {
		t.Fatal(err)
	}
	if vault.lookups != 2 {
		t.Fatalf("after the cache period: %d lookups, want 2", vault.lookups)
	}
}

// BenchmarkPayloadRoundTrip compares sealing and opening a cycle's payload
// with the keyring (the baseline) and with the child's data key, looked up
// once and then cached.
func BenchmarkPayloadRoundTrip(b *testing.B) {
	kr, err := NewKeyring("a", map[string][]byte{"a": key(1)})
	if err != nil {
		b.Fatal(err)
	}
	payload := map[string]any{"answers": map[string]int{"q1": 1, "q2": 2, "q3": 3, "q4": 0}, "respondent": "teacher"}
	for _, bc := range []struct {
		name string
		dc   converter.DataConverter
	}{
		{"keyring", New(kr).DataConverter()},
		{"child-data-key-cached", converter.WithDataConverterSerializationContext(
			New(kr).WithDataKeys(NewDataKeys(newMemVault(), cycleSubject)).DataConverter(),
			converter.WorkflowSerializationContext{WorkflowID: "cycle/ch-1"})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := bc.dc.ToPayload(payload)
				if err != nil {
					b.Fatal(err)
				}
				var back map[string]any
				if err := bc.dc.FromPayload(p, &back); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
