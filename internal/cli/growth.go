package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/growth"
)

func newGrowthCmd(g *globals) *cobra.Command {
	var refDir, in, out string
	cmd := &cobra.Command{
		Use:   "growth [--reference DIR] [--csv IN] [--out OUT]",
		Short: "Add WHO growth z-scores (zhfa, zwfa, zbfa) and implausibility flags to a CSV",
		Long: `growth reads a CSV with columns sex (1 male, 2 female), agemons or agedays,
weight (kg) and height (cm), keeps every column and appends zhfa, zwfa, zbfa
(2 decimals, empty where undefined) and fhfa, fwfa, fbfa (1 = implausible).
An optional oedema column records bilateral pitting oedema (y/n, yes/no,
1/0, true/false; empty = not recorded): with oedema, zwfa and zbfa stay
empty, as in WHO's software. Bad rows are reported with their line number
on stderr and written with empty z-scores. The WHO tables are built in;
--reference or $KHULA_WHO_GROWTH_DIR reads another copy instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			refs, err := cliGrowthTables(refDir)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			var r io.Reader = g.stdin
			if in != "" && in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			var w io.Writer = g.stdout
			var outFile *os.File
			if out != "" && out != "-" {
				if outFile, err = os.Create(out); err != nil {
					return err
				}
				w = outFile
			}
			bw := bufio.NewWriter(w)
			rep, err := growth.ProcessCSV(r, bw, refs)
			if ferr := bw.Flush(); err == nil {
				err = ferr
			}
			if outFile != nil {
				if cerr := outFile.Close(); err == nil {
					err = cerr
				}
			}
			name := in
			if name == "" || name == "-" {
				name = "stdin"
			}
			for _, re := range rep.Errors {
				fmt.Fprintf(g.stderr, "%s:%d: %s\n", name, re.Line, re.Reason)
			}
			if err != nil {
				if errors.Is(err, growth.ErrMissingColumn) {
					return &ExitError{Code: 2, Err: fmt.Errorf("%s: %w", name, err)}
				}
				return err
			}
			fmt.Fprintf(g.stderr, "%d row(s) scored, %d with errors\n", rep.Rows, rep.RowsWithErrors)
			if rep.RowsWithErrors > 0 {
				return &ExitError{Code: 2}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&refDir, "reference", "", "directory of WHO reference tables to use instead of the built-in ones (default $KHULA_WHO_GROWTH_DIR, else built in)")
	cmd.Flags().StringVar(&in, "csv", "-", "input CSV (- for stdin)")
	cmd.Flags().StringVar(&out, "out", "-", "output CSV (- for stdout)")
	return cmd
}

// cliGrowthTables loads WHO's tables for a command: dir, else
// $KHULA_WHO_GROWTH_DIR, else the built-in tables. A directory that was
// asked for and fails to load is an error, never silently replaced.
func cliGrowthTables(dir string) (*growth.References, error) {
	if dir == "" {
		dir = os.Getenv(growth.EnvDir)
	}
	if dir == "" {
		return growth.LoadEmbedded()
	}
	refs, err := growth.LoadReferences(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (WHO publishes the tables with its anthro and anthroplus software; without --reference and $%s khula uses the built-in copy)", err, growth.EnvDir)
	}
	return refs, nil
}
