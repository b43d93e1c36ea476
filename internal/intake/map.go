package intake

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/khula-cop/khula/internal/instrument"
)

// Fields of the form contract outside the respondent groups.
const (
	fieldInstanceID = "meta/instanceID"
	fieldCycleRef   = "cycle_ref"
	fieldPhase      = "phase"
	fieldRespondent = "respondent"
)

// declinedSuffix names the companion of a declinable numeric item.
const declinedSuffix = "_declined"

var (
	instanceIDPattern = regexp.MustCompile(`^uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// cycleRefPattern is <site>/<wave>/<child-id>.
	cycleRefPattern = regexp.MustCompile(`^([a-z][a-z0-9-]{0,39})/([1-9][0-9]{0,5})/(ch-[0-9a-f]{1,64})$`)
	// decimalPattern is a number as a form writes it (no hex, no Inf/NaN).
	decimalPattern = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$`)
)

// centralCSVColumns are the metadata columns ODK Central appends to its CSV.
var centralCSVColumns = map[string]bool{
	"SubmissionDate": true, "KEY": true, "SubmitterID": true, "SubmitterName": true,
	"AttachmentsPresent": true, "AttachmentsExpected": true, "Status": true,
	"ReviewState": true, "DeviceID": true, "Edits": true, "FormVersion": true,
}

// odkMetadata are the XLSForm metadata question types a form may carry at
// its top level (KoboToolbox adds start and end by default).
var odkMetadata = map[string]bool{
	"start": true, "end": true, "today": true, "deviceid": true, "phonenumber": true,
	"simserial": true, "subscriberid": true, "username": true, "email": true,
	"audit": true, "instanceID": true, "instanceName": true,
}

// isMetadata reports server and form metadata, which carries no answer:
// OData annotations (…@odata.…), Central's "__" and Kobo's "_" fields, the
// meta and formhub groups, Central's CSV columns and XLSForm metadata.
func isMetadata(path string) bool {
	if strings.Contains(path, "@") {
		return true
	}
	first, _, nested := strings.Cut(path, "/")
	if strings.HasPrefix(first, "_") || first == "meta" || first == "formhub" {
		return true
	}
	return !nested && (centralCSVColumns[first] || odkMetadata[first])
}

// fallbackID is the instance ID the server keeps beside meta/instanceID,
// used when the export has no meta/instanceID column.
func (p *parser) fallbackID(rec *record) string {
	switch p.format {
	case FormatCentralJSON:
		return rec.text("__id")
	case FormatCentralCSV:
		return rec.text("KEY")
	case FormatKoboJSON, FormatKoboCSV:
		id := rec.text("_uuid")
		if id != "" && !strings.HasPrefix(id, "uuid:") {
			id = "uuid:" + id
		}
		return id
	}
	return ""
}

// rejected reports a submission the server's reviewer rejected.
func (p *parser) rejected(rec *record) bool {
	switch p.format {
	case FormatCentralJSON:
		return rec.text("__system/reviewState") == "rejected"
	case FormatCentralCSV:
		return rec.text("ReviewState") == "rejected"
	case FormatKoboJSON:
		return rec.text("_validation_status/uid") == "validation_status_not_approved"
	case FormatKoboCSV:
		// The export writes the status's uid or its label ("Not approved").
		s := strings.ToLower(rec.text("_validation_status"))
		s = strings.ReplaceAll(s, " ", "_")
		return s == "validation_status_not_approved" || s == "not_approved"
	}
	return false
}

// withoutData reports a submission of an encrypted form that the server
// could not decrypt: Central then exports its metadata only, with a status
// ("missingEncryptedFormData", "not decrypted").
func (p *parser) withoutData(rec *record) bool {
	switch p.format {
	case FormatCentralJSON:
		return rec.text("__system/status") != ""
	case FormatCentralCSV:
		return rec.text("Status") != ""
	}
	return false
}

