package odkform

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Sheet names of an XLSForm.
const (
	SheetSurvey   = "survey"
	SheetChoices  = "choices"
	SheetSettings = "settings"
)

// Columns of the sheets. Columns taking a language are written
// "<column>::<Language.Column()>".
const (
	colType          = "type"
	colName          = "name"
	colLabel         = "label"
	colHint          = "hint"
	colRequired      = "required"
	colRelevant      = "relevant"
	colConstraint    = "constraint"
	colConstraintMsg = "constraint_message"
	colDefault       = "default"
	colListName      = "list_name"

	setFormTitle       = "form_title"
	setFormID          = "form_id"
	setVersion         = "version"
	setDefaultLanguage = "default_language"
)

func langCol(col string, l Language) string { return col + "::" + l.Column() }

// WriteXLSForm writes the form as an XLSForm workbook (.xlsx) with the
// sheets survey, choices and settings.
func WriteXLSForm(w io.Writer, f *Form) error {
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName(x.GetSheetList()[0], SheetSurvey); err != nil {
		return err
	}
	for _, s := range []string{SheetChoices, SheetSettings} {
		if _, err := x.NewSheet(s); err != nil {
			return err
		}
	}

	header := []string{colType, colName}
	for _, col := range []string{colLabel, colHint} {
		for _, l := range f.Languages {
			header = append(header, langCol(col, l))
		}
	}
	header = append(header, colRequired, colRelevant, colConstraint)
	for _, l := range f.Languages {
		header = append(header, langCol(colConstraintMsg, l))
	}
	header = append(header, colDefault)
	rows := [][]string{header}
	for _, q := range f.Survey {
		row := []string{q.XLSType(), q.Name}
		for _, t := range []Text{q.Label, q.Hint} {
			for _, l := range f.Languages {
				row = append(row, t[l.Code])
			}
		}
		req := ""
		if q.Required {
			req = "yes"
		}
		row = append(row, req, q.Relevant, q.Constraint)
		for _, l := range f.Languages {
			row = append(row, q.ConstraintMsg[l.Code])
		}
		rows = append(rows, append(row, q.Default))
	}
	if err := writeRows(x, SheetSurvey, rows); err != nil {
		return err
	}

	header = []string{colListName, colName}
	for _, l := range f.Languages {
		header = append(header, langCol(colLabel, l))
	}
	rows = [][]string{header}
	for _, list := range f.Lists {
		for _, c := range list.Choices {
			row := []string{list.Name, c.Name}
			for _, l := range f.Languages {
				row = append(row, c.Label[l.Code])
			}
			rows = append(rows, row)
		}
	}
	if err := writeRows(x, SheetChoices, rows); err != nil {
		return err
	}

	def := ""
	for _, l := range f.Languages {
		if l.Code == f.DefaultLanguage {
			def = l.Column()
		}
	}
	if err := writeRows(x, SheetSettings, [][]string{
		{setFormTitle, setFormID, setVersion, setDefaultLanguage},
		{f.Title, f.ID, f.Version, def},
	}); err != nil {
		return err
	}
	return x.Write(w)
}

