package odkform

import (
	"fmt"
	"regexp"
	"strings"
)

// Form is one ODK form as both writers see it: the survey rows, choice
// lists and settings of an XLSForm. [Build] makes it from an instrument,
// [WriteXLSForm] and [WriteXForm] write it, [ReadXLSForm] reads it back.
type Form struct {
	// ID is the form id (form_id): khula_<site>.
	ID string
	// Title is the form title (form_title); it names the instrument, the
	// site and the full instrument ref.
	Title string
	// Version is the form version, made from the instrument ref by
	// [FormVersion].
	Version string
	// DefaultLanguage is the code of the language the form opens in.
	DefaultLanguage string
	// Languages are the form's languages, in column order.
	Languages []Language
	// Survey holds the survey rows in order, groups as begin_group ...
	// end_group rows.
	Survey []Question
	// Lists holds the choice lists in order.
	Lists []ChoiceList
}

// Text is wording by language code. In a built form every text has an
// entry for every form language.
type Text map[string]string

// Question is one survey row.
type Question struct {
	// Type is the XLSForm type without the list: text, integer, decimal,
	// date, select_one, begin_group or end_group.
	Type string
	// List is the choice list of a select_one.
	List string
	// Name is the field (or group) name; empty on end_group rows.
	Name          string
	Label         Text
	Hint          Text
	Required      bool
	Relevant      string
	Constraint    string
	ConstraintMsg Text
	Default       string
}

// ChoiceList is a named list of choices.
type ChoiceList struct {
	Name    string
	Choices []Choice
}

// Choice is one option of a list: the value saved (Name) and its label.
type Choice struct {
	Name  string
	Label Text
}

// Question types.
const (
	TypeText       = "text"
	TypeInteger    = "integer"
	TypeDecimal    = "decimal"
	TypeDate       = "date"
	TypeSelectOne  = "select_one"
	TypeBeginGroup = "begin_group"
	TypeEndGroup   = "end_group"
)

// XLSType returns the row's type column: "select_one LIST" for selects.
func (q Question) XLSType() string {
	if q.Type == TypeSelectOne {
		return q.Type + " " + q.List
	}
	return q.Type
}

// IsField reports whether the row is a question (not a group row).
func (q Question) IsField() bool {
	return q.Type != TypeBeginGroup && q.Type != TypeEndGroup
}

// Fields returns the number of questions (rows that are not group rows).
func (f *Form) Fields() int {
	n := 0
	for _, q := range f.Survey {
		if q.IsField() {
			n++
		}
	}
	return n
}

// List returns the choice list with the given name.
func (f *Form) List(name string) (ChoiceList, bool) {
	for _, l := range f.Lists {
		if l.Name == name {
			return l, true
		}
	}
	return ChoiceList{}, false
}

// LanguageNames lists the form's languages as their column names.
func (f *Form) LanguageNames() []string {
	out := make([]string, 0, len(f.Languages))
	for _, l := range f.Languages {
		out = append(out, l.Column())
	}
	return out
}

// Paths returns the XForm path of every named row (questions and groups):
// /data/<name> at the top, /data/<group>/<name> inside a group.
func (f *Form) Paths() (map[string]string, error) {
	paths := map[string]string{}
	var stack []string
	for i, q := range f.Survey {
		switch q.Type {
		case TypeEndGroup:
			if len(stack) == 0 {
				return nil, fmt.Errorf("survey row %d: end_group without a begin_group", i+1)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if !namePattern.MatchString(q.Name) {
			return nil, fmt.Errorf("survey row %d: name %q is not a valid field name", i+1, q.Name)
		}
		if _, dup := paths[q.Name]; dup || q.Name == "meta" {
			return nil, fmt.Errorf("survey row %d: name %q is used twice", i+1, q.Name)
		}
		paths[q.Name] = "/" + rootElement + "/" + strings.Join(append(append([]string(nil), stack...), q.Name), "/")
		if q.Type == TypeBeginGroup {
			stack = append(stack, q.Name)
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("group %q is not closed", stack[len(stack)-1])
	}
	return paths, nil
}

// rootElement is the XForm instance's root element.
const rootElement = "data"

// namePattern is what a field, group, list or choice name may be: an XML
// name without namespaces or dots (which ODK tools treat specially).
var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// refPattern matches an XLSForm reference ${name}.
var refPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_-]*)\}`)

// ToPaths rewrites the ${name} references of an XLSForm expression into
// the absolute XForm paths given.
func ToPaths(expr string, paths map[string]string) (string, error) {
	var missing []string
	out := refPattern.ReplaceAllStringFunc(expr, func(m string) string {
		name := m[2 : len(m)-1]
		p, ok := paths[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return p
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("expression %q refers to %s, which the form does not have", expr, strings.Join(missing, ", "))
	}
	return out, nil
}

// Language is a form language.
type Language struct {
	Code string
	Name string
}

// Column returns the language as XLSForm columns and XForm translations
// name it: "English (en)".
func (l Language) Column() string { return l.Name + " (" + l.Code + ")" }

// languageNames names the languages of South African sites.
var languageNames = map[string]string{
	"en":  "English",
	"zu":  "isiZulu",
	"xh":  "isiXhosa",
	"st":  "Sesotho",
	"tn":  "Setswana",
	"nso": "Sepedi",
	"nr":  "isiNdebele",
	"ts":  "Xitsonga",
	"ss":  "siSwati",
	"ve":  "Tshivenda",
	"af":  "Afrikaans",
}

// LanguageOf returns the form language of a code; an unknown code is
// named by itself ("xx (xx)").
func LanguageOf(code string) Language {
	if n, ok := languageNames[code]; ok {
		return Language{Code: code, Name: n}
	}
	return Language{Code: code, Name: code}
}

// languageColumn matches a language column name, "English (en)".
var languageColumn = regexp.MustCompile(`^(.*\S)\s*\(([A-Za-z0-9_-]+)\)$`)

// ParseLanguage reads a language column name back.
func ParseLanguage(column string) (Language, error) {
	m := languageColumn.FindStringSubmatch(strings.TrimSpace(column))
	if m == nil {
		return Language{}, fmt.Errorf("language %q is not written as Name (code)", column)
	}
	return Language{Code: m[2], Name: m[1]}, nil
}
