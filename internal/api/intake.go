package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/intake"
	"github.com/khula-cop/khula/internal/intakesubmit"
	"github.com/khula-cop/khula/internal/store"
)

// Limits of one intake upload.
const (
	// MaxIntakeBody bounds the export file (or the multipart body holding it).
	MaxIntakeBody = 32 << 20
	// maxIntakeUnzipped bounds the CSV read out of a submissions.csv.zip.
	maxIntakeUnzipped = 256 << 20
	// maxIntakeRows bounds the submissions of one file.
	maxIntakeRows = 20000
	// intakeWorkers is how many cycles take their forms at once.
	intakeWorkers = 4
	// intakeReserve is the time kept at the end of a request for the audit
	// and the answer: no row is started later than that.
	intakeReserve = 4 * time.Second
)

// IntakeResult answers an upload of ODK Central or KoboToolbox submissions.
type IntakeResult struct {
	Site   string `json:"site"`
	Format string `json:"format"`
	DryRun bool   `json:"dry_run"`
	// Rows counts the data rows of the file (bad ones included).
	Rows int `json:"rows"`
	// Ready counts the rows that read cleanly and name a child in the
	// caller's scope: those sent to the cycles (in a dry run: those that
	// would be).
	Ready int `json:"ready"`
	// Submitted counts the forms the cycles took from this upload.
	Submitted int `json:"submitted"`
	// Already counts the rows an earlier upload submitted (the same
	// instanceID): nothing was submitted twice.
	Already int `json:"already"`
	// Rejected counts the submissions the reviewer rejected in Central or
	// Kobo: they are listed in errors and not submitted.
	Rejected int `json:"rejected"`
	// Unfinished counts the rows not tried because the request ran out of
	// time or the engine became unavailable: send the same file again.
	Unfinished int `json:"unfinished"`
	// RedFlags counts the red flags the submitted forms raise by their own
	// answers (the safeguarding fast path starts at once for each); flags
	// that need growth tables or several forms are found by the cycle's
	// screening as well.
	RedFlags int `json:"red_flags"`
	// Errors lists every row not submitted and why, in row order.
	Errors []IntakeRowError `json:"errors"`
}

// IntakeRowError is why one row of an upload was not submitted. Reasons
// and field errors never repeat an answer.
type IntakeRowError struct {
	Row        int    `json:"row"`
	InstanceID string `json:"instance_id,omitempty"`
	Field      string `json:"field,omitempty"`
	Reason     string `json:"reason"`
	// Status is the status a single submission of the row would have been
	// answered with (403, 404, 409, 422, 503), when the row got that far.
	Status int `json:"status,omitempty"`
	// Errors are the instrument's field errors when the cycle rejected the answers.
	Errors []cycle.FieldError `json:"errors,omitempty"`
}

const (
	reasonRejected    = "the reviewer rejected this submission in ODK Central or KoboToolbox: not submitted"
	reasonOtherSchool = "child not in your schools"
	reasonNoChild     = "no such child at this site"
)

var errIntakeUnzipped = fmt.Errorf("the CSV in the ZIP archive is larger than %d bytes", maxIntakeUnzipped)

