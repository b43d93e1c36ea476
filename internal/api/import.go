package api

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/phone"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// Limits of one cohort import.
const (
	maxCohortBody = 5 << 20
	maxCohortRows = 5000
)

// Cohort import modes.
const (
	ImportStrict  = "strict"
	ImportPartial = "partial"
)

// CohortColumns are the columns of a cohort CSV, in the order a template
// shows them; the header names them, in any order.
var CohortColumns = []string{
	"school", "child_given_name", "child_family_name", "sex", "birth_date", "grade",
	"caregiver_given_name", "caregiver_family_name", "caregiver_phone", "caregiver_language",
	"consent_given_by", "consent_relationship", "consent_date",
}

// optionalColumns may be left out of the header.
var optionalColumns = []string{"caregiver_phone", "consent_given_by", "consent_relationship", "consent_date"}

// ConsentRelationships are who may consent for a child (a competent person under POPIA).
var ConsentRelationships = []string{"parent", "legal_guardian", "grandparent", "foster_parent", "other_relative"}

// CohortLine is a problem with one line of an import.
type CohortLine struct {
	Line   int                `json:"line"`
	Errors []cycle.FieldError `json:"errors"`
}

// CohortChild is one imported child: the CSV line and its new opaque ID.
type CohortChild struct {
	Line    int    `json:"line"`
	ChildID string `json:"child_id"`
	School  string `json:"school"`
	Consent bool   `json:"consent"`
}

// CohortResult answers a cohort import that added children.
type CohortResult struct {
	Site     string        `json:"site"`
	Mode     string        `json:"mode"`
	Rows     int           `json:"rows"`
	Imported int           `json:"imported"`
	Children []CohortChild `json:"children"`
	// Skipped lists the lines left out in partial mode, with why.
	Skipped []CohortLine `json:"skipped"`
	// Held lists the children imported but held as likely duplicates of a
	// child already known: they start no cycle until a coordinator decides.
	Held []CohortHeld `json:"held"`
}

// CohortHeld is an imported child held as a likely duplicate.
type CohortHeld struct {
	Line    int    `json:"line"`
	ChildID string `json:"child_id"`
	HoldID  string `json:"hold_id"`
	// KnownChildID is the child they are likely to be, when at this site;
	// a child of another site is not named (OtherSite is true).
	KnownChildID string   `json:"known_child_id,omitempty"`
	OtherSite    bool     `json:"other_site"`
	Score        float64  `json:"score"`
	Evidence     []string `json:"evidence"`
}

// CohortProblem is the 422 answer of an import that added nothing: a
// problem document whose errors name lines (lines[7].birth_date) and a
// lines member grouping them by line.
type CohortProblem struct {
	Problem
	Mode  string       `json:"mode"`
	Rows  int          `json:"rows"`
	Lines []CohortLine `json:"lines"`
}

