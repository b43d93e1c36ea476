package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/internal/api"
	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

const cohortPath = "/api/v1/sites/johannesburg/cohort"

const cohortHeader = "school,child_given_name,child_family_name,sex,birth_date,grade,caregiver_given_name,caregiver_family_name,caregiver_phone,caregiver_language,consent_given_by,consent_relationship,consent_date\n"

// A valid class list: three children, one without consent.
const validCohort = cohortHeader +
	"meadowlands,Lerato,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,+27 82 000 0001,zu,caregiver,parent,2026-01-20\n" +
	"meadowlands,Sipho,Ndlovu,M,2019-11-02,1,Thabo,Ndlovu,,st,caregiver,grandparent,2026-01-21\n" +
	"malvern,Aisha,Patel,f,2020-06-30,Grade R,Fatima,Patel,011 000 0000,en,,,\n"

func (f *fixture) postCSV(t *testing.T, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, http.MethodPost, path, body, append([]string{"Content-Type", "text/csv"}, header...)...)
}

func countChildren(t *testing.T, f *fixture) int64 {
	t.Helper()
	n, err := f.store.CountChildren(context.Background(), "johannesburg")
	require.NoError(t, err)
	return n
}

func TestImportCohort(t *testing.T) {
	f := newFixture(t)
	before := countChildren(t, f)
	rec := f.postCSV(t, cohortPath, validCohort, "Idempotency-Key", "classlist-2026-meadowlands")
	var res api.CohortResult
	wantJSON(t, rec, http.StatusCreated, &res)
	assert.Equal(t, 3, res.Imported)
	assert.Equal(t, 3, res.Rows)
	assert.Empty(t, res.Skipped)
	require.Len(t, res.Children, 3)
	opaque := regexp.MustCompile(`^ch-[0-9a-f]{16}$`)
	for i, ch := range res.Children {
		assert.Equal(t, i+2, ch.Line, "lines count the header as line 1")
		assert.Regexp(t, opaque, ch.ChildID)
	}
	assert.Equal(t, []bool{true, true, false}, []bool{res.Children[0].Consent, res.Children[1].Consent, res.Children[2].Consent})
	assert.Equal(t, before+3, countChildren(t, f))
	for _, name := range []string{"Lerato", "Mokoena", "Nomsa", "Patel"} {
		assert.NotContains(t, rec.Body.String(), name, "the answer names no one")
	}

	// What was stored: normalised values, consent for the first two, and
	// names sealed at rest.
	ctx := context.Background()
	var sipho store.Child
	require.NoError(t, f.store.DB(ctx).Where("id = ?", res.Children[1].ChildID).Take(&sipho).Error)
	assert.Equal(t, "Sipho", sipho.GivenName)
	assert.Equal(t, "male", sipho.Sex)
	assert.Equal(t, "1", sipho.Grade)
	assert.Equal(t, "2019-11-02", sipho.BirthDate.Format("2006-01-02"))
	e, err := f.store.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: "johannesburg", ChildID: res.Children[1].ChildID})
	require.NoError(t, err)
	assert.True(t, e.Consented)
	e, err = f.store.Enrolment(ctx, cycle.EnrolmentQuery{SiteID: "johannesburg", ChildID: res.Children[2].ChildID})
	require.NoError(t, err)
	assert.False(t, e.Consented, "no consent on record for the third child")
	// Phones are stored in their E.164 form, whatever way they were written.
	phones := map[string]string{}
	for _, ch := range res.Children {
		var kid store.Child
		require.NoError(t, f.store.DB(ctx).Where("id = ?", ch.ChildID).Take(&kid).Error)
		var cg store.Caregiver
		require.NoError(t, f.store.DB(ctx).Where("id = ?", kid.CaregiverID).Take(&cg).Error)
		phones[kid.GivenName] = cg.Phone
	}
	assert.Equal(t, map[string]string{"Lerato": "+27820000001", "Sipho": "", "Aisha": "+27110000000"}, phones)
	var raw string
	require.NoError(t, f.store.DB(ctx).Raw("SELECT given_name FROM children WHERE id = ?", sipho.ID).Scan(&raw).Error)
	assert.NotContains(t, raw, "Sipho", "names are sealed at rest")
	// Every child enrolled is an audited write.
	trail, err := f.store.AuditTrail(ctx, sipho.ID, 10)
	require.NoError(t, err)
	require.NotEmpty(t, trail)
	assert.Contains(t, trail[0].What, "line 3")

	// The same key and file: the same answer, nothing imported twice.
	again := f.postCSV(t, cohortPath, validCohort, "Idempotency-Key", "classlist-2026-meadowlands")
	assert.Equal(t, http.StatusCreated, again.Code)
	assert.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	assert.JSONEq(t, rec.Body.String(), again.Body.String())
	assert.Equal(t, before+3, countChildren(t, f))

	// The same key with another file is refused.
	other := f.postCSV(t, cohortPath, strings.Replace(validCohort, "Lerato", "Lindiwe", 1), "Idempotency-Key", "classlist-2026-meadowlands")
	wantProblem(t, other, http.StatusUnprocessableEntity)
	assert.Contains(t, other.Body.String(), "different request")

	// Without a key the same file again: every child is already there.
	dup := f.postCSV(t, cohortPath, validCohort)
	p := wantCohortProblem(t, dup)
	assert.Len(t, p.Lines, 3)
	for _, l := range p.Lines {
		assert.Equal(t, "exists", l.Errors[0].Code)
	}
	assert.Equal(t, before+3, countChildren(t, f))
}

