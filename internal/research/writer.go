package research

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/instrument"
)

// monthLayout is how dates are written: the month only.
const monthLayout = "2006-01"

// ErrNotInSchema reports a row naming an instrument, item, scale, growth
// indicator or domain the schema has no column for, or that the row's own
// instrument does not have.
var ErrNotInSchema = errors.New("not in the research schema")

// ErrInvalidValue reports a value of a row that cannot be written as the
// codebook describes it (an answer that is not one of its item's choices,
// a phase or level that is not one of the known codes, a negative count).
var ErrInvalidValue = errors.New("invalid value")

// ErrClosed reports a write after [Writer.Close].
var ErrClosed = errors.New("research dataset writer is closed")

// Writer writes a research dataset as CSV, one row at a time: it keeps
// only the row being written (and csv's buffer), so the dataset's size is
// bounded by the destination, not by memory. A Writer is not safe for
// concurrent use.
type Writer struct {
	s      *Schema
	cw     *csv.Writer
	p      *pseudonymiser
	rec    []string
	rows   int
	days   []float64
	list   strings.Builder
	secs   strings.Builder
	closed bool
}

// NewWriter writes the dataset's header (the schema's columns) to w and
// returns a Writer for its rows. key is the site's research key (see
// [NewKey]); a key shorter than [KeySize] bytes fails with [ErrShortKey].
func NewWriter(w io.Writer, s *Schema, key []byte) (*Writer, error) {
	if s == nil {
		return nil, errors.New("research dataset: no schema")
	}
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("research dataset: %w", err)
	}
	wr := &Writer{s: s, cw: csv.NewWriter(w), p: newPseudonymiser(key), rec: make([]string, len(s.vars))}
	if err := wr.cw.Write(s.Columns()); err != nil {
		return nil, fmt.Errorf("writing research dataset header: %w", err)
	}
	return wr, nil
}

// Write writes one row. A row that cannot be written (ErrNotInSchema,
// ErrInvalidValue, ErrNoChildID) writes nothing, and its error names the
// row's number, wave and offending variable but never the child; the
// caller may skip it and go on. Rows are written in the order given: the
// caller writes each (child, wave, phase) once.
func (w *Writer) Write(r Row) error {
	if w.closed {
		return ErrClosed
	}
	n := w.rows + 1
	if err := w.fill(&r); err != nil {
		return fmt.Errorf("research dataset row %d (wave %d): %w", n, r.Wave, err)
	}
	if err := w.cw.Write(w.rec); err != nil {
		return fmt.Errorf("writing research dataset row %d: %w", n, err)
	}
	w.rows++
	return nil
}

// Rows returns the number of rows written so far (the header excluded).
func (w *Writer) Rows() int { return w.rows }

// Close flushes what is buffered to the destination, which it does not
// close. Closing twice is harmless.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("writing research dataset: %w", err)
	}
	return nil
}

// fill sets the record's cells from r.
func (w *Writer) fill(r *Row) error {
	rec, s := w.rec, w.s
	clear(rec)
	p, err := w.p.pseudonym(r.ChildID)
	if err != nil {
		return err
	}
	rec[colPseudonym] = p
	rec[colSchool] = neutralise(r.School)
	if r.Wave < 1 {
		return fmt.Errorf("wave: %w: waves are numbered from 1", ErrInvalidValue)
	}
	rec[colWave] = formatInt(r.Wave)
	switch r.Phase {
	case PhaseBaseline, PhaseReassessment:
		rec[colPhase] = r.Phase
	default:
		return fmt.Errorf("phase: %w: want %s or %s", ErrInvalidValue, PhaseBaseline, PhaseReassessment)
	}
	switch r.Sex {
	case "":
	case "F", instrument.SexFemale:
		rec[colSex] = "F"
	case "M", instrument.SexMale:
		rec[colSex] = "M"
	default:
		return fmt.Errorf("sex: %w: want F, M, female, male or empty", ErrInvalidValue)
	}
	if r.AgeMonths != nil {
		if *r.AgeMonths < 0 {
			return fmt.Errorf("age_months: %w: negative (assessed before birth?)", ErrInvalidValue)
		}
		rec[colAgeMonths] = formatInt(*r.AgeMonths)
	}
	rec[colGrade] = neutralise(r.Grade)
	ri := -1
	if r.InstrumentID != "" || r.InstrumentVersion != "" {
		i, ok := s.byRef[instrumentKey{r.InstrumentID, r.InstrumentVersion}]
		if !ok {
			return fmt.Errorf("instrument %q version %q: %w", r.InstrumentID, r.InstrumentVersion, ErrNotInSchema)
		}
		ri = i
		rec[colInstrumentID] = neutralise(r.InstrumentID)
		rec[colInstrumentVersion] = neutralise(r.InstrumentVersion)
	}
	if !r.AssessedOn.IsZero() {
		rec[colAssessedMonth] = r.AssessedOn.Format(monthLayout)
	}
	if r.Outcome != "" {
		if !isCode(r.Outcome) {
			return fmt.Errorf("outcome: %w: not a code", ErrInvalidValue)
		}
		rec[colOutcome] = r.Outcome
	}
	if ri < 0 && (len(r.Answers) > 0 || len(r.Scales) > 0 || len(r.Growth) > 0) {
		return fmt.Errorf("answers or scores without an instrument: %w", ErrInvalidValue)
	}
	if err := w.answers(r.Answers, ri); err != nil {
		return err
	}
	if err := w.scales(r.Scales, ri); err != nil {
		return err
	}
	if err := w.growth(r.Growth); err != nil {
		return err
	}
	for d, level := range r.Domains {
		col, ok := s.domains[d]
		if !ok {
			return fmt.Errorf("domain %q: %w", d, ErrNotInSchema)
		}
		switch level {
		case "", instrument.LevelHigh, instrument.LevelModerate, instrument.LevelLow, instrument.LevelNotAssessed:
			rec[col] = level
		default:
			return fmt.Errorf("domain %q: %w: level must be one of %s", d, ErrInvalidValue, strings.Join(levelValues, ", "))
		}
	}
	tail := rec[s.tail:]
	if r.RedFlags < 0 {
		return fmt.Errorf("red_flags: %w: negative", ErrInvalidValue)
	}
	tail[tailRedFlags] = formatInt(r.RedFlags)
	tail[tailPlanAgreed] = formatBool(r.PlanAgreed)
	if err := w.actions(r.PlanActions, tail); err != nil {
		return err
	}
	return w.referrals(r.Referrals, tail)
}

