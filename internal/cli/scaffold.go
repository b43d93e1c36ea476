package cli

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scaffoldSiteFile makes a new site's site.yaml from its source's: every
// setting is kept (durations, retention, connectivity, ALCoP, the plugins
// and their settings, intake, break-the-glass), and what belongs to the
// source site alone is replaced and marked TODO: the id and name, the
// coordinator's and programme manager's contacts, and the schools, of which one
// stands in with the source's first school's LLCoP roles.
func scaffoldSiteFile(src []byte, fromID, id, name string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("reading %s's site.yaml: %w", fromID, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s's site.yaml is not a mapping", fromID)
	}
	root := doc.Content[0]
	doc.HeadComment = fmt.Sprintf("khula site configuration: %s.\nMade with \"khula site init %s --from %s\": every setting of %s is kept.\nLines marked TODO need the site coordinator's answer; check the result with\n\"khula site validate\". The schema, with a description of every key, is\nsites/site.schema.json.", name, id, fromID, fromID)
	root.HeadComment = ""
	if k := keyNode(root, "id"); k != nil {
		k.HeadComment = "" // the source site's description
	}
	setScalar(root, "id", id, "")
	setScalar(root, "name", name, "TODO: the name programme managers will see")
	if v := mapValue(root, "province"); v != nil {
		v.LineComment = "TODO"
	}
	for _, person := range []string{"coordinator", "programme_manager"} {
		if p := mapValue(root, person); p != nil {
			placeholderContact(p, person)
			p.HeadComment, p.LineComment = "", ""
			keyNode(root, person).HeadComment = "TODO: " + person + "'s job title and contact."
		}
	}
	if schools := mapValue(root, "schools"); schools != nil && schools.Kind == yaml.SequenceNode && len(schools.Content) > 0 {
		first := schools.Content[0]
		setScalar(first, "id", id+"-school-1", "TODO: a short id, e.g. the school's name in lower case")
		setScalar(first, "name", "School 1", "TODO")
		setScalar(first, "quintile", "1", "TODO: 1 to 5")
		if llcop := mapValue(first, "llcop"); llcop != nil {
			for i, m := range llcop.Content {
				placeholderContact(m, fmt.Sprintf("llcop-%d", i+1))
			}
		}
		schools.Content = schools.Content[:1]
		keyNode(root, "schools").HeadComment = "TODO: one entry per school, with its Local Level CoP (copied from " + fromID + "'s first\nschool). Name people by job title only; mark the designated safeguarding social worker."
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// mapValue is the value of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if k := keyNode(m, key); k != nil {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i] == k {
				return m.Content[i+1]
			}
		}
	}
	return nil
}

// keyNode is the key node of key in a mapping node, or nil.
func keyNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

// setScalar sets (or adds) key to a scalar value with a line comment.
func setScalar(m *yaml.Node, key, value, comment string) {
	if v := mapValue(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Style, v.Content = yaml.ScalarNode, "", value, 0, nil
		v.LineComment = comment
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Value: value, LineComment: comment})
}

// placeholderContact replaces a person's e-mail address with a placeholder
// of the new site (other channels keep their address, marked TODO).
func placeholderContact(person *yaml.Node, who string) {
	c := mapValue(person, "contact")
	if c == nil {
		return
	}
	addr := mapValue(c, "address")
	if addr == nil {
		return
	}
	if ch := mapValue(c, "channel"); ch != nil && ch.Value == "email" {
		addr.Value = strings.ReplaceAll(who, "_", "-") + "@example.org"
	}
	person.LineComment = "TODO: contact"
}
