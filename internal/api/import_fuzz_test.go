package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/api"
)

// FuzzCohortCSV sends fuzzed class lists to the cohort import through the
// real gin handler and a real SQLite store, in both modes and with or
// without an Idempotency-Key. An import may be refused, but never with a
// 500; a refusal is a problem document and writes nothing; an import that
// succeeds adds exactly the children it lists, with opaque IDs, and in
// strict mode only when every line was valid.
func FuzzCohortCSV(f *testing.F) {
	seeds := []struct {
		partial bool
		key     string
		body    string
	}{
		{false, "", validCohort},
		{true, "classlist-fuzz-0001", validCohort},
		{false, "", badCohort},
		{true, "", badCohort},
		{false, "", cohortHeader},
		{false, "", ""},
		{false, "", "\ufeff" + cohortHeader + "alexandra,Naledi,Sithole,f,2019-05-05,2,Palesa,Sithole,,zu,caregiver,parent,2026-01-02\n"},
		{false, "", strings.ReplaceAll(validCohort, "\n", "\r\n")},
		{false, "", "school,school\n"},
		{false, "", "meadowlands,Lerato,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n"},
		{true, "", cohortHeader + "meadowlands,\"Lerato,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n"},
		{true, "", cohortHeader + "meadowlands,Le\"rato,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n"},
		{false, "", cohortHeader + "meadowlands,\xff\xfe,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n"},
		{true, "", cohortHeader + "meadowlands," + strings.Repeat("Ntombi", 30) + ",Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n"},
		{true, "", cohortHeader + "malvern,Tumi\x07,Dlamini,male,2008-01-01,12,Jabu,Dlamini,+27 (0)82-000-0000,zu,caregiver,other_relative,2007-12-31\n"},
		{false, "bad key!", validCohort},
		{false, "", "SCHOOL , Child_Given_Name,child_family_name,sex,birth_date,grade,caregiver_given_name,caregiver_family_name,caregiver_language\n" +
			"doornkop,Vusi,Mahlangu,M,2020-09-09,grade 1,Lindi,Mahlangu,ts\n"},
	}
	for _, s := range seeds {
		f.Add(s.partial, s.key, []byte(s.body))
	}

	fx, _ := fuzzFixture(f, &fuzzEngine{mode: engineDown})
	opaque := regexp.MustCompile(`^ch-[0-9a-f]{16}$`)
	f.Fuzz(func(t *testing.T, partial bool, key string, body []byte) {
		path := cohortPath
		if partial {
			path += "?mode=partial"
		}
		before := dbState(t, fx.store)
		rec := fx.do(t, http.MethodPost, path, string(body), "Content-Type", "text/csv", "Idempotency-Key", key)
		what := fmt.Sprintf("POST %s (Idempotency-Key %q) with %q: %d %s", path, key, body, rec.Code, rec.Body.String())
		t.Log(what)
		after := dbState(t, fx.store)

		switch {
		case rec.Code >= 500:
			t.Fatalf("server error: %s", what)
		case rec.Code >= 400:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("error with content type %q: %s", ct, what)
			}
			var p api.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Title == "" {
				t.Fatalf("not a problem document (%v): %s", err, what)
			}
			// A refused import may record its answer under its key (so a
			// retry gets the same answer), and nothing else.
			if before["cohort_imports"] != after["cohort_imports"] {
				after["cohort_imports"] = before["cohort_imports"]
			}
			if !equalCounts(before, after) {
				t.Fatalf("a refused import wrote to the database: %v -> %v: %s", before, after, what)
			}
		case rec.Code == http.StatusCreated:
			var res api.CohortResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("201 without a result (%v): %s", err, what)
			}
			replayed := rec.Header().Get("Idempotent-Replayed") == "true"
			added := after["children"] - before["children"]
			switch {
			case replayed && added != 0:
				t.Fatalf("a replayed import added %d children: %s", added, what)
			case !replayed && (added != int64(res.Imported) || res.Imported != len(res.Children) || res.Imported == 0):
				t.Fatalf("the answer lists %d children (imported %d) but %d were added: %s", len(res.Children), res.Imported, added, what)
			case !partial && len(res.Skipped) > 0:
				t.Fatalf("strict mode imported a file with bad lines: %s", what)
			case res.Rows != res.Imported+len(res.Skipped):
				t.Fatalf("rows %d != imported %d + skipped %d: %s", res.Rows, res.Imported, len(res.Skipped), what)
			}
			for _, ch := range res.Children {
				if !opaque.MatchString(ch.ChildID) {
					t.Fatalf("child ID %q is not opaque: %s", ch.ChildID, what)
				}
			}
		default:
			t.Fatalf("unexpected status: %s", what)
		}
	})
}
