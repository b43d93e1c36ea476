package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cophealth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/findings"
	"github.com/khula-cop/khula/internal/longitudinal"
	"github.com/khula-cop/khula/internal/store"
)

// The OpenAPI 3.1 document of /api/v1 is built from the operations below;
// request and response schemas are derived from the Go types the handlers
// decode and encode, so they cannot drift from what is sent. A test checks
// that every route on the engine is documented and every documented
// operation is a route.

type obj = map[string]any

// operation describes one route for the document.
type operation struct {
	method, path string
	id, summary  string
	tag          string
	roles        []auth.Role // nil: any signed-in user; public: no sign-in
	public       bool
	params       []obj
	body         any    // a value of the request type, or csvBody
	bodyDesc     string // describes the request body
	bodyOptional bool   // the body may be left out
	idempotent   bool   // takes an Idempotency-Key
	ok           int
	okBody       any // a value of the response type (nil: no body)
	okDesc       string
	// okMedia is the media type of a response that is not JSON (text/html,
	// text/csv, application/zip): documented as a string or binary body.
	okMedia     string
	errors      []int
	description string
}

type csvBody struct{}

// intakeBody is an export of submissions: JSON, CSV, ZIP or multipart.
type intakeBody struct{}

func pathParam(name, desc string) obj {
	return obj{"name": name, "in": "path", "required": true, "description": desc, "schema": obj{"type": "string"}}
}

