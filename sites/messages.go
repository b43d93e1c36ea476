package sites

import (
	"io/fs"
	"path"
	"text/template"

	"github.com/khula-cop/khula/internal/messages"
)

// messagesFile is the shape of a site's message templates file.
type messagesFile struct {
	Templates map[string]map[string]MessageText `yaml:"templates"`
}

// loadMessages reads the site's templates, checking each names a known
// template, is in one of the site's languages and parses.
func (v *validator) loadMessages() {
	file := path.Join(v.site.Dir, v.site.MessagesFile)
	data, err := fs.ReadFile(v.fsys, file)
	if err != nil {
		return // reported by checkFileRef
	}
	var mf messagesFile
	root := v.decode(file, data, &mf)
	if root == nil {
		return
	}
	known := map[string]bool{}
	for _, n := range messages.Names() {
		known[n] = true
	}
	for name, byLang := range mf.Templates {
		if !known[name] {
			v.add(file, line(root, "templates", name), "template %q is not one khula sends (%v)", name, messages.Names())
			continue
		}
		for lang, t := range byLang {
			at := line(root, "templates", name, lang)
			if !v.hasLanguage(lang) {
				v.add(file, at, "template %q has text in %q, which is not one of the site's languages", name, lang)
			}
			if t.Subject == "" || t.Body == "" {
				v.add(file, at, "template %q in %q needs both subject and body", name, lang)
			}
			for _, src := range []string{t.Subject, t.Body} {
				if _, err := template.New(name).Option("missingkey=error").Parse(src); err != nil {
					v.add(file, at, "template %q in %q does not parse: %v", name, lang, err)
				}
			}
		}
	}
	v.site.Messages = mf.Templates
}
