package sites

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // site time zones must resolve in a static image without zoneinfo

	"go.yaml.in/yaml/v3"
)

// SiteFile is the name of a site's main configuration file.
const SiteFile = "site.yaml"

// Problem is one thing wrong with a site's files, located by file and line.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Error lists every problem found in a site, not just the first.
type Error struct {
	Site     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "site %s has %d problem(s):", e.Site, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Known values for closed vocabularies in site files.
var (
	knownLanguages   = set("en", "zu", "xh", "st", "tn", "nso", "nr", "ts", "ss", "ve", "af")
	knownRespondents = set("caregiver", "child", "teacher", "nurse")
	knownRoles       = set(RoleSocialWorker, RoleTeacher, RoleNurse, RoleFieldworker, RoleSiteCoordinator, RoleProgrammeManager)
	knownChannels    = set("email", "webhook", "sms", "whatsapp", "log")
	knownDomains     = set("health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver")
	knownBuiltins    = map[string][]string{
		"referral": {"directory", "outreach"},
		"notify":   {"log", "webhook", "smtp"},
		"export":   {"dhis2", "csv"},
		"intake":   {"odk-central", "kobo"},
	}
	knownWeekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
		"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	clockPattern  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func set(vals ...string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func keys(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// LoadAll loads every folder of fsys that holds a site.yaml, sorted by ID.
// It returns every site that loaded and an error joining the failures.
func LoadAll(fsys fs.FS) ([]*Site, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("listing sites: %w", err)
	}
	var out []*Site
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(fsys, path.Join(e.Name(), SiteFile)); err != nil {
			continue
		}
		s, err := Load(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 && len(errs) == 0 {
		return nil, errors.New("no sites found: expected folders holding a site.yaml")
	}
	return out, errors.Join(errs...)
}

// Load reads and checks the site in folder dir of fsys.
func Load(fsys fs.FS, dir string) (*Site, error) {
	c := &checker{site: dir}
	file := path.Join(dir, SiteFile)
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("loading site %q: %w", dir, err)
	}
	var s Site
	root := c.decode(file, data, &s)
	if root == nil {
		return nil, c.err()
	}
	s.Dir = dir
	v := &validator{checker: c, file: file, root: root, fsys: fsys, site: &s}
	v.check()
	v.checkSchema(data)
	if s.ServicesFile != "" {
		v.loadServices()
	}
	if s.MessagesFile != "" {
		v.loadMessages()
	}
	if len(c.problems) > 0 {
		return nil, c.err()
	}
	return &s, nil
}

type checker struct {
	site     string
	problems []Problem
	// decodeErrs marks file:line positions that already failed to decode, so
	// the checks that follow do not pile a second problem on the same value.
	decodeErrs map[string]bool
}

func (c *checker) add(file string, line int, format string, args ...any) {
	if c.decodeErrs[fmt.Sprintf("%s:%d", file, line)] {
		return
	}
	c.problems = append(c.problems, Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	sort.SliceStable(c.problems, func(i, j int) bool {
		if c.problems[i].File != c.problems[j].File {
			return c.problems[i].File < c.problems[j].File
		}
		return c.problems[i].Line < c.problems[j].Line
	})
	return &Error{Site: c.site, Problems: c.problems}
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// decode parses data strictly into out, recording every unknown key and type
// error with its line. It returns the document's root mapping node, or nil
// when the file could not be parsed at all.
func (c *checker) decode(file string, data []byte, out any) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		c.addYAMLError(file, err)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		c.add(file, 1, "the file must be a YAML mapping (key: value lines)")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		c.addYAMLError(file, err)
	}
	return doc.Content[0]
}

func (c *checker) addYAMLError(file string, err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, msg := range te.Errors {
			c.addYAMLMessage(file, msg)
		}
		return
	}
	c.addYAMLMessage(file, strings.TrimPrefix(err.Error(), "yaml: "))
}

func (c *checker) addYAMLMessage(file, msg string) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		text := m[2]
		if strings.Contains(text, "not found in type") {
			text = fmt.Sprintf("unknown key %s: check its spelling and indentation", strings.Fields(text)[1])
		}
		c.add(file, line, "%s", text)
		if c.decodeErrs == nil {
			c.decodeErrs = map[string]bool{}
		}
		c.decodeErrs[fmt.Sprintf("%s:%d", file, line)] = true
		return
	}
	c.add(file, 0, "%s", msg)
}

// node finds the node at a path of mapping keys (string) and sequence
// indexes (int); it returns the deepest node found so a problem still gets a
// nearby line when the exact key is absent.
func node(root *yaml.Node, steps ...any) *yaml.Node {
	cur := root
	for _, step := range steps {
		switch s := step.(type) {
		case string:
			if cur.Kind != yaml.MappingNode {
				return cur
			}
			found := false
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == s {
					cur = cur.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return cur
			}
		case int:
			if cur.Kind != yaml.SequenceNode || s >= len(cur.Content) {
				return cur
			}
			cur = cur.Content[s]
		}
	}
	return cur
}

func line(root *yaml.Node, steps ...any) int { return node(root, steps...).Line }

// BuiltinPlugins lists, per plugin role, the built-in plugin names a site
// file may name. plugins/builtin's test ties it to the plugins it ships.
func BuiltinPlugins() map[string][]string {
	out := make(map[string][]string, len(knownBuiltins))
	for role, names := range knownBuiltins {
		out[role] = append([]string(nil), names...)
	}
	return out
}
