package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/odkform"
	"github.com/khula-cop/khula/internal/sitedir"
)

func newInstrumentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "instrument",
		Short: "Write a site's effective instrument as an ODK form (XLSForm or XForm)",
	}
	cmd.AddCommand(
		newODKFormCmd(g, "xlsform", "XLSForm workbook (.xlsx) for ODK Central, pyxform or Kobo", odkform.WriteXLSForm),
		newODKFormCmd(g, "xform", "ODK XForm 1.0 document (.xml)", odkform.WriteXForm),
	)
	return cmd
}

func newODKFormCmd(g *globals, name, what string, write func(io.Writer, *odkform.Form) error) *cobra.Command {
	var siteID, out, sitesDir string
	var force bool
	outHelp := "file to write (required)"
	if name == "xform" {
		outHelp = "file to write, or - for standard output (required)"
	}
	cmd := &cobra.Command{
		Use:   name + " --site SITE --out FILE",
		Short: "Write the site's instrument as an " + what,
		Long: name + ` writes the site's effective instrument (its variant merged onto the
base) as an ` + what + `: one form for every respondent, with the
fields cycle_ref, phase and respondent, a group per respondent named by the
respondent and a field per item named by the item id (see package
internal/odkform for the contract the ODK intake relies on). The file is
written to a temporary file next to it and renamed; an existing file is
replaced only with --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case siteID == "":
				return &ExitError{Code: 2, Err: errors.New("--site is required")}
			case out == "":
				return &ExitError{Code: 2, Err: errors.New("--out FILE is required")}
			case out == "-" && name != "xform":
				return &ExitError{Code: 2, Err: errors.New("--out -: an XLSForm is a binary workbook; give a file name (e.g. --out " + siteID + ".xlsx)")}
			}
			if out != "-" {
				if st, err := os.Stat(out); err == nil {
					if st.IsDir() {
						return &ExitError{Code: 2, Err: fmt.Errorf("--out %s is a directory: give a file name", out)}
					}
					if !force {
						return &ExitError{Code: 1, Err: fmt.Errorf("%s exists: give --force to replace it", out)}
					}
				}
			}
			dir, err := sitedir.Load(sitesDir)
			if err != nil {
				return err
			}
			site, ok := dir.Site(siteID)
			if !ok {
				return &ExitError{Code: 2, Err: fmt.Errorf("no site %q (the sites are %s; sites from %s)", siteID, siteNames(dir.Sites()), dir.Source)}
			}
			in, err := instrument.Load(dir.FS, path.Join(site.Dir, site.InstrumentFile), instruments.FS)
			if err != nil {
				return fmt.Errorf("loading the instrument of %s: %w", site.ID, err)
			}
			form, err := odkform.Build(in, site)
			if err != nil {
				return err
			}
			status := g.stdout
			if out == "-" {
				if err := write(g.stdout, form); err != nil {
					return err
				}
				status = g.stderr
			} else if err := writeFileAtomically(out, func(w io.Writer) error { return write(w, form) }); err != nil {
				return err
			}
			dest := out
			if out == "-" {
				dest = "standard output"
			}
			kind := map[string]string{"xlsform": "XLSForm", "xform": "XForm"}[name]
			fmt.Fprintf(status, "wrote %s: %s %s version %s (instrument %s), %d questions, languages %s\n",
				dest, kind, form.ID, form.Version, in.Ref(), form.Fields(), strings.Join(form.LanguageNames(), ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&siteID, "site", "", "site whose instrument to write (required)")
	cmd.Flags().StringVar(&out, "out", "", outHelp)
	cmd.Flags().StringVar(&sitesDir, "sites-dir", envOr("KHULA_SITES_DIR", ""), "site configurations (default ./sites, else the built-in ones)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the file if it exists")
	return cmd
}

// writeFileAtomically writes through a temporary file in the same folder
// and renames it, so a failed write leaves no half file behind.
func writeFileAtomically(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
