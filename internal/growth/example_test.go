package growth_test

import (
	"fmt"
	"log"
	"os"

	"github.com/khula-cop/khula/internal/growth"
)

// A nurse measured a five-and-a-half-year-old girl (66 months).
func ExampleReferences_Compute() {
	refs, err := growth.LoadReferences(os.Getenv(growth.EnvDir))
	if err != nil {
		log.Fatal(err) // wraps growth.ErrNoTables when the tables are absent
	}
	res := refs.Compute(growth.Measurement{
		Sex:      growth.Female,
		AgeDays:  66 * growth.DaysPerMonth,
		WeightKg: 17.2,
		HeightCm: 108.5,
	})
	for _, z := range []growth.ZScore{res.HFA, res.WFA, res.BFA} {
		if !z.Computed {
			fmt.Printf("%s: %s\n", z.Indicator, z.Reason)
			continue
		}
		fmt.Printf("%s: %.2f (flagged %v, %s)\n", z.Indicator, z.Z, z.Flagged, z.Reference)
	}
}

// ProcessCSV backs `khula growth --csv IN --out OUT`.
func ExampleProcessCSV() {
	refs, err := growth.LoadReferences(os.Getenv(growth.EnvDir))
	if err != nil {
		log.Fatal(err)
	}
	in, err := os.Open("measurements.csv")
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	rep, err := growth.ProcessCSV(in, os.Stdout, refs)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range rep.Errors {
		fmt.Fprintln(os.Stderr, e)
	}
	fmt.Fprintf(os.Stderr, "%d rows, %d with errors\n", rep.Rows, rep.RowsWithErrors)
}
