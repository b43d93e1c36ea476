// Package sitecheck runs the checks `khula site validate` runs on one site
// (the site file against its schema and rules, the files it names, the
// instrument and its risk rules, where its red flags and rules refer
// children against the site's services, optionally the plugins' handshake) and
// adds the readiness warnings a coordinator wants before go-live: labels
// missing in a site language, schools a service type does not reach, and
// placeholder values (TODO, example.org addresses) a demo may keep but a
// deployment may not.
package sitecheck

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/sites"
)

// PluginCheck starts a site's plugins and reports what fails the handshake.
type PluginCheck func(site *sites.Site) []error

// Report is the outcome of checking one site.
type Report struct {
	Site string
	// Problems stop the site from running: each names file and line where
	// known (a plugin's problem: its entry in site.yaml, or the setting it
	// names).
	Problems []string
	// Warnings do not stop it but need a decision before go-live.
	Warnings []string
	// Summary describes a site without problems.
	Summary string
	// Plugins says whether the plugins' handshake was checked.
	PluginsChecked bool
}

// OK reports a site without problems.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Check checks the site in folder name of fsys.
func Check(fsys fs.FS, name string, plugins PluginCheck) Report {
	rep := Report{Site: name}
	site, err := sites.Load(fsys, name)
	if err != nil {
		var se *sites.Error
		if errors.As(err, &se) {
			for _, p := range se.Problems {
				rep.Problems = append(rep.Problems, p.String())
			}
		} else {
			rep.Problems = append(rep.Problems, err.Error())
		}
		return rep
	}
	in, err := instrument.Load(fsys, path.Join(name, site.InstrumentFile), instruments.FS)
	if err != nil {
		var le *instrument.LoadError
		if errors.As(err, &le) {
			for _, p := range le.Problems {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message))
			}
		} else {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	if in != nil {
		rep.Problems = append(rep.Problems, Routes(site, in)...)
	}
	if plugins != nil {
		rep.PluginsChecked = true
		for _, e := range plugins(site) {
			// At the plugin's entry in site.yaml, or the setting it names.
			rep.Problems = append(rep.Problems, sites.PluginProblem(fsys, site, e.Error()).String())
		}
	}
	if in != nil {
		for _, lang := range site.Languages {
			if missing := in.MissingLabels(lang); len(missing) > 0 && lang != in.Languages()[0] {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("language %s: %d label(s) fall back to %s (e.g. %s)",
					lang, len(missing), in.Languages()[0], strings.Join(missing[:min(3, len(missing))], ", ")))
			}
		}
	}
	for _, typ := range site.ServiceTypes() {
		var unserved []string
		for _, sc := range site.Schools {
			if len(site.ServicesFor(typ, sc.ID)) == 0 {
				unserved = append(unserved, sc.ID)
			}
		}
		if len(unserved) > 0 {
			sort.Strings(unserved)
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("service type %s reaches no service for school(s) %s: referrals of that type cannot be dispatched there",
				typ, strings.Join(unserved, ", ")))
		}
	}
	// A demo keeps its placeholders; khula site validate --deploy and a
	// deployment's check refuse them.
	for _, p := range sites.Placeholders(fsys, site) {
		rep.Warnings = append(rep.Warnings, p.String()+": "+sites.PlaceholderWarning)
	}
	if rep.OK() {
		inst := "?"
		if in != nil {
			inst = in.Ref().String()
		}
		rep.Summary = fmt.Sprintf("%d school(s), languages %s, instrument %s, referral plugin %s, notify plugin %s",
			len(site.Schools), strings.Join(site.Languages, "/"), inst, pluginName(site.Plugins.Referral), pluginName(site.Plugins.Notify))
	}
	return rep
}

func pluginName(p sites.PluginRef) string {
	if p.Builtin != "" {
		return p.Builtin + " (built in)"
	}
	return path.Base(p.Path)
}
