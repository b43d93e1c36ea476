package odkform

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// node is any XML element.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []*node    `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) attr(space, local string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) children(local string) []*node {
	var out []*node
	for _, c := range n.Nodes {
		if c.XMLName.Local == local {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) child(t *testing.T, space, local string) *node {
	t.Helper()
	for _, c := range n.Nodes {
		if c.XMLName.Space == space && c.XMLName.Local == local {
			return c
		}
	}
	t.Fatalf("<%s> has no <%s> in %s", n.XMLName.Local, local, space)
	return nil
}

func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, c := range n.Nodes {
		c.walk(fn)
	}
}

var itextRef = regexp.MustCompile(`^jr:itext\('([^']+)'\)$`)

// TestXFormIsWellFormedAndHoldsTheForm parses each XForm with
// encoding/xml and checks it against the form: a bind per question with
// the same type, required, relevant and constraint (in path form), the
// instance, the itext in every language and the body.
func TestXFormIsWellFormedAndHoldsTheForm(t *testing.T) {
	for name, f := range forms(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteXForm(&buf, f); err != nil {
				t.Fatal(err)
			}
			// Well-formed: the decoder reads every token to the end.
			dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v", err)
				}
			}
			var root node
			if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
				t.Fatal(err)
			}
			if root.XMLName != (xml.Name{Space: nsXHTML, Local: "html"}) {
				t.Fatalf("root %v", root.XMLName)
			}
			head := root.child(t, nsXHTML, "head")
			if title := head.child(t, nsXHTML, "title"); title.Text != f.Title {
				t.Errorf("title %q", title.Text)
			}
			model := head.child(t, nsXForms, "model")
			if v, _ := model.attr(nsODK, "xforms-version"); v != "1.0.0" {
				t.Errorf("odk:xforms-version %q", v)
			}

			// The paths, computed here from the rows.
			paths := map[string]string{}
			var stack []string
			for _, q := range f.Survey {
				if q.Type == TypeEndGroup {
					stack = stack[:len(stack)-1]
					continue
				}
				paths[q.Name] = "/data/" + strings.Join(append(slices.Clone(stack), q.Name), "/")
				if q.Type == TypeBeginGroup {
					stack = append(stack, q.Name)
				}
			}
			toPath := func(expr string) string {
				return refPattern.ReplaceAllStringFunc(expr, func(m string) string {
					p, ok := paths[m[2:len(m)-1]]
					if !ok {
						t.Errorf("%s refers to an unknown field", expr)
					}
					return p
				})
			}

			// Instance.
			data := model.child(t, nsXForms, "instance").child(t, nsXForms, "data")
			if id, _ := data.attr("", "id"); id != f.ID {
				t.Errorf("instance id %q, want %q", id, f.ID)
			}
			if v, _ := data.attr("", "version"); v != f.Version {
				t.Errorf("instance version %q, want %q", v, f.Version)
			}
			inInstance := map[string]*node{}
			var visit func(n *node, path string)
			visit = func(n *node, path string) {
				for _, c := range n.Nodes {
					p := path + "/" + c.XMLName.Local
					inInstance[p] = c
					visit(c, p)
				}
			}
			visit(data, "/data")
			for name, p := range paths {
				if _, ok := inInstance[p]; !ok {
					t.Errorf("%s is not in the instance at %s", name, p)
				}
			}
			if n := inInstance["/data/phase"]; n == nil || n.Text != "baseline" {
				t.Errorf("phase must default to baseline")
			}
			if n := inInstance["/data/meta/instanceID"]; n == nil {
				t.Error("no meta/instanceID")
			}

			// Binds.
			binds := map[string]*node{}
			for _, b := range model.children("bind") {
				ns, _ := b.attr("", "nodeset")
				if binds[ns] != nil {
					t.Errorf("two binds for %s", ns)
				}
				binds[ns] = b
			}
			for _, q := range f.Survey {
				if q.Type == TypeEndGroup {
					continue
				}
				p := paths[q.Name]
				b := binds[p]
				if b == nil {
					if q.IsField() || q.Relevant != "" {
						t.Errorf("no bind for %s", p)
					}
					continue
				}
				get := func(space, local string) string { v, _ := b.attr(space, local); return v }
				if q.IsField() && get("", "type") != bindTypes[q.Type] {
					t.Errorf("%s: type %q, want %q", p, get("", "type"), bindTypes[q.Type])
				}
				if got := get("", "required") == "true()"; got != q.Required {
					t.Errorf("%s: required %v, want %v", p, got, q.Required)
				}
				if got, want := get("", "relevant"), toPath(q.Relevant); got != want {
					t.Errorf("%s: relevant %q, want %q", p, got, want)
				}
				if got, want := get("", "constraint"), toPath(q.Constraint); got != want {
					t.Errorf("%s: constraint %q, want %q", p, got, want)
				}
				if msg := get(nsJR, "constraintMsg"); (msg != "") != (q.Constraint != "") || msg != "" && !itextRef.MatchString(msg) {
					t.Errorf("%s: jr:constraintMsg %q", p, msg)
				}
			}
			if b := binds["/data/meta/instanceID"]; b == nil {
				t.Error("no bind for meta/instanceID")
			} else if v, _ := b.attr(nsJR, "preload"); v != "uid" {
				t.Errorf("instanceID jr:preload %q", v)
			}
			if p := binds["/data/caregiver/csg_applied"]; p == nil {
				t.Error("no csg_applied bind")
			} else if v, _ := p.attr("", "relevant"); v != "/data/caregiver/csg_received = 'no'" {
				t.Errorf("csg_applied relevant %q", v)
			}

			// Itext: one translation per language, the default marked, every
			// text in every language and none empty.
			translations := model.child(t, nsXForms, "itext").children("translation")
			texts := map[string]map[string]string{}
			var langs, defaults []string
			for _, tr := range translations {
				lang, _ := tr.attr("", "lang")
				langs = append(langs, lang)
				if d, _ := tr.attr("", "default"); d == "true()" {
					defaults = append(defaults, lang)
				}
				texts[lang] = map[string]string{}
				for _, tx := range tr.children("text") {
					id, _ := tx.attr("", "id")
					texts[lang][id] = tx.child(t, nsXForms, "value").Text
				}
			}
			if !slices.Equal(langs, f.LanguageNames()) {
				t.Errorf("translations %v, want %v", langs, f.LanguageNames())
			}
			def := LanguageOf(f.DefaultLanguage).Column()
			if len(defaults) != 1 || defaults[0] != def {
				t.Errorf("default translations %v, want [%s]", defaults, def)
			}
			resolve := func(ref string) {
				m := itextRef.FindStringSubmatch(ref)
				if m == nil {
					t.Errorf("label ref %q is not jr:itext('…')", ref)
					return
				}
				for _, l := range langs {
					if texts[l][m[1]] == "" {
						t.Errorf("itext %q has no %s text", m[1], l)
					}
				}
			}
			for _, b := range binds {
				if msg, ok := b.attr(nsJR, "constraintMsg"); ok {
					resolve(msg)
				}
			}

			// Body: every question once, in order, with its choices.
			body := root.child(t, nsXHTML, "body")
			var controls []*node
			body.walk(func(n *node) {
				switch n.XMLName.Local {
				case "input", "select1", "group":
					if n.XMLName.Space != nsXForms {
						t.Errorf("<%s> in namespace %q", n.XMLName.Local, n.XMLName.Space)
					}
					controls = append(controls, n)
				}
				if n.XMLName.Local == "label" || n.XMLName.Local == "hint" {
					ref, _ := n.attr("", "ref")
					resolve(ref)
				}
			})
			var want []*Question
			for i := range f.Survey {
				if f.Survey[i].Type != TypeEndGroup {
					want = append(want, &f.Survey[i])
				}
			}
			if len(controls) != len(want) {
				t.Fatalf("%d controls in the body, %d rows", len(controls), len(want))
			}
			for i, c := range controls {
				q := want[i]
				ref, _ := c.attr("", "ref")
				kind := map[string]string{TypeSelectOne: "select1", TypeBeginGroup: "group"}[q.Type]
				if kind == "" {
					kind = "input"
				}
				if ref != paths[q.Name] || c.XMLName.Local != kind {
					t.Errorf("control %d is <%s ref=%q>, want <%s ref=%q>", i, c.XMLName.Local, ref, kind, paths[q.Name])
				}
				if q.Type == TypeSelectOne {
					list, _ := f.List(q.List)
					var got, wantVals []string
					for _, it := range c.children("item") {
						got = append(got, it.child(t, nsXForms, "value").Text)
					}
					for _, ch := range list.Choices {
						wantVals = append(wantVals, ch.Name)
					}
					if !slices.Equal(got, wantVals) {
						t.Errorf("%s: items %v, want %v", q.Name, got, wantVals)
					}
				}
			}
		})
	}
}

