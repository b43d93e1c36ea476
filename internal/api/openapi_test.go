package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/api"
)

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPIMatchesRoutes walks the routes registered on the gin engine
// and the document both ways: a route without an operation, or an
// operation without a route, fails.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	srv := &api.Server{}
	engine, ok := srv.Handler().(*gin.Engine)
	require.True(t, ok, "Handler is a *gin.Engine")
	routes := map[string]bool{}
	for _, r := range engine.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1") {
			continue
		}
		routes[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	paths := api.OpenAPI()["paths"].(map[string]any)
	for path, item := range paths {
		for method := range item.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	var undocumented, stale []string
	for r := range routes {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for d := range documented {
		if !routes[d] {
			stale = append(stale, d)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(stale)
	assert.Empty(t, undocumented, "routes missing from the OpenAPI document")
	assert.Empty(t, stale, "operations in the OpenAPI document with no route")
	assert.GreaterOrEqual(t, len(routes), 20)
}

// TestOpenAPIServed checks the served document: public, OpenAPI 3.1, every
// $ref resolves, every operation has an ID, and every operation that needs
// sign-in answers 401 and 403 and problem+json errors.
func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t)
	rec := f.doAs(t, http.MethodGet, "/api/v1/openapi.json", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.Equal(t, "3.1.0", doc["openapi"])
	comps := doc["components"].(map[string]any)
	schemas := comps["schemas"].(map[string]any)
	sec := comps["securitySchemes"].(map[string]any)
	assert.Contains(t, sec, "bearerAuth")
	assert.Equal(t, "khula_session", sec["cookieAuth"].(map[string]any)["name"])

	refs := regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(compact(t, rec.Body.Bytes()), -1)
	require.NotEmpty(t, refs)
	for _, m := range refs {
		assert.Contains(t, schemas, m[1], "dangling $ref")
	}
	problem := schemas["Problem"].(map[string]any)["properties"].(map[string]any)
	assert.Contains(t, problem, "errors", "problem documents carry field errors")

	ids := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, raw := range item.(map[string]any) {
			op := raw.(map[string]any)
			id, _ := op["operationId"].(string)
			assert.NotEmpty(t, id, "%s %s", method, path)
			assert.False(t, ids[id], "operationId %s twice", id)
			ids[id] = true
			responses := op["responses"].(map[string]any)
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				continue // public
			}
			for _, code := range []string{"401", "403"} {
				r, ok := responses[code].(map[string]any)
				if assert.True(t, ok, "%s %s documents %s", method, path, code) {
					assert.Contains(t, r["content"], "application/problem+json")
				}
			}
			if method == "post" && strings.Contains(path, "{") {
				assert.Contains(t, responses, "422", "%s %s documents field errors", method, path)
			}
		}
	}
	// Pagination is documented on the lists.
	for _, path := range []string{"/api/v1/waves", "/api/v1/work"} {
		get := doc["paths"].(map[string]any)[path].(map[string]any)["get"].(map[string]any)
		var names []string
		for _, p := range get["parameters"].([]any) {
			names = append(names, p.(map[string]any)["name"].(string))
		}
		assert.Contains(t, names, "limit", path)
		assert.Contains(t, names, "after", path)
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}

// TestOpenAPISchemasFollowTheTypes spot-checks schemas derived from the Go
// types: required fields, nested references, problem documents.
func TestOpenAPISchemasFollowTheTypes(t *testing.T) {
	doc := api.OpenAPI()
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		assert.Regexp(t, `^[A-Za-z0-9._-]+$`, name)
	}
	input := schemas["SubmitAssessmentInput"].(map[string]any)
	assert.ElementsMatch(t, []string{"answers", "phase", "respondent", "submitted_by"}, input["required"])
	cohort := schemas["CohortProblem"].(map[string]any)["properties"].(map[string]any)
	for _, k := range []string{"type", "title", "status", "errors", "lines"} {
		assert.Contains(t, cohort, k, "the cohort problem is a problem document with lines")
	}
	op := doc["paths"].(map[string]any)["/api/v1/sites/{site}/cohort"].(map[string]any)["post"].(map[string]any)
	assert.Contains(t, op["requestBody"].(map[string]any)["content"], "text/csv")
}