// importCohort adds a school's class list (CSV) to a site's cohort: every
// line is checked first and, in the default strict mode, nothing is added
// unless every line is valid; ?mode=partial adds the valid lines and lists
// the others. IDs are opaque and random. An Idempotency-Key makes a retry
// answer what the first request answered.
func (s *Server) importCohort(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	mode := c.DefaultQuery("mode", ImportStrict)
	if mode != ImportStrict && mode != ImportPartial {
		fe := fieldErrors{}
		fe.add("mode", "invalid_choice", "mode must be strict (the default: all or nothing) or partial")
		fe.reject(c, "import")
		return
	}
	if mt, _, err := mime.ParseMediaType(c.ContentType()); err != nil || (mt != "text/csv" && mt != "application/csv") {
		problem(c, http.StatusUnsupportedMediaType, "Send the class list as text/csv", "Content-Type must be text/csv")
		return
	}
	key := c.GetHeader("Idempotency-Key")
	if key != "" && !idempotencyPattern.MatchString(key) {
		fe := fieldErrors{}
		fe.add("Idempotency-Key", "invalid", "Idempotency-Key must be 8-128 letters, digits, '.', '_', ':' or '-'")
		fe.reject(c, "import")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxCohortBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(c, http.StatusRequestEntityTooLarge, "The file is too large", fmt.Sprintf("at most %d bytes; split the class list", maxCohortBody))
			return
		}
		problem(c, http.StatusBadRequest, "The file could not be read", "send it again")
		return
	}
	sum := sha256.Sum256([]byte(site.ID + "\n" + mode + "\n" + string(body)))
	hash := hex.EncodeToString(sum[:])
	ctx := c.Request.Context()
	if key != "" {
		prev, err := s.Store.CohortImportByKey(ctx, key)
		switch {
		case err == nil:
			s.replayImport(c, prev, hash)
			return
		case !errors.Is(err, store.ErrNotFound):
			storeProblem(c, err, "cohort import")
			return
		}
	}
	now := s.now()
	rows, lines, fileErrs := parseCohort(body, site, now)
	if len(fileErrs) > 0 {
		problem(c, http.StatusUnprocessableEntity, "The file is not a class list khula can read: nothing was imported",
			"fix the header and send the file again", fileErrs...)
		return
	}
	// Children already in the cohort (an earlier import of the same list).
	keys := make([]store.ChildKey, 0, len(rows))
	for _, r := range rows {
		keys = append(keys, store.KeyOf(r.family.Child))
	}
	existing, err := s.Store.ExistingChildren(ctx, site.ID, keys)
	if err != nil {
		storeProblem(c, err, "cohort")
		return
	}
	var valid []cohortRow
	for _, r := range rows {
		if id, ok := existing[store.KeyOf(r.family.Child)]; ok {
			r.errs = append(r.errs, cycle.FieldError{Field: lineField(r.line, "child_given_name"), Code: "exists",
				Message: fmt.Sprintf("line %d: this child is already in the cohort (child %s)", r.line, id)})
		}
		if len(r.errs) > 0 {
			lines = append(lines, CohortLine{Line: r.line, Errors: r.errs})
			continue
		}
		valid = append(valid, r)
	}
	slices.SortFunc(lines, func(a, b CohortLine) int { return a.Line - b.Line })
	total := len(rows) + countOnlyBad(lines, rows)
	user := principal(c).Username
	if len(valid) == 0 || (mode == ImportStrict && len(lines) > 0) {
		p := cohortProblem(mode, total, lines, len(valid) == 0 && len(lines) == 0)
		doc, _ := json.Marshal(p)
		if key != "" {
			rec, replayed, err := s.Store.RecordCohortImport(ctx, store.CohortImport{Key: key, SiteID: site.ID, RequestHash: hash,
				Status: http.StatusUnprocessableEntity, Result: string(doc), CreatedBy: user, CreatedAt: now})
			if err == nil && replayed {
				s.replayImport(c, rec, hash)
				return
			}
		}
		writeStored(c, http.StatusUnprocessableEntity, doc)
		return
	}
	res := CohortResult{Site: site.ID, Mode: mode, Rows: total, Imported: len(valid), Children: []CohortChild{}, Skipped: []CohortLine{}, Held: []CohortHeld{}}
	families := make([]store.Family, 0, len(valid))
	for _, r := range valid {
		families = append(families, r.family)
		res.Children = append(res.Children, CohortChild{Line: r.line, ChildID: r.family.Child.ID, School: r.family.Child.SchoolID, Consent: r.family.Consent != nil})
	}
	// Children already known (here or at another site) are imported but
	// held for a person to decide; nothing is merged.
	suspects, err := s.Store.FindDuplicates(ctx, site.ID, families)
	if err != nil {
		storeProblem(c, err, "duplicate check")
		return
	}
	for _, sus := range suspects {
		f := &families[sus.Index]
		f.Hold = store.HoldFor("dup-"+uuid.NewString(), site.ID, f.Child.ID, sus, now)
		held := CohortHeld{Line: valid[sus.Index].line, ChildID: f.Child.ID, HoldID: f.Hold.ID, OtherSite: sus.KnownSiteID != site.ID,
			Score: math.Round(sus.Match.Score*1000) / 1000, Evidence: sus.Match.Evidence}
		if !held.OtherSite {
			held.KnownChildID = sus.KnownChildID
		}
		res.Held = append(res.Held, held)
	}
	res.Skipped = append(res.Skipped, lines...)
	doc, _ := json.Marshal(res)
	rec, replayed, err := s.Store.ImportCohort(ctx, store.CohortImport{Key: key, SiteID: site.ID, RequestHash: hash,
		Status: http.StatusCreated, Imported: len(valid), Result: string(doc), CreatedBy: user, CreatedAt: now}, families)
	switch {
	case errors.Is(err, store.ErrChildExists):
		problem(c, http.StatusConflict, "Some of these children were added meanwhile: nothing was imported", "send the file again to see which lines")
		return
	case err != nil && key != "":
		// Two requests with one key at once: the other one may have won.
		if prev, perr := s.Store.CohortImportByKey(ctx, key); perr == nil {
			s.replayImport(c, prev, hash)
			return
		}
		storeProblem(c, err, "cohort")
		return
	case err != nil:
		storeProblem(c, err, "cohort")
		return
	case replayed:
		s.replayImport(c, rec, hash)
		return
	}
	c.Status(http.StatusCreated)
	for _, ch := range res.Children {
		s.audit(c, store.AuditWrite, site.ID, ch.ChildID, fmt.Sprintf("enrolled from a class list (line %d)", ch.Line), "")
	}
	for _, h := range res.Held {
		s.audit(c, store.AuditWrite, site.ID, h.ChildID, "held as a likely duplicate ("+h.HoldID+")", "")
	}
	c.Header("Location", "/api/v1/sites/"+site.ID)
	writeStored(c, http.StatusCreated, doc)
}

