package intake

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/khula-cop/khula/internal/instrument"
)

// Format names an export format.
type Format string

// The formats [Parse] reads. FormatAuto (or "") detects the format from the
// content.
const (
	FormatAuto        Format = "auto"
	FormatCentralJSON Format = "central-json"
	FormatCentralCSV  Format = "central-csv"
	FormatKoboJSON    Format = "kobo-json"
	FormatKoboCSV     Format = "kobo-csv"
)

// ParseFormat reads a format name as given by a user ("" means auto).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "", FormatAuto:
		return FormatAuto, nil
	case FormatCentralJSON, FormatCentralCSV, FormatKoboJSON, FormatKoboCSV:
		return f, nil
	}
	return "", fmt.Errorf("intake: unknown format %q (want auto, central-json, central-csv, kobo-json or kobo-csv)", s)
}

// The phases a submission may be for (as package cycle names them).
const (
	PhaseBaseline     = "baseline"
	PhaseReassessment = "reassessment"
)

// DefaultMaxRows is the row limit when [Options.MaxRows] is 0.
const DefaultMaxRows = 100000

// ErrTooManyRows is returned when the input holds more rows than
// [Options.MaxRows]. Rows before the limit have been passed on.
var ErrTooManyRows = errors.New("intake: too many rows")

// ErrUnknownFormat is returned when the input is none of the formats.
var ErrUnknownFormat = errors.New("intake: unrecognised input")

// Options tunes [Parse].
type Options struct {
	// Format is the input's format; "" or FormatAuto detects it.
	Format Format
	// Site is the site being imported (required): a cycle_ref naming
	// another site is a row error.
	Site string
	// MaxRows caps the data rows read (DefaultMaxRows when 0); Parse stops
	// with ErrTooManyRows beyond it.
	MaxRows int
}

// Submission is one parsed submission, ready to be submitted as an
// assessment of the cycle Site/Wave/Child.
type Submission struct {
	// Row is the 1-based data row: for CSV the line number the record
	// starts on (the header is line 1), for JSON the position in the
	// submissions array.
	Row int `json:"row"`
	// InstanceID is "uuid:…", the submission's identity and the idempotency
	// key of the assessment.
	InstanceID string `json:"instance_id"`
	Site       string `json:"site"`
	Wave       int    `json:"wave"`
	Child      string `json:"child"`
	Phase      string `json:"phase"`
	Respondent string `json:"respondent"`
	// Answers maps item IDs to answers as the instrument takes them: bool
	// for yes/no, float64 for numbers, measurements and numeric choices,
	// string for choice codes and dates (YYYY-MM-DD), and
	// instrument.Declined for a declined item. Unanswered items are absent.
	Answers instrument.Answers `json:"answers"`
	// Rejected is set when the server's reviewer rejected the submission
	// (ODK Central review state "rejected", KoboToolbox validation status
	// "not approved"): report it, do not submit it.
	Rejected bool `json:"rejected,omitempty"`
}

// RowError is a problem that keeps a row from being passed on. Field names
// the item ID, field path ("group/field") or metadata field concerned ("" for
// the whole row); Reason never repeats the value found.
type RowError struct {
	Row        int    `json:"row"`
	InstanceID string `json:"instance_id,omitempty"`
	Field      string `json:"field,omitempty"`
	Reason     string `json:"reason"`
}

// String formats the error for a report, e.g. "row 3: cycle_ref: …".
func (e RowError) String() string {
	s := fmt.Sprintf("row %d", e.Row)
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Reason
}

// Summary tells what [Parse] read.
type Summary struct {
	// Format is the format read (detected or given).
	Format string `json:"format"`
	// Rows counts the data rows read (malformed ones included).
	Rows int `json:"rows"`
	// Parsed counts the submissions passed on (Rejected ones included).
	Parsed int `json:"parsed"`
	// Rejected counts the parsed submissions the server's reviewer rejected.
	Rejected int `json:"rejected"`
	// Errors lists the rows' problems, in row order; a row may have several.
	Errors []RowError `json:"errors,omitempty"`
	// Duplicates counts rows whose instanceID an earlier row of the input
	// had; they are listed in Errors and not passed on.
	Duplicates int `json:"duplicates"`
}

// sitePattern is a site id (sites/site.schema.json).
var sitePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