func TestXFormEscapesText(t *testing.T) {
	f := &Form{ID: "khula_x", Title: `A <b>"bold"</b> & 'odd' title`, Version: "001000000", DefaultLanguage: "en",
		Languages: []Language{LanguageOf("en")},
		Survey: []Question{{Type: TypeText, Name: "q", Label: Text{"en": "Is 1 < 2 & 3 > 2?\nYes"},
			Constraint: ". != 'a<b'", ConstraintMsg: Text{"en": "Not a<b"}}},
	}
	var buf bytes.Buffer
	if err := WriteXForm(&buf, f); err != nil {
		t.Fatal(err)
	}
	var root node
	if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, buf.String())
	}
	head := root.child(t, nsXHTML, "head")
	if got := head.child(t, nsXHTML, "title").Text; got != f.Title {
		t.Errorf("title %q", got)
	}
	var label, constraint string
	root.walk(func(n *node) {
		if id, _ := n.attr("", "id"); id == "/data/q:label" {
			label = n.Nodes[0].Text
		}
		if n.XMLName.Local == "bind" {
			if c, ok := n.attr("", "constraint"); ok {
				constraint = c
			}
		}
	})
	if label != f.Survey[0].Label["en"] || constraint != f.Survey[0].Constraint {
		t.Errorf("label %q, constraint %q", label, constraint)
	}
}

