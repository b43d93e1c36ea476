package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/uitext"
	"github.com/khula-cop/khula/sites"
)

// Offline forms are a progressive enhancement. Without JavaScript every
// page works online as before. With it, khula.js checks a form on the
// device with the instrument's own rules (the spec below, generated from
// the instrument, never written twice), keeps answers encrypted in
// IndexedDB under the practitioner's offline key, queues submissions in a
// visible outbox with their Idempotency-Keys, shows red flags at once with
// the safeguarding contact, and sends the queue when the connection
// returns. The service worker (sw.js) keeps the work list, the forms linked
// from it and the static files for use with no connection.

//go:embed static/khula.js
var script []byte

//go:embed static/sw.js
var serviceWorker string

// assetPath names an embedded file by its content, so browsers and the
// service worker can keep it until it changes.
func assetPath(name, ext string, body []byte) string {
	sum := sha256.Sum256(body)
	return "/static/" + name + "." + hex.EncodeToString(sum[:6]) + "." + ext
}

func (u *UI) serveJS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=31536000, immutable")
	c.Header("X-Content-Type-Options", "nosniff")
	writeBody(c, http.StatusOK, "text/javascript; charset=utf-8", script)
}

// serveSW serves the service worker with the current asset paths: a new
// release changes the file, and browsers install the new worker.
func (u *UI) serveSW(c *gin.Context) {
	body := strings.ReplaceAll(serviceWorker, "__ASSETS__", fmt.Sprintf("[%q, %q]", u.cssPath, u.jsPath))
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "default-src 'self'")
	writeBody(c, http.StatusOK, "text/javascript; charset=utf-8", []byte(body))
}

// offlineSpec is what khula.js needs to check, queue and send one form
// with no connection.
type offlineSpec struct {
	// URL is the API path the form is submitted to.
	URL        string `json:"url"`
	Back       string `json:"back"`
	Child      string `json:"child"`
	Respondent string `json:"respondent"`
	Phase      string `json:"phase"`
	// SubmittedBy names the practitioner, as the online form records it.
	SubmittedBy string     `json:"submitted_by"`
	Items       []specItem `json:"items"`
	Flags       []specFlag `json:"flags"`
	// Contact is the school's safeguarding social worker, shown with a red flag.
	Contact specContact `json:"contact"`
	// Texts are the items' messages, each once; "{item}" stands for the label.
	Texts []string `json:"texts"`
	// Words are the script's own words in the form's language
	// (internal/uitext); "errors_one" and "errors_other" hold {n}.
	Words map[string]string `json:"words"`
}

type specItem struct {
	ID string `json:"id"`
	// Label is how messages name the item (quoted, in the form's language).
	Label      string           `json:"label"`
	Type       string           `json:"type"`
	Required   bool             `json:"required,omitempty"`
	Declinable bool             `json:"declinable,omitempty"`
	Integer    bool             `json:"integer,omitempty"`
	Min        *float64         `json:"min,omitempty"`
	Max        *float64         `json:"max,omitempty"`
	Choices    []any            `json:"choices,omitempty"`
	Numeric    bool             `json:"numeric,omitempty"`
	ShowIf     *instrument.Cond `json:"show_if,omitempty"`
	// Messages are the validator's messages by error code, as indexes
	// into the spec's Texts (items share most of them).
	Messages map[string]int `json:"messages"`
}

type specFlag struct {
	Code       string           `json:"code"`
	Reason     string           `json:"reason"`
	NotifyOnly bool             `json:"notify_only,omitempty"`
	Cond       *instrument.Cond `json:"cond"`
}