// answers sets the item cells; ri is the row's instrument.
func (w *Writer) answers(answers map[string]any, ri int) error {
	for id, v := range answers {
		ic := w.s.items[id]
		if ic == nil {
			return fmt.Errorf("item %q: %w", id, ErrNotInSchema)
		}
		def := ic.defs[ri]
		if def == nil {
			return fmt.Errorf("item %q is not in %s: %w", id, w.s.refs[ri], ErrNotInSchema)
		}
		if v == nil {
			continue
		}
		cell, err := answerCell(def, v)
		if err != nil {
			return fmt.Errorf("item %q: %w", id, err)
		}
		w.rec[ic.col] = cell
	}
	return nil
}

// answerCell writes an answer as its item's column holds it. Only values
// the item can take are accepted: a choice must be one of its choices, so
// no free text reaches the file through an answer.
func answerCell(def *instrument.Item, v any) (string, error) {
	if sv, ok := v.(string); ok && sv == instrument.Declined {
		if !def.Declinable {
			return "", fmt.Errorf("%w: declined, but the item is not declinable", ErrInvalidValue)
		}
		return instrument.Declined, nil
	}
	switch def.Type {
	case instrument.TypeChoice:
		for _, c := range def.Choices {
			switch cv := c.Value.(type) {
			case float64:
				if f, ok := instrument.Number(v); ok && f == cv {
					return formatNumber(cv), nil
				}
			case string:
				if sv, ok := v.(string); ok && sv == cv {
					return neutralise(cv), nil
				}
			}
		}
		return "", fmt.Errorf("%w: a %T that is not one of the item's choices", ErrInvalidValue, v)
	case instrument.TypeYesNo:
		if b, ok := v.(bool); ok {
			return formatBool(b), nil
		}
	case instrument.TypeNumber, instrument.TypeMeasurement:
		if f, ok := instrument.Number(v); ok && finite(f) {
			return formatNumber(f), nil
		}
	case instrument.TypeDate:
		switch x := v.(type) {
		case string:
			if t, err := time.Parse(instrument.DateLayout, x); err == nil {
				return t.Format(monthLayout), nil
			}
		case time.Time:
			if !x.IsZero() {
				return x.Format(monthLayout), nil
			}
		}
	}
	return "", fmt.Errorf("%w: a %T for a %s item", ErrInvalidValue, v, def.Type)
}

// scales sets the scale cells; ri is the row's instrument.
func (w *Writer) scales(scales map[string]ScaleValue, ri int) error {
	for id, v := range scales {
		sc := w.s.scales[id]
		if sc == nil {
			return fmt.Errorf("scale %q: %w", id, ErrNotInSchema)
		}
		if !sc.in[ri] {
			return fmt.Errorf("scale %q is not in %s: %w", id, w.s.refs[ri], ErrNotInSchema)
		}
		if !v.Computed {
			continue
		}
		if !finite(v.Score) {
			return fmt.Errorf("scale %q: %w: score is not a finite number", id, ErrInvalidValue)
		}
		w.rec[sc.score] = formatNumber(v.Score)
		if v.Band != "" {
			if sc.band < 0 || !sc.bands[v.Band] {
				return fmt.Errorf("scale %q: %w: not one of its bands", id, ErrInvalidValue)
			}
			w.rec[sc.band] = v.Band
		}
		switch {
		case sc.prorated >= 0:
			w.rec[sc.prorated] = formatBool(v.Prorated)
		case v.Prorated:
			return fmt.Errorf("scale %q: %w: prorated, but no instrument prorates it", id, ErrInvalidValue)
		}
	}
	return nil
}

