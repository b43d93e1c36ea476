package web_test

import (
	"bytes"
	"compress/gzip"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// offlineBudget is what the longest form page and its script may weigh
// gzipped together: the first load on a phone over a slow connection.
const offlineBudget = 40 << 10

func gzipLen(s string) int {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Len()
}

// TestFormPageAndScriptFitTheBudget weighs the caregiver's form (the
// longest) with the offline script it loads, gzipped as served.
func TestFormPageAndScriptFitTheBudget(t *testing.T) {
	f := newFixture(t, true)
	b := f.as("social-worker")
	page := b.get(formPage)
	require.Equal(t, 200, page.status)
	src := regexp.MustCompile(`<script src="(/static/khula\.[0-9a-f]+\.js)" defer>`).FindStringSubmatch(page.body)
	require.NotNil(t, src, "the form page loads the offline script")
	script := b.get(src[1])
	require.Equal(t, 200, script.status)
	require.Contains(t, page.body, `id="khula-spec"`, "the form carries its offline spec")
	pageGz, scriptGz := gzipLen(page.body), gzipLen(script.body)
	t.Logf("caregiver form %.1f KB (%.1f KB gzipped) + script %.1f KB (%.1f KB gzipped) = %.1f KB gzipped",
		float64(len(page.body))/1024, float64(pageGz)/1024, float64(len(script.body))/1024, float64(scriptGz)/1024, float64(pageGz+scriptGz)/1024)
	if pageGz+scriptGz > offlineBudget {
		t.Errorf("form page and script weigh %d bytes gzipped, over the budget of %d", pageGz+scriptGz, offlineBudget)
	}
}
