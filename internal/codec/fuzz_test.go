package codec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/khula-cop/khula/internal/codec"
)

// fuzzKeyring holds two keys, as after a rotation: "old" still opens what
// it sealed, "new" seals.
func fuzzKeyring(tb testing.TB) *codec.Keyring {
	tb.Helper()
	k, err := codec.NewKeyring("new", map[string][]byte{"old": bytes.Repeat([]byte{1}, 32), "new": bytes.Repeat([]byte{2}, 32)})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// fuzzSealed are values SealString produced with fuzzKeyring's keys, by
// column. They are fixed (sealing draws a random nonce) so that a corpus
// saved by one fuzzing run still means the same in the next.
var fuzzSealed = map[string]struct{ column, plain string }{
	"sealed:v1:new:nVh7CGbF8wyj0+ELvlSDYSrfZtZKD31ANCJwSKIBTb5LTg":             {"children.given_name", "Thandi"},
	"sealed:v1:old:e501VKnnTDz8qP8v9tMfEeOzxGopZoX8K+EFQZSnNL3d":               {"children.given_name", "Sipho"},
	"sealed:v1:new:G6mBEUExBBpZtp90ZdtinSgCj8wIdY7A0qOMpvj6FfZCj1Kll/cdYLtHWA": {"caregivers.phone", "+27 82 555 0100"},
}

// FuzzOpen feeds sealed-looking strings to Keyring.OpenString. It must never
// panic and must fail on anything Keyring.SealString did not produce for
// that column; the empty string is the one value that opens without being
// sealed (erased fields stay empty).
func FuzzOpen(f *testing.F) {
	kr := fuzzKeyring(f)
	for _, value := range slices.Sorted(maps.Keys(fuzzSealed)) {
		want := fuzzSealed[value]
		if got, err := kr.OpenString(want.column, value); err != nil || got != want.plain {
			f.Fatalf("fixed sealed value %q opens as %q, %v; want %q", value, got, err, want.plain)
		}
		f.Add(want.column, value)
	}
	for _, s := range []struct{ column, value string }{
		{"children.family_name", "sealed:v1:new:nVh7CGbF8wyj0+ELvlSDYSrfZtZKD31ANCJwSKIBTb5LTg"}, // another column's value
		{"children.given_name", ""},
		{"children.given_name", "Thandi"}, // stored in clear
		{"children.given_name", "sealed:v1:"},
		{"children.given_name", "sealed:v1:new"},
		{"children.given_name", "sealed:v1:new:"},
		{"children.given_name", "sealed:v1:gone:AAAAAAAAAAAAAAAA"},
		{"children.given_name", "sealed:v1:new:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"children.given_name", "sealed:v1:new:!!notbase64!!"},
		{"children.given_name", "sealed:v1:new:AAAA===="},
		// The first fixed value with the unused low bits of its last
		// base64 character set: the same bytes, spelt differently.
		{"children.given_name", "sealed:v1:new:nVh7CGbF8wyj0+ELvlSDYSrfZtZKD31ANCJwSKIBTb5LTh"},
	} {
		f.Add(s.column, s.value)
	}
	f.Fuzz(func(t *testing.T, column, value string) {
		plain, err := kr.OpenString(column, value)
		if value == "" {
			if err != nil || plain != "" {
				t.Fatalf("OpenString of the empty string = %q, %v", plain, err)
			}
			return
		}
		if err != nil {
			if plain != "" {
				t.Fatalf("OpenString failed (%v) but returned %q", err, plain)
			}
			if !strings.HasPrefix(value, "sealed:v1:") && !errors.Is(err, codec.ErrNotSealed) {
				t.Fatalf("a value without the sealed prefix fails with %v, want ErrNotSealed", err)
			}
			return
		}
		want, ok := fuzzSealed[value]
		if !ok {
			// Not a sealed string as written: it opens only when its base64
			// is a second spelling of a sealed value's bytes.
			want, ok = sameBytes(fuzzSealed, value)
			if !ok {
				t.Fatalf("OpenString(%q, %q) = %q: a value that was never sealed opened", column, value, plain)
			}
			t.Fatalf("regression: Keyring.OpenString (internal/codec/fields.go:51) decodes with base64.RawStdEncoding, which ignores "+
				"the unused low bits of the last character, so %q, never written by SealString, opens like %q", value, want.plain)
		}
		if want.column != column || want.plain != plain {
			t.Fatalf("OpenString(%q, %q) = %q; it was sealed for %q as %q", column, value, plain, want.column, want.plain)
		}
	})
}

// sameBytes finds the sealed value whose key id and bytes value spells.
func sameBytes[V any](sealed map[string]V, value string) (V, bool) {
	id := codec.SealedKeyID(value)
	data, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(value, codec.SealedPrefixFor(id)))
	if err == nil {
		for s, v := range sealed {
			other, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(s, codec.SealedPrefixFor(id)))
			if err == nil && codec.SealedKeyID(s) == id && bytes.Equal(data, other) {
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}

// FuzzDecode feeds arbitrary payloads to PayloadCodec.Decode, and arbitrary
// plaintext payloads through Encode and back. Decode must never panic; a
// payload marked encrypted must fail unless Encode produced it with this
// keyring; payloads not marked encrypted pass through unchanged; and Encode
// then Decode gives back the payload.
func FuzzDecode(f *testing.F) {
	c := codec.New(fuzzKeyring(f))
	// A payload Encode sealed with the key "new" (fixed, like fuzzSealed).
	genuine, err := base64.StdEncoding.DecodeString("CB85Ao1/uaW+ocaRpB3SeqHMXvwN0mng4pvYLWpenjV0poFz0b8eyETmvt8S0P7UZ90OdMZzgpDvvYjHzvk9nVc=")
	if err != nil {
		f.Fatal(err)
	}
	opened, err := c.Decode([]*commonpb.Payload{{Metadata: map[string][]byte{codec.MetadataEncoding: []byte(codec.EncodingEncrypted), codec.MetadataKeyID: []byte("new")}, Data: genuine}})
	if err != nil || string(opened[0].GetData()) != `{"sdq01":2}` {
		f.Fatalf("the fixed sealed payload opens as %v, %v", opened, err)
	}
	for _, s := range []struct {
		encoding, keyID, cipher string
		data                    []byte
	}{
		{codec.EncodingEncrypted, "new", "AES-256-GCM", genuine},
		{codec.EncodingEncrypted, "old", "AES-256-GCM", genuine}, // the wrong key's id
		{codec.EncodingEncrypted, "new", "", genuine[:len(genuine)-1]},
		{codec.EncodingEncrypted, "new", "", genuine[:12]},
		{codec.EncodingEncrypted, "new", "", nil},
		{codec.EncodingEncrypted, "", "", []byte("0123456789abcdef0123456789abcdef")},
		{codec.EncodingEncrypted, "gone", "AES-256-GCM", genuine},
		{"json/plain", "", "", []byte(`{"sdq01":2}`)},
		{"binary/null", "", "", nil},
		{"binary/encrypted ", "new", "", genuine},
	} {
		f.Add(s.encoding, s.keyID, s.cipher, s.data)
	}
	f.Fuzz(func(t *testing.T, encoding, keyID, cipher string, data []byte) {
		md := map[string][]byte{}
		for k, v := range map[string]string{codec.MetadataEncoding: encoding, codec.MetadataKeyID: keyID, "encryption-cipher": cipher} {
			if v != "" {
				md[k] = []byte(v)
			}
		}
		in := &commonpb.Payload{Metadata: md, Data: data}

		out, err := c.Decode([]*commonpb.Payload{in, nil})
		switch {
		case encoding != codec.EncodingEncrypted:
			if err != nil || len(out) != 2 || !proto.Equal(out[0], in) || out[1] != nil {
				t.Fatalf("a payload not marked encrypted did not pass through: %v, %v", out, err)
			}
		case err == nil:
			if keyID != "new" || !bytes.Equal(data, genuine) {
				t.Fatalf("Decode opened a payload Encode never produced (key %q, %d bytes): %v", keyID, len(data), out)
			}
		case out != nil:
			t.Fatalf("Decode failed (%v) but returned payloads", err)
		}

		// Round trip: anything sealed opens to itself.
		sealed, err := c.Encode([]*commonpb.Payload{in})
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if bytes.Contains(sealed[0].GetData(), data) && len(data) > 8 {
			t.Fatalf("the sealed payload holds its plaintext")
		}
		back, err := c.Decode(sealed)
		if err != nil || len(back) != 1 || !proto.Equal(back[0], in) {
			t.Fatalf("Encode then Decode = %v, %v; want %v", back, err, in)
		}
	})
}