// Parse reads an export of submissions and calls each with every row that
// maps cleanly to an assessment, in input order. Rows with problems are
// listed in the summary instead. each may be nil (a dry run). Parse stops
// with each's error if it returns one, with ErrTooManyRows past
// opts.MaxRows, with ErrUnknownFormat for input it cannot recognise, and
// with an error when the input cannot be read on (JSON syntax, I/O); the
// summary then tells how far it got.
func Parse(r io.Reader, in *instrument.Instrument, opts Options, each func(Submission) error) (Summary, error) {
	var sum Summary
	if in == nil {
		return sum, errors.New("intake: no instrument")
	}
	if !sitePattern.MatchString(opts.Site) {
		return sum, errors.New("intake: Options.Site must name the site being imported")
	}
	format, err := ParseFormat(string(opts.Format))
	if err != nil {
		return sum, err
	}
	maxRows := opts.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	p := newParser(in, opts.Site, maxRows, each)
	br := bufio.NewReaderSize(r, 64<<10)
	if err := skipBOM(br); err != nil {
		return sum, fmt.Errorf("intake: reading input: %w", err)
	}
	if magic, _ := br.Peek(4); string(magic) == "PK\x03\x04" {
		return sum, fmt.Errorf("%w: a ZIP archive (submissions.csv.zip?): read the CSV inside it with CentralZipCSV", ErrUnknownFormat)
	}
	var kind byte
	switch format {
	case FormatAuto:
		if kind, err = sniff(br); err != nil {
			return p.sum, err
		}
	case FormatCentralJSON, FormatKoboJSON:
		kind = '{'
	default:
		kind = ','
	}
	if format == FormatAuto {
		format = ""
	}
	if kind == '{' {
		err = p.parseJSON(br, format)
	} else {
		err = p.parseCSV(br, format)
	}
	return p.sum, err
}

// skipBOM drops a UTF-8 byte order mark (spreadsheet tools write one).
func skipBOM(br *bufio.Reader) error {
	b, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if len(b) == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		_, err := br.Discard(3)
		return err
	}
	return nil
}

// sniff tells JSON ('{') from CSV (',') by the first byte that is not space.
func sniff(br *bufio.Reader) (byte, error) {
	for n := 1; n <= br.Size(); n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if err == nil || errors.Is(err, io.EOF) {
				return 0, fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
			}
			return 0, fmt.Errorf("intake: reading input: %w", err)
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return '{', nil
		default:
			return ',', nil
		}
	}
	return 0, fmt.Errorf("%w: the input starts with blank space only", ErrUnknownFormat)
}

// parser holds the state of one Parse.
type parser struct {
	in     *instrument.Instrument
	site   string
	max    int
	each   func(Submission) error
	format Format
	sum    Summary
	seen   map[string]int // instanceID → row it was first seen in
	items  map[string]instrument.Item
	resps  map[string]bool
	// respList names the respondents for messages.
	respList string
}

func newParser(in *instrument.Instrument, site string, maxRows int, each func(Submission) error) *parser {
	p := &parser{
		in: in, site: site, max: maxRows, each: each,
		seen:  map[string]int{},
		items: map[string]instrument.Item{},
		resps: map[string]bool{},
	}
	for _, it := range in.Items() {
		p.items[it.ID] = it
	}
	rs := in.Respondents()
	for _, r := range rs {
		p.resps[r] = true
	}
	p.respList = strings.Join(rs, ", ")
	return p
}

func (p *parser) setFormat(f Format) {
	p.format = f
	p.sum.Format = string(f)
}

// startRow counts a data row, refusing one beyond the limit.
func (p *parser) startRow() error {
	if p.sum.Rows >= p.max {
		return fmt.Errorf("%w: more than %d rows (split the export)", ErrTooManyRows, p.max)
	}
	p.sum.Rows++
	return nil
}

// handle maps a row and passes it on, or records its problems.
func (p *parser) handle(rec *record) error {
	sub, errs := p.mapRecord(rec)
	if len(errs) > 0 {
		p.sum.Errors = append(p.sum.Errors, errs...)
		return nil
	}
	p.sum.Parsed++
	if sub.Rejected {
		p.sum.Rejected++
	}
	if p.each == nil {
		return nil
	}
	return p.each(sub)
}

func (p *parser) rowError(row int, field, reason string) {
	p.sum.Errors = append(p.sum.Errors, RowError{Row: row, Field: field, Reason: reason})
}