// mapRecord maps a row to a submission, or returns its problems.
func (p *parser) mapRecord(rec *record) (Submission, []RowError) {
	sub := Submission{Row: rec.row}
	var head, body []RowError
	headErr := func(field, reason string) { head = append(head, RowError{Field: field, Reason: reason}) }
	bodyErr := func(field, reason string) { body = append(body, RowError{Field: field, Reason: reason}) }

	id := rec.text(fieldInstanceID)
	if id == "" {
		id = p.fallbackID(rec)
	}
	switch {
	case id == "":
		headErr(fieldInstanceID, "missing instanceID")
	case !instanceIDPattern.MatchString(id):
		headErr(fieldInstanceID, `instanceID is not "uuid:" followed by a UUID`)
	default:
		if first, dup := p.seen[id]; dup {
			p.sum.Duplicates++
			return sub, []RowError{{Row: rec.row, InstanceID: id, Field: fieldInstanceID,
				Reason: fmt.Sprintf("duplicate instanceID: row %d has the same submission", first)}}
		}
		p.seen[id] = rec.row
		sub.InstanceID = id
	}
	sub.Rejected = p.rejected(rec)
	if p.withoutData(rec) {
		return Submission{}, []RowError{{Row: rec.row, InstanceID: sub.InstanceID,
			Reason: "the server exported the submission without its data (an encrypted form): export it decrypted"}}
	}

	switch ref := rec.text(fieldCycleRef); {
	case ref == "":
		headErr(fieldCycleRef, "missing cycle_ref")
	default:
		m := cycleRefPattern.FindStringSubmatch(ref)
		if m == nil {
			headErr(fieldCycleRef, "cycle_ref is not <site>/<wave>/<child-id> (e.g. moutse/1/ch-0bf35071b4)")
			break
		}
		if m[1] != p.site {
			headErr(fieldCycleRef, fmt.Sprintf("cycle_ref names another site than %s", p.site))
			break
		}
		wave, _ := strconv.Atoi(m[2]) // at most 6 digits
		sub.Site, sub.Wave, sub.Child = m[1], wave, m[3]
	}

	switch phase := rec.text(fieldPhase); phase {
	case PhaseBaseline, PhaseReassessment:
		sub.Phase = phase
	case "":
		headErr(fieldPhase, "missing phase")
	default:
		headErr(fieldPhase, "unknown phase (want baseline or reassessment)")
	}

	switch resp := rec.text(fieldRespondent); {
	case p.resps[resp]:
		sub.Respondent = resp
	case resp == "":
		headErr(fieldRespondent, "missing respondent")
	default:
		headErr(fieldRespondent, fmt.Sprintf("unknown respondent (want one of %s)", p.respList))
	}

	answers := instrument.Answers{}
	companions := map[string]value{} // declinable item → its X_declined value
	otherGroups := map[string]bool{}
	given := map[string]bool{} // items met, to catch one given twice
	for _, f := range rec.fields {
		switch f.path {
		case fieldCycleRef, fieldPhase, fieldRespondent:
			continue
		}
		if f.v.empty() {
			// Only fields carrying a value matter: exports list every
			// field of the form, answered or not.
			continue
		}
		group, name, ok := p.place(f.path)
		if !ok {
			if !isMetadata(f.path) {
				bodyErr(f.path, "unknown field: the instrument has no such item")
			}
			continue
		}
		if sub.Respondent != "" && group != sub.Respondent {
			// A companion left at its default "no" carries no answer.
			if !(strings.HasSuffix(name, declinedSuffix) && f.v.text() == "no") {
				otherGroups[group] = true
			}
			continue
		}
		it, isItem := p.items[name]
		switch {
		case isItem && it.Respondent != group:
			bodyErr(f.path, fmt.Sprintf("%s is a %s item, not in the %s group", name, it.Respondent, group))
		case isItem:
			if given[name] {
				bodyErr(name, fmt.Sprintf("%s is answered twice", name))
				continue
			}
			given[name] = true
			v, reason := convert(it, f.v)
			if reason != "" {
				bodyErr(name, reason)
				continue
			}
			answers[name] = v
		default:
			if base, ok := p.companionOf(name, group); ok {
				companions[base] = f.v
				continue
			}
			bodyErr(f.path, fmt.Sprintf("unknown field: the instrument has no %s item of that name", group))
		}
	}
	for _, base := range slices.Sorted(maps.Keys(companions)) {
		switch companions[base].text() {
		case "no":
		case "yes":
			if _, answered := answers[base]; answered {
				bodyErr(base, fmt.Sprintf("%s%s is yes but %s has an answer", base, declinedSuffix, base))
				continue
			}
			answers[base] = instrument.Declined
		default:
			bodyErr(base+declinedSuffix, fmt.Sprintf("%s%s takes yes or no", base, declinedSuffix))
		}
	}
	for _, g := range slices.Sorted(maps.Keys(otherGroups)) {
		bodyErr(g, fmt.Sprintf("answers in the %s group, but the respondent is %s", g, sub.Respondent))
	}

	if len(head) > 0 || len(body) > 0 {
		sort.SliceStable(body, func(i, j int) bool { return body[i].Field < body[j].Field })
		errs := append(head, body...)
		for i := range errs {
			errs[i].Row, errs[i].InstanceID = rec.row, sub.InstanceID
		}
		return Submission{}, errs
	}
	sub.Answers = answers
	return sub, nil
}