func TestXFormRefusesBrokenForms(t *testing.T) {
	base := func() *Form {
		return &Form{ID: "x", Version: "1", DefaultLanguage: "en", Languages: []Language{LanguageOf("en")},
			Survey: []Question{{Type: TypeText, Name: "a", Label: Text{"en": "A"}}}}
	}
	for name, change := range map[string]func(*Form){
		"unknown list":      func(f *Form) { f.Survey[0].Type, f.Survey[0].List = TypeSelectOne, "nope" },
		"unknown reference": func(f *Form) { f.Survey[0].Relevant = "${b} = 'x'" },
		"duplicate name":    func(f *Form) { f.Survey = append(f.Survey, f.Survey[0]) },
		"unclosed group":    func(f *Form) { f.Survey = append(f.Survey, Question{Type: TypeBeginGroup, Name: "g"}) },
		"stray end":         func(f *Form) { f.Survey = append(f.Survey, Question{Type: TypeEndGroup}) },
		"missing label":     func(f *Form) { f.Survey[0].Label = nil },
		"unknown type":      func(f *Form) { f.Survey[0].Type = "geopoint" },
		"bad name":          func(f *Form) { f.Survey[0].Name = "a b" },
	} {
		f := base()
		change(f)
		var buf bytes.Buffer
		if err := WriteXForm(&buf, f); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