func wantCohortProblem(t *testing.T, rec *httptest.ResponseRecorder) api.CohortProblem {
	t.Helper()
	wantProblem(t, rec, http.StatusUnprocessableEntity)
	var p api.CohortProblem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	return p
}

// A class list with a problem on most lines; line 9 is a quoted field
// spanning two lines, so line numbers are the file's, not the record's.
const badCohort = cohortHeader +
	"meadowlands,Lerato,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n" + // 2 ok
	"durban,Sipho,Ndlovu,male,2019-11-02,1,Thabo,Ndlovu,,st,caregiver,parent,2026-01-21\n" + // 3 unknown school
	"meadowlands,,Ndlovu,male,2019-11-02,1,Thabo,Ndlovu,,st,caregiver,parent,2026-01-21\n" + // 4 given name missing
	"meadowlands,Zanele,Khumalo,girl,2019-13-02,7b,Mpho,Khumalo,12ab,fr,caregiver,aunt,2026-01-21\n" + // 5 five problems
	"meadowlands,Thandi,Zulu,female,2020-01-01,R,Bongi,Zulu,,zu,,,2026-01-22\n" + // 6 consent date without who
	"meadowlands,Lerato,Mokoena,female,2020-02-14,R,Nomsa,Mokoena,,zu,caregiver,parent,2026-01-20\n" + // 7 duplicate of line 2
	"meadowlands,Too,Few,female\n" + // 8 wrong field count
	"malvern,\"Ama\nNda\",Dube,female,2030-01-01,R,Zodwa,Dube,,en,caregiver,parent,2026-01-20\n" + // 9-10 future birth date
	"malvern,Kagiso,Mothibi,male,2020-03-03,1,Dineo,Mothibi,,tn,caregiver,parent,2026-01-25\n" // 11 ok

func TestImportCohortStrictReportsEveryBadLineAndImportsNothing(t *testing.T) {
	f := newFixture(t)
	before := countChildren(t, f)
	p := wantCohortProblem(t, f.postCSV(t, cohortPath, badCohort))
	assert.Equal(t, before, countChildren(t, f), "nothing imported")
	assert.Equal(t, "strict", p.Mode)
	assert.Equal(t, 9, p.Rows, "nine children (lines 9 and 10 are one)")
	got := map[int][]string{}
	for _, l := range p.Lines {
		for _, e := range l.Errors {
			got[l.Line] = append(got[l.Line], e.Field+":"+e.Code)
			assert.Contains(t, e.Message, "line ", "every message names its line")
		}
	}
	assert.Equal(t, map[int][]string{
		3: {"lines[3].school:unknown"},
		4: {"lines[4].child_given_name:required"},
		5: {"lines[5].sex:invalid_choice", "lines[5].birth_date:invalid_date", "lines[5].grade:invalid_choice",
			"lines[5].caregiver_phone:invalid", "lines[5].caregiver_language:invalid_choice", "lines[5].consent_relationship:invalid_choice"},
		6: {"lines[6].consent_given_by:required"},
		7: {"lines[7].child_given_name:duplicate"},
		8: {"lines[8]:wrong_field_count"},
		9: {"lines[9].birth_date:out_of_range"},
	}, got)
	// Flattened errors carry the same fields, for clients that read only errors.
	assert.Len(t, p.Errors, 12)
	// No message repeats a name from the file.
	for _, name := range []string{"Sipho", "Zanele", "Thandi", "Ama", "Kagiso"} {
		for _, e := range p.Errors {
			assert.NotContains(t, e.Message, name)
		}
	}
}

