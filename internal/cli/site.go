package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/sitecheck"
	"github.com/khula-cop/khula/sites"
)

// SitePluginCheck, when set, checks that a site's plugins start and answer
// the handshake; `khula site validate` reports what it returns.
var SitePluginCheck func(site *sites.Site, dir string) []error

func newSiteCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "site",
		Short: "Check or scaffold site configurations (sites/<site>/)",
	}
	cmd.AddCommand(newSiteValidateCmd(g), newSiteInitCmd(g))
	return cmd
}

func newSiteValidateCmd(g *globals) *cobra.Command {
	var deploy bool
	cmd := &cobra.Command{
		Use:   "validate [DIR...]",
		Short: "Check sites: schema, references, instrument and its risk rules, plugins; every problem listed",
		Long: `validate checks one site folder (sites/moutse) or every site in a sites
directory (default ./sites): the site file against its schema and rules, the
files it names (services, instrument variant, message templates), that the
instrument loads and every domain has risk rules, and that its plugins start,
answer the handshake and accept their settings. It lists every problem with
file and line and exits 1 if there is any.

The plugins' settings name environment variables of the deployment (the
mail relay, the export directory, tokens). Without --deploy, those that are
not set get stand-ins of the right shape for the check and are listed as
needed at deployment; with --deploy (or at khula worker's start-up) they must
be set and are checked as they are.

Values that are obviously placeholders (TODO, FIXME, TBD, CHANGEME, xxx, an
address or URL on example.org/.com/.net, .example, .invalid or .test) are warnings,
with file and line: the shipped demo sites use example.org on purpose. With
--deploy they are problems: a deployment must not mail example.org.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"sites"}
			}
			bad := 0
			for _, dir := range args {
				bad += validateSites(g, dir, deploy)
			}
			if bad > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d site(s) have problems", bad)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&deploy, "deploy", false, "check for a deployment: the plugins with this environment only (the deployment's variables must be set), and no placeholder values (TODO, example.org, …)")
	return cmd
}

// validateSites checks a site folder or a folder of sites and returns how
// many failed; deploy checks the plugins without stand-ins.
func validateSites(g *globals, dir string, deploy bool) int {
	st, err := os.Stat(dir)
	if err != nil {
		fmt.Fprintf(g.stderr, "%s: %v\n", dir, err)
		return 1
	}
	if !st.IsDir() {
		fmt.Fprintf(g.stderr, "%s: not a directory (give a site folder or a folder of sites)\n", dir)
		return 1
	}
	root, names := dir, []string{}
	if _, err := os.Stat(filepath.Join(dir, sites.SiteFile)); err == nil {
		root, names = filepath.Dir(filepath.Clean(dir)), []string{filepath.Base(filepath.Clean(dir))}
	} else {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), sites.SiteFile)); e.IsDir() && err == nil {
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(g.stderr, "%s: no site.yaml here or in its folders\n", dir)
			return 1
		}
	}
	fsys := os.DirFS(root)
	bad := 0
	for _, name := range names {
		res := validateSite(fsys, root, name, deploy)
		if len(res.problems) == 0 {
			fmt.Fprintf(g.stdout, "ok   %s: %s\n", name, res.summary)
			if len(res.needed) > 0 {
				fmt.Fprintf(g.stdout, "     needs at deployment: $%s (checked with stand-ins; khula site validate --deploy checks them as set)\n", strings.Join(res.needed, ", $"))
			}
			for _, w := range res.warnings {
				fmt.Fprintf(g.stdout, "     warning: %s\n", w)
			}
			continue
		}
		bad++
		fmt.Fprintf(g.stdout, "FAIL %s: %d problem(s)\n", name, len(res.problems))
		for _, p := range res.problems {
			fmt.Fprintf(g.stdout, "  %s\n", p)
		}
		for _, w := range res.warnings {
			fmt.Fprintf(g.stdout, "  warning: %s\n", w)
		}
	}
	return bad
}

// siteResult is the outcome of checking one site.
type siteResult struct {
	// problems fail the site, each with file and line where known.
	problems []string
	// warnings do not: the placeholders a demo may keep (without deploy).
	warnings []string
	// summary describes a site without problems.
	summary string
	// needed lists the deployment variables the plugins' check ran with
	// stand-ins for (none with deploy).
	needed []string
}

// validateSite checks one site of fsys, a sites folder that is root on
// disk. deploy checks the plugins without stand-ins and refuses
// placeholders (sites.Placeholders), which are otherwise warnings.
func validateSite(fsys fs.FS, root, name string, deploy bool) (res siteResult) {
	site, err := sites.Load(fsys, name)
	if err != nil {
		var se *sites.Error
		if errors.As(err, &se) {
			for _, p := range se.Problems {
				p.File = filepath.Join(root, p.File)
				res.problems = append(res.problems, p.String())
			}
			return res
		}
		res.problems = []string{err.Error()}
		return res
	}
	in, err := instrument.Load(fsys, filepath.ToSlash(filepath.Join(name, site.InstrumentFile)), instruments.FS)
	if err != nil {
		var le *instrument.LoadError
		if errors.As(err, &le) {
			for _, p := range le.Problems {
				res.problems = append(res.problems, fmt.Sprintf("%s:%d: %s", filepath.Join(root, p.File), p.Line, p.Message))
			}
		} else {
			res.problems = append(res.problems, err.Error())
		}
	} else {
		// Every red flag's urgent referral must reach a service at every school.
		res.problems = append(res.problems, sitecheck.Routes(site, in)...)
	}
	for _, p := range sites.Placeholders(fsys, site) {
		p.File = filepath.Join(root, p.File)
		if deploy {
			res.problems = append(res.problems, p.String()+": "+sites.PlaceholderRefused)
		} else {
			res.warnings = append(res.warnings, p.String()+": "+sites.PlaceholderWarning)
		}
	}
	if SitePluginCheck != nil {
		check := func() {
			for _, e := range SitePluginCheck(site, filepath.Join(root, name)) {
				// At the plugin's entry in site.yaml, or the setting it names.
				p := sites.PluginProblem(fsys, site, e.Error())
				p.File = filepath.Join(root, p.File)
				res.problems = append(res.problems, p.String())
			}
		}
		if deploy {
			check()
		} else {
			tmp, err := os.MkdirTemp("", "khula-validate-")
			if err != nil {
				res.problems = append(res.problems, err.Error())
				return res
			}
			defer os.RemoveAll(tmp)
			res.needed = withStandIns(deployVariables(site), tmp, check)
		}
	}
	if len(res.problems) > 0 {
		return res
	}
	res.summary = fmt.Sprintf("%d school(s), languages %s, instrument %s, referral plugin %s, notify plugin %s",
		len(site.Schools), strings.Join(site.Languages, "/"), in.Ref(), pluginName(site.Plugins.Referral), pluginName(site.Plugins.Notify))
	return res
}

func pluginName(p sites.PluginRef) string {
	if p.Builtin != "" {
		return p.Builtin + " (built in)"
	}
	return filepath.Base(p.Path)
}

var newSitePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

func newSiteInitCmd(g *globals) *cobra.Command {
	var from, dir, name string
	cmd := &cobra.Command{
		Use:   "init NEW --from SITE",
		Short: "Scaffold a new site folder from an existing one, with comments on what to fill in",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !newSitePattern.MatchString(id) {
				return &ExitError{Code: 2, Err: fmt.Errorf("site id %q must be lower-case letters, digits and '-', starting with a letter", id)}
			}
			target := filepath.Join(dir, id)
			if _, err := os.Stat(target); err == nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s exists already: choose another name or remove it", target)}
			}
			var srcFS fs.FS = sites.FS()
			if _, err := os.Stat(filepath.Join(dir, from, sites.SiteFile)); err == nil {
				srcFS = os.DirFS(dir)
			}
			src, err := sites.Load(srcFS, from)
			if err != nil {
				return fmt.Errorf("reading the site to copy (--from %s): %w", from, err)
			}
			if name == "" {
				name = strings.ToUpper(id[:1]) + id[1:] + " (new site)"
			}
			files, err := scaffold(srcFS, src, id, name)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			for fn, data := range files {
				if err := os.WriteFile(filepath.Join(target, fn), data, 0o644); err != nil {
					return err
				}
			}
			problems := validateSite(os.DirFS(dir), dir, id, false).problems
			if len(problems) > 0 {
				// Leave nothing half made behind.
				_ = os.RemoveAll(target)
				return fmt.Errorf("the scaffold does not validate (a bug in khula), so %s was removed:\n  %s", target, strings.Join(problems, "\n  "))
			}
			fmt.Fprintf(g.stdout, "created %s from %s. Next:\n", target, from)
			fmt.Fprintf(g.stdout, "  1. edit %s: every line marked TODO\n", filepath.Join(target, sites.SiteFile))
			fmt.Fprintf(g.stdout, "  2. list the services children are referred to in %s\n", filepath.Join(target, "services.yaml"))
			fmt.Fprintf(g.stdout, "  3. agree thresholds and local items in %s\n", filepath.Join(target, "instrument.yaml"))
			fmt.Fprintf(g.stdout, "  4. khula site validate %s\n", target)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "johannesburg", "site to copy durations, languages, plugins and services from")
	cmd.Flags().StringVar(&dir, "dir", "sites", "folder of sites to create the new one in")
	cmd.Flags().StringVar(&name, "name", "", "the site's display name")
	return cmd
}

// scaffold renders a new site's files from an existing site.
func scaffold(srcFS fs.FS, from *sites.Site, id, name string) (map[string][]byte, error) {
	src, err := fs.ReadFile(srcFS, filepath.ToSlash(filepath.Join(from.Dir, sites.SiteFile)))
	if err != nil {
		return nil, err
	}
	site, err := scaffoldSiteFile(src, from.ID, id, name)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{sites.SiteFile: site}
	services, err := fs.ReadFile(srcFS, filepath.ToSlash(filepath.Join(from.Dir, from.ServicesFile)))
	if err != nil {
		return nil, err
	}
	// Service school lists name the source site's schools: drop them so the
	// copy serves every school until the coordinator says otherwise.
	schoolList := regexp.MustCompile(`,? *schools: *\[[^\]]*\]`)
	services = schoolList.ReplaceAll(services, nil)
	files["services.yaml"] = append([]byte("# TODO: the services this site refers children to, copied from "+from.ID+": replace them.\n"), services...)
	files["instrument.yaml"] = []byte(fmt.Sprintf(`# The instrument %s uses: the base CWTT (instruments/cwtt.yaml) with this
# site's thresholds and items. Add only what differs; bump version on change.
extends: cwtt@2
id: cwtt-%s
version: 1.0.0
title: Child Well-being Tracking Tool (%s)
# TODO: thresholds agreed by the LLCoPs, e.g.
# parameters:
#   resilience_total_low: 34
`, id, id, strings.TrimSuffix(name, " (new site)")))
	if from.MessagesFile != "" {
		msgs, err := fs.ReadFile(srcFS, filepath.ToSlash(filepath.Join(from.Dir, from.MessagesFile)))
		if err != nil {
			return nil, err
		}
		files["messages.yaml"] = append([]byte("# Message templates copied from "+from.ID+": review them for this site.\n"), msgs...)
	}
	return files, nil
}
