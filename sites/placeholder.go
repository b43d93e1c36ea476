package sites

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The markers below are the one list of what counts as a placeholder in a
// site folder. A value holding one is a value nobody has filled in yet: a
// demo may keep it, a deployment must not (see Placeholders).

// placeholderCapsWords are editors' "fill this in later" markers. Written
// in capitals they are a placeholder wherever they stand as a word of a
// value ("TODO: the clinic's address", "Dr TBD", "TODO_ADDRESS"): nobody
// writes these words in capitals in a real name, title or address. In any
// other case they count only as the whole value (placeholderWholeValues):
// in lower case they are also parts of real names and prose ("Todo list
// app", the mailbox todos@school.za), which must pass.
var placeholderCapsWords = []string{
	// The usual marker; khula site init marks what to fill in with it.
	"TODO",
	// A value known to be wrong, left to correct.
	"FIXME",
	// "To be decided", "to be announced".
	"TBD", "TBA",
	// The settings and secrets of templates that say to change them.
	"CHANGEME", "CHANGE_ME", "CHANGE-ME", "CHANGE ME",
	"REPLACEME", "REPLACE_ME", "REPLACE-ME", "REPLACE ME",
}

// placeholderWholeValues are placeholders in any case when they are the
// whole value (after trimming spaces and punctuation, as in "TODO:" or
// "<todo>"): a field whose entire content is "todo" or "tbd" was not filled
// in, whatever its case.
var placeholderWholeValues = []string{
	"todo", "fixme", "tbd", "tba",
	"changeme", "change me", "replaceme", "replace me",
	// "To be confirmed": only as the whole value, since TBC is also
	// tuberculosis in some languages, which a service's name may say.
	"tbc",
	// Says so itself.
	"placeholder",
}

// placeholderXRun is a word of three or more x's in any case ("xxx",
// "XXXX", the "082 xxx xxxx" phone number, "xxx@school.za"): a run of x's
// stands in for a value in every template; no real word is made of x's
// only. A word is bounded by anything but letters and digits, so x's that
// end a word or number ("12xxx", "Bxxx") do not count.
var placeholderXRun = regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])(x{3,})(?:[^\p{L}\p{N}]|$)`)

// placeholderLorem is the filler text of layouts, anywhere in a value.
var placeholderLorem = regexp.MustCompile(`(?i)\blorem ipsum\b`)

// placeholderAngle is a whole value in angle brackets, the usual "put yours
// here" of documentation: "<coordinator's e-mail>", "<SITE_NAME>".
var placeholderAngle = regexp.MustCompile(`^<[^<>]+>$`)

// reservedDomains are the second-level names RFC 2606 reserves for
// documentation: a mail address or URL on them, or on a host under them
// (central.example.org), reaches nobody. The shipped demo sites use
// example.org on purpose.
var reservedDomains = []string{"example.org", "example.com", "example.net"}

// reservedTLDs are the top-level names RFC 2606 and RFC 6761 reserve so
// that they never resolve: ".example" for documentation, ".invalid" for
// names that must fail, ".test" for testing. ".localhost" is left out on
// purpose: a plugin may rightly talk to a sidecar on the worker's own host.
var reservedTLDs = []string{".example", ".invalid", ".test"}

// hostPattern finds host names in a value: labels of letters, digits and
// '-' joined by dots (the host of a URL, the domain of a mail address).
var hostPattern = regexp.MustCompile(`(?i)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+`)

// Placeholder reports whether value is an obvious placeholder, and the
// marker that makes it one (TODO, xxx, example.org, .invalid, …). The
// markers are listed, each with why it is there, next to this function.
func Placeholder(value string) (marker string, ok bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", false
	}
	for _, w := range placeholderCapsWords {
		if containsWord(v, w) {
			return w, true
		}
	}
	trimmed := strings.ToLower(strings.TrimFunc(v, func(r rune) bool { return strings.ContainsRune(" \t.,:;!?*_-<>[](){}\"'", r) }))
	for _, w := range placeholderWholeValues {
		if trimmed == w {
			return trimmed, true
		}
	}
	if m := placeholderXRun.FindStringSubmatch(v); m != nil {
		return m[1], true
	}
	if m := placeholderLorem.FindString(v); m != "" {
		return m, true
	}
	if placeholderAngle.MatchString(v) {
		return v, true
	}
	for _, loc := range hostPattern.FindAllStringIndex(v, -1) {
		start, end := loc[0], loc[1]
		if start > 0 && strings.ContainsRune(".-_", rune(v[start-1])) {
			continue // the tail of something that is not a host name
		}
		if end < len(v) && (v[end] == '@' || v[end] == '_') {
			continue // a mailbox's own name (a.example@school.za), not its domain
		}
		host := strings.ToLower(v[start:end])
		for _, d := range reservedDomains {
			if host == d || strings.HasSuffix(host, "."+d) {
				return d, true
			}
		}
		for _, tld := range reservedTLDs {
			if strings.HasSuffix(host, tld) {
				return tld, true
			}
		}
	}
	return "", false
}

// containsWord reports whether w occurs in s with no letter or digit
// directly before or after it (case-sensitive).
func containsWord(s, w string) bool {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		at := i + j
		before, _ := utf8.DecodeLastRuneInString(s[:at])
		after, _ := utf8.DecodeRuneInString(s[at+len(w):])
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		i = at + 1
	}
	return false
}

// isWordRune reports whether r is a letter or digit; utf8.RuneError (no
// rune: the start or end of the value) is not.
func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// Notes a caller appends to a placeholder's problem, by whether a demo is
// allowed to keep it.
const (
	// PlaceholderWarning ends the warning plain `khula site validate` prints.
	PlaceholderWarning = "fine for a demo, refused with --deploy"
	// PlaceholderRefused ends the problem of a deployment (`khula site
	// validate --deploy`, sitedir.Directory.CheckDeployment).
	PlaceholderRefused = "replace it with the real value before deployment"
)

// Placeholders lists every value in the site's files (site.yaml and the
// services, messages and instrument files it names) that Placeholder calls
// a placeholder, each at its file and line with the value's path in the
// file ("coordinator.contact.address is a placeholder (example.org)"). It
// does not say whether that is acceptable: a demo keeps them, a deployment
// refuses them (PlaceholderWarning, PlaceholderRefused). Files that do not
// parse are skipped: Load reports them.
func Placeholders(fsys fs.FS, site *Site) []Problem {
	var out []Problem
	seen := map[string]bool{}
	for _, name := range []string{SiteFile, site.ServicesFile, site.MessagesFile, site.InstrumentFile} {
		if name == "" || !fs.ValidPath(name) || seen[name] {
			continue
		}
		seen[name] = true
		file := path.Join(site.Dir, name)
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			continue
		}
		walkValues(doc.Content[0], "", func(n *yaml.Node, at string) {
			if marker, ok := Placeholder(n.Value); ok {
				if at == "" {
					at = "the value"
				}
				out = append(out, Problem{File: file, Line: n.Line, Message: fmt.Sprintf("%s is a placeholder (%s)", at, marker)})
			}
		})
	}
	return out
}

// walkValues calls fn with every scalar value under n (not the mapping
// keys) and its path: mapping keys joined by dots, sequence indexes in
// brackets ("schools[0].llcop[1].contact.address").
func walkValues(n *yaml.Node, at string, fn func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.ScalarNode:
		fn(n, at)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if at != "" {
				key = at + "." + key
			}
			walkValues(n.Content[i+1], key, fn)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkValues(c, fmt.Sprintf("%s[%d]", at, i), fn)
		}
	}
}
