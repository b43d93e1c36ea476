package intake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const token = "s3cret-T0ken-value"

// fast keeps retries quick in tests.
var fast = []FetchOption{WithBackoff(time.Millisecond), WithTimeout(5 * time.Second)}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readAll(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetchCentral(t *testing.T) {
	sample := readSample(t, "central.json")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != "/central/v1/projects/3/forms/khula cwtt.svc/Submissions" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			http.Error(w, "bad auth", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(sample)
	}))
	defer srv.Close()

	rc, err := FetchCentral(context.Background(), srv.URL+"/central/", 3, "khula cwtt", token, fast...)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, rc)
	if body != string(sample) || calls.Load() != 1 {
		t.Fatalf("got %d bytes after %d calls", len(body), calls.Load())
	}
	subs, sum, err := parseAll(t, body, moutse(t), Options{Site: "moutse"})
	if err != nil || len(subs) != 3 || sum.Format != "central-json" {
		t.Errorf("parsing the fetched feed: %v, %+v", err, sum)
	}
}

// flaky answers with the given statuses in turn, then serves body.
func flaky(body []byte, calls *atomic.Int32, statuses ...int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if n <= len(statuses) {
			// An error page that quotes the request, as some proxies do.
			http.Error(w, "upstream failed for "+r.Header.Get("Authorization"), statuses[n-1])
			return
		}
		_, _ = w.Write(body)
	}
}

func TestFetchRetries(t *testing.T) {
	sample := readSample(t, "central.json")
	var calls atomic.Int32
	srv := httptest.NewServer(flaky(sample, &calls, http.StatusServiceUnavailable, http.StatusBadGateway))
	defer srv.Close()
	rc, err := FetchCentral(context.Background(), srv.URL, 3, "khula", token, fast...)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, rc); body != string(sample) || calls.Load() != 3 {
		t.Errorf("got %d bytes after %d calls, want the sample after 3", len(body), calls.Load())
	}
}

func TestFetchGivesUp(t *testing.T) {
	for _, fetch := range []struct {
		name string
		do   func(base string) (io.ReadCloser, error)
		path string
	}{
		{"central", func(base string) (io.ReadCloser, error) {
			return FetchCentral(context.Background(), base, 3, "khula", token, fast...)
		}, "/v1/projects/3/forms/khula.svc/Submissions"},
		{"kobo", func(base string) (io.ReadCloser, error) {
			return FetchKobo(context.Background(), base, "aPz3Lk8QmWvT6nYc2HdR5e", token, fast...)
		}, "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json"},
	} {
		var calls atomic.Int32
		srv := httptest.NewServer(flaky(nil, &calls, 503, 503, 503, 503))
		_, err := fetch.do(srv.URL)
		srv.Close()
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != 503 || se.Attempts != 3 || calls.Load() != 3 {
			t.Fatalf("%s: err %v after %d calls", fetch.name, err, calls.Load())
		}
		want := "GET " + srv.URL + fetch.path + ": 503 Service Unavailable (gave up after 3 attempts)"
		if err.Error() != want {
			t.Errorf("%s: error\n got %s\nwant %s", fetch.name, err, want)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error holds the token", fetch.name)
		}
	}
}

func TestFetchRetriesTimeouts(t *testing.T) {
	sample := readSample(t, "kobo.json")
	var calls atomic.Int32
	var hangs atomic.Int32 // how many requests to hang (from the first)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= hangs.Load() {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		_, _ = w.Write(sample)
	}))
	defer srv.Close()
	hangs.Store(1)
	rc, err := FetchKobo(context.Background(), srv.URL, "aPz3Lk8QmWvT6nYc2HdR5e", token,
		WithTimeout(200*time.Millisecond), WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, rc); !strings.Contains(body, idNurse) || calls.Load() != 2 {
		t.Errorf("after %d calls: %.80s", calls.Load(), body)
	}

	// Timing out every time gives up after 3 attempts.
	calls.Store(0)
	hangs.Store(100)
	_, err = FetchKobo(context.Background(), srv.URL, "aPz3Lk8QmWvT6nYc2HdR5e", token,
		WithTimeout(50*time.Millisecond), WithBackoff(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || calls.Load() != 3 {
		t.Errorf("err %v, calls %d", err, calls.Load())
	}
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("the error holds the token: %v", err)
	}
}

