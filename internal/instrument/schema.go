package instrument

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/khula-cop/khula/instruments"
)

const schemaURL = "https://khula.example.org/schemas/instrument.schema.json"

var (
	schemaOnce sync.Once
	schemaVal  *jsonschema.Schema
	schemaErr  error
)

// compiledSchema compiles the embedded JSON Schema once.
func compiledSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		data, err := instruments.FS.ReadFile(instruments.SchemaFile)
		if err != nil {
			schemaErr = fmt.Errorf("reading instrument schema: %w", err)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			schemaErr = fmt.Errorf("decoding instrument schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(schemaURL, doc); err != nil {
			schemaErr = fmt.Errorf("adding instrument schema: %w", err)
			return
		}
		schemaVal, schemaErr = c.Compile(schemaURL)
		if schemaErr != nil {
			schemaErr = fmt.Errorf("compiling instrument schema: %w", schemaErr)
		}
	})
	return schemaVal, schemaErr
}

// schemaProblems validates doc (decoded from root) against the schema and
// adds one problem per failing leaf, at the line of the offending node.
func schemaProblems(file string, root *yaml.Node, doc any, ps *problems) {
	sch, err := compiledSchema()
	if err != nil {
		ps.add(Pos{File: file}, "%v", err)
		return
	}
	err = sch.Validate(doc)
	if err == nil {
		return
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		ps.add(Pos{File: file, Line: 1}, "%v", err)
		return
	}
	top, _ := doc.(map[string]any)
	_, variant := top["extends"]
	var leaves []*jsonschema.ValidationError
	collectLeaves(ve, &leaves)
	for _, leaf := range leaves {
		for _, p := range describeLeaf(file, root, leaf, variant) {
			ps.add(p.pos, "%s", p.msg)
		}
	}
}

func collectLeaves(ve *jsonschema.ValidationError, out *[]*jsonschema.ValidationError) {
	if _, ok := ve.ErrorKind.(*kind.PropertyNames); ok || len(ve.Causes) == 0 {
		// A property name's own errors are located at the name, not in
		// the document: report the name as the problem.
		*out = append(*out, ve)
		return
	}
	for _, c := range ve.Causes {
		collectLeaves(c, out)
	}
}

type posMsg struct {
	pos Pos
	msg string
}

// describeLeaf turns one schema failure into messages an author can act on.
func describeLeaf(file string, root *yaml.Node, ve *jsonschema.ValidationError, variant bool) []posMsg {
	loc := ve.InstanceLocation
	val, key := nodeAt(root, loc)
	line := 1
	if key != nil {
		line = key.Line
	} else if val != nil {
		line = val.Line
	}
	where := pathString(loc)
	prefix := ""
	if where != "" {
		prefix = where + ": "
	}
	at := Pos{File: file, Line: line}
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		var out []posMsg
		props := append([]string(nil), k.Properties...)
		sort.Strings(props)
		for _, p := range props {
			pl := at
			if kn := keyNode(val, p); kn != nil {
				pl.Line = kn.Line
			}
			out = append(out, posMsg{pl, fmt.Sprintf("%sunknown key %q", prefix, p)})
		}
		return out
	case *kind.Required:
		var out []posMsg
		for _, m := range k.Missing {
			msg := fmt.Sprintf("%smissing required key %q", prefix, m)
			if m == "service_type" && inRedFlag(loc) {
				msg += " (the site service type the flag's urgent referral goes to, e.g. social_development or clinic; or notify_only: true to only prompt the safeguarding social worker)"
			}
			out = append(out, posMsg{at, msg})
		}
		return out
	case *kind.Type:
		return []posMsg{{at, fmt.Sprintf("%swrong type: got %s, want %s", prefix, k.Got, strings.Join(k.Want, " or "))}}
	case *kind.FalseSchema:
		name := ""
		if len(loc) > 0 {
			name = loc[len(loc)-1]
		}
		if len(loc) == 3 && name == "service_type" && inRedFlag(loc[:2]) {
			return []posMsg{{at, fmt.Sprintf("%s: a notify_only flag makes no referral: remove service_type, or notify_only to refer", pathString(loc[:2]))}}
		}
		if variant {
			return []posMsg{{at, fmt.Sprintf("key %q is not allowed in a variant: it comes from the base", name)}}
		}
		return []posMsg{{at, fmt.Sprintf("key %q is only allowed in a variant (a file with extends)", name)}}
	case *kind.Enum:
		want := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		return []posMsg{{at, fmt.Sprintf("%smust be one of %s", prefix, strings.Join(want, ", "))}}
	case *kind.Pattern:
		return []posMsg{{at, fmt.Sprintf("%s%q is not a valid name here (must match %s)", prefix, k.Got, k.Want)}}
	case *kind.PropertyNames:
		pl := at
		if kn := keyNode(val, k.Property); kn != nil {
			pl.Line = kn.Line
		}
		return []posMsg{{pl, fmt.Sprintf("%sinvalid key %q (see the schema for what names are allowed here)", prefix, k.Property)}}
	case *kind.Group, *kind.AllOf, *kind.Reference:
		return nil
	}
	msg := ve.BasicOutput().Error
	text := "invalid"
	if msg != nil {
		text = msg.String()
	}
	return []posMsg{{at, prefix + text}}
}

// inRedFlag reports whether loc is one entry of red_flags.
func inRedFlag(loc []string) bool {
	return len(loc) == 2 && loc[0] == "red_flags"
}