func TestImportCohortPartial(t *testing.T) {
	f := newFixture(t)
	before := countChildren(t, f)
	rec := f.postCSV(t, cohortPath+"?mode=partial", badCohort, "Idempotency-Key", "partial-0001")
	var res api.CohortResult
	wantJSON(t, rec, http.StatusCreated, &res)
	assert.Equal(t, "partial", res.Mode)
	assert.Equal(t, 2, res.Imported)
	assert.Equal(t, []int{2, 11}, []int{res.Children[0].Line, res.Children[1].Line})
	var skipped []int
	for _, l := range res.Skipped {
		skipped = append(skipped, l.Line)
		assert.NotEmpty(t, l.Errors)
	}
	assert.Equal(t, []int{3, 4, 5, 6, 7, 8, 9}, skipped, "exactly the bad lines were skipped")
	assert.Equal(t, before+2, countChildren(t, f))

	// A retry of the partial import imports nothing more.
	again := f.postCSV(t, cohortPath+"?mode=partial", badCohort, "Idempotency-Key", "partial-0001")
	assert.Equal(t, http.StatusCreated, again.Code)
	assert.JSONEq(t, rec.Body.String(), again.Body.String())
	assert.Equal(t, before+2, countChildren(t, f))
}

func TestImportCohortRefusals(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, path, body string
		header           []string
		status           int
		field            string
	}{
		{name: "no header columns we know", body: "name,age\nLerato,6\n", status: 422, field: "header"},
		{name: "a required column missing", body: strings.Replace(cohortHeader, "sex,", "", 1) + "x\n", status: 422, field: "header"},
		{name: "header only", body: cohortHeader, status: 422},
		{name: "empty file", body: "", status: 422},
		{name: "not CSV", body: validCohort, header: []string{"Content-Type", "application/json"}, status: 415},
		{name: "unknown mode", path: cohortPath + "?mode=some", body: validCohort, status: 422, field: "mode"},
		{name: "bad idempotency key", body: validCohort, header: []string{"Idempotency-Key", "a b"}, status: 422, field: "Idempotency-Key"},
		{name: "unknown site", path: "/api/v1/sites/durban/cohort", body: validCohort, status: 404},
		{name: "not UTF-8", body: cohortHeader + "meadowlands,L\xe9rato,M,female,2020-02-14,R,N,M,,zu,,,\n", status: 422, field: "file"},
	}
	before := countChildren(t, f)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = cohortPath
			}
			rec := f.postCSV(t, path, tc.body, tc.header...)
			p := wantProblem(t, rec, tc.status)
			if tc.field != "" {
				require.NotEmpty(t, p.Errors)
				assert.Equal(t, tc.field, p.Errors[0].Field)
			}
		})
	}
	assert.Equal(t, before, countChildren(t, f))
}

func TestImportCohortAccess(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, spec := range map[string]users.Spec{
		"manager":      {Role: auth.ProgrammeManager},
		"coord-moutse": {Role: auth.SiteCoordinator, Sites: []string{"moutse"}},
		"sw":           {Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}},
		"ops":          {Role: auth.Ops},
	} {
		spec.Username = name
		_, err := users.Create(ctx, f.store, f.dir, spec)
		require.NoError(t, err)
		tok, err := users.NewToken(ctx, f.store, name, "t", 0)
		require.NoError(t, err)
		rec := f.doAs(t, http.MethodPost, cohortPath, validCohort, "Content-Type", "text/csv", "Authorization", "Bearer "+tok)
		if name == "manager" {
			assert.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		} else {
			assert.Equal(t, http.StatusForbidden, rec.Code, name)
		}
	}
}

