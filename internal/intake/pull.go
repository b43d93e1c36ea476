package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the fetch clients.
const (
	// DefaultFetchTimeout bounds one request (response and body).
	DefaultFetchTimeout = 2 * time.Minute
	// DefaultFetchMaxBytes bounds what one fetch reads (all pages).
	DefaultFetchMaxBytes int64 = 128 << 20
	// fetchAttempts is how often a request is tried on 5xx and timeouts.
	fetchAttempts = 3
	// defaultBackoff is the wait before the first retry; it doubles.
	defaultBackoff = time.Second
	// maxKoboPages stops a server that pages forever.
	maxKoboPages = 10000
)

// FetchOption tunes [FetchCentral] and [FetchKobo].
type FetchOption func(*fetchConfig)

type fetchConfig struct {
	client   *http.Client
	timeout  time.Duration
	maxBytes int64
	backoff  time.Duration
}

// WithHTTPClient makes requests with c (its transport, proxy, TLS). Its
// Timeout is kept if set, else WithTimeout's applies.
func WithHTTPClient(c *http.Client) FetchOption { return func(f *fetchConfig) { f.client = c } }

// WithTimeout bounds each request, body included (DefaultFetchTimeout).
func WithTimeout(d time.Duration) FetchOption { return func(f *fetchConfig) { f.timeout = d } }

// WithMaxBytes bounds the bytes read in all (DefaultFetchMaxBytes).
func WithMaxBytes(n int64) FetchOption { return func(f *fetchConfig) { f.maxBytes = n } }

// WithBackoff sets the wait before the first retry (1s); it doubles after.
func WithBackoff(d time.Duration) FetchOption { return func(f *fetchConfig) { f.backoff = d } }

// TooLargeError is returned when the submissions are larger than the
// fetch may read (WithMaxBytes): retrying cannot help.
type TooLargeError struct {
	URL   string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("GET %s: the submissions are larger than %d bytes (see WithMaxBytes)", e.URL, e.Limit)
}

// StatusError is a response other than 200 OK. URL never holds credentials.
type StatusError struct {
	URL        string
	StatusCode int
	// Attempts is how many times the request was made (retried on 5xx).
	Attempts int
}

// Error explains the status for a person who set the import up.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch e.StatusCode {
	case http.StatusUnauthorized:
		s += ": the server did not accept the token (wrong, expired or revoked)"
	case http.StatusForbidden:
		s += ": the token's account may not read these submissions"
	case http.StatusNotFound:
		s += ": no such project, form or asset (check the server URL and the IDs)"
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (gave up after %d attempts)", e.Attempts)
	}
	return s
}

