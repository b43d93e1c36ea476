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
Bad rows are reported with their line number on stderr and written with
empty z-scores. The WHO tables come from --reference, $KHULA_WHO_GROWTH_DIR,
or ../shared/data/who-growth.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := refDir
			if dir == "" {
				dir = envOr(growth.EnvDir, "../shared/data/who-growth")
			}
			refs, err := growth.LoadReferences(dir)
			if err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("%w (WHO publishes the tables with its anthro and anthroplus software; point --reference at them)", err)}
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
	cmd.Flags().StringVar(&refDir, "reference", "", "directory of WHO reference tables")
	cmd.Flags().StringVar(&in, "csv", "-", "input CSV (- for stdin)")
	cmd.Flags().StringVar(&out, "out", "-", "output CSV (- for stdout)")
	return cmd
}