// countOnlyBad counts lines with problems that produced no row (malformed lines).
func countOnlyBad(lines []CohortLine, rows []cohortRow) int {
	have := map[int]bool{}
	for _, r := range rows {
		have[r.line] = true
	}
	n := 0
	for _, l := range lines {
		if !have[l.Line] {
			n++
		}
	}
	return n
}

func cohortProblem(mode string, rows int, lines []CohortLine, empty bool) CohortProblem {
	p := CohortProblem{Mode: mode, Rows: rows, Lines: lines}
	if p.Lines == nil {
		p.Lines = []CohortLine{}
	}
	p.Status = http.StatusUnprocessableEntity
	p.Type = problemType(p.Status)
	switch {
	case empty:
		p.Title = "The file has no children: nothing was imported"
		p.Detail = "add one line per child below the header"
	case mode == ImportPartial:
		p.Title = "No line of the file is valid: nothing was imported"
		p.Detail = fmt.Sprintf("%d line(s) have problems", len(lines))
	default:
		p.Title = "Some lines are not valid: nothing was imported"
		p.Detail = fmt.Sprintf("%d line(s) have problems; fix them and send the whole file again, or send it with ?mode=partial to import the valid lines", len(lines))
	}
	for _, l := range lines {
		p.Errors = append(p.Errors, l.Errors...)
	}
	return p
}

func problemType(status int) string {
	return "https://khula.example.org/problems/" + strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-")
}

// replayImport answers a request whose key was recorded before.
func (s *Server) replayImport(c *gin.Context, prev store.CohortImport, hash string) {
	if prev.RequestHash != hash || prev.SiteID != c.Param("site") {
		problem(c, http.StatusUnprocessableEntity, "This Idempotency-Key was used for a different request",
			"use a new key for a different file, site or mode")
		return
	}
	c.Header("Idempotent-Replayed", "true")
	writeStored(c, prev.Status, []byte(prev.Result))
}

func writeStored(c *gin.Context, status int, doc []byte) {
	ct := "application/json; charset=utf-8"
	if status >= 400 {
		ct = "application/problem+json"
	}
	c.Data(status, ct, doc)
	c.Abort()
}

func lineField(line int, column string) string {
	if column == "" {
		return fmt.Sprintf("lines[%d]", line)
	}
	return fmt.Sprintf("lines[%d].%s", line, column)
}

type cohortRow struct {
	line   int
	family store.Family
	errs   []cycle.FieldError
}

