package intake

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// parseCSV reads a Central or Kobo CSV export record by record. want is the
// format expected ("" to tell from the header).
func (p *parser) parseCSV(br *bufio.Reader, want Format) error {
	cr := csv.NewReader(br)
	cr.Comma = sniffSeparator(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
	}
	if err != nil {
		return fmt.Errorf("%w: the CSV header cannot be read: %v", ErrUnknownFormat, err)
	}
	header = slices.Clone(header)
	for i, h := range header {
		header[i] = strings.TrimSpace(h)
	}
	format := want
	if format == "" {
		if format, err = classifyHeader(header); err != nil {
			return err
		}
	}
	p.setFormat(format)

	paths := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		path := h
		if format == FormatCentralCSV {
			path = strings.ReplaceAll(h, "-", "/") // Central joins groups with "-"
		}
		if seen[path] {
			return fmt.Errorf("intake: the CSV header has the column %q twice", h)
		}
		seen[path] = true
		paths[i] = path
	}

	rec := newRecord()
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// The reader has consumed the bad line(s): go on with the next.
			if err := p.startRow(); err != nil {
				return err
			}
			p.rowError(pe.StartLine, "", "malformed CSV line: "+csvReason(pe.Err, len(header)))
			continue
		}
		if err != nil {
			return fmt.Errorf("intake: reading CSV: %w", err)
		}
		if blank(row) {
			continue // an empty line of separators, as spreadsheets leave
		}
		if err := p.startRow(); err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		rec.reset(line)
		for i, cell := range row {
			rec.add(paths[i], value{kind: kindString, s: cell})
		}
		if err := p.handle(rec); err != nil {
			return err
		}
	}
}

// classifyHeader tells Central's CSV from Kobo's by their metadata columns.
func classifyHeader(header []string) (Format, error) {
	has := map[string]bool{}
	for _, h := range header {
		has[h] = true
	}
	switch {
	case header[0] == "SubmissionDate" || has["KEY"]:
		return FormatCentralCSV, nil
	case has["_uuid"] || has["_id"] || has["_submission_time"] || has["_index"]:
		return FormatKoboCSV, nil
	}
	return "", fmt.Errorf("%w: a CSV header with neither ODK Central's (SubmissionDate, KEY) nor KoboToolbox's (_id, _uuid) columns", ErrUnknownFormat)
}

// sniffSeparator picks ';' or ',' by which the header line has more of
// (KoboToolbox exports with ';' by default, ODK Central with ',').
func sniffSeparator(br *bufio.Reader) rune {
	buf, _ := br.Peek(br.Size()) // as much as is there; errors surface on reading
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	}
	var semis, commas int
	quoted := false
	for _, c := range buf {
		switch c {
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				semis++
			}
		case ',':
			if !quoted {
				commas++
			}
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// csvReason says what is wrong with a malformed line, without its text.
func csvReason(err error, columns int) string {
	switch {
	case errors.Is(err, csv.ErrFieldCount):
		return fmt.Sprintf("wrong number of fields (the header has %d)", columns)
	case errors.Is(err, csv.ErrQuote):
		return `a quoted field is not closed, or a quote follows it`
	case errors.Is(err, csv.ErrBareQuote):
		return `a quote (") inside a field that is not quoted`
	}
	return "cannot be read"
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