// writeRows writes every cell as a string (a version like 002000000 must
// stay text).
func writeRows(x *excelize.File, sheet string, rows [][]string) error {
	for i, row := range rows {
		for j, v := range row {
			if v == "" {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			if err := x.SetCellStr(sheet, cell, v); err != nil {
				return err
			}
		}
	}
	if len(rows) > 0 && len(rows[0]) > 0 {
		last, _ := excelize.ColumnNumberToName(len(rows[0]))
		if err := x.SetColWidth(sheet, "A", last, 24); err != nil {
			return err
		}
	}
	return nil
}

// maxXLSFormBytes bounds what ReadXLSForm unpacks.
const maxXLSFormBytes = 64 << 20

// ReadXLSForm reads an XLSForm written by [WriteXLSForm] back into a Form.
// Label, hint and constraint message columns must name their language as
// "Name (code)"; the languages are those of the survey's label columns.
func ReadXLSForm(r io.Reader) (*Form, error) {
	x, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: maxXLSFormBytes, UnzipXMLSizeLimit: maxXLSFormBytes})
	if err != nil {
		return nil, fmt.Errorf("reading the XLSForm: %w", err)
	}
	defer x.Close()
	sheets := map[string]string{}
	for _, s := range x.GetSheetList() {
		sheets[strings.ToLower(strings.TrimSpace(s))] = s
	}
	read := func(name string) (*table, error) {
		s, ok := sheets[name]
		if !ok {
			return nil, fmt.Errorf("reading the XLSForm: no %s sheet", name)
		}
		rows, err := x.GetRows(s)
		if err != nil {
			return nil, fmt.Errorf("reading the XLSForm's %s sheet: %w", name, err)
		}
		return newTable(name, rows)
	}
	f := &Form{}

	survey, err := read(SheetSurvey)
	if err != nil {
		return nil, err
	}
	if f.Languages, err = survey.languages(colLabel); err != nil {
		return nil, err
	}
	if len(f.Languages) == 0 {
		return nil, errors.New("reading the XLSForm: the survey has no label::Language (code) column")
	}
	for i, row := range survey.rows {
		typ := normaliseType(survey.get(row, colType))
		if typ == "" && survey.get(row, colName) == "" {
			continue
		}
		q := Question{Type: typ, Name: survey.get(row, colName),
			Relevant: survey.get(row, colRelevant), Constraint: survey.get(row, colConstraint), Default: survey.get(row, colDefault)}
		if t, list, ok := strings.Cut(typ, " "); ok {
			q.Type, q.List = t, strings.TrimSpace(list)
		}
		switch strings.ToLower(survey.get(row, colRequired)) {
		case "", "no", "false", "false()":
		case "yes", "true", "true()":
			q.Required = true
		default:
			return nil, fmt.Errorf("reading the XLSForm: survey row %d: required %q is not yes or no", i+2, survey.get(row, colRequired))
		}
		q.Label = survey.text(row, colLabel, f.Languages)
		q.Hint = survey.text(row, colHint, f.Languages)
		q.ConstraintMsg = survey.text(row, colConstraintMsg, f.Languages)
		f.Survey = append(f.Survey, q)
	}

	choices, err := read(SheetChoices)
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, row := range choices.rows {
		list, name := choices.get(row, colListName), choices.get(row, colName)
		if list == "" && name == "" {
			continue
		}
		if list == "" || name == "" {
			return nil, fmt.Errorf("reading the XLSForm: choices row %d needs a list_name and a name", i+2)
		}
		j, ok := idx[list]
		if !ok {
			j = len(f.Lists)
			idx[list] = j
			f.Lists = append(f.Lists, ChoiceList{Name: list})
		}
		f.Lists[j].Choices = append(f.Lists[j].Choices, Choice{Name: name, Label: choices.text(row, colLabel, f.Languages)})
	}

	settings, err := read(SheetSettings)
	if err != nil {
		return nil, err
	}
	if len(settings.rows) > 0 {
		row := settings.rows[0]
		f.Title, f.ID, f.Version = settings.get(row, setFormTitle), settings.get(row, setFormID), settings.get(row, setVersion)
		if def := settings.get(row, setDefaultLanguage); def != "" {
			l, err := ParseLanguage(def)
			if err != nil {
				return nil, fmt.Errorf("reading the XLSForm: default_language: %w", err)
			}
			f.DefaultLanguage = l.Code
		}
	}
	return f, nil
}

// normaliseType spells group rows as begin_group and end_group.
func normaliseType(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	switch strings.ToLower(t) {
	case "begin group", "begin_group":
		return TypeBeginGroup
	case "end group", "end_group":
		return TypeEndGroup
	}
	return t
}

// table is a sheet with its header.
type table struct {
	sheet string
	cols  map[string]int
	order []string
	rows  [][]string
}

func newTable(sheet string, rows [][]string) (*table, error) {
	t := &table{sheet: sheet, cols: map[string]int{}}
	if len(rows) == 0 {
		return t, nil
	}
	for i, h := range rows[0] {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, dup := t.cols[h]; dup {
			return nil, fmt.Errorf("reading the XLSForm: the %s sheet has two %q columns", sheet, h)
		}
		t.cols[h] = i
		t.order = append(t.order, h)
	}
	t.rows = rows[1:]
	return t, nil
}

func (t *table) get(row []string, col string) string {
	i, ok := t.cols[col]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// languages lists the languages of the col::Language columns, in order.
func (t *table) languages(col string) ([]Language, error) {
	var out []Language
	seen := map[string]bool{}
	for _, h := range t.order {
		prefix, lang, ok := strings.Cut(h, "::")
		if strings.TrimSpace(prefix) != col {
			continue
		}
		if !ok {
			return nil, fmt.Errorf("reading the XLSForm: the %s sheet's %q column names no language (write %s::English (en))", t.sheet, h, col)
		}
		l, err := ParseLanguage(lang)
		if err != nil {
			return nil, fmt.Errorf("reading the XLSForm: the %s sheet's column %q: %w", t.sheet, h, err)
		}
		if !seen[l.Code] {
			seen[l.Code] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// text reads the col::Language cells of a row; nil when all are empty.
func (t *table) text(row []string, col string, langs []Language) Text {
	var out Text
	for _, l := range langs {
		if s := t.get(row, langCol(col, l)); s != "" {
			if out == nil {
				out = Text{}
			}
			out[l.Code] = s
		}
	}
	return out
}