// A caregiver's phone is read as a South African practitioner writes it
// and stored as E.164; a line whose phone is not a valid number is refused
// with a message that does not repeat the number.
func TestImportCohortPhones(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	line := func(given, phone string) string {
		return "meadowlands," + given + ",Dlamini,female,2020-02-14,R,Nandi,Dlamini," + phone + ",zu,,,\n"
	}
	valid := []struct{ given, written, stored string }{
		{"Amahle", "082 123 4567", "+27821234567"},
		{"Bongani", "+27 72 555 6666", "+27725556666"},
		{"Dumisani", "0614443333", "+27614443333"},
		{"Funeka", "(011) 123-4567", "+27111234567"},
		{"Gugu", "+44 7911 123456", "+447911123456"},
	}
	body := cohortHeader
	for _, v := range valid {
		body += line(v.given, `"`+v.written+`"`)
	}
	var res api.CohortResult
	wantJSON(t, f.postCSV(t, cohortPath, body), http.StatusCreated, &res)
	require.Len(t, res.Children, len(valid))
	for i, v := range valid {
		var kid store.Child
		require.NoError(t, f.store.DB(ctx).Where("id = ?", res.Children[i].ChildID).Take(&kid).Error)
		var cg store.Caregiver
		require.NoError(t, f.store.DB(ctx).Where("id = ?", kid.CaregiverID).Take(&cg).Error)
		assert.Equal(t, v.stored, cg.Phone, "%s's caregiver wrote %q", v.given, v.written)
	}

	invalid := []struct{ given, written string }{
		{"Hlengiwe", "082 123 456"},      // a digit short
		{"Isipho", "082 ABC 4567"},       // letters
		{"Jabulani", "O82 123 4567"},     // the letter O for a zero
		{"Khanyisile", "+44 7911 12345"}, // a UK mobile a digit short
		{"Lindiwe", "12ab"},
	}
	body = cohortHeader
	for _, v := range invalid {
		body += line(v.given, v.written)
	}
	p := wantCohortProblem(t, f.postCSV(t, cohortPath, body))
	require.Len(t, p.Lines, len(invalid))
	for i, l := range p.Lines {
		require.Len(t, l.Errors, 1, invalid[i].written)
		e := l.Errors[0]
		assert.Equal(t, cohortField(i+2, "caregiver_phone")+":invalid", e.Field+":"+e.Code)
		assert.Contains(t, e.Message, "caregiver_phone is not")
		assert.NotContains(t, e.Message, invalid[i].written, "the message does not repeat the number")
		assert.NotContains(t, e.Message, strings.ReplaceAll(invalid[i].written, " ", ""), "the message does not repeat the number")
	}
}

// The duplicate check's blind index normalises a phone to its national
// digits (dedupe.NormalisePhone), so a phone stored as E.164 now and the
// same phone stored as typed before (a record imported before phones were
// normalised) still match: the child is held with the phones the same.
func TestImportCohortE164PhoneMatchesAPhoneStoredAsTyped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	born := time.Date(2019, 3, 4, 0, 0, 0, 0, time.UTC)
	require.NoError(t, f.store.AddFamilies(ctx, []store.Family{{
		Caregiver: store.Caregiver{ID: "cg-typed", SiteID: "johannesburg", GivenName: "Zanele", FamilyName: "Nkosi", Phone: "082 123 4567", Language: "zu", CreatedAt: born},
		Child: store.Child{ID: "ch-typed", SiteID: "johannesburg", SchoolID: "meadowlands", CaregiverID: "cg-typed", GivenName: "Thandiwe", FamilyName: "Nkosi",
			Sex: "female", BirthDate: born, Grade: "1", CreatedAt: born},
	}}))
	body := cohortHeader + "malvern,Thandiwe,Nkosie,female,2019-03-04,1,Zanele,Nkosi,+27 82 123 4567,zu,,,\n"
	var res api.CohortResult
	wantJSON(t, f.postCSV(t, cohortPath, body), http.StatusCreated, &res)
	require.Len(t, res.Held, 1)
	assert.Equal(t, "ch-typed", res.Held[0].KnownChildID)
	assert.Contains(t, res.Held[0].Evidence, "phone_same")
}

// cohortField names a column of a line as the import's errors do.
func cohortField(line int, column string) string {
	return "lines[" + strconv.Itoa(line) + "]." + column
}
