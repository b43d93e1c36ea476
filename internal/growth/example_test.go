package growth_test

import (
	"fmt"
	"log"
	"os"

	"github.com/khula-cop/khula/internal/growth"
)

// A nurse measured a five-and-a-half-year-old girl (66 months).
func ExampleReferences_Compute() {
	refs, err := growth.LoadEmbedded() // or growth.LoadReferences(dir) for another copy
	if err != nil {
		log.Fatal(err)
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
	// Output:
	// hfa: -0.74 (flagged false, WHO 2007 reference)
	// wfa: -0.75 (flagged false, WHO 2007 reference)
	// bfa: -0.44 (flagged false, WHO 2007 reference)
}

// The nurse recorded bilateral pitting oedema: the child's weight is not
// what it seems, so only height-for-age is scored.
func ExampleMeasurement_oedema() {
	refs, err := growth.LoadEmbedded()
	if err != nil {
		log.Fatal(err)
	}
	res := refs.Compute(growth.Measurement{
		Sex:      growth.Male,
		AgeDays:  100 * growth.DaysPerMonth,
		WeightKg: 26.3,
		HeightCm: 130,
		Oedema:   true,
	})
	for _, z := range []growth.ZScore{res.HFA, res.WFA, res.BFA} {
		if !z.Computed {
			fmt.Printf("%s: %s\n", z.Indicator, z.Reason)
			continue
		}
		fmt.Printf("%s: %.2f\n", z.Indicator, z.Z)
	}
	// Output:
	// hfa: 0.17
	// wfa: not computed: oedema present
	// bfa: not computed: oedema present
}

// ProcessCSV backs `khula growth --csv IN --out OUT`.
func ExampleProcessCSV() {
	refs, err := growth.LoadEmbedded()
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
