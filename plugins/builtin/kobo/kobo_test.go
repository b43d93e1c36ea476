package kobo

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

func configure(t *testing.T, settings map[string]any) (*Plugin, error) {
	t.Helper()
	raw, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	p := New()
	return p, p.Configure(context.Background(), plugins.Config{SiteID: "moutse", Role: plugins.RoleIntake, Settings: raw})
}

// Kobo pages its data; the plugin follows "next" and returns one document.
func TestFetchJoinsThePages(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Token k-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/v2/assets/aBcD1234/data/" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("page") == "2" {
			_, _ = w.Write([]byte(`{"count":2,"next":null,"results":[{"meta/instanceID":"uuid:2"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"count":2,"next":"` + srv.URL + `/api/v2/assets/aBcD1234/data/?format=json&page=2","results":[{"meta/instanceID":"uuid:1"}]}`))
	}))
	defer srv.Close()
	t.Setenv("TEST_KOBO_TOKEN", "k-token")
	p, err := configure(t, map[string]any{"url": srv.URL, "asset_uid": "aBcD1234", "token_env": "TEST_KOBO_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Fetch(context.Background(), plugins.IntakeRequest{SiteID: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Format != "kobo-json" || !strings.Contains(string(b.Data), "uuid:1") || !strings.Contains(string(b.Data), "uuid:2") {
		t.Errorf("format %q data %s", b.Format, b.Data)
	}

	p, err = configure(t, map[string]any{"url": srv.URL, "asset_uid": "wrong", "token_env": "TEST_KOBO_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Fetch(context.Background(), plugins.IntakeRequest{}); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "no such project, form or asset") {
		t.Errorf("an unknown asset: %v", err)
	}
}

func TestConfigureRefusesBadSettings(t *testing.T) {
	t.Setenv("TEST_KOBO_TOKEN", "t")
	cases := []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"no url", map[string]any{"asset_uid": "a", "token_env": "TEST_KOBO_TOKEN"}, "url"},
		{"no asset", map[string]any{"url": "https://kf.example.org", "token_env": "TEST_KOBO_TOKEN"}, "asset_uid"},
		{"no token_env", map[string]any{"url": "https://kf.example.org", "asset_uid": "a"}, "token_env"},
		{"token variable unset", map[string]any{"url": "https://kf.example.org", "asset_uid": "a", "token_env": "TEST_NO_SUCH_VARIABLE"}, "TEST_NO_SUCH_VARIABLE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(t, tc.settings)
			if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a permanent error naming %q", err, tc.want)
			}
		})
	}
}