// growth sets the z-score cells.
func (w *Writer) growth(growth map[string]GrowthValue) error {
	for key, g := range growth {
		c, ok := w.s.growth[key]
		if !ok {
			return fmt.Errorf("growth indicator %q: %w", key, ErrNotInSchema)
		}
		if !g.Computed {
			continue
		}
		if !finite(g.Z) {
			return fmt.Errorf("growth indicator %q: %w: z is not a finite number", key, ErrInvalidValue)
		}
		w.rec[c.z] = formatRound2(g.Z)
		if g.Flag != "" {
			if !isCode(g.Flag) {
				return fmt.Errorf("growth indicator %q: %w: flag is not a code", key, ErrInvalidValue)
			}
			w.rec[c.flag] = g.Flag
		}
	}
	return nil
}

// actions sets the plan action cells of tail.
func (w *Writer) actions(actions []Action, tail []string) error {
	done, overdue := 0, 0
	w.list.Reset()
	w.secs.Reset()
	for i, a := range actions {
		if !isCode(a.Domain) || !optionalCode(a.ServiceType) || !optionalCode(a.Kind) || !optionalCode(a.Sector) {
			return fmt.Errorf("plan action %d: %w: domain, service type, kind and sector must be codes", i+1, ErrInvalidValue)
		}
		if i > 0 {
			w.list.WriteByte(';')
			w.secs.WriteByte(';')
		}
		w.list.WriteString(a.Domain)
		w.list.WriteByte(':')
		switch {
		case a.ServiceType != "":
			w.list.WriteString(a.ServiceType)
		case a.Kind != "":
			w.list.WriteString(a.Kind)
		default:
			w.list.WriteString("note")
		}
		w.secs.WriteString(a.Sector)
		if a.Done {
			done++
		}
		if a.Overdue {
			overdue++
		}
	}
	tail[tailPlanActions] = formatInt(len(actions))
	tail[tailPlanActionsDone] = formatInt(done)
	tail[tailPlanActionsOverdue] = formatInt(overdue)
	if len(actions) > 0 {
		tail[tailPlanActionList] = w.list.String()
		tail[tailPlanActionSectorList] = w.secs.String()
	}
	return nil
}

// referrals sets the referral cells of tail.
func (w *Writer) referrals(refs []Referral, tail []string) error {
	var urgent, completed, declined, unreachable, open, overdue int
	w.list.Reset()
	w.secs.Reset()
	w.days = w.days[:0]
	for i, rf := range refs {
		if !isCode(rf.Domain) || !isCode(rf.ServiceType) || !isCode(rf.Status) || !optionalCode(rf.Sector) {
			return fmt.Errorf("referral %d: %w: domain, service type, status and sector must be codes", i+1, ErrInvalidValue)
		}
		if rf.DaysToService != nil {
			d := *rf.DaysToService
			if !finite(d) || d < 0 {
				return fmt.Errorf("referral %d: %w: days to service must be a number of at least 0", i+1, ErrInvalidValue)
			}
			w.days = append(w.days, d)
		}
		if i > 0 {
			w.list.WriteByte(';')
			w.secs.WriteByte(';')
		}
		w.list.WriteString(rf.Domain)
		w.list.WriteByte(':')
		w.list.WriteString(rf.ServiceType)
		w.list.WriteByte(':')
		w.list.WriteString(rf.Status)
		w.secs.WriteString(rf.Sector)
		switch rf.Status {
		case ReferralCompleted:
			completed++
		case ReferralDeclined:
			declined++
		case ReferralUnreachable:
			unreachable++
		default:
			open++
		}
		if rf.Urgent {
			urgent++
		}
		if rf.Overdue {
			overdue++
		}
	}
	tail[tailReferrals] = formatInt(len(refs))
	tail[tailReferralsUrgent] = formatInt(urgent)
	tail[tailReferralsCompleted] = formatInt(completed)
	tail[tailReferralsDeclined] = formatInt(declined)
	tail[tailReferralsUnreachable] = formatInt(unreachable)
	tail[tailReferralsOpen] = formatInt(open)
	tail[tailReferralsOverdue] = formatInt(overdue)
	if n := len(w.days); n > 0 {
		slices.Sort(w.days)
		m := w.days[n/2]
		if n%2 == 0 {
			m = (w.days[n/2-1] + m) / 2
		}
		tail[tailReferralMedianDays] = formatRound2(m)
	}
	if len(refs) > 0 {
		tail[tailReferralList] = w.list.String()
		tail[tailReferralSectorList] = w.secs.String()
	}
	return nil
}

// optionalCode reports whether s is empty or a code.
func optionalCode(s string) bool { return s == "" || isCode(s) }