// place finds the respondent group and field name of an answer path: a field
// of a respondent's group ("caregiver/csg_received"), or an item ID (or its
// X_declined companion) with no group, as exports written without group
// names have them.
func (p *parser) place(path string) (group, name string, ok bool) {
	g, n, nested := strings.Cut(path, "/")
	if nested {
		if !p.resps[g] || strings.Contains(n, "/") {
			return "", "", false
		}
		return g, n, true
	}
	if it, isItem := p.items[path]; isItem {
		return it.Respondent, path, true
	}
	if base, isCompanion := strings.CutSuffix(path, declinedSuffix); isCompanion {
		if it, isItem := p.items[base]; isItem && hasCompanion(it) {
			return it.Respondent, path, true
		}
	}
	return "", "", false
}

// companionOf returns the item an X_declined field of group belongs to.
func (p *parser) companionOf(name, group string) (string, bool) {
	base, ok := strings.CutSuffix(name, declinedSuffix)
	if !ok {
		return "", false
	}
	it, ok := p.items[base]
	if !ok || it.Respondent != group || !hasCompanion(it) {
		return "", false
	}
	return base, true
}

// hasCompanion reports an item the form gives an X_declined field: a
// declinable number, measurement or date (ODK cannot put "declined" into
// such a question; package odkform writes the companion).
func hasCompanion(it instrument.Item) bool {
	if !it.Declinable {
		return false
	}
	switch it.Type {
	case instrument.TypeNumber, instrument.TypeMeasurement, instrument.TypeDate:
		return true
	}
	return false
}

// convert types a raw answer for its item; reason says what the item takes
// when it cannot (never repeating the value).
func convert(it instrument.Item, v value) (any, string) {
	txt := v.text()
	if it.Declinable && v.kind == kindString && txt == instrument.Declined {
		return instrument.Declined, ""
	}
	orDeclined := ""
	if it.Declinable {
		orDeclined = ", or " + instrument.Declined
	}
	switch it.Type {
	case instrument.TypeYesNo:
		switch {
		case v.kind == kindBool:
			return v.b, ""
		case v.kind == kindString && txt == "yes":
			return true, ""
		case v.kind == kindString && txt == "no":
			return false, ""
		}
		return nil, fmt.Sprintf("%s takes yes or no%s", it.ID, orDeclined)
	case instrument.TypeNumber, instrument.TypeMeasurement:
		if f, ok := number(v); ok {
			return f, ""
		}
		return nil, fmt.Sprintf("%s takes a number", it.ID)
	case instrument.TypeDate:
		if v.kind == kindString {
			if _, err := time.Parse(instrument.DateLayout, txt); err == nil {
				return txt, ""
			}
		}
		return nil, fmt.Sprintf("%s takes a date written YYYY-MM-DD%s", it.ID, orDeclined)
	case instrument.TypeChoice:
		if values, numeric := numericChoices(it.Choices); numeric {
			if f, ok := number(v); ok {
				return f, ""
			}
			return nil, fmt.Sprintf("%s takes one of the numeric choices %s%s", it.ID, values, orDeclined)
		}
		if v.kind == kindString || v.kind == kindNumber {
			return txt, ""
		}
		return nil, fmt.Sprintf("%s takes a choice code%s", it.ID, orDeclined)
	}
	return nil, fmt.Sprintf("%s has a type this import does not read", it.ID)
}

// number reads a JSON number or a decimal written as text.
func number(v value) (float64, bool) {
	if v.kind != kindString && v.kind != kindNumber {
		return 0, false
	}
	txt := v.text()
	if !decimalPattern.MatchString(txt) {
		return 0, false
	}
	f, err := strconv.ParseFloat(txt, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// numericChoices reports choices that are all numbers, and lists them.
func numericChoices(cs []instrument.Choice) (string, bool) {
	if len(cs) == 0 {
		return "", false
	}
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		f, ok := c.Value.(float64)
		if !ok {
			return "", false
		}
		parts = append(parts, strconv.FormatFloat(f, 'f', -1, 64))
	}
	return strings.Join(parts, ", "), true
}
