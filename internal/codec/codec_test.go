package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestRoundTripHidesPlaintext(t *testing.T) {
	kr, err := NewKeyring("a", map[string][]byte{"a": key(1)})
	if err != nil {
		t.Fatal(err)
	}
	dc := New(kr).DataConverter()
	secret := map[string]string{"name": "Thandi Demo-Child"}
	p, err := dc.ToPayload(secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.GetData(), []byte("Thandi")) {
		t.Fatal("payload data contains the plaintext")
	}
	if got := string(p.GetMetadata()[MetadataKeyID]); got != "a" {
		t.Fatalf("key id = %q, want a", got)
	}
	if got := string(p.GetMetadata()[MetadataEncoding]); got != EncodingEncrypted {
		t.Fatalf("encoding = %q", got)
	}
	var back map[string]string
	if err := dc.FromPayload(p, &back); err != nil {
		t.Fatal(err)
	}
	if back["name"] != secret["name"] {
		t.Fatalf("round trip gave %v", back)
	}
}

func TestRotationKeepsOldPayloadsReadable(t *testing.T) {
	old, _ := NewKeyring("k1", map[string][]byte{"k1": key(1)})
	p, err := New(old).DataConverter().ToPayload("reading level 3")
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := NewKeyring("k2", map[string][]byte{"k1": key(1), "k2": key(2)})
	var s string
	if err := New(rotated).DataConverter().FromPayload(p, &s); err != nil || s != "reading level 3" {
		t.Fatalf("old payload after rotation: %q, %v", s, err)
	}
	p2, _ := New(rotated).DataConverter().ToPayload("x")
	if got := string(p2.GetMetadata()[MetadataKeyID]); got != "k2" {
		t.Fatalf("new payloads sealed with %q, want k2", got)
	}
	onlyNew, _ := NewKeyring("k2", map[string][]byte{"k2": key(2)})
	if err := New(onlyNew).DataConverter().FromPayload(p, &s); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropping the old key: got %v, want ErrUnknownKey", err)
	}
}

func TestTamperingDetected(t *testing.T) {
	kr, _ := NewKeyring("a", map[string][]byte{"a": key(1), "b": key(2)})
	c := New(kr)
	enc, err := c.Encode([]*commonpb.Payload{{Data: []byte("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: append([]byte(nil), enc[0].Data...)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil {
		t.Fatal("a flipped bit was not detected")
	}
	// The key ID is bound as associated data: relabelling the key fails too.
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte("b")}, Data: enc[0].Data}
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Fatal("a relabelled key id was not detected")
	}
	if _, err := c.Decode([]*commonpb.Payload{{Metadata: enc[0].Metadata, Data: []byte{1, 2}}}); err == nil {
		t.Fatal("a truncated payload was not detected")
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	kr, _ := NewKeyring("a", map[string][]byte{"a": key(1)})
	plain, _ := converter.GetDefaultDataConverter().ToPayload(42)
	out, err := New(kr).Decode([]*commonpb.Payload{plain})
	if err != nil || out[0] != plain {
		t.Fatalf("plain payload changed: %v", err)
	}
}

func TestParseKeyring(t *testing.T) {
	b1 := base64.StdEncoding.EncodeToString(key(1))
	b2 := base64.StdEncoding.EncodeToString(key(2))
	tests := []struct {
		spec, active, wantErr string
	}{
		{spec: "k1:" + b1, active: "k1"},
		{spec: "k1:" + b1 + ",k2:" + b2, active: "k1"},
		{spec: "ACTIVE=k2;k1:" + b1 + ";k2:" + b2, active: "k2"},
		{spec: "", wantErr: "empty"},
		{spec: "k1", wantErr: "ID:BASE64"},
		{spec: "k1:!!!", wantErr: "base64"},
		{spec: "k1:" + base64.StdEncoding.EncodeToString([]byte("short")), wantErr: "32"},
		{spec: "k1:" + b1 + ",k1:" + b2, wantErr: "twice"},
		{spec: "ACTIVE=zz;k1:" + b1, wantErr: "not in the keyring"},
		{spec: "bad id:" + b1, wantErr: "key id"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			k, err := ParseKeyring(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				if strings.Contains(fmtErr(err), b1) {
					t.Fatal("error message leaks key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ActiveID() != tc.active {
				t.Fatalf("active = %q, want %q", k.ActiveID(), tc.active)
			}
		})
	}
}

func fmtErr(err error) string { return err.Error() }

func TestLoadOrCreateKeyringFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "payload.json")
	k1, created, err := LoadOrCreateKeyringFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	k2, created, err := LoadOrCreateKeyringFile(path)
	if err != nil || created {
		t.Fatalf("reload: %v created=%v", err, created)
	}
	p, _ := New(k1).DataConverter().ToPayload("same key after restart")
	var s string
	if err := New(k2).DataConverter().FromPayload(p, &s); err != nil {
		t.Fatalf("reloaded keyring cannot read: %v", err)
	}
}

func TestSealedFields(t *testing.T) {
	k1, _ := NewKeyring("k1", map[string][]byte{"k1": key(1)})
	sealed, err := k1.SealString("children.given_name", "Lindiwe")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "Lindiwe") || !strings.HasPrefix(sealed, SealedPrefixFor("k1")) || SealedKeyID(sealed) != "k1" {
		t.Fatalf("sealed = %q", sealed)
	}
	if got, err := k1.OpenString("children.given_name", sealed); err != nil || got != "Lindiwe" {
		t.Fatalf("open = %q, %v", got, err)
	}
	// Bound to its column: the same value moved to another column does not open.
	if _, err := k1.OpenString("caregivers.phone", sealed); err == nil {
		t.Fatal("a value moved to another column opened")
	}
	// Rotation: a new active key still opens old values.
	k2, _ := NewKeyring("k2", map[string][]byte{"k1": key(1), "k2": key(2)})
	if got, err := k2.OpenString("children.given_name", sealed); err != nil || got != "Lindiwe" {
		t.Fatalf("after rotation: %q, %v", got, err)
	}
	resealed, _ := k2.SealString("children.given_name", "Lindiwe")
	if SealedKeyID(resealed) != "k2" {
		t.Fatalf("resealed with %q", SealedKeyID(resealed))
	}
	if got, _ := k1.SealString("x", ""); got != "" {
		t.Fatalf("empty sealed to %q", got)
	}
	if _, err := k1.OpenString("x", "Lindiwe"); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("clear value: %v", err)
	}
	if _, err := k1.OpenString("x", "sealed:v1:k1:!!"); err == nil {
		t.Fatal("damaged value opened")
	}
}

func TestIndexKeyIsDerivedAndStable(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	a, err := NewKeyring("k1", map[string][]byte{"k1": raw})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewKeyring("k1", map[string][]byte{"k1": raw, "k0": bytes.Repeat([]byte{1}, 32)})
	idA, keyA := a.IndexKey()
	idB, keyB := b.IndexKey()
	if idA != "k1" || idB != "k1" || !bytes.Equal(keyA, keyB) {
		t.Fatalf("same active key gave %s/%x and %s/%x", idA, keyA, idB, keyB)
	}
	if len(keyA) != 32 || bytes.Equal(keyA, raw) {
		t.Fatalf("index key must be 32 derived bytes, not the sealing key")
	}
	c, _ := NewKeyring("k0", map[string][]byte{"k1": raw, "k0": bytes.Repeat([]byte{1}, 32)})
	if _, keyC := c.IndexKey(); bytes.Equal(keyA, keyC) {
		t.Fatal("a different active key gave the same index key")
	}
}
