package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// apiClient calls the khula API the way a practitioner's device would.
type apiClient struct {
	base  string
	token string
	// timeout bounds each call (the caller's context bounds them all).
	timeout time.Duration
	http    *http.Client
}

// csvBody is a request body sent as text/csv (a class list), not JSON.
type csvBody []byte

// apiError is a problem document returned by the API.
type apiError struct {
	Status int
	Title  string
	Detail string
	Fields []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	}
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s", e.Status, e.Title)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	for _, f := range e.Fields {
		msg += fmt.Sprintf("; %s: %s", f.Field, f.Message)
	}
	return msg
}

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// errCallTimedOut marks a call that took longer than the per-call timeout
// while the simulation itself still had time.
var errCallTimedOut = errors.New("the API did not answer in time")

// isTransient reports whether err is a failure a practitioner would answer
// by trying again later: a call that timed out, a connection refused or
// dropped (khula restarting). Answers from the API are not transient
// (except 503, which callers check by status).
func isTransient(err error) bool {
	if err == nil || statusOf(err) != 0 {
		return false
	}
	if errors.Is(err, errCallTimedOut) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the simulation itself is over
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// retryable reports whether an action should be tried again later.
func retryable(err error) bool {
	return statusOf(err) == http.StatusServiceUnavailable || isTransient(err)
}

func (c *apiClient) do(ctx context.Context, method, path, idemKey string, body, out any) error {
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case csvBody:
		rd, contentType = bytes.NewReader(b), "text/csv"
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	parent := ctx
	timeout := c.timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	failed := func(err error) error {
		if parent.Err() == nil && ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w after %s", method, path, errCallTimedOut, timeout)
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return failed(err)
	}
	if resp.StatusCode >= 400 {
		ae := &apiError{Status: resp.StatusCode}
		var doc struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if json.Unmarshal(data, &doc) == nil {
			ae.Title, ae.Detail = doc.Title, doc.Detail
			for _, f := range doc.Errors {
				ae.Fields = append(ae.Fields, struct {
					Field   string `json:"field"`
					Message string `json:"message"`
				}{f.Field, f.Message})
			}
		}
		return ae
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}
