package odkform

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
)

// Namespaces of an ODK XForm.
const (
	nsXForms = "http://www.w3.org/2002/xforms"
	nsXHTML  = "http://www.w3.org/1999/xhtml"
	nsJR     = "http://openrosa.org/javarosa"
	nsODK    = "http://www.opendatakit.org/xforms"
	nsORX    = "http://openrosa.org/xforms"
	nsXSD    = "http://www.w3.org/2001/XMLSchema"
)

// bindTypes are the XForm data types of the question types.
var bindTypes = map[string]string{
	TypeText:      "string",
	TypeInteger:   "int",
	TypeDecimal:   "decimal",
	TypeDate:      "date",
	TypeSelectOne: "string",
}

// WriteXForm writes the form as an ODK XForm 1.0 document
// (https://getodk.github.io/xforms-spec/): every label, hint, choice label
// and constraint message in itext, one translation per form language, the
// default language marked default="true()"; binds with absolute paths.
func WriteXForm(w io.Writer, f *Form) error {
	paths, err := f.Paths()
	if err != nil {
		return fmt.Errorf("writing the XForm: %w", err)
	}
	for _, q := range f.Survey {
		if q.Type == TypeSelectOne {
			if _, ok := f.List(q.List); !ok {
				return fmt.Errorf("writing the XForm: %s uses choice list %q, which the form does not have", q.Name, q.List)
			}
		} else if _, ok := bindTypes[q.Type]; !ok && q.IsField() {
			return fmt.Errorf("writing the XForm: %s has type %q, which this writer does not know", q.Name, q.Type)
		}
		if q.IsField() {
			for _, l := range f.Languages {
				if q.Label[l.Code] == "" {
					return fmt.Errorf("writing the XForm: %s has no label in %s", q.Name, l.Column())
				}
			}
		}
	}
	bw := bufio.NewWriter(w)
	if _, err := io.WriteString(bw, xml.Header); err != nil {
		return err
	}
	x := &xw{enc: xml.NewEncoder(bw)}
	x.enc.Indent("", "  ")

	x.start("h:html", "xmlns", nsXForms, "xmlns:h", nsXHTML, "xmlns:jr", nsJR, "xmlns:odk", nsODK, "xmlns:orx", nsORX, "xmlns:xsd", nsXSD)
	x.start("h:head")
	x.leaf("h:title", f.Title)
	x.start("model", "odk:xforms-version", "1.0.0")
	writeItext(x, f, paths)
	writeInstance(x, f)
	if err := writeBinds(x, f, paths); err != nil {
		return err
	}
	x.end("model")
	x.end("h:head")
	x.start("h:body")
	writeBody(x, f, paths)
	x.end("h:body")
	x.end("h:html")
	if x.err != nil {
		return fmt.Errorf("writing the XForm: %w", x.err)
	}
	if err := x.enc.Flush(); err != nil {
		return err
	}
	if _, err := io.WriteString(bw, "\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// xw writes elements through encoding/xml (which escapes all text and
// attribute values). Prefixed names are written as they are, with their
// namespaces declared on the root.
type xw struct {
	enc *xml.Encoder
	err error
}

func (x *xw) start(name string, attrs ...string) {
	if x.err != nil {
		return
	}
	el := xml.StartElement{Name: xml.Name{Local: name}}
	for i := 0; i+1 < len(attrs); i += 2 {
		el.Attr = append(el.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	x.err = x.enc.EncodeToken(el)
}

func (x *xw) end(name string) {
	if x.err == nil {
		x.err = x.enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: name}})
	}
}

func (x *xw) text(s string) {
	if x.err == nil && s != "" {
		x.err = x.enc.EncodeToken(xml.CharData(s))
	}
}

// leaf writes <name attrs...>text</name>.
func (x *xw) leaf(name, text string, attrs ...string) {
	x.start(name, attrs...)
	x.text(text)
	x.end(name)
}

// Itext ids: <path>:label, <path>:hint, <path>:jr:constraintMsg for
// questions and groups; <list>-<choice>:label for choices (shared by
// every question using the list).
func labelID(path string) string      { return path + ":label" }
func hintID(path string) string       { return path + ":hint" }
func constraintID(path string) string { return path + ":jr:constraintMsg" }
func choiceID(list, choice string) string {
	return "choices/" + list + "/" + choice + ":label"
}
func itext(id string) string { return "jr:itext('" + id + "')" }

func writeItext(x *xw, f *Form, paths map[string]string) {
	x.start("itext")
	for _, l := range f.Languages {
		attrs := []string{"lang", l.Column()}
		if l.Code == f.DefaultLanguage {
			attrs = append(attrs, "default", "true()")
		}
		x.start("translation", attrs...)
		text := func(id string, t Text) {
			if t == nil {
				return
			}
			x.start("text", "id", id)
			x.leaf("value", t[l.Code])
			x.end("text")
		}
		for _, q := range f.Survey {
			if q.Type == TypeEndGroup {
				continue
			}
			p := paths[q.Name]
			text(labelID(p), q.Label)
			text(hintID(p), q.Hint)
			text(constraintID(p), q.ConstraintMsg)
		}
		for _, list := range f.Lists {
			for _, c := range list.Choices {
				text(choiceID(list.Name, c.Name), c.Label)
			}
		}
		x.end("translation")
	}
	x.end("itext")
}

func writeInstance(x *xw, f *Form) {
	x.start("instance")
	x.start(rootElement, "id", f.ID, "version", f.Version)
	var open []string
	for _, q := range f.Survey {
		switch q.Type {
		case TypeBeginGroup:
			x.start(q.Name)
			open = append(open, q.Name)
		case TypeEndGroup:
			x.end(open[len(open)-1])
			open = open[:len(open)-1]
		default:
			x.leaf(q.Name, q.Default)
		}
	}
	x.start("meta")
	x.leaf("instanceID", "")
	x.end("meta")
	x.end(rootElement)
	x.end("instance")
}

func writeBinds(x *xw, f *Form, paths map[string]string) error {
	for _, q := range f.Survey {
		if q.Type == TypeEndGroup {
			continue
		}
		attrs := []string{"nodeset", paths[q.Name]}
		if q.IsField() {
			attrs = append(attrs, "type", bindTypes[q.Type])
		}
		if q.Required {
			attrs = append(attrs, "required", "true()")
		}
		if q.Relevant != "" {
			rel, err := ToPaths(q.Relevant, paths)
			if err != nil {
				return fmt.Errorf("writing the XForm: %s: relevant: %w", q.Name, err)
			}
			attrs = append(attrs, "relevant", rel)
		}
		if q.Constraint != "" {
			con, err := ToPaths(q.Constraint, paths)
			if err != nil {
				return fmt.Errorf("writing the XForm: %s: constraint: %w", q.Name, err)
			}
			attrs = append(attrs, "constraint", con)
			if q.ConstraintMsg != nil {
				attrs = append(attrs, "jr:constraintMsg", itext(constraintID(paths[q.Name])))
			}
		}
		if len(attrs) > 2 {
			x.leaf("bind", "", attrs...)
		}
	}
	x.leaf("bind", "", "nodeset", "/"+rootElement+"/meta/instanceID", "type", "string", "readonly", "true()", "jr:preload", "uid")
	return nil
}

func writeBody(x *xw, f *Form, paths map[string]string) {
	for _, q := range f.Survey {
		p := paths[q.Name]
		switch q.Type {
		case TypeEndGroup:
			x.end("group")
			continue
		case TypeBeginGroup:
			x.start("group", "ref", p)
			if q.Label != nil {
				x.leaf("label", "", "ref", itext(labelID(p)))
			}
			continue
		case TypeSelectOne:
			x.start("select1", "ref", p)
		default:
			x.start("input", "ref", p)
		}
		x.leaf("label", "", "ref", itext(labelID(p)))
		if q.Hint != nil {
			x.leaf("hint", "", "ref", itext(hintID(p)))
		}
		if q.Type == TypeSelectOne {
			list, _ := f.List(q.List)
			for _, c := range list.Choices {
				x.start("item")
				x.leaf("label", "", "ref", itext(choiceID(list.Name, c.Name)))
				x.leaf("value", c.Name)
				x.end("item")
			}
			x.end("select1")
		} else {
			x.end("input")
		}
	}
}
