package research

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

// key1 is bytes 1, 2, …, 32: another site's key.
var key1 = func() []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i + 1)
	}
	return k
}()

func TestPseudonym(t *testing.T) {
	// Expected values computed independently with Python:
	// "P" + base64.b32encode(hmac.new(key, b"khula-research-pseudonym-v1\0" + id,
	// hashlib.sha256).digest()).decode().rstrip("=").lower()[:16]
	for _, tc := range []struct {
		name    string
		key     []byte
		childID string
		want    string
		err     error
	}{
		{"site A, child 1", testKey, "child-0001", "Prcqw3ltn5umiw4bm", nil},
		{"site A, child 2", testKey, "child-0002", "Pe3md4ojtw5o6y5bg", nil},
		{"site B, child 1", key1, "child-0001", "Pgx4o2wneb4ckulps", nil},
		{"site B, child 2", key1, "child-0002", "Pnyv7sachm5zedng2", nil},
		{"ascii key", bytes.Repeat([]byte("k"), 32), "child-0001", "Pmsxjs33o5wwdsyvu", nil},
		{"longer key accepted", append(bytes.Repeat([]byte("k"), 32), 'x'), "child-0001", "", nil},
		{"31-byte key rejected", testKey[:31], "child-0001", "", ErrShortKey},
		{"empty key rejected", nil, "child-0001", "", ErrShortKey},
		{"no child ID", testKey, "", "", ErrNoChildID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Pseudonym(tc.key, tc.childID)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if got != "" {
					t.Errorf("pseudonym %q returned with an error", got)
				}
				return
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("Pseudonym = %q, want %q", got, tc.want)
			}
			if !regexp.MustCompile(`^P[a-z2-7]{16}$`).MatchString(got) {
				t.Errorf("Pseudonym = %q: want P and 16 lowercase base32 characters", got)
			}
			// The definition, computed the long way round.
			mac := hmac.New(sha256.New, tc.key)
			mac.Write([]byte("khula-research-pseudonym-v1\x00" + tc.childID))
			full := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)))
			if want := "P" + full[:16]; got != want {
				t.Errorf("Pseudonym = %q, definition gives %q", got, want)
			}
			again, _ := Pseudonym(tc.key, tc.childID)
			if again != got {
				t.Errorf("not stable: %q then %q", got, again)
			}
		})
	}
}

func TestPseudonymKeysDiffer(t *testing.T) {
	for _, id := range []string{"child-0001", "child-0002", "x"} {
		a, errA := Pseudonym(testKey, id)
		b, errB := Pseudonym(key1, id)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if a == b {
			t.Errorf("%s: both keys give %q", id, a)
		}
	}
}

func TestNewKey(t *testing.T) {
	a, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != KeySize || len(b) != KeySize {
		t.Fatalf("key sizes %d, %d, want %d", len(a), len(b), KeySize)
	}
	if bytes.Equal(a, b) {
		t.Error("two new keys are equal")
	}
	if _, err := Pseudonym(a, "child-0001"); err != nil {
		t.Errorf("a new key is refused: %v", err)
	}
}

func TestNewWriterRejectsShortKey(t *testing.T) {
	v1, _ := minis(t)
	s := mustSchema(t, []*instrument.Instrument{v1}, nil)
	for _, key := range [][]byte{nil, testKey[:16], testKey[:31]} {
		var buf bytes.Buffer
		if _, err := NewWriter(&buf, s, key); !errors.Is(err, ErrShortKey) {
			t.Errorf("key of %d bytes: error %v, want ErrShortKey", len(key), err)
		}
		if buf.Len() != 0 {
			t.Errorf("key of %d bytes: wrote %q", len(key), buf.String())
		}
	}
}