// importSubmissions reads an export of form submissions from ODK Central
// or KoboToolbox and submits each as an assessment of its cycle, exactly as
// POST /cycles/{site}/{wave}/{child}/assessments would, with an Update ID
// made from the submission's instanceID: uploading the same export again
// submits nothing twice. Rows with problems (unreadable, out of scope,
// rejected by the reviewer or by the cycle) are listed; the others go on.
func (s *Server) importSubmissions(c *gin.Context) {
	site, ok := s.site(c, c.Param("site"))
	if !ok || !s.inSite(c, site.ID) {
		return
	}
	var fe fieldErrors
	format, err := intake.ParseFormat(c.Query("format"))
	if err != nil {
		fe.add("format", "invalid_choice", "format must be auto, central-json, central-csv, kobo-json or kobo-csv")
	}
	dry := false
	switch strings.ToLower(c.Query("dry_run")) {
	case "", "false", "0":
	case "true", "1":
		dry = true
	default:
		fe.add("dry_run", "invalid", "dry_run must be true or false")
	}
	if fe.reject(c, "import") {
		return
	}
	in := s.siteInstrument(site.ID)
	if in == nil {
		problem(c, http.StatusServiceUnavailable, "The site's instrument is not loaded", "try again shortly")
		return
	}
	body, ok := readIntakeBody(c)
	if !ok {
		return
	}
	var src io.Reader = bytes.NewReader(body)
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		// ODK Central's submissions.csv.zip: the form's CSV inside it.
		rc, _, err := intake.CentralZipCSV(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			problem(c, http.StatusUnprocessableEntity, "The ZIP archive is not an ODK Central export: nothing was submitted",
				strings.TrimPrefix(err.Error(), "intake: "))
			return
		}
		defer rc.Close()
		src = &cappedReader{r: rc, left: maxIntakeUnzipped}
	}

	p := principal(c)
	res := IntakeResult{Site: site.ID, DryRun: dry, Errors: []IntakeRowError{}}
	var rows []*intakeRow
	scope := s.intakeScope(c.Request.Context(), p, site.ID)
	sum, err := intake.Parse(src, in, intake.Options{Site: site.ID, Format: format, MaxRows: maxIntakeRows}, func(sub intake.Submission) error {
		if sub.Rejected {
			res.Errors = append(res.Errors, IntakeRowError{Row: sub.Row, InstanceID: sub.InstanceID, Reason: reasonRejected})
			return nil
		}
		sc, err := scope(sub.Child)
		if err != nil {
			return err
		}
		if sc.status != 0 {
			res.Errors = append(res.Errors, IntakeRowError{Row: sub.Row, InstanceID: sub.InstanceID, Field: "cycle_ref", Reason: sc.reason, Status: sc.status})
			return nil
		}
		rows = append(rows, &intakeRow{sub: sub})
		return nil
	})
	if err != nil {
		intakeFileProblem(c, err)
		return
	}
	res.Format, res.Rows, res.Rejected, res.Ready = sum.Format, sum.Rows, sum.Rejected, len(rows)
	for _, e := range sum.Errors {
		res.Errors = append(res.Errors, IntakeRowError{Row: e.Row, InstanceID: e.InstanceID, Field: e.Field, Reason: e.Reason})
	}
	if !dry {
		s.submitRows(c, p, in, rows)
		for _, r := range rows {
			switch {
			case r.submitted:
				res.Submitted++
				res.RedFlags += r.flags
			case r.already:
				res.Already++
			default:
				if r.unfinished {
					res.Unfinished++
				}
				res.Errors = append(res.Errors, r.err)
			}
		}
	}
	slices.SortStableFunc(res.Errors, func(a, b IntakeRowError) int { return a.Row - b.Row })
	c.Status(http.StatusOK)
	if !dry {
		for _, r := range rows {
			if r.submitted {
				s.audit(c, store.AuditWrite, site.ID, r.sub.Child,
					fmt.Sprintf("%s %s form imported from submission %s", r.sub.Phase, r.sub.Respondent, strings.ToLower(r.sub.InstanceID)), "")
			}
		}
		s.audit(c, store.AuditWrite, site.ID, "", fmt.Sprintf("imported a %s export: %d rows, %d submitted, %d already submitted, %d rejected by the reviewer, %d not submitted",
			res.Format, res.Rows, res.Submitted, res.Already, res.Rejected, len(res.Errors)-res.Rejected), c.GetHeader("X-Khula-Reason"))
	}
	c.JSON(http.StatusOK, res)
}

// siteInstrument is the site's effective instrument (nil if not loaded).
func (s *Server) siteInstrument(siteID string) *instrument.Instrument {
	if s.Instruments == nil {
		return nil
	}
	ref, ok := s.Sites.Instrument(siteID)
	if !ok {
		return nil
	}
	in, ok := s.Instruments.Instrument(ref)
	if !ok {
		return nil
	}
	return in
}