func TestFetchRefused(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{401, "401 Unauthorized: the server did not accept the token (wrong, expired or revoked)"},
		{403, "403 Forbidden: the token's account may not read these submissions"},
		{404, "404 Not Found: no such project, form or asset (check the server URL and the IDs)"},
		{400, "400 Bad Request"},
	} {
		var calls atomic.Int32
		srv := httptest.NewServer(flaky(nil, &calls, tc.status, tc.status, tc.status))
		_, errC := FetchCentral(context.Background(), srv.URL, 7, "khula_cwtt_moutse", token, fast...)
		_, errK := FetchKobo(context.Background(), srv.URL, "aPz3Lk8QmWvT6nYc2HdR5e", token, fast...)
		srv.Close()
		wantC := "GET " + srv.URL + "/v1/projects/7/forms/khula_cwtt_moutse.svc/Submissions: " + tc.want
		wantK := "GET " + srv.URL + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json: " + tc.want
		if errC == nil || errC.Error() != wantC {
			t.Errorf("central %d:\n got %v\nwant %s", tc.status, errC, wantC)
		}
		if errK == nil || errK.Error() != wantK {
			t.Errorf("kobo %d:\n got %v\nwant %s", tc.status, errK, wantK)
		}
		var se *StatusError
		if !errors.As(errC, &se) || se.StatusCode != tc.status || calls.Load() != 2 {
			t.Errorf("%d: not a StatusError, or retried (%d calls for 2 fetches)", tc.status, calls.Load())
		}
	}
}

// koboServer serves the sample's results two per page, as KoboToolbox pages
// with limit and start, recording the Authorization header of each request.
func koboServer(t *testing.T, auths *[]string, next func(base string, start int) string) *httptest.Server {
	return koboServerTLS(t, false, auths, next)
}

func koboServerTLS(t *testing.T, tls bool, auths *[]string, next func(base string, start int) string) *httptest.Server {
	var doc struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(readSample(t, "kobo.json"), &doc); err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*auths = append(*auths, r.Header.Get("Authorization"))
		if r.URL.Path != "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/" || r.URL.Query().Get("format") != "json" {
			http.NotFound(w, r)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		end := min(start+2, len(doc.Results))
		page := map[string]any{"count": len(doc.Results), "next": nil, "previous": nil, "results": doc.Results[start:end]}
		if end < len(doc.Results) {
			page["next"] = next(srv.URL, end)
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return srv
}

func TestFetchKoboPages(t *testing.T) {
	var auths []string
	srv := koboServer(t, &auths, func(base string, start int) string {
		return base + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json&limit=2&start=" + strconv.Itoa(start)
	})
	defer srv.Close()
	rc, err := FetchKobo(context.Background(), srv.URL+"/", "aPz3Lk8QmWvT6nYc2HdR5e", token, fast...)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, rc)
	if len(auths) != 2 || auths[0] != "Token "+token || auths[1] != "Token "+token {
		t.Errorf("requests' Authorization: %q", auths)
	}
	subs, sum, err := parseAll(t, body, moutse(t), Options{Site: "moutse"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Format != "kobo-json" || sum.Rows != 4 || len(subs) != 3 || subs[2].Row != 4 || subs[2].InstanceID != idNurse {
		t.Errorf("joined pages: %+v", sum)
	}
	// The joined document is a data page of all results.
	var doc struct {
		Count   int               `json:"count"`
		Next    *string           `json:"next"`
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Count != 4 || doc.Next != nil || len(doc.Results) != 4 {
		t.Errorf("joined document: %v, %d results, count %d", err, len(doc.Results), doc.Count)
	}
}

func TestFetchKoboNextLinks(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(`{"results": []}`))
	}))
	defer other.Close()

	for _, tc := range []struct {
		name  string
		tls   bool
		next  func(base string, start int) string
		calls int
		err   string
	}{
		{"relative link", false, func(_ string, start int) string {
			return "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json&start=" + strconv.Itoa(start)
		}, 2, ""},
		{"an http link behind TLS keeps the base's https", true, func(base string, start int) string {
			return strings.Replace(base, "https://", "http://", 1) + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json&start=" + strconv.Itoa(start)
		}, 2, ""},
		{"another host", false, func(string, int) string {
			return other.URL + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json&start=2"
		}, 1, "refusing to follow the next page to another host"},
		{"a loop", false, func(base string, _ int) string {
			return base + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json"
		}, 1, "the next page repeats an earlier page"},
	} {
		var auths []string
		srv := koboServerTLS(t, tc.tls, &auths, tc.next)
		rc, err := FetchKobo(context.Background(), srv.URL, "aPz3Lk8QmWvT6nYc2HdR5e", token, append(fast, WithHTTPClient(srv.Client()))...)
		srv.Close()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err == "" && strings.Count(readAll(t, rc), idNurse) != 1:
			t.Errorf("%s: the last page is missing", tc.name)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
		if len(auths) != tc.calls {
			t.Errorf("%s: %d requests, want %d", tc.name, len(auths), tc.calls)
		}
	}
	if elsewhere.Load() != 0 {
		t.Error("the token was sent to another host")
	}
}

