package odkcentral

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/khula-cop/khula/plugins"
)

const export = `{"value":[{"__id":"uuid:1","meta":{"instanceID":"uuid:1"}}]}`

func configure(t *testing.T, settings map[string]any) (*Plugin, error) {
	t.Helper()
	raw, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	return p, p.Configure(context.Background(), plugins.Config{SiteID: "moutse", Role: plugins.RoleIntake, Settings: raw})
}

func TestFetchDownloadsTheFormsSubmissions(t *testing.T) {
	var gotPath, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.Path, r.Header.Get("Authorization")
		if gotAuth != "Bearer s3cret-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(export))
	}))
	defer srv.Close()
	t.Setenv("TEST_CENTRAL_TOKEN", "s3cret-token")
	p, err := configure(t, map[string]any{"url": srv.URL, "project": 3, "form_id": "cwbtt-moutse", "token_env": "TEST_CENTRAL_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Fetch(context.Background(), plugins.IntakeRequest{SiteID: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b.Data) != export || b.Format != "central-json" {
		t.Errorf("batch %q format %q", b.Data, b.Format)
	}
	if gotPath != "/v1/projects/3/forms/cwbtt-moutse.svc/Submissions" {
		t.Errorf("path %q", gotPath)
	}
	if !strings.Contains(b.Source, "project 3, form cwbtt-moutse") || strings.Contains(b.Source, "s3cret") {
		t.Errorf("source %q", b.Source)
	}

	t.Setenv("TEST_CENTRAL_TOKEN", "revoked")
	p, err = configure(t, map[string]any{"url": srv.URL, "project": 3, "form_id": "cwbtt-moutse", "token_env": "TEST_CENTRAL_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Fetch(context.Background(), plugins.IntakeRequest{SiteID: "moutse"})
	if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "did not accept the token") || strings.Contains(err.Error(), "revoked") {
		t.Errorf("a refused token: %v", err)
	}
}

func TestFetchRetriesAServerError(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv("TEST_CENTRAL_TOKEN", "t")
	p, err := configure(t, map[string]any{"url": srv.URL, "project": 1, "form_id": "f", "token_env": "TEST_CENTRAL_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Fetch(context.Background(), plugins.IntakeRequest{SiteID: "moutse"})
	if !errors.Is(err, plugins.ErrUnavailable) || errors.Is(err, plugins.ErrPermanent) || calls != 3 {
		t.Errorf("after %d calls: %v", calls, err)
	}
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	t.Setenv("TEST_CENTRAL_TOKEN", "t")
	t.Setenv("TEST_EMPTY_TOKEN", "")
	good := func() map[string]any {
		return map[string]any{"url": "https://central.example.org", "project": 3, "form_id": "f", "token_env": "TEST_CENTRAL_TOKEN"}
	}
	cases := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"no url", func(m map[string]any) { delete(m, "url") }, "url"},
		{"not http", func(m map[string]any) { m["url"] = "ftp://central.example.org" }, "url"},
		{"project 0", func(m map[string]any) { m["project"] = 0 }, "project"},
		{"no form", func(m map[string]any) { delete(m, "form_id") }, "form_id"},
		{"no token_env", func(m map[string]any) { delete(m, "token_env") }, "token_env"},
		{"token variable unset", func(m map[string]any) { m["token_env"] = "TEST_NO_SUCH_VARIABLE" }, "TEST_NO_SUCH_VARIABLE"},
		{"token variable empty", func(m map[string]any) { m["token_env"] = "TEST_EMPTY_TOKEN" }, "empty"},
		{"a misspelt setting", func(m map[string]any) { m["form"] = "f" }, "unknown field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.edit(m)
			_, err := configure(t, m)
			if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a permanent error naming %q", err, tc.want)
			}
		})
	}
	if _, err := configure(t, good()); err != nil {
		t.Errorf("good settings: %v", err)
	}
}
