package sites

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const schemaURL = "https://khula.example.org/schemas/site.schema.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

func siteSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		data, err := Embedded.ReadFile(SchemaFile)
		if err == nil {
			var doc any
			if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(data)); err == nil {
				c := jsonschema.NewCompiler()
				c.DefaultDraft(jsonschema.Draft2020)
				if err = c.AddResource(schemaURL, doc); err == nil {
					schema, err = c.Compile(schemaURL)
				}
			}
		}
		if err != nil {
			schemaErr = fmt.Errorf("site schema: %w", err)
		}
	})
	return schema, schemaErr
}

// checkSchema validates site.yaml against the published schema. Problems on a
// line that already has one are left out: the loader's own message there is
// more specific.
func (v *validator) checkSchema(data []byte) {
	sch, err := siteSchema()
	if err != nil {
		v.add(v.file, 0, "%v", err)
		return
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return // reported by decode
	}
	err = sch.Validate(jsonCompatible(doc))
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return
	}
	taken := map[int]bool{}
	for _, p := range v.problems {
		if p.File == v.file {
			taken[p.Line] = true
		}
	}
	var leaves []*jsonschema.ValidationError
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	for _, leaf := range leaves {
		steps := make([]any, len(leaf.InstanceLocation))
		for i, s := range leaf.InstanceLocation {
			steps[i] = s
			if idx, err := strconv.Atoi(s); err == nil {
				steps[i] = idx
			}
		}
		at := line(v.root, steps...)
		if taken[at] {
			continue
		}
		taken[at] = true
		msg := "does not match the site schema"
		if out := leaf.BasicOutput().Error; out != nil {
			msg = out.String()
		}
		where := strings.Join(leaf.InstanceLocation, ".")
		if where != "" {
			where += ": "
		}
		v.add(v.file, at, "%s%s (sites/%s)", where, msg, SchemaFile)
	}
}

// jsonCompatible turns YAML-decoded maps into the map[string]any the schema validator expects.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonCompatible(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = jsonCompatible(e)
		}
		return t
	default:
		return v
	}
}