type specContact struct {
	Title   string `json:"title"`
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// buildSpec draws the offline spec of one respondent's form. An item whose
// skip logic cannot run on the device makes the spec unusable (the form
// then works online only); a red flag that needs the server (growth
// z-scores) is left to the server, which acts on it when the form arrives.
func buildSpec(in *instrument.Instrument, site *sites.Site, schoolID string, ref cycle.CycleRef, respondent, phase, lang, submittedBy string, asked []string) (offlineSpec, error) {
	s := offlineSpec{
		SubmittedBy: submittedBy,
		URL:         fmt.Sprintf("/api/v1/cycles/%s/%d/%s/assessments", url.PathEscape(ref.Site), ref.Wave, url.PathEscape(ref.Child)),
		Back:        fmt.Sprintf("/cycles/%s/%d/%s", ref.Site, ref.Wave, url.PathEscape(ref.Child)),
		Child:       ref.Child,
		Respondent:  respondent,
		Phase:       phase,
	}
	mine := map[string]bool{}
	textIndex := map[string]int{}
	for _, it := range in.ItemsAsked(respondent, asked) {
		mine[it.ID] = true
		cond, err := in.ShowIfCond(it.ID)
		if err != nil {
			return s, fmt.Errorf("item %s: %w", it.ID, err)
		}
		msgs, err := in.FieldMessages(it.ID)
		if err != nil {
			return s, err
		}
		// The script drops answers to hidden items, as the server's form does.
		delete(msgs, instrument.CodeSkippedItemAnswered)
		// Each message names the item once; the script puts the label,
		// sent once per item, in its place. Identical messages are sent once.
		refs := make(map[string]int, len(msgs))
		for _, code := range slices.Sorted(maps.Keys(msgs)) {
			m := relabel(msgs[code], it.ID, itemPlaceholder)
			k, ok := textIndex[m]
			if !ok {
				k = len(s.Texts)
				s.Texts = append(s.Texts, m)
				textIndex[m] = k
			}
			refs[code] = k
		}
		si := specItem{ID: it.ID, Label: "\u201c" + in.Label(it.ID, lang) + "\u201d", Type: string(it.Type), Required: it.Required, Declinable: it.Declinable, Integer: it.Integer,
			Min: it.Min, Max: it.Max, Numeric: numericChoices(it), ShowIf: cond, Messages: refs}
		for _, ch := range it.Choices {
			si.Choices = append(si.Choices, ch.Value)
		}
		s.Items = append(s.Items, si)
	}
	for _, f := range in.PortableFlags() {
		if f.Cond == nil {
			continue
		}
		reads := false
		for _, id := range f.Items {
			reads = reads || mine[id]
		}
		if reads {
			s.Flags = append(s.Flags, specFlag{Code: f.Code, Reason: f.Reason, NotifyOnly: f.NotifyOnly, Cond: f.Cond})
		}
	}
	s.Words = map[string]string{}
	for _, id := range []string{"offline.saved", "offline.sending", "offline.recorded", "offline.refused", "offline.back", "flag.title", "flag.tell", "flag.server"} {
		s.Words[id] = uitext.T(lang, id)
	}
	s.Words["errors_one"] = strings.Replace(uitext.T(lang, "form.errors", 1), "1", "{n}", 1)
	s.Words["errors_other"] = strings.Replace(uitext.T(lang, "form.errors", countMark), strconv.Itoa(countMark), "{n}", 1)
	lead := site.SafeguardingLead(schoolID)
	s.Contact = specContact{Title: lead.Title, Channel: lead.Contact.Channel, Address: lead.Contact.Address}
	return s, nil
}

// answersFromForm turns posted form values into answers in the types the
// API takes; what does not convert is passed on as typed, for the validator
// to reject with its own message. Items hidden by the skip logic are
// dropped. khula.js does the same on the device (see its toAnswers).
func answersFromForm(in *instrument.Instrument, respondent string, value func(itemID string) string) (instrument.Answers, int) {
	a := instrument.Answers{}
	items := in.ItemsFor(respondent)
	for _, it := range items {
		raw := strings.TrimSpace(value(it.ID))
		if raw == "" {
			continue
		}
		switch it.Type {
		case instrument.TypeYesNo:
			switch raw {
			case "true":
				a[it.ID] = true
			case "false":
				a[it.ID] = false
			default:
				a[it.ID] = raw
			}
		case instrument.TypeNumber, instrument.TypeMeasurement:
			if f, ok := parseDecimal(strings.ReplaceAll(raw, ",", ".")); ok {
				a[it.ID] = f
			} else {
				a[it.ID] = raw
			}
		case instrument.TypeChoice:
			if f, ok := parseDecimal(raw); ok && numericChoices(it) {
				a[it.ID] = f
			} else {
				a[it.ID] = raw
			}
		default:
			a[it.ID] = raw
		}
	}
	hidden := 0
	for _, it := range items {
		if shown, _ := in.Shown(it.ID, a); !shown {
			delete(a, it.ID)
			hidden++
		}
	}
	return a, hidden
}

// parseDecimal reads a plain decimal number (digits, one point, an
// exponent). Hex, "inf" and "NaN", which strconv would take, are not
// answers anyone types: they stay text, and the validator rejects them.
func parseDecimal(s string) (float64, bool) {
	if !decimalPattern.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// decimalPattern is a plain decimal number; khula.js uses the same pattern.
var decimalPattern = regexp.MustCompile(`^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$`)

// relabel puts an item's label, in the form's language, where the
// validator's message names the item by id ("weight_kg is required" reads
// "“Weight” is required"). Messages that do not start with the id are
// left as they are.
func relabel(msg, itemID, label string) string {
	rest, ok := strings.CutPrefix(msg, itemID)
	if !ok || label == "" || label == itemID || rest != "" && rest[0] != ' ' && rest[0] != ',' {
		return msg
	}
	if label == itemPlaceholder {
		return label + rest
	}
	return "\u201c" + label + "\u201d" + rest
}

// countMark is a count no message holds otherwise, to find where a plural
// message puts its number.
const countMark = 987654

// itemPlaceholder stands for the item's label in the spec's messages.
const itemPlaceholder = "{item}"