// readIntakeBody reads the export: the raw body (JSON, CSV or ZIP) or the
// multipart field file. It answers 413, 415 or 422 itself.
func readIntakeBody(c *gin.Context) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		mt = ""
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxIntakeBody)
	var data []byte
	switch mt {
	case "application/json", "text/csv", "application/csv", "application/zip", "application/x-zip-compressed":
		data, err = io.ReadAll(c.Request.Body)
	case "multipart/form-data":
		fh, ferr := c.FormFile("file")
		if errors.Is(ferr, http.ErrMissingFile) {
			fe := fieldErrors{}
			fe.add("file", "required", "send the export in the multipart field file")
			fe.reject(c, "import")
			return nil, false
		}
		err = ferr
		if err == nil && fh.Size > MaxIntakeBody {
			// The form may have been read before the limit was set (a
			// session's CSRF token sent as a form field).
			err = &http.MaxBytesError{Limit: MaxIntakeBody}
		}
		if err == nil {
			var f io.ReadCloser
			if f, err = fh.Open(); err == nil {
				data, err = io.ReadAll(f)
				f.Close()
			}
		}
	default:
		problem(c, http.StatusUnsupportedMediaType, "Send the export as JSON, CSV or ZIP",
			"Content-Type must be application/json, text/csv, application/zip or multipart/form-data (field file)")
		return nil, false
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(c, http.StatusRequestEntityTooLarge, "The file is too large", fmt.Sprintf("at most %d bytes; export fewer submissions (e.g. since a date) and send each part", MaxIntakeBody))
			return nil, false
		}
		problem(c, http.StatusBadRequest, "The file could not be read", "send it again")
		return nil, false
	}
	return data, true
}

// intakeFileProblem answers a file that could not be read as a whole:
// nothing was submitted.
func intakeFileProblem(c *gin.Context, err error) {
	detail := strings.TrimPrefix(err.Error(), "intake: ")
	switch {
	case errors.Is(err, errStoreDown):
		problem(c, http.StatusServiceUnavailable, "The database is unavailable", "nothing was submitted; try again shortly")
	case errors.Is(err, errIntakeUnzipped):
		problem(c, http.StatusRequestEntityTooLarge, "The file is too large", err.Error())
	case errors.Is(err, intake.ErrTooManyRows):
		problem(c, http.StatusUnprocessableEntity, "The file has too many rows: nothing was submitted", detail,
			cycle.FieldError{Field: "file", Code: "too_many_rows", Message: fmt.Sprintf("a file holds at most %d submissions: export fewer (e.g. since a date)", maxIntakeRows)})
	case errors.Is(err, intake.ErrUnknownFormat):
		problem(c, http.StatusUnprocessableEntity, "The file is not an ODK Central or KoboToolbox export: nothing was submitted", detail,
			cycle.FieldError{Field: "file", Code: "unknown_format", Message: detail})
	default:
		problem(c, http.StatusUnprocessableEntity, "The file could not be read: nothing was submitted", detail,
			cycle.FieldError{Field: "file", Code: "unreadable", Message: detail})
	}
}

// cappedReader fails once more than left bytes are read.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errIntakeUnzipped
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// scopeResult is whether the caller may submit a child's forms: status 0
// if so, else the status and reason a single submission would get.
type scopeResult struct {
	status int
	reason string
}

// intakeScope checks children against the caller's scope as childInScope
// does, without answering: a row out of scope is that row's error. Each
// child is looked up once. A database failure is errStoreDown.
func (s *Server) intakeScope(ctx context.Context, p auth.Principal, site string) func(child string) (scopeResult, error) {
	seen := map[string]scopeResult{}
	return func(child string) (scopeResult, error) {
		if r, ok := seen[child]; ok {
			return r, nil
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var r scopeResult
		childSite, school, err := s.Store.ChildSchool(ctx, child)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && childSite != site):
			r = scopeResult{status: http.StatusNotFound, reason: reasonNoChild}
		case err != nil:
			return r, errStoreDown
		case p.InSchool(site, school):
		default:
			// A break-the-glass grant is read-only: it never lets a row in.
			r = scopeResult{status: http.StatusForbidden, reason: reasonOtherSchool}
		}
		seen[child] = r
		return r, nil
	}
}

