// Package deliver holds what khula's built-in plugins share: sending mail
// over SMTP and posting JSON to webhooks, each carrying the idempotency key
// the receiver deduplicates on, decoding plugin settings, and deriving
// stable references from keys.
package deliver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/khula-cop/khula/plugins"
)

// Decode decodes a plugin's settings JSON into v, refusing unknown keys so a
// misspelt setting fails at start-up instead of being ignored. Errors wrap
// plugins.ErrPermanent: a bad config does not heal by retrying.
func Decode(settings []byte, v any) error {
	if len(bytes.TrimSpace(settings)) == 0 || string(bytes.TrimSpace(settings)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(settings))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: plugin config: %v", plugins.ErrPermanent, err)
	}
	return nil
}

// Secret reads a secret from the environment variable name (secrets stay out
// of site.yaml). An empty name means no secret.
func Secret(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("%w: environment variable %s (named in the plugin config) is not set", plugins.ErrPermanent, name)
	}
	return v, nil
}

// Hash is a short, stable, non-reversible digest of parts: references and
// file names built from it reveal nothing of the key.
func Hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// Fingerprint digests a request for journal.Op.Fingerprint.
func Fingerprint(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Duration is a time.Duration written as "10s" in settings.
type Duration time.Duration

// UnmarshalJSON reads "10s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration: want \"10s\" or seconds, got %s", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return time.Duration(d)
}

// Permanent wraps a message as a permanent error.
func Permanent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", plugins.ErrPermanent, fmt.Sprintf(format, args...))
}

// Transient wraps a message as a retryable error.
func Transient(format string, args ...any) error {
	return fmt.Errorf("%w: %s", plugins.ErrUnavailable, fmt.Sprintf(format, args...))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
