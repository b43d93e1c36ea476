package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/sitedir"
)

// scoreInput is the file `khula score` reads.
type scoreInput struct {
	Child struct {
		Sex string `json:"sex"`
		DOB string `json:"dob"`
	} `json:"child"`
	AssessedOn string             `json:"assessed_on"`
	Answers    instrument.Answers `json:"answers"`
}

func newScoreCmd(g *globals) *cobra.Command {
	var siteID, respondent, sitesDir, refDir string
	cmd := &cobra.Command{
		Use:   "score --site SITE [--respondent R] FILE|-",
		Short: "Score one answer set with a site's instrument and print scales, domains, flags and growth as JSON",
		Long: `score reads {"child": {"sex": "male"|"female", "dob": "YYYY-MM-DD"},
"assessed_on": "YYYY-MM-DD", "answers": {ITEM: VALUE, ...}} and prints the
score as JSON. An answer set that breaks the instrument exits 2 with every
error on stderr, and nothing is scored.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if siteID == "" {
				return &ExitError{Code: 2, Err: errors.New("--site is required")}
			}
			name := args[0]
			var data []byte
			var err error
			if name == "-" {
				name = "stdin"
				data, err = io.ReadAll(io.LimitReader(g.stdin, 16<<20))
			} else {
				data, err = os.ReadFile(name)
			}
			if err != nil {
				return err
			}
			var in scoreInput
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s: %v", name, err)}
			}
			subject, problems := subjectOf(in)
			dir, err := sitedir.Load(sitesDir)
			if err != nil {
				return err
			}
			site, ok := dir.Site(siteID)
			if !ok {
				return &ExitError{Code: 2, Err: fmt.Errorf("no site %q (sites from %s)", siteID, dir.Source)}
			}
			refs, err := cliGrowthTables(refDir)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			reg, err := scoring.New(dir.Sites(), dir.FS, refs)
			if err != nil {
				return err
			}
			ref, _ := reg.SiteInstrument(site.ID)
			inst, _ := reg.Instrument(ref)
			var respondents []string
			if respondent != "" {
				respondents = []string{respondent}
			}
			if err := inst.ValidateAll(in.Answers, respondents); err != nil {
				var ve *instrument.ValidationError
				if errors.As(err, &ve) {
					for _, fe := range ve.Errors {
						problems = append(problems, fmt.Sprintf("%s: %s: %s", fe.Item, fe.Code, fe.Message))
					}
				} else {
					problems = append(problems, err.Error())
				}
			}
			if len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintf(g.stderr, "%s: %s\n", name, p)
				}
				return &ExitError{Code: 2, Err: fmt.Errorf("%s: %d problem(s); nothing was scored", name, len(problems))}
			}
			res, err := inst.Score(subject, in.Answers, reg.GrowthCalculator(in.Answers))
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	cmd.Flags().StringVar(&siteID, "site", "", "site whose instrument scores the answers (required)")
	cmd.Flags().StringVar(&respondent, "respondent", "", "check required items for this respondent only (default: the respondents whose items are answered)")
	cmd.Flags().StringVar(&sitesDir, "sites-dir", envOr("KHULA_SITES_DIR", ""), "site configurations (default ./sites, else the built-in ones)")
	cmd.Flags().StringVar(&refDir, "growth-dir", "", "directory of WHO growth reference tables to use instead of the built-in ones (default $KHULA_WHO_GROWTH_DIR, else built in)")
	return cmd
}

func subjectOf(in scoreInput) (instrument.Subject, []string) {
	var problems []string
	s := instrument.Subject{Sex: in.Child.Sex}
	if in.Child.Sex != instrument.SexMale && in.Child.Sex != instrument.SexFemale {
		problems = append(problems, `child.sex: must be "male" or "female"`)
	}
	var err error
	if s.DOB, err = time.Parse(time.DateOnly, in.Child.DOB); err != nil {
		problems = append(problems, "child.dob: must be a date YYYY-MM-DD")
	}
	if s.AssessedOn, err = time.Parse(time.DateOnly, in.AssessedOn); err != nil {
		problems = append(problems, "assessed_on: must be a date YYYY-MM-DD")
	} else if !s.DOB.IsZero() && s.AssessedOn.Before(s.DOB) {
		problems = append(problems, "assessed_on: is before the child's date of birth")
	}
	if in.Answers == nil {
		problems = append(problems, "answers: required")
	}
	return s, problems
}