// intakeRow is a submission being submitted, and what came of it.
type intakeRow struct {
	sub intake.Submission

	submitted, already, unfinished bool
	flags                          int
	err                            IntakeRowError
}

// submitRows submits the rows, the forms of different cycles at once and
// those of one cycle in row order (a second form for the same respondent
// is then refused in the order of the file). Rows are started while the
// request has time; after the engine fails, none is.
func (s *Server) submitRows(c *gin.Context, p auth.Principal, in *instrument.Instrument, rows []*intakeRow) {
	ctx := c.Request.Context()
	cancel := func() {}
	if dl, ok := ctx.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-intakeReserve))
	}
	defer cancel()
	route := c.FullPath()
	who := p.Username
	if p.DisplayName != "" {
		who = p.DisplayName + " (" + p.Username + ")"
	}
	flags := in.PortableFlags()

	var groups [][]*intakeRow
	index := map[string]int{}
	for _, r := range rows {
		id := cycle.CycleID(r.sub.Site, r.sub.Wave, r.sub.Child)
		i, ok := index[id]
		if !ok {
			i = len(groups)
			index[id] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	var (
		mu     sync.Mutex
		halted string // why no more rows are started
		wg     sync.WaitGroup
		jobs   = make(chan []*intakeRow)
	)
	stop := func() string {
		mu.Lock()
		defer mu.Unlock()
		if halted == "" && ctx.Err() != nil {
			halted = "the time one request may take ran out"
		}
		return halted
	}
	for range min(intakeWorkers, len(groups)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for group := range jobs {
				for _, r := range group {
					if why := stop(); why != "" {
						r.unfinished = true
						r.err = IntakeRowError{Row: r.sub.Row, InstanceID: r.sub.InstanceID,
							Reason: "not submitted: " + why + "; send the same file again: rows already submitted are not submitted twice"}
						continue
					}
					if why := s.submitRow(ctx, route, who, flags, r); why != "" {
						mu.Lock()
						if halted == "" {
							halted = why
						}
						mu.Unlock()
					}
				}
			}
		}()
	}
	for _, g := range groups {
		jobs <- g
	}
	close(jobs)
	wg.Wait()
}

// submitRow submits one form as submitAssessment does. It returns why no
// more rows should be tried ("" to go on).
func (s *Server) submitRow(ctx context.Context, route, who string, flags []instrument.PortableFlag, r *intakeRow) string {
	sub := r.sub
	fail := func(p Problem, reason string) {
		r.err = IntakeRowError{Row: sub.Row, InstanceID: sub.InstanceID, Reason: reason, Status: p.Status, Errors: p.Errors}
	}
	sm := intakesubmit.Submitter{Temporal: s.Temporal, Store: s.Store, UpdateTimeout: updateTimeout}
	outcome, err := sm.Submit(ctx, who, sub)
	switch {
	case errors.Is(err, intakesubmit.ErrStoreDown):
		fail(Problem{Status: http.StatusServiceUnavailable}, "not submitted: the database did not answer; send the same file again")
		return "the database did not answer"
	case err != nil:
		p := s.temporalOutcome(ctx, route, err, "assessment")
		switch {
		case p.Status == http.StatusNotFound:
			fail(p, fmt.Sprintf("no running cycle for this child in wave %d: it may not exist or may have closed", sub.Wave))
		case p.Status >= 500:
			fail(p, "not submitted: "+strings.ToLower(p.Title[:1])+p.Title[1:]+"; send the same file again")
			return strings.ToLower(p.Title[:1]) + p.Title[1:]
		case p.Detail != "":
			fail(p, p.Detail)
		default:
			fail(p, p.Title)
		}
		return ""
	case outcome == intakesubmit.Already:
		r.already = true
		return ""
	}
	r.submitted = true
	r.flags = intakesubmit.RedFlags(flags, sub.Answers)
	return ""
}