// parseCohort reads the CSV. It returns the lines that make a row (each
// with its own errors), lines that make none (malformed), and problems
// with the file as a whole (the header).
func parseCohort(body []byte, site *sites.Site, now time.Time) ([]cohortRow, []CohortLine, []cycle.FieldError) {
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	if !utf8.Valid(body) {
		return nil, nil, []cycle.FieldError{{Field: "file", Code: "encoding", Message: "the file is not UTF-8 text: save it as CSV UTF-8"}}
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, []cycle.FieldError{{Field: "header", Code: "malformed_csv", Message: "the header line is not valid CSV"}}
	}
	col := map[string]int{}
	var fileErrs []cycle.FieldError
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(CohortColumns, name):
			fileErrs = append(fileErrs, cycle.FieldError{Field: "header", Code: "unknown_column",
				Message: fmt.Sprintf("column %d of the header is not one of %s (is the header line missing?)", i+1, strings.Join(CohortColumns, ", "))})
		case col[name] > 0:
			fileErrs = append(fileErrs, cycle.FieldError{Field: "header", Code: "duplicate_column", Message: fmt.Sprintf("column %s appears twice", name)})
		default:
			col[name] = i + 1
		}
	}
	for _, name := range CohortColumns {
		if col[name] == 0 && !slices.Contains(optionalColumns, name) {
			fileErrs = append(fileErrs, cycle.FieldError{Field: "header", Code: "missing_column", Message: "the header has no column " + name})
		}
	}
	if len(fileErrs) > 0 {
		return nil, nil, fileErrs
	}
	var rows []cohortRow
	var bad []CohortLine
	seen := map[store.ChildKey]int{}
	for n := 0; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			bad = append(bad, CohortLine{Line: line, Errors: []cycle.FieldError{{Field: lineField(line, ""), Code: "malformed_csv",
				Message: fmt.Sprintf("line %d is not valid CSV (check its quotes)", line)}}})
			if n > maxCohortRows+10 {
				break
			}
			continue
		}
		if len(rows)+len(bad) >= maxCohortRows {
			fileErrs = append(fileErrs, cycle.FieldError{Field: "file", Code: "too_many_rows",
				Message: fmt.Sprintf("a file holds at most %d children: split the class list", maxCohortRows)})
			return nil, nil, fileErrs
		}
		if len(rec) != len(header) {
			bad = append(bad, CohortLine{Line: line, Errors: []cycle.FieldError{{Field: lineField(line, ""), Code: "wrong_field_count",
				Message: fmt.Sprintf("line %d has %d fields, the header has %d", line, len(rec), len(header))}}})
			continue
		}
		get := func(name string) string {
			if i := col[name]; i > 0 {
				return strings.TrimSpace(rec[i-1])
			}
			return ""
		}
		row := checkCohortRow(line, get, site, now)
		k := store.KeyOf(row.family.Child)
		if first, dup := seen[k]; dup && len(row.errs) == 0 {
			row.errs = append(row.errs, cycle.FieldError{Field: lineField(line, "child_given_name"), Code: "duplicate",
				Message: fmt.Sprintf("line %d: the same child (school, names and birth date) as line %d", line, first)})
		} else if !dup && len(row.errs) == 0 {
			seen[k] = line
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

// checkCohortRow checks one line and builds its family with fresh opaque IDs.
func checkCohortRow(line int, get func(string) string, site *sites.Site, now time.Time) cohortRow {
	row := cohortRow{line: line}
	add := func(column, code, format string, args ...any) {
		row.errs = append(row.errs, cycle.FieldError{Field: lineField(line, column), Code: code,
			Message: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...)})
	}
	name := func(column string) string {
		v := strings.Join(strings.Fields(get(column)), " ")
		switch {
		case v == "":
			add(column, "required", "%s is required", column)
		case utf8.RuneCountInString(v) > 100:
			add(column, "too_long", "%s must be at most 100 characters", column)
		case strings.ContainsFunc(v, unicode.IsControl):
			add(column, "invalid", "%s holds control characters", column)
		}
		return v
	}
	date := func(column string) (time.Time, bool) {
		v := get(column)
		if v == "" {
			add(column, "required", "%s is required (YYYY-MM-DD)", column)
			return time.Time{}, false
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			add(column, "invalid_date", "%s must be a date written YYYY-MM-DD", column)
			return time.Time{}, false
		}
		if t.After(now) {
			add(column, "out_of_range", "%s is in the future", column)
			return t, false
		}
		return t, true
	}

	school := get("school")
	if school == "" {
		add("school", "required", "school is required")
	} else if _, ok := site.School(school); !ok {
		ids := make([]string, 0, len(site.Schools))
		for _, sc := range site.Schools {
			ids = append(ids, sc.ID)
		}
		add("school", "unknown", "school must be one of the site's school IDs: %s", strings.Join(ids, ", "))
	}
	given, family := name("child_given_name"), name("child_family_name")
	sex := ""
	switch strings.ToLower(get("sex")) {
	case "female", "f":
		sex = "female"
	case "male", "m":
		sex = "male"
	case "":
		add("sex", "required", "sex is required (female or male)")
	default:
		add("sex", "invalid_choice", "sex must be female or male (the WHO growth references are by sex)")
	}
	birth, birthOK := date("birth_date")
	if birthOK && birth.Before(now.AddDate(-18, 0, 0)) {
		add("birth_date", "out_of_range", "birth_date is more than 18 years ago")
		birthOK = false
	}
	grade := strings.TrimSpace(strings.TrimPrefix(strings.ToLower(get("grade")), "grade"))
	if g, err := strconv.Atoi(grade); grade == "r" || (err == nil && g >= 1 && g <= 12) {
		grade = strings.ToUpper(grade)
	} else if grade == "" {
		add("grade", "required", "grade is required (R or 1 to 12)")
	} else {
		add("grade", "invalid_choice", "grade must be R or 1 to 12")
	}
	cgGiven, cgFamily := name("caregiver_given_name"), name("caregiver_family_name")
	// The phone is stored in its E.164 form (+27821234567), however it was
	// written: one number, one form, before it is sealed and blind-indexed
	// for the duplicate check. No message repeats the number.
	cgPhone := get("caregiver_phone")
	if cgPhone != "" {
		e164, err := phone.E164(cgPhone)
		switch {
		case errors.Is(err, phone.ErrInvalid):
			add("caregiver_phone", "invalid", "caregiver_phone is not a valid phone number for its country: a South African number has 10 digits, e.g. 082 000 0000; a foreign one starts with + and its country code")
		case err != nil:
			add("caregiver_phone", "invalid", "caregiver_phone is not a phone number: write digits (spaces, brackets and hyphens allowed), e.g. 082 000 0000 or +27 82 000 0000")
		}
		cgPhone = e164
	}
	lang := strings.ToLower(get("caregiver_language"))
	if lang == "" {
		add("caregiver_language", "required", "caregiver_language is required (%s)", strings.Join(site.Languages, ", "))
	} else if !slices.Contains(site.Languages, lang) {
		add("caregiver_language", "invalid_choice", "caregiver_language must be one of the site's languages: %s", strings.Join(site.Languages, ", "))
	}
	by, rel, consentDate := strings.ToLower(get("consent_given_by")), strings.ToLower(get("consent_relationship")), get("consent_date")
	var consentAt time.Time
	consented := false
	switch by {
	case "caregiver":
		consented = true
		if rel == "" {
			add("consent_relationship", "required", "consent_relationship is required when consent was given (%s)", strings.Join(ConsentRelationships, ", "))
		} else if !slices.Contains(ConsentRelationships, rel) {
			add("consent_relationship", "invalid_choice", "consent_relationship must be one of %s", strings.Join(ConsentRelationships, ", "))
		}
		if t, ok := date("consent_date"); ok {
			consentAt = t
			// A consent dated today was given before the list was sent: it
			// is recorded at this moment, so a wave launched earlier today
			// does not count it as given before that launch.
			if t.Format(time.DateOnly) == now.UTC().Format(time.DateOnly) {
				consentAt = now
			}
			if birthOK && t.Before(birth) {
				add("consent_date", "out_of_range", "consent_date is before the child's birth_date")
			}
		}
	case "":
		if rel != "" || consentDate != "" {
			add("consent_given_by", "required", "consent_given_by is empty but consent details are filled: write caregiver, or leave all three consent columns empty")
		}
	default:
		add("consent_given_by", "invalid_choice", "consent_given_by must be caregiver (the caregiver on this line) or empty when no consent is on record")
	}

	childID, cgID, consentID := newID("ch-"), newID("cg-"), newID("consent-")
	row.family = store.Family{
		Caregiver: store.Caregiver{ID: cgID, SiteID: site.ID, GivenName: cgGiven, FamilyName: cgFamily, Phone: cgPhone, Language: lang, CreatedAt: now},
		Child: store.Child{ID: childID, SiteID: site.ID, SchoolID: school, CaregiverID: cgID, GivenName: given, FamilyName: family,
			Sex: sex, BirthDate: birth.UTC(), Grade: grade, CreatedAt: now},
	}
	if consented {
		row.family.Consent = &store.Consent{ID: consentID, ChildID: childID, CaregiverID: cgID, Relationship: rel, Scope: "cop-cycle", GivenAt: consentAt.UTC()}
	}
	return row
}

// newID makes an opaque random ID: never derived from a name, because IDs
// appear in workflow IDs, URLs and logs.
func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