func TestFetchLimits(t *testing.T) {
	sample := readSample(t, "central.json")
	var calls atomic.Int32
	srv := httptest.NewServer(flaky(sample, &calls))
	defer srv.Close()
	_, err := FetchCentral(context.Background(), srv.URL, 3, "khula", token, append(fast, WithMaxBytes(1000))...)
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") || calls.Load() != 1 {
		t.Errorf("size limit: err %v after %d calls", err, calls.Load())
	}

	// The Kobo limit is on all pages together.
	var auths []string
	kobo := koboServer(t, &auths, func(base string, start int) string {
		return base + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json&start=" + strconv.Itoa(start)
	})
	defer kobo.Close()
	resp, err := http.Get(kobo.URL + "/api/v2/assets/aPz3Lk8QmWvT6nYc2HdR5e/data/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	firstPage := readAll(t, resp.Body)
	_, err = FetchKobo(context.Background(), kobo.URL, "aPz3Lk8QmWvT6nYc2HdR5e", token, append(fast, WithMaxBytes(int64(len(firstPage)+10)))...)
	if err == nil || !strings.Contains(err.Error(), "larger than") || len(auths) != 3 {
		t.Errorf("kobo size limit: err %v after %d calls", err, len(auths))
	}

	// A cancelled context stops the retries.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls.Store(0)
	if _, err := FetchCentral(ctx, srv.URL, 3, "khula", token, fast...); !errors.Is(err, context.Canceled) || calls.Load() != 0 {
		t.Errorf("cancelled: err %v after %d calls", err, calls.Load())
	}
}

func TestFetchArguments(t *testing.T) {
	ctx := context.Background()
	for name, err := range map[string]error{
		"no token":        second(FetchCentral(ctx, "https://odk.example.org", 3, "khula", "")),
		"no project":      second(FetchCentral(ctx, "https://odk.example.org", 0, "khula", token)),
		"no form":         second(FetchCentral(ctx, "https://odk.example.org", 3, "", token)),
		"not http":        second(FetchCentral(ctx, "ftp://odk.example.org", 3, "khula", token)),
		"no host":         second(FetchKobo(ctx, "https://", "aPz3", token)),
		"credentials":     second(FetchKobo(ctx, "https://user:pw@kf.example.org", "aPz3", token)),
		"query":           second(FetchKobo(ctx, "https://kf.example.org/?token="+token, "aPz3", token)),
		"no asset":        second(FetchKobo(ctx, "https://kf.example.org", "", token)),
		"unreachable URL": second(FetchKobo(ctx, "http://127.0.0.1:1", "aPz3", token, fast...)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error holds the token: %v", name, err)
		}
	}
}

func second(_ io.ReadCloser, err error) error { return err }

func TestRedact(t *testing.T) {
	f := &fetcher{token: token}
	inner := errors.New("proxy said: bad " + token)
	err := f.redact(inner)
	if err.Error() != "proxy said: bad [token]" || !errors.Is(err, inner) {
		t.Errorf("redact: %v", err)
	}
	if clean := errors.New("fine"); f.redact(clean) != clean {
		t.Error("redact changed an error without the token")
	}
}
