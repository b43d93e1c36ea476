package instrument

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/interpreter"
)

// Answers maps item ids to answers, as decoded from JSON: float64 for
// numbers and numeric choices, bool for yes/no, string for codes and dates
// (YYYY-MM-DD). A nil value counts as unanswered. Other Go numeric types are
// accepted too.
type Answers map[string]any

// Error codes of a [FieldError]: stable strings clients may switch on.
const (
	CodeUnknownItem         = "unknown_item"
	CodeWrongRespondent     = "wrong_respondent"
	CodeWrongType           = "wrong_type"
	CodeInvalidChoice       = "invalid_choice"
	CodeOutOfRange          = "out_of_range"
	CodeRequired            = "required"
	CodeSkippedItemAnswered = "skipped_item_answered"
	CodeInvalidDate         = "invalid_date"
)

// Date answers must fall in these years, which keeps date arithmetic in
// rules within CEL's duration range.
const (
	minDateYear = 1900
	maxDateYear = 2100
)

// ErrUnknownRespondent reports a respondent the instrument does not have.
var ErrUnknownRespondent = errors.New("unknown respondent")

// ErrUnknownItem reports an item id the instrument does not have.
var ErrUnknownItem = errors.New("unknown item")

// FieldError is one problem with one answer. Messages name the item and the
// rule broken; they never repeat the answer given (it may be free text about
// a child).
type FieldError struct {
	Item    string `json:"item"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError lists every problem with a set of answers.
type ValidationError struct {
	Errors []FieldError `json:"errors"`
}

// Error summarises the problems.
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fe.Message+" ("+fe.Code+")")
	}
	return fmt.Sprintf("%d invalid answer(s): %s", len(e.Errors), strings.Join(parts, "; "))
}

// Validate checks one respondent's form: every answer must belong to an item
// of that respondent, have the item's type and range, and be shown by the
// skip logic; every required item that is shown must be answered. It returns
// nil or a *ValidationError listing every problem.
func (in *Instrument) Validate(respondent string, a Answers) error {
	if !contains(in.respondents, respondent) {
		return fmt.Errorf("validating answers: %w %q", ErrUnknownRespondent, respondent)
	}
	errs, _, _ := in.check(a, map[string]bool{respondent: true}, true)
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

// ValidateDomains is Validate for a form that asks only some domains (a
// reassessment asks the domains found at risk): required items of other
// domains may be left unanswered. No domains means every domain.
func (in *Instrument) ValidateDomains(respondent string, a Answers, domains []string) error {
	err := in.Validate(respondent, a)
	var ve *ValidationError
	if len(domains) == 0 || !errors.As(err, &ve) {
		return err
	}
	kept := ve.Errors[:0]
	for _, fe := range ve.Errors {
		if fe.Code == CodeRequired {
			if j, ok := in.itemIdx[fe.Item]; ok && !contains(domains, in.items[j].Domain) {
				continue
			}
		}
		kept = append(kept, fe)
	}
	if len(kept) == 0 {
		return nil
	}
	return &ValidationError{Errors: kept}
}

// ValidateAll checks a merged answer set of several respondents. With no
// respondents given, they are inferred from the items answered (so a form
// not submitted is not reported as missing); answers to items of other
// respondents are wrong_respondent errors.
func (in *Instrument) ValidateAll(a Answers, respondents []string) error {
	resps, err := in.respondentSet(a, respondents)
	if err != nil {
		return err
	}
	errs, _, _ := in.check(a, resps, true)
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

func (in *Instrument) respondentSet(a Answers, respondents []string) (map[string]bool, error) {
	resps := map[string]bool{}
	for _, r := range respondents {
		if !contains(in.respondents, r) {
			return nil, fmt.Errorf("validating answers: %w %q", ErrUnknownRespondent, r)
		}
		resps[r] = true
	}
	if len(respondents) == 0 {
		for id, v := range a {
			if j, ok := in.itemIdx[id]; ok && v != nil {
				resps[in.items[j].Respondent] = true
			}
		}
	}
	return resps, nil
}

// Shown reports whether the item is shown given the answers so far: its
// show_if condition holds (an absent answer it reads makes it false) and no
// earlier item it depends on was itself skipped. The error is for an
// unknown item or a condition that failed to run (e.g. over the cost limit).
func (in *Instrument) Shown(itemID string, a Answers) (bool, error) {
	j, ok := in.itemIdx[itemID]
	if !ok {
		return false, fmt.Errorf("%w %q", ErrUnknownItem, itemID)
	}
	target := in.items[j]
	vals := map[string]any{}
	act, err := in.showIfActivation(vals)
	if err != nil {
		return false, err
	}
	for k := 0; k <= j; k++ {
		it := in.items[k]
		if it.Respondent != target.Respondent {
			continue
		}
		shown, err := in.shown(it, act)
		if k == j {
			return shown, err
		}
		if v, present := a[it.ID]; shown && present && v != nil {
			if cv, fe := in.convert(it, v); fe == nil {
				vals[it.ID] = cv
			}
		}
	}
	return false, nil
}

func (in *Instrument) showIfActivation(vals map[string]any) (interpreter.Activation, error) {
	return activation(map[string]any{
		"answers": newRecord(typeAnswers, vals),
		"params":  newRecord(typeParams, paramFields(in.params)),
	})
}

func paramFields(p map[string]float64) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// shown evaluates an item's show_if over the answers bound in act.
func (in *Instrument) shown(it *Item, act interpreter.Activation) (bool, error) {
	prg := in.showIf[it.ID]
	if prg == nil {
		return true, nil
	}
	ok, err := prg.eval(act)
	if err != nil {
		if errors.Is(err, errNoValue) {
			return false, nil
		}
		return false, err
	}
	return ok, nil
}

// check validates answers for the respondents in resps and returns the
// problems, the CEL values of the valid answers to shown items, and the
// declinable items answered [Declined] (absent from the values: a declined
// item counts as unanswered).
func (in *Instrument) check(a Answers, resps map[string]bool, required bool) ([]FieldError, map[string]any, map[string]bool) {
	var errs []FieldError
	var unknown []string
	for id, v := range a {
		if _, ok := in.itemIdx[id]; !ok && v != nil {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		errs = append(errs, FieldError{Item: id, Code: CodeUnknownItem, Message: "no such item in " + in.ref.ID})
	}
	vals := map[string]any{}
	declined := map[string]bool{}
	act, err := in.showIfActivation(vals)
	if err != nil {
		return append(errs, FieldError{Code: "internal", Message: "skip logic could not run"}), vals, declined
	}
	for _, it := range in.items {
		v, present := a[it.ID]
		present = present && v != nil
		if !resps[it.Respondent] {
			if present {
				errs = append(errs, FieldError{Item: it.ID, Code: CodeWrongRespondent,
					Message: fmt.Sprintf("%s is answered by the %s", it.ID, it.Respondent)})
			}
			continue
		}
		// Items are visited in form order, so the answers a show_if reads
		// (earlier items) are already checked and bound.
		shown, _ := in.shown(it, act)
		if !shown {
			if present {
				errs = append(errs, FieldError{Item: it.ID, Code: CodeSkippedItemAnswered,
					Message: itemMessage(it, CodeSkippedItemAnswered)})
			}
			continue
		}
		if !present {
			if required && it.Required {
				errs = append(errs, FieldError{Item: it.ID, Code: CodeRequired, Message: itemMessage(it, CodeRequired)})
			}
			continue
		}
		if it.Declinable && v == any(Declined) {
			// Answered, by declining: satisfies required, scores as missing.
			declined[it.ID] = true
			continue
		}
		cv, fe := in.convert(it, v)
		if fe != nil {
			errs = append(errs, *fe)
			continue
		}
		vals[it.ID] = cv
	}
	return errs, vals, declined
}

// convert checks one answer and returns its CEL value.
func (in *Instrument) convert(it *Item, v any) (any, *FieldError) {
	fail := func(code string) (any, *FieldError) {
		return nil, &FieldError{Item: it.ID, Code: code, Message: itemMessage(it, code)}
	}
	switch it.Type {
	case TypeYesNo:
		b, ok := v.(bool)
		if !ok {
			return fail(CodeWrongType)
		}
		return b, nil
	case TypeDate:
		s, ok := v.(string)
		if !ok {
			return fail(CodeWrongType)
		}
		t, err := time.Parse(DateLayout, s)
		if err != nil || t.Year() < minDateYear || t.Year() > maxDateYear {
			return fail(CodeInvalidDate)
		}
		return timeValue(t), nil
	case TypeNumber, TypeMeasurement:
		f, ok := toFloat(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) || it.Integer && !isWhole(f) {
			return fail(CodeWrongType)
		}
		if (it.Min != nil && f < *it.Min) || (it.Max != nil && f > *it.Max) {
			return fail(CodeOutOfRange)
		}
		if it.Integer {
			return int64(f), nil
		}
		return f, nil
	case TypeChoice:
		switch choiceKind(it.Choices) {
		case "int", "double":
			f, ok := toFloat(v)
			if !ok || math.IsNaN(f) {
				return fail(CodeWrongType)
			}
			for _, c := range it.Choices {
				if v, ok := c.Value.(float64); ok && v == f {
					if choiceKind(it.Choices) == "int" {
						return int64(f), nil
					}
					return f, nil
				}
			}
			return fail(CodeInvalidChoice)
		default:
			s, ok := v.(string)
			if !ok {
				return fail(CodeWrongType)
			}
			for _, c := range it.Choices {
				if c.Value == s {
					return s, nil
				}
			}
			return fail(CodeInvalidChoice)
		}
	}
	return fail(CodeWrongType)
}

// FieldMessages are the messages [Instrument.Validate] gives for an item,
// by error code: the form's script shows the very same words when it checks
// a form on a phone with no connection.
func (in *Instrument) FieldMessages(itemID string) (map[string]string, error) {
	j, ok := in.itemIdx[itemID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownItem, itemID)
	}
	it := in.items[j]
	out := map[string]string{}
	for _, code := range []string{CodeRequired, CodeWrongType, CodeOutOfRange, CodeInvalidChoice, CodeInvalidDate, CodeSkippedItemAnswered} {
		if m := itemMessage(it, code); m != "" {
			out[code] = m
		}
	}
	return out, nil
}

// itemMessage is the one wording of each problem with an item's answer
// ("" when the item cannot have that problem). Messages name the item and
// the rule, never the answer given.
func itemMessage(it *Item, code string) string {
	orDeclined := ""
	if it.Declinable {
		orDeclined = fmt.Sprintf(", or %q", Declined)
	}
	switch code {
	case CodeRequired:
		return fmt.Sprintf("%s is required", it.ID)
	case CodeSkippedItemAnswered:
		return fmt.Sprintf("%s must not be answered: its condition (show_if) is false", it.ID)
	}
	switch it.Type {
	case TypeYesNo:
		if code == CodeWrongType {
			return fmt.Sprintf("%s takes true or false", it.ID) + orDeclined
		}
	case TypeDate:
		switch code {
		case CodeWrongType:
			return fmt.Sprintf("%s takes a date written YYYY-MM-DD", it.ID) + orDeclined
		case CodeInvalidDate:
			return fmt.Sprintf("%s must be a real date from %d to %d written YYYY-MM-DD", it.ID, minDateYear, maxDateYear) + orDeclined
		}
	case TypeNumber, TypeMeasurement:
		switch code {
		case CodeWrongType:
			if it.Integer {
				return fmt.Sprintf("%s takes a whole number", it.ID) + orDeclined
			}
			return fmt.Sprintf("%s takes a number", it.ID) + orDeclined
		case CodeOutOfRange:
			if it.Min == nil && it.Max == nil {
				return ""
			}
			return fmt.Sprintf("%s must be from %s to %s%s", it.ID, fmtNum(it.Min), fmtNum(it.Max), unitSuffix(it.Unit)) + orDeclined
		}
	case TypeChoice:
		numeric := choiceKind(it.Choices) == "int" || choiceKind(it.Choices) == "double"
		switch code {
		case CodeWrongType:
			if numeric {
				return fmt.Sprintf("%s takes one of the numeric values %s", it.ID, choiceList(it.Choices)) + orDeclined
			}
			return fmt.Sprintf("%s takes one of the codes %s", it.ID, choiceList(it.Choices)) + orDeclined
		case CodeInvalidChoice:
			return fmt.Sprintf("%s must be one of %s", it.ID, choiceList(it.Choices)) + orDeclined
		}
	}
	return ""
}

// toFloat accepts the numeric types JSON decoding and Go callers produce.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func fmtNum(f *float64) string {
	if f == nil {
		return "any"
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func choiceList(cs []Choice) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, valueKey(c.Value))
	}
	return strings.Join(parts, ", ")
}

// ItemsAsked lists, in form order, the items a respondent's form asks when
// it asks only some domains (a reassessment asks those found at risk): the
// items of those domains and, always, every item a red flag reads and the
// growth measurements (safeguarding is never skipped). Items outside the
// domains are not required there, as [Instrument.ValidateDomains] checks.
// No domains means the whole form ([Instrument.ItemsFor]).
func (in *Instrument) ItemsAsked(respondent string, domains []string) []Item {
	all := in.ItemsFor(respondent)
	if len(domains) == 0 {
		return all
	}
	safeguarding := map[string]bool{}
	for _, f := range in.flags {
		if f.prg == nil || f.prg.ast == nil {
			continue
		}
		for _, id := range answerRefs(f.prg.ast) {
			safeguarding[id] = true
		}
		if strings.Contains(f.When.Src, "growth.") && in.growthItems != nil {
			safeguarding[in.growthItems.Weight] = true
			safeguarding[in.growthItems.Height] = true
		}
	}
	out := make([]Item, 0, len(all))
	for _, it := range all {
		switch {
		case contains(domains, it.Domain):
		case safeguarding[it.ID]:
			it.Required = false
		default:
			continue
		}
		out = append(out, it)
	}
	return out
}
