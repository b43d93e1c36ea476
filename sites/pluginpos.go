package sites

import (
	"io/fs"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pluginRolePattern finds the plugin role a plugin problem is about: the
// plugin host names it in every message ("notify plugin \"smtp\" of site
// …", "refusing to run the referral plugin of site …", "site.yaml
// plugins.export …").
var pluginRolePattern = regexp.MustCompile(`\b(referral|notify|export|intake) plugin\b|\bplugins\.(referral|notify|export|intake)\b`)

// configRejected separates the host's account of a plugin that refused its
// settings from the plugin's own words, which name the setting.
const configRejected = "rejected its configuration: "

// PluginProblem places a problem the plugin check reported for site (a
// plugin that did not start, failed its handshake or refused its settings
// in its own checks) in site.yaml, like the loader's problems: at the
// setting the message names (smtp.addr_env, form_id, the variable of a
// `…_env` key), else at the plugin's entry under plugins, else at plugins.
// Its File is relative to fsys, as Load's problems are.
func PluginProblem(fsys fs.FS, site *Site, msg string) Problem {
	file := path.Join(site.Dir, SiteFile)
	p := Problem{File: file, Message: msg}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return p
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return p
	}
	root := doc.Content[0]
	plugins := mappingEntry(root, "plugins")
	if plugins == nil {
		return p
	}
	p.Line = plugins.key.Line
	scope, prefix := plugins.value, "plugins"
	if m := pluginRolePattern.FindStringSubmatch(msg); m != nil {
		role := m[1] + m[2]
		if e := mappingEntry(plugins.value, role); e != nil {
			p.Line = e.key.Line
			scope, prefix = e.value, "plugins."+role
		}
	}
	// The plugin's own words follow the host's account; search those only,
	// and without what they quote, so that a plugin's name ("smtp") or a
	// refused value is not taken for a setting.
	words := msg
	if i := strings.LastIndex(msg, configRejected); i >= 0 {
		words = msg[i+len(configRejected):]
	}
	named := map[string]bool{}
	for _, t := range nameToken.FindAllString(quoted.ReplaceAllString(words, " "), -1) {
		named[t] = true
	}
	best, bestLen := 0, 0
	walkKeys(scope, prefix, func(key, value *yaml.Node, full string) {
		// A setting is named from the top of the file (plugins.notify.sha256)
		// or relative to its plugin (smtp.from, sha256), whole or as the
		// end of a longer name (addr_env in the message's smtp.addr_env).
		names := []string{full}
		if i := strings.Index(full, ".config."); i >= 0 {
			names = append(names, full[i+len(".config."):])
		} else if last := full[strings.LastIndex(full, ".")+1:]; prefix != "plugins" && last != "config" {
			// builtin, path, sha256; not config, which messages say of
			// any setting ("the plugin config has no smtp settings").
			names = append(names, last)
		}
		for _, name := range names {
			if len(name) > bestLen && mentions(named, name) {
				best, bestLen = key.Line, len(name)
			}
		}
		// Else the environment variable a `…_env` setting names.
		if best == 0 && strings.HasSuffix(key.Value, "_env") && value.Kind == yaml.ScalarNode && named[value.Value] {
			best = key.Line
		}
	})
	if best > 0 {
		p.Line = best
	}
	return p
}

var (
	// nameToken is a name in a message: a setting (smtp.addr_env), a
	// variable (KHULA_SMTP_ADDR), a word.
	nameToken = regexp.MustCompile(`[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*`)
	// quoted is a quoted value in a message.
	quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// mentions reports whether a message's names hold name, whole or as the end
// of a dotted name.
func mentions(named map[string]bool, name string) bool {
	if named[name] {
		return true
	}
	for t := range named {
		if strings.HasSuffix(t, "."+name) {
			return true
		}
	}
	return false
}

// entry is a key of a mapping and its value.
type entry struct{ key, value *yaml.Node }

// mappingEntry finds key in mapping node m.
func mappingEntry(m *yaml.Node, key string) *entry {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return &entry{m.Content[i], m.Content[i+1]}
		}
	}
	return nil
}

// walkKeys calls fn with every mapping key under n, its value and its path
// of keys joined by dots (sequences add no step: "config.chws.id").
func walkKeys(n *yaml.Node, at string, fn func(key, value *yaml.Node, path string)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if at != "" {
				p = at + "." + p
			}
			fn(n.Content[i], n.Content[i+1], p)
			walkKeys(n.Content[i+1], p, fn)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			walkKeys(c, at, fn)
		}
	}
}