func queryParam(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

var (
	siteParam   = pathParam("site", "site ID, e.g. johannesburg")
	waveParam   = obj{"name": "wave", "in": "path", "required": true, "description": "wave number", "schema": obj{"type": "integer", "minimum": 1}}
	childParam  = pathParam("child", "opaque child ID")
	schoolParam = pathParam("school", "school ID")
	dateParam   = pathParam("date", "meeting date YYYY-MM-DD, with .2 to .99 for a further sitting that day")
	kParam      = obj{"name": "k", "in": "path", "required": true, "description": "referral number within the cycle (0: the urgent referral)", "schema": obj{"type": "integer", "minimum": 0}}
	afterQuery  = queryParam("after", "cursor: the next value of the previous page (absent on the last page)", obj{"type": "string"})
)

func limitQuery(def, max int) obj {
	return queryParam("limit", fmt.Sprintf("page size (default %d)", def), obj{"type": "integer", "minimum": 1, "maximum": max, "default": def})
}

// operations lists every /api/v1 route.
func operations() []operation {
	viewers := childViewers
	return []operation{
		{method: "GET", path: "/api/v1/openapi.json", id: "getOpenAPI", summary: "This document", tag: "meta", public: true, ok: 200, okBody: obj{}, okDesc: "the OpenAPI document"},
		{method: "POST", path: "/api/v1/session", id: "signIn", summary: "Sign in (browser session)", tag: "access", public: true,
			body: signInRequest{}, ok: 200, okBody: sessionResponse{}, okDesc: "the session cookie khula_session is set; send csrf back as X-CSRF-Token on changes",
			errors: []int{400, 401, 422}},
		{method: "DELETE", path: "/api/v1/session", id: "signOut", summary: "Sign out", tag: "access", ok: 204},
		{method: "GET", path: "/api/v1/session/offline-key", id: "getOfflineKey", summary: "The signed-in field worker's key for forms queued offline (browser sessions only)", tag: "access",
			roles: fieldWorkers, ok: 200, okBody: offlineKeyResponse{}, okDesc: "a 256-bit AES-GCM key, base64url; the browser keeps it only for the session", errors: []int{403}},
		{method: "GET", path: "/api/v1/me", id: "getMe", summary: "The signed-in user", tag: "access", ok: 200, okBody: meResponse{}},
		{method: "GET", path: "/api/v1/sites", id: "listSites", summary: "Sites the caller may see", tag: "sites", roles: anyRole, ok: 200, okBody: itemsOf[siteSummary]{}},
		{method: "GET", path: "/api/v1/sites/{site}", id: "getSite", summary: "A site: schools, languages, service types, durations, instrument", tag: "sites",
			roles: anyRole, params: []obj{siteParam}, ok: 200, okBody: siteSummary{}, errors: []int{404}},
		{method: "POST", path: "/api/v1/sites/{site}/cohort", id: "importCohort", summary: "Import a school's class list (CSV)", tag: "sites",
			roles: planners, params: []obj{siteParam, queryParam("mode", "strict (default): nothing is imported unless every line is valid; partial: the valid lines are imported and the others listed", obj{"type": "string", "enum": []string{ImportStrict, ImportPartial}, "default": ImportStrict})},
			body: csvBody{}, idempotent: true, ok: 201, okBody: CohortResult{},
			okDesc:      "children imported; in partial mode skipped lists every line left out and why. A retry with the same Idempotency-Key and file answers the same (header Idempotent-Replayed: true)",
			errors:      []int{404, 409, 413, 415, 422},
			description: "Columns (header line, any order): " + strings.Join(CohortColumns, ", ") + ". Optional: " + strings.Join(optionalColumns, ", ") + ". consent_given_by is caregiver (the caregiver on the line) or empty when no consent is on record. IDs are generated, opaque and random. A 422 lists every bad line as lines[N].column errors and in lines."},
		{method: "POST", path: "/api/v1/sites/{site}/intake", id: "importSubmissions", summary: "Submit assessments from an ODK Central or KoboToolbox export", tag: "sites",
			roles: fieldWorkers, params: []obj{siteParam,
				queryParam("format", "the export's format; auto (default) tells it from the content", obj{"type": "string", "enum": []string{"auto", "central-json", "central-csv", "kobo-json", "kobo-csv"}, "default": "auto"}),
				queryParam("dry_run", "true: read the file and check every row's child against the caller's scope; nothing is submitted", obj{"type": "boolean", "default": false})},
			body: intakeBody{}, ok: 200, okBody: IntakeResult{},
			okDesc: "the file was read: counts, and every row not submitted with why (errors; a row the cycle rejected carries its field errors). A row for a child outside the caller's schools is a row error, not a 403",
			errors: []int{404, 413, 415, 422, 503},
			description: "The body is the export as downloaded (at most 32 MiB): ODK Central's OData JSON or submissions CSV (or its submissions.csv.zip), KoboToolbox's JSON data or CSV export; raw with Content-Type application/json, text/csv or application/zip, or as the multipart/form-data field file. " +
				"The form follows khula's form contract (khula instrument xlsform|xform --site S): cycle_ref <site>/<wave>/<child>, phase, respondent, one group per respondent. " +
				"Each row is submitted as POST /cycles/{site}/{wave}/{child}/assessments would be, with the Update ID assessment/<phase>/<respondent>/odk:<instanceID>: uploading the same export again submits nothing twice (already counts those rows). " +
				"An edited submission has a new instanceID and arrives as a new form, which the cycle refuses if the first was taken. Rows the reviewer rejected in Central or Kobo are listed, not submitted. " +
				"Rows not tried because the request ran out of time or the engine became unavailable are counted in unfinished: send the same file again. No Idempotency-Key is needed."},
		{method: "GET", path: "/api/v1/work", id: "getWork", summary: "What practitioners have to do", tag: "work", roles: viewers,
			params: []obj{
				queryParam("site", "site ID", obj{"type": "string"}),
				queryParam("school", "school ID (practitioners at several schools must give it)", obj{"type": "string"}),
				queryParam("list", "page one list: "+strings.Join(store.WorkLists, ", "), obj{"type": "string", "enum": store.WorkLists}),
				limitQuery(200, 1000), afterQuery,
			},
			ok: 200, okBody: workSummary{}, okDesc: "without list: the first page of every list and a next cursor per list that has more; with list: a workListPage",
			errors: []int{404, 422}},
		{method: "GET", path: "/api/v1/work/children", id: "listWorkChildren", summary: "The children of a work list, by name: search, filters, order", tag: "work", roles: fieldWorkers,
			params: []obj{
				queryParam("site", "site ID", obj{"type": "string"}),
				queryParam("school", "school ID (practitioners at several schools must give it; coordinators without it see the whole site)", obj{"type": "string"}),
				queryParam("wave", "only this wave's cycles (default: every open cycle)", obj{"type": "integer", "minimum": 1}),
				queryParam("q", fmt.Sprintf("search: words each part of the child's given or family name (case and accents ignored), or a grade (R, 3, grade 3); at most %d characters", maxSearchRunes), obj{"type": "string", "maxLength": maxSearchRunes}),
				{"name": "filter", "in": "query", "required": false, "description": "keep children at risk (a domain high in the newest phase scored), with a red flag (raised, or an urgent referral), or with something overdue (an open referral past due, forms due past the reminder or the window); repeat or comma-separate: all must hold",
					"schema": obj{"type": "array", "items": obj{"type": "string", "enum": store.WorkFilters}}, "style": "form", "explode": true},
				queryParam("sort", "order (ties by name): name (family, then given), class (grade R, 1 ... 12), age (youngest first), stage (earliest first)", obj{"type": "string", "enum": store.WorkSorts, "default": store.WorkSortName}),
				limitQuery(workChildrenLimit, workChildrenMaxLimit), afterQuery,
			},
			ok: 200, okBody: workChildrenPage{}, okDesc: "one row per child with open work (forms due, awaiting a plan, in follow-up, an open referral); Cache-Control: no-store",
			errors: []int{404, 422, 503},
			description: "Names are sealed at rest, so the search runs over at most " + strconv.Itoa(store.WorkChildrenScanCap) + " cycles of the scope (truncated says when there were more). " +
				"Every child returned is an audited read (what: \"" + WorkListRead + "\"), written before the answer; when the audit log cannot take them the answer is 503 and nothing is shown."},
		{method: "POST", path: "/api/v1/waves", id: "launchWave", summary: "Launch a wave", tag: "waves", roles: planners,
			body: launchWaveRequest{}, ok: 202, okBody: launchWaveResponse{}, okDesc: "launched (200 with existing: true when the wave was launched before)",
			errors: []int{409, 422, 502, 503},
			description: "day_length compresses time for a demonstration (khula dev only). hold_windows, only with day_length, hands closing the windows to the launcher: " +
				"every deadline that decides an outcome (the assessment window, the reassessment window, the plan give-up) runs as a backstop four times its length, and at least ten minutes past it, " +
				"the report waits for the cycles, and the launcher closes the windows with POST .../close-window when the forms it expects are in " +
				"(window_due says when the window is due; window_close is the backstop). Referral SLAs are unchanged."},
		{method: "POST", path: "/api/v1/waves/{site}/{wave}/close-window", id: "closeWaveWindow", summary: "Close a wave's assessment window now", tag: "waves",
			roles: planners, params: []obj{siteParam, waveParam}, body: closeWaveWindowRequest{}, bodyOptional: true, idempotent: true,
			ok: 202, okBody: closeWaveWindowResponse{}, okDesc: "the wave closes its window and each open cycle's wait for baseline forms",
			errors: []int{404, 409, 422, 502, 503},
			description: "Forms not in by then are not awaited any longer: each cycle is scored on the forms it has, or closes not_assessed without any. " +
				"409 when the wave is already closing or closed. A wave launched with hold_windows waits for this (or its backstop) rather than its timer."},
		{method: "GET", path: "/api/v1/waves", id: "listWaves", summary: "Waves, newest first", tag: "waves", roles: viewers,
			params: []obj{queryParam("site", "only this site", obj{"type": "string"}), limitQuery(50, 200), afterQuery}, ok: 200, okBody: wavePage{}, errors: []int{404, 422}},
		{method: "GET", path: "/api/v1/waves/{site}/{wave}", id: "getWave", summary: "A wave: progress by stage and school; the report once closed", tag: "waves",
			roles: viewers, params: []obj{siteParam, waveParam}, ok: 200, okBody: waveDetail{}, errors: []int{404}},
		{method: "GET", path: "/api/v1/cycles/{site}/{wave}/{child}", id: "getCycle", summary: "A child's cycle: stage, timeline, scores, plans, referrals", tag: "cycles",
			roles: viewers, params: []obj{siteParam, waveParam, childParam}, ok: 200, okBody: store.CycleDetail{}, errors: []int{404}},
		{method: "POST", path: "/api/v1/cycles/{site}/{wave}/{child}/assessments", id: "submitAssessment", summary: "A respondent's form", tag: "cycles",
			roles: fieldWorkers, params: []obj{siteParam, waveParam, childParam}, body: cycle.SubmitAssessmentInput{}, idempotent: true,
			ok: 200, okBody: cycle.SubmitAssessmentResult{}, errors: []int{404, 409, 422, 502, 503},
			description: "Answers are checked by the cycle's validator against the instrument (types, choices, ranges, skip logic, required items): every problem comes back as a 422 field error such as answers.sdq01: invalid_choice; nothing is recorded."},
		{method: "POST", path: "/api/v1/cycles/{site}/{wave}/{child}/close-window", id: "closeCycleWindow", summary: "End a child's wait for a phase's forms now", tag: "cycles",
			roles: viewers, params: []obj{siteParam, waveParam, childParam}, body: closeCycleWindowRequest{}, idempotent: true,
			ok: 202, okBody: closeCycleWindowResponse{}, okDesc: "the cycle stops waiting for the phase's forms (a cycle not waiting for them ignores it)",
			errors:      []int{404, 409, 422, 502, 503},
			description: "phase is baseline or reassessment. The cycle goes on with the forms it has; 409 when the cycle has closed. Audited as a write of the child's record."},
		{method: "POST", path: "/api/v1/cycles/{site}/{wave}/{child}/follow-ups", id: "recordFollowUp", summary: "A practitioner's check-in, with any red-flag concerns seen", tag: "cycles",
			roles: fieldWorkers, params: []obj{siteParam, waveParam, childParam}, body: cycle.FollowUpInput{}, idempotent: true,
			ok: 200, okBody: cycle.FollowUpResult{}, errors: []int{404, 409, 422, 502, 503},
			description: "Accepted from scoring until the cycle closes. concerns are red-flag codes of the child's instrument: each opens the safeguarding fast path at once (urgent referral to the flag's declared service, the safeguarding social worker told); an unknown code is a 422 field error."},
		{method: "POST", path: "/api/v1/cycles/{site}/{wave}/{child}/agenda", id: "addConcern", summary: "Put a child on the next LLCoP agenda with a reason", tag: "cycles",
			roles: fieldWorkers, params: []obj{siteParam, waveParam, childParam}, body: addConcernRequest{},
			ok: 201, okBody: addConcernResponse{}, errors: []int{404, 409, 422, 503},
			description: "Any consenting child of the school, whatever the risk (a teacher's concern). The reason is sealed at rest. The meeting's plan goes to the child's cycle, or, when the cycle has closed, the meeting makes the plan's referrals itself. 409 when the child has no consent this wave or is already on the agenda with a concern."},
		{method: "POST", path: "/api/v1/meetings", id: "startMeeting", summary: "Hold an LLCoP meeting now", tag: "meetings", roles: fieldWorkers,
			body: startMeetingRequest{}, ok: 202, okBody: meetingStarted{}, errors: []int{409, 422, 502, 503}},
		{method: "GET", path: "/api/v1/meetings/{site}/{school}/{date}", id: "getMeeting", summary: "A meeting and its agenda", tag: "meetings", roles: viewers,
			params: []obj{siteParam, schoolParam, dateParam}, ok: 200, okBody: meetingView{}, errors: []int{404}},
		{method: "POST", path: "/api/v1/meetings/{site}/{school}/{date}/minutes", id: "submitMinutes", summary: "A meeting's minutes: a plan per child", tag: "meetings",
			roles: fieldWorkers, params: []obj{siteParam, schoolParam, dateParam}, body: cycle.MinutesInput{}, idempotent: true,
			ok: 200, okBody: cycle.MinutesResult{}, errors: []int{404, 409, 422, 502, 503}},
		{method: "POST", path: "/api/v1/referrals/{site}/{wave}/{child}/{k}/acknowledge", id: "acknowledgeReferral", summary: "A service acknowledges a referral", tag: "referrals",
			roles: fieldWorkers, params: []obj{siteParam, waveParam, childParam, kParam}, body: cycle.AcknowledgeInput{}, idempotent: true,
			ok: 200, okBody: cycle.ReferralStatus{}, errors: []int{404, 409, 422, 502, 503}},
		{method: "POST", path: "/api/v1/referrals/{site}/{wave}/{child}/{k}/outcome", id: "recordReferralOutcome", summary: "A referral's outcome: completed, declined or unreachable", tag: "referrals",
			roles: fieldWorkers, params: []obj{siteParam, waveParam, childParam, kParam}, body: cycle.ReferralOutcomeInput{}, idempotent: true,
			ok: 200, okBody: cycle.ReferralStatus{}, errors: []int{404, 409, 422, 502, 503}},
		{method: "GET", path: "/api/v1/children/{site}/{child}/audit", id: "getChildAudit", summary: "A child's audit trail: every read and write of the record", tag: "privacy",
			roles: viewers, params: []obj{siteParam, childParam, queryParam("limit", "at most this many entries (default 500)", obj{"type": "integer", "minimum": 1, "maximum": 5000, "default": 500})},
			ok: 200, okBody: auditTrailResponse{}, errors: []int{404, 422, 503}},
		{method: "POST", path: "/api/v1/children/{site}/{child}/consent/withdraw", id: "withdrawConsent", summary: "Withdraw consent: stop the child's cycles and erase personal fields", tag: "privacy",
			roles: []auth.Role{auth.SiteCoordinator, auth.Practitioner}, params: []obj{siteParam, childParam}, body: withdrawRequest{},
			ok: 200, okBody: withdrawn{}, errors: []int{404, 422, 502, 503},
			description: "De-identified scores stay for aggregate statistics; the withdrawal and the erasure are audited."},
		{method: "POST", path: "/api/v1/children/{site}/{child}/access", id: "breakGlass", summary: "Break the glass: time-limited, read-only access to a child outside one's schools", tag: "privacy",
			roles: []auth.Role{auth.Practitioner}, params: []obj{siteParam, childParam}, body: accessRequest{},
			ok: 201, okBody: grantGiven{}, errors: []int{404, 409, 422, 503},
			description: "The reason must say why in words (at least 4, not filler). The grant lets its holder read the child's record and nothing more (writes answer 403). The site's coordinator is told at once by the notify plugin; if that cannot be started, nothing is granted (503). The reason is audited and the grant listed for the site's coordinators."},
		{method: "POST", path: "/api/v1/sites/{site}/access-grants/{id}/approve", id: "approveGrant", summary: "Approve a break-the-glass grant (sites with break_glass.approval)", tag: "privacy",
			roles: planners, params: []obj{siteParam, pathParam("id", "the grant's ID")}, ok: 200, okBody: grantGiven{}, errors: []int{403, 404, 409, 422, 503},
			description: "A second person (not the grantee) opens the grant for the minutes asked, from now. 409 when it was approved already or its day to be approved has passed. Audited."},
		{method: "GET", path: "/api/v1/children/{site}/{child}", id: "getChild", summary: "A child's record across waves: one time point per wave, with the change from the one before", tag: "children",
			roles: viewers, params: []obj{siteParam, childParam}, ok: 200, okBody: store.ChildRecord{}, errors: []int{404, 503},
			description: "Each time point has the wave, outcome, domain levels, key scales (SDQ, PHQ-9, CYRM-R), growth z-scores, the plan and the referrals; no name. Audited as a read."},
		{method: "POST", path: "/api/v1/children/{site}/{child}/leave", id: "leaveStudy", summary: "Record that a child left the study, with the reason", tag: "children",
			roles: fieldWorkers, params: []obj{siteParam, childParam}, body: leaveRequest{}, ok: 200, okBody: leaveAnswer{}, errors: []int{404, 409, 422, 503},
			description: "Reasons: " + strings.Join(cycle.LeaveReasons, ", ") + ". Later waves do not start the child; a cycle in progress goes on."},
		{method: "POST", path: "/api/v1/children/{site}/{child}/consent/renew", id: "renewConsent", summary: "Record that a competent person renewed the child's consent", tag: "children",
			roles: fieldWorkers, params: []obj{siteParam, childParam}, body: renewRequest{}, ok: 200, okBody: renewAnswer{}, errors: []int{404, 409, 422, 503}},
		{method: "GET", path: "/api/v1/waves/{site}/{wave}/preview", id: "previewWave", summary: "Who launching a wave would start: continuing, new, lapsed consent, held, leavers", tag: "waves",
			roles: planners, params: []obj{siteParam, waveParam}, ok: 200, okBody: store.CohortPreview{}, errors: []int{404, 503}},
		{method: "GET", path: "/api/v1/sites/{site}/transitions", id: "getTransitions", summary: "How a site's children changed between two waves, per domain and school", tag: "children",
			roles: planners, params: []obj{siteParam, queryParam("from", "the earlier wave", obj{"type": "integer", "minimum": 1}),
				queryParam("to", "the later wave", obj{"type": "integer", "minimum": 1}),
				queryParam("format", "json (the default) or csv: an export where counts from 1 to 4 read <5 and no child is listed", obj{"type": "string", "enum": []string{"json", "csv"}})},
			ok: 200, okBody: longitudinal.Report{}, errors: []int{404, 422, 503}},
		{method: "GET", path: "/api/v1/sites/{site}/leavers", id: "listLeavers", summary: "Children of a site who left the study, newest first", tag: "children",
			roles: planners, params: []obj{siteParam, limitQuery(200, 5000)}, ok: 200, okBody: itemsOf[store.ChildStatus]{}, errors: []int{404, 422, 503}},
		{method: "GET", path: "/api/v1/sites/{site}/duplicates", id: "listDuplicates", summary: "Likely duplicates that concern a site (held at import)", tag: "children",
			roles: planners, params: []obj{siteParam, queryParam("status", "pending (the default), linked, different or all", obj{"type": "string"}), limitQuery(200, 5000)},
			ok: 200, okBody: itemsOf[store.DuplicateHold]{}, errors: []int{404, 422, 503}},
		{method: "POST", path: "/api/v1/duplicates/{id}/decision", id: "decideDuplicate", summary: "Decide a likely duplicate: the same child (link) or different children", tag: "children",
			roles: planners, params: []obj{pathParam("id", "the hold's ID")}, body: decisionRequest{}, ok: 200, okBody: store.DuplicateHold{}, errors: []int{404, 409, 422, 503},
			description: "A link across sites moves the child's record between sites: only a programme manager may make it."},
		// Evidence for the CoP (issue 14).
		{method: "GET", path: "/api/v1/meetings/{site}/{school}/{date}/pack.html", id: "getSchoolPack", summary: "The LLCoP meeting's printable pack", tag: "evidence",
			roles: viewers, params: []obj{siteParam, schoolParam, dateParam}, ok: 200, okMedia: "text/html", errors: []int{404, 503},
			okDesc:      "one printable HTML page (A4): each child on the agenda with names, levels and reasons, missing forms, red flags and their referrals, the previous wave and space for the plan; the school's summary",
			description: "Only people scoped to the school (or its site) print it; each child on it is audited as a read."},
		{method: "GET", path: "/api/v1/waves/{site}/{wave}/report.html", id: "getWaveReport", summary: "A wave's findings report, printable", tag: "evidence",
			roles: evidenceReaders, params: []obj{siteParam, waveParam}, ok: 200, okMedia: "text/html", errors: []int{400, 404, 503},
			okDesc:      "one printable HTML page: per site and school, the tables of a findings report with SVG charts and a CSV link beside each",
			description: "Counts from 1 to 4 read <5 and a share built on them reads suppressed; a count that would give a suppressed one away by subtraction is suppressed too. No child is named."},
		{method: "GET", path: "/api/v1/waves/{site}/{wave}/report.csv", id: "getWaveReportCSV", summary: "A table of a wave's findings report (or every table) as CSV", tag: "evidence",
			roles: evidenceReaders, params: []obj{siteParam, waveParam, queryParam("scope", "site, or school:<school ID> (with table)", obj{"type": "string"}),
				queryParam("table", "a table ID: "+strings.Join(findings.TableIDs, ", ")+" (with scope; neither: every table in one long CSV)", obj{"type": "string"})},
			ok: 200, okMedia: "text/csv", errors: []int{400, 404, 422, 503}},
		{method: "GET", path: "/api/v1/exports/research", id: "exportResearch", summary: "A site's de-identified research dataset and codebook (ZIP)", tag: "evidence",
			roles: []auth.Role{auth.ProgrammeManager}, params: []obj{queryParam("site", "site ID", obj{"type": "string"}),
				queryParam("purpose", "what the export is for (10 to 300 characters), recorded in the audit log", obj{"type": "string", "minLength": 10, "maxLength": 300})},
			ok: 200, okMedia: "application/zip", errors: []int{404, 409, 422, 503},
			okDesc:      "data.csv (one row per child per wave and phase, keyed by a pseudonym stable across waves and different between sites), codebook.csv, README.txt; streamed",
			description: "No name, child ID, date of birth (age in months instead) or phone number is exported; text cells a spreadsheet would run as formulas are neutralised."},
		{method: "GET", path: "/api/v1/sites/{site}/plan-actions", id: "listPlanActions", summary: "Actions LLCoP meetings agreed, with owner, due date and status", tag: "evidence",
			roles: viewers, params: []obj{siteParam, queryParam("school", "one school", obj{"type": "string"}), queryParam("status", "open, or overdue (open past the due date)", obj{"type": "string", "enum": []string{"open", "overdue"}})},
			ok: 200, okBody: planActionsAnswer{}, errors: []int{404, 422, 503}},
		{method: "POST", path: "/api/v1/plan-actions/{id}/close", id: "closePlanAction", summary: "Record an agreed action done or dropped", tag: "evidence",
			roles: fieldWorkers, params: []obj{pathParam("id", "the action's ID (pa-…)")}, body: closeActionRequest{}, ok: 200, okBody: store.PlanActionRow{}, errors: []int{404, 409, 422, 503},
			description: "An action that asked for a service is followed by its referral (409)."},
		{method: "GET", path: "/api/v1/sites/{site}/cop", id: "getCoPDashboard", summary: "How the CoP works at a site, wave over wave", tag: "evidence",
			roles: reviewers, params: []obj{siteParam}, ok: 200, okBody: copAnswer{}, errors: []int{404, 503},
			description: "Meetings held against the schedule, attendance by sector, days from scoring to plan, referral acceptance and completion by sector and service, days to first service, overdue items; for the site and each school."},
		{method: "GET", path: "/api/v1/sites/{site}/reviews", id: "listReviews", summary: "Plans for children at high risk, with the ALCoP's reviews", tag: "evidence",
			roles: reviewers, params: []obj{siteParam, queryParam("pending", "true: only plans not yet reviewed", obj{"type": "boolean"})},
			ok: 200, okBody: reviewsAnswer{}, errors: []int{404, 503},
			description: "Advisors see no name or note unless a programme manager granted names (khula user add --sees-names)."},
		{method: "POST", path: "/api/v1/reviews", id: "reviewPlan", summary: "Review a plan for a child at high risk (advisors, programme managers)", tag: "evidence",
			roles: []auth.Role{auth.Advisor, auth.ProgrammeManager}, body: reviewRequest{}, ok: 201, okBody: reviewAnswer{}, errors: []int{404, 409, 422, 503},
			description: "Where the site holds high-risk plans for review (alcop.review_high_risk_plans), the review lets the plan's referrals start."},
		{method: "GET", path: "/api/v1/access-grants", id: "listAccessGrants", summary: "Break-the-glass grants of a site (last 90 days)", tag: "privacy", roles: planners,
			params: []obj{queryParam("site", "site ID", obj{"type": "string"}), queryParam("limit", "at most this many (default 100)", obj{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})},
			ok:     200, okBody: itemsOf[store.AccessGrant]{}, errors: []int{404, 422}},
		// User administration (issue 18).
		{method: "GET", path: "/api/v1/users", id: "listUsers", summary: "Users and what each may see (programme managers)", tag: "users",
			roles: []auth.Role{auth.ProgrammeManager}, ok: 200, okBody: itemsOf[UserView]{}, errors: []int{503},
			description: "Username, display name, role, practice and scope (sites and schools) of every user, by username; never a password hash or a token."},
		{method: "PUT", path: "/api/v1/users/{username}/scope", id: "setUserScope", summary: "Replace the sites and schools a user may see (programme managers)", tag: "users",
			roles: []auth.Role{auth.ProgrammeManager}, params: []obj{pathParam("username", "the user's username")}, body: scopeRequest{},
			ok: 200, okBody: UserView{}, okDesc: "the user with the new scope", errors: []int{400, 404, 422, 503},
			description: "The sites and schools given replace the user's, under the rules of the user's role: a site coordinator needs at least one site, " +
				"a practitioner one site and at least one school of it, an advisor sites to narrow to (none: every site), a programme manager or ops none. " +
				"Every unknown site or school is a field error (422) naming it. The change and its audit entry (with X-Khula-Reason, if sent) are written together; " +
				"the user's sessions and tokens see the new scope on their next request. Sending the same scope again changes nothing, so no Idempotency-Key is taken."},
	}
}

// Response shapes the handlers write with gin.H, declared for the document.
type (
	planActionsAnswer struct {
		Site    string                `json:"site"`
		Actions []store.PlanActionRow `json:"actions"`
		Today   string                `json:"today"`
	}
	copAnswer struct {
		Site    string                   `json:"site"`
		Schools map[string]string        `json:"schools"`
		Sectors []string                 `json:"sectors"`
		Every   float64                  `json:"meetings_every_days"`
		Waves   []cophealth.WaveMeasures `json:"waves"`
	}
	reviewsAnswer struct {
		Site  string           `json:"site"`
		Plans []reviewPlanView `json:"plans"`
	}
	reviewAnswer struct {
		Review    store.PlanReview `json:"review"`
		CycleTold bool             `json:"cycle_told"`
	}
	itemsOf[T any] struct {
		Items []T `json:"items"`
	}
	offlineKeyResponse struct {
		Key string `json:"key"`
		Alg string `json:"alg"`
	}
	sessionResponse struct {
		User string    `json:"user"`
		Role auth.Role `json:"role"`
		CSRF string    `json:"csrf"`
	}
	meResponse struct {
		User     string    `json:"user"`
		Name     string    `json:"name"`
		Role     auth.Role `json:"role"`
		Practice string    `json:"practice"`
		Sites    []string  `json:"sites"`
		Schools  []string  `json:"schools"`
	}
	meetingStarted struct {
		MeetingID string `json:"meeting_id"`
	}
	withdrawn struct {
		Withdrawn     any      `json:"withdrawn"`
		CyclesStopped []string `json:"cycles_stopped"`
		Erased        bool     `json:"erased"`
	}
	grantGiven struct {
		GrantID string `json:"grant_id"`
		// Status is granted, or awaiting_approval (202) where the site needs a second person.
		Status    string    `json:"status"`
		ExpiresAt time.Time `json:"expires_at,omitempty"`
		ApproveBy time.Time `json:"approve_by,omitempty"`
	}
	meetingView struct {
		ID     string             `json:"id"`
		Site   string             `json:"site"`
		School string             `json:"school"`
		Date   string             `json:"date"`
		Status string             `json:"status"`
		Agenda []cycle.AgendaItem `json:"agenda"`
		HeldAt *time.Time         `json:"held_at"`
	}
)

var statusText = map[int]string{
	400: "the request is malformed (problem+json)",
	401: "sign-in required: no or a bad token or session (problem+json)",
	403: "the caller's role or scope may not do this, or the CSRF token is missing or wrong (problem+json)",
	404: "not found (problem+json)",
	409: "the input does not fit the current state (problem+json)",
	413: "the body is too large (problem+json)",
	415: "wrong media type (problem+json)",
	422: "rejected input: every field error is listed; nothing was recorded (problem+json)",
	502: "the workflow engine failed the request (problem+json)",
	503: "the database or engine did not answer in time; retry (with the same Idempotency-Key) after Retry-After seconds (problem+json)",
}

// schemas collects component schemas derived from Go types.
type schemas struct {
	defs  obj
	names map[reflect.Type]string
	taken map[string]reflect.Type
}

func (sc *schemas) name(t reflect.Type) string {
	if n, ok := sc.names[t]; ok {
		return n
	}
	base := t.Name()
	if i := strings.Index(base, "["); i >= 0 { // generic instance: itemsOf[pkg.T]
		inner := base[i+1 : len(base)-1]
		if j := strings.LastIndex(inner, "."); j >= 0 {
			inner = inner[j+1:]
		}
		base = upperFirst(inner) + "List"
	}
	base = upperFirst(base)
	n := base
	if other, ok := sc.taken[n]; ok && other != t {
		pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
		n = upperFirst(pkg) + base
	}
	sc.names[t] = n
	sc.taken[n] = t
	return n
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

var timeType = reflect.TypeOf(time.Time{})

// of returns the schema of a Go type, registering named structs as components.
func (sc *schemas) of(t reflect.Type) obj {
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t == reflect.TypeOf(time.Duration(0)):
		return obj{"type": "integer", "description": "nanoseconds"}
	case t == reflect.TypeOf(obj{}):
		return obj{"type": "object"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return sc.of(t.Elem())
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{"type": "string", "contentEncoding": "base64"}
		}
		return obj{"type": "array", "items": sc.of(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": sc.of(t.Elem())}
	case reflect.Interface:
		return obj{}
	case reflect.Struct:
		if t.Name() == "" { // an anonymous struct: inline
			props, required := obj{}, []string{}
			sc.fields(t, props, &required)
			s := obj{"type": "object", "properties": props}
			if len(required) > 0 {
				sort.Strings(required)
				s["required"] = required
			}
			return s
		}
		name := sc.name(t)
		if _, done := sc.defs[name]; !done {
			sc.defs[name] = obj{} // placeholder against recursion
			props, required := obj{}, []string{}
			sc.fields(t, props, &required)
			s := obj{"type": "object", "properties": props}
			if len(required) > 0 {
				sort.Strings(required)
				s["required"] = required
			}
			sc.defs[name] = s
		}
		return obj{"$ref": "#/components/schemas/" + name}
	}
	return obj{}
}

// fields adds a struct's JSON fields, flattening embedded structs as encoding/json does.
func (sc *schemas) fields(t reflect.Type, props obj, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				sc.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = sc.of(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

// OpenAPI builds the OpenAPI 3.1 document of /api/v1.
func OpenAPI() map[string]any {
	sc := &schemas{defs: obj{}, names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}
	problemRef := sc.of(reflect.TypeOf(Problem{}))
	cohortProblemRef := sc.of(reflect.TypeOf(CohortProblem{}))
	paths := obj{}
	for _, op := range operations() {
		item, _ := paths[op.path].(obj)
		if item == nil {
			item = obj{}
			paths[op.path] = item
		}
		o := obj{"operationId": op.id, "summary": op.summary, "tags": []string{op.tag}}
		desc := op.description
		switch {
		case op.public:
			o["security"] = []obj{}
		case op.roles != nil:
			names := make([]string, len(op.roles))
			for i, r := range op.roles {
				names[i] = string(r)
			}
			o["x-khula-roles"] = names
			desc = strings.TrimSpace("Roles: " + strings.Join(names, ", ") + ". Site and school scope apply. " + desc)
		}
		if desc != "" {
			o["description"] = desc
		}
		params := append([]obj{}, op.params...)
		if op.idempotent {
			params = append(params, obj{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "retries with the same key and the same request are answered once; the key with a different request (method, path or body) is refused with 422 (8-128 of A-Z a-z 0-9 . _ : -)",
				"schema":      obj{"type": "string", "pattern": `^[A-Za-z0-9._:-]{8,128}$`}})
		}
		if !op.public && op.method != "GET" {
			params = append(params, obj{"name": "X-CSRF-Token", "in": "header", "required": false,
				"description": "required with cookie (session) authentication: the csrf value sign-in returned", "schema": obj{"type": "string"}})
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		switch b := op.body.(type) {
		case nil:
		case csvBody:
			o["requestBody"] = obj{"required": true, "content": obj{"text/csv": obj{"schema": obj{"type": "string"},
				"example": strings.Join(CohortColumns, ",") + "\nmeadowlands,Lerato,Example,female,2020-02-14,R,Nomsa,Example,+27 82 000 0000,zu,caregiver,parent,2026-01-20\n"}}}
		case intakeBody:
			o["requestBody"] = obj{"required": true, "content": obj{
				"application/json":    obj{"schema": obj{"type": "object", "description": "ODK Central's OData feed ({value: [...]}) or KoboToolbox's data ({results: [...]})"}},
				"text/csv":            obj{"schema": obj{"type": "string", "description": "ODK Central's submissions CSV or KoboToolbox's CSV export (XML values and headers)"}},
				"application/zip":     obj{"schema": obj{"type": "string", "format": "binary", "description": "ODK Central's submissions.csv.zip"}},
				"multipart/form-data": obj{"schema": obj{"type": "object", "required": []string{"file"}, "properties": obj{"file": obj{"type": "string", "format": "binary"}}}},
			}}
		default:
			o["requestBody"] = obj{"required": !op.bodyOptional, "content": obj{"application/json": obj{"schema": sc.of(reflect.TypeOf(b))}}}
		}
		responses := obj{}
		okDesc := op.okDesc
		if okDesc == "" {
			okDesc = http.StatusText(op.ok)
		}
		ok := obj{"description": okDesc}
		if op.okMedia != "" {
			format := "binary"
			if strings.HasPrefix(op.okMedia, "text/") {
				format = ""
			}
			body := obj{"type": "string"}
			if format != "" {
				body["format"] = format
			}
			ok["content"] = obj{op.okMedia: obj{"schema": body}}
		} else if op.okBody != nil {
			schema := sc.of(reflect.TypeOf(op.okBody))
			if op.id == "getWork" {
				schema = obj{"oneOf": []obj{schema, sc.of(reflect.TypeOf(workListPage{}))}}
			}
			ok["content"] = obj{"application/json": obj{"schema": schema}}
		}
		if op.id == "listWaves" || op.id == "getWork" {
			ok["headers"] = obj{"Link": obj{"description": `the next page: <URL>; rel="next"`, "schema": obj{"type": "string"}}}
		}
		responses[fmt.Sprint(op.ok)] = ok
		codes := append([]int{}, op.errors...)
		if !op.public {
			codes = append(codes, 401, 403)
		}
		if op.method != "GET" && op.body != nil {
			codes = append(codes, 400)
		}
		sort.Ints(codes)
		for _, code := range codes {
			key := fmt.Sprint(code)
			if _, dup := responses[key]; dup {
				continue
			}
			schema := problemRef
			if code == 422 && op.id == "importCohort" {
				schema = cohortProblemRef
			}
			r := obj{"description": statusText[code], "content": obj{"application/problem+json": obj{"schema": schema}}}
			if code == 503 {
				r["headers"] = obj{"Retry-After": obj{"schema": obj{"type": "integer"}}}
			}
			responses[key] = r
		}
		o["responses"] = responses
		item[strings.ToLower(op.method)] = o
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":   "khula API",
			"version": "1",
			"description": "khula orchestrates the Community of Practice cycle for child well-being. Human inputs become Temporal Updates: " +
				"the workflows' validators decide before anything is recorded. Errors are application/problem+json (RFC 9457) with field errors. " +
				"Lists page with limit and after (the previous page's next cursor).",
		},
		"servers":  []obj{{"url": "/"}},
		"security": []obj{{"bearerAuth": []string{}}, {"cookieAuth": []string{}}},
		"tags": []obj{
			{"name": "access"}, {"name": "sites"}, {"name": "waves"}, {"name": "cycles"}, {"name": "meetings"},
			{"name": "referrals"}, {"name": "work"}, {"name": "children"}, {"name": "privacy"}, {"name": "meta"},
		},
		"paths": paths,
		"components": obj{
			"schemas": sc.defs,
			"securitySchemes": obj{
				"bearerAuth": obj{"type": "http", "scheme": "bearer", "bearerFormat": "khula_<id>_<secret>",
					"description": "an API token from khula user token; stored hashed"},
				"cookieAuth": obj{"type": "apiKey", "in": "cookie", "name": SessionCookie,
					"description": "a browser session from POST /api/v1/session; unsafe requests must carry the session's CSRF token as X-CSRF-Token (or form field _csrf)"},
			},
		},
	}
}

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
)

func (s *Server) openAPI(c *gin.Context) {
	openAPIOnce.Do(func() { openAPIDoc, _ = json.MarshalIndent(OpenAPI(), "", " ") })
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPIDoc)
}
