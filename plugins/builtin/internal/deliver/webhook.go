package deliver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Webhook says how to post to a webhook. Settings key "webhook".
type Webhook struct {
	// URL is the endpoint; for referrals a service's contact address (an
	// https URL) takes precedence.
	URL string `json:"url,omitempty"`
	// SecretEnv names an environment variable holding a shared secret; when
	// set, each request carries X-Khula-Signature: sha256=<hex HMAC of the body>.
	SecretEnv string `json:"secret_env,omitempty"`
	// Headers are added to every request (e.g. an API key header name and
	// value; prefer SecretEnv for secrets).
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds one request; default 15s (the call's deadline wins when earlier).
	Timeout Duration `json:"timeout,omitempty"`
}

// CheckURL validates a webhook URL.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Permanent("webhook URL %q: want an http(s) URL", raw)
	}
	return nil
}

// Post sends body as JSON to target with an Idempotency-Key header equal to
// key, identical on every attempt, so the receiver can drop repeats. It
// returns the receiver's reference (a "ref", "id", "dispatch_ref" or
// "message_ref" field of a JSON reply), or "" when it gives none.
//
// 2xx is success. 408, 409 (the receiver is still working on the key),
// 425, 429 and 5xx are transient; other statuses are permanent.
func (w Webhook) Post(ctx context.Context, client *http.Client, target, key string, body any) (string, error) {
	if err := CheckURL(target); err != nil {
		return "", err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return "", Permanent("webhook payload: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout.Or(15*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return "", Permanent("webhook request: %v", err)
	}
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "khula-plugin")
	req.Header.Set("Idempotency-Key", key)
	secret, err := Secret(w.SecretEnv)
	if err != nil {
		return "", err
	}
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(payload)
		req.Header.Set("X-Khula-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", Transient("posting to %s: %v", redact(target), err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var r struct {
			Ref         string `json:"ref"`
			ID          string `json:"id"`
			DispatchRef string `json:"dispatch_ref"`
			MessageRef  string `json:"message_ref"`
		}
		_ = json.Unmarshal(reply, &r)
		for _, s := range []string{r.Ref, r.DispatchRef, r.MessageRef, r.ID} {
			if s != "" {
				return s, nil
			}
		}
		return "", nil
	case resp.StatusCode == 408 || resp.StatusCode == 409 || resp.StatusCode == 425 || resp.StatusCode == 429 || resp.StatusCode >= 500:
		return "", Transient("%s answered %s: %s", redact(target), resp.Status, snippet(reply))
	default:
		return "", Permanent("%s refused the request: %s: %s", redact(target), resp.Status, snippet(reply))
	}
}

// redact drops credentials and the query from a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook"
	}
	u.User, u.RawQuery = nil, ""
	return fmt.Sprint(u)
}