// FetchCentral downloads the submissions of an ODK Central form as its
// OData feed, GET {baseURL}/v1/projects/{project}/forms/{formID}.svc/Submissions
// with "Authorization: Bearer <token>" (a session or app-user token), for
// [Parse] (format central-json). Requests are retried on 5xx responses and
// timeouts (3 attempts); errors name the URL, never the token.
func FetchCentral(ctx context.Context, baseURL string, project int, formID, token string, opts ...FetchOption) (io.ReadCloser, error) {
	if project <= 0 {
		return nil, errors.New("intake: the Central project ID must be a positive number")
	}
	if formID == "" {
		return nil, errors.New("intake: no Central form ID")
	}
	f, err := newFetcher(baseURL, "Bearer", token, opts)
	if err != nil {
		return nil, err
	}
	u := f.base.String() + "/v1/projects/" + strconv.Itoa(project) + "/forms/" + url.PathEscape(formID) + ".svc/Submissions"
	body, err := f.get(ctx, u, f.cfg.maxBytes)
	if err != nil {
		return nil, f.redact(err)
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

// FetchKobo downloads the submissions of a KoboToolbox form (asset),
// GET {baseURL}/api/v2/assets/{assetUID}/data/?format=json with
// "Authorization: Token <token>", following the "next" pages (on the same
// host only), and returns them as one data document for [Parse] (format
// kobo-json). Requests are retried on 5xx responses and timeouts (3
// attempts); errors name the URL, never the token.
func FetchKobo(ctx context.Context, baseURL, assetUID, token string, opts ...FetchOption) (io.ReadCloser, error) {
	if assetUID == "" {
		return nil, errors.New("intake: no KoboToolbox asset UID")
	}
	f, err := newFetcher(baseURL, "Token", token, opts)
	if err != nil {
		return nil, err
	}
	doc, err := f.koboPages(ctx, f.base.String()+"/api/v2/assets/"+url.PathEscape(assetUID)+"/data/?format=json")
	if err != nil {
		return nil, f.redact(err)
	}
	return io.NopCloser(bytes.NewReader(doc)), nil
}

// koboPages fetches every page and joins their results into one document.
func (f *fetcher) koboPages(ctx context.Context, first string) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString(`{"results":[`)
	n := 0
	seen := map[string]bool{}
	budget := f.cfg.maxBytes
	for next := first; next != ""; {
		if len(seen) == maxKoboPages {
			return nil, fmt.Errorf("GET %s: more than %d pages", shown(next), maxKoboPages)
		}
		seen[next] = true
		body, err := f.get(ctx, next, budget)
		if err != nil {
			return nil, err
		}
		budget -= int64(len(body))
		var page struct {
			Next    *string            `json:"next"`
			Results *[]json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(body, &page); err != nil || page.Results == nil {
			return nil, fmt.Errorf("GET %s: the response is not a KoboToolbox data page", shown(next))
		}
		for _, r := range *page.Results {
			if n > 0 {
				out.WriteByte(',')
			}
			out.Write(r)
			n++
		}
		cur := next
		next = ""
		if page.Next != nil && *page.Next != "" {
			if next, err = f.follow(cur, *page.Next); err != nil {
				return nil, err
			}
			if seen[next] {
				return nil, fmt.Errorf("GET %s: the next page repeats an earlier page", shown(cur))
			}
		}
	}
	fmt.Fprintf(&out, `],"count":%d,"next":null,"previous":null}`, n)
	return out.Bytes(), nil
}

// follow resolves a next-page link, refusing another host (the token must
// not leave the server it is for) and keeping the base's scheme (a proxy
// that terminates TLS may write http links).
func (f *fetcher) follow(cur, next string) (string, error) {
	c, err := url.Parse(cur)
	if err != nil {
		return "", err
	}
	n, err := c.Parse(next)
	if err != nil {
		return "", fmt.Errorf("GET %s: the next page link cannot be read", shown(cur))
	}
	if !strings.EqualFold(n.Host, f.base.Host) {
		return "", fmt.Errorf("GET %s: refusing to follow the next page to another host (%s)", shown(cur), n.Hostname())
	}
	n.Scheme, n.User = f.base.Scheme, nil
	return n.String(), nil
}

// fetcher makes authorised GETs with retries.
type fetcher struct {
	cfg    fetchConfig
	client *http.Client
	base   *url.URL
	auth   string
	token  string
}

func newFetcher(baseURL, scheme, token string, opts []FetchOption) (*fetcher, error) {
	if token == "" {
		return nil, errors.New("intake: no API token")
	}
	cfg := fetchConfig{timeout: DefaultFetchTimeout, maxBytes: DefaultFetchMaxBytes, backoff: defaultBackoff}
	for _, o := range opts {
		o(&cfg)
	}
	base, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("intake: the server URL must be an http(s) URL such as https://central.example.org")
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("intake: the server URL must hold no credentials, query or fragment")
	}
	client := &http.Client{Timeout: cfg.timeout}
	if cfg.client != nil {
		c := *cfg.client
		if c.Timeout == 0 {
			c.Timeout = cfg.timeout
		}
		client = &c
	}
	return &fetcher{cfg: cfg, client: client, base: base, auth: scheme + " " + token, token: token}, nil
}

// get fetches a URL, retrying 5xx, 408, 429 and transport errors (timeouts)
// with a doubling backoff, and reads at most limit bytes of body.
func (f *fetcher) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		body, retry, err := f.once(ctx, u, limit)
		if err == nil {
			return body, nil
		}
		if !retry || ctx.Err() != nil || attempt == fetchAttempts {
			var se *StatusError
			switch {
			case errors.As(err, &se):
				se.Attempts = attempt
			case retry && attempt > 1:
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
			}
			return nil, err
		}
		t := time.NewTimer(f.cfg.backoff << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("GET %s: %w", shown(u), ctx.Err())
		case <-t.C:
		}
	}
}

// once makes one request; retry tells whether another attempt may succeed.
func (f *fetcher) once(ctx context.Context, u string, limit int64) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", shown(u), unwrapURLError(err))
	}
	req.Header.Set("Authorization", f.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "khula-intake")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("GET %s: %w", shown(u), unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		drain(resp.Body)
		return nil, true, &StatusError{URL: shown(u), StatusCode: code, Attempts: 1}
	default:
		drain(resp.Body)
		return nil, false, &StatusError{URL: shown(u), StatusCode: code, Attempts: 1}
	}
	if limit < 0 {
		limit = 0
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("GET %s: reading the response: %w", shown(u), unwrapURLError(err))
	}
	if int64(len(body)) > limit {
		return nil, false, &TooLargeError{URL: shown(u), Limit: f.cfg.maxBytes}
	}
	return body, false, nil
}

// redact removes the token from an error's text, should a server or proxy
// have echoed it somewhere the message quotes; the error still unwraps.
func (f *fetcher) redact(err error) error {
	if err == nil || !strings.Contains(err.Error(), f.token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), f.token, "[token]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// shown is a URL as error messages give it: without credentials.
func shown(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unreadable URL)"
	}
	return p.Redacted()
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats
// the URL; the message names the URL once, as shown.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }
