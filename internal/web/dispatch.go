package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/cycle"
)

// result is an API response received in process.
type result struct {
	Status int
	Header http.Header
	Body   []byte
}

// problem decodes an error response (nil for a success).
func (r result) problem() *api.Problem {
	if r.Status < 400 {
		return nil
	}
	var p api.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil || p.Title == "" {
		p = api.Problem{Status: r.Status, Title: http.StatusText(r.Status)}
	}
	return &p
}

// decode reads a success response's JSON.
func (r result) decode(v any) error { return json.Unmarshal(r.Body, v) }

// recorder is an in-memory http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// call sends a request to the API's engine in process, as the browser's
// session: the same handlers, access checks, validation and Updates as a
// request from outside. csrf is passed as X-CSRF-Token on unsafe methods
// (the API checks it); idemKey, when set, as Idempotency-Key.
func (u *UI) call(c *gin.Context, method, path string, body []byte, contentType, csrf, idemKey string) result {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.Request.Context(), method, path, rd)
	if err != nil {
		return result{Status: http.StatusInternalServerError, Header: http.Header{}}
	}
	for _, ck := range c.Request.Cookies() {
		if ck.Name == api.SessionCookie {
			req.AddCookie(ck)
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if csrf != "" {
		req.Header.Set(api.CSRFHeader, csrf)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	req.Header.Set("Accept", "application/json")
	if v := c.GetHeader("X-Forwarded-Proto"); v != "" {
		req.Header.Set("X-Forwarded-Proto", v)
	}
	req.TLS = c.Request.TLS
	req.RemoteAddr = c.Request.RemoteAddr
	w := &recorder{header: http.Header{}}
	u.engine.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return result{Status: w.status, Header: w.header, Body: w.body.Bytes()}
}

// get reads an API resource into v; on failure it renders the API's problem
// as an error page and returns false.
func (u *UI) get(c *gin.Context, path string, v any) bool {
	res := u.call(c, http.MethodGet, path, nil, "", "", "")
	if p := res.problem(); p != nil {
		u.fail(c, res.Status, p.Title, p.Detail)
		return false
	}
	if err := res.decode(v); err != nil {
		u.failMsg(c, http.StatusBadGateway, "error.unexpected", "error.unreadable", nil)
		return false
	}
	return true
}

// send posts JSON to the API with the form's CSRF token and idempotency key.
func (u *UI) send(c *gin.Context, method, path string, in any) result {
	body, _ := json.Marshal(in)
	return u.call(c, method, path, body, "application/json", c.PostForm("_csrf"), c.PostForm("_key"))
}

// fieldErrors indexes a problem's field errors by field.
func fieldErrors(p *api.Problem) map[string]string {
	out := map[string]string{}
	if p == nil {
		return out
	}
	for _, fe := range p.Errors {
		if _, dup := out[fe.Field]; !dup {
			out[fe.Field] = fe.Message
		}
	}
	return out
}

// formError is one problem shown in a form's error summary.
type formError struct {
	Field, Anchor, Message string
}

func summary(p *api.Problem, anchor func(cycle.FieldError) string) []formError {
	if p == nil {
		return nil
	}
	var out []formError
	for _, fe := range p.Errors {
		a := ""
		if anchor != nil {
			a = anchor(fe)
		}
		out = append(out, formError{Field: fe.Field, Anchor: a, Message: strings.TrimSpace(fe.Message)})
	}
	return out
}
