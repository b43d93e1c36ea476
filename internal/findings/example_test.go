package findings_test

import (
	"os"
	"time"

	"github.com/khula-cop/khula/internal/findings"
)

func ExampleReport_WriteTableCSV() {
	yes, no := true, false
	in := findings.Input{
		Site: "demo", SiteName: "Demo", Wave: 1, WaveStatus: "closed",
		GeneratedAt: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC),
		Schools:     []findings.School{{ID: "s1", Name: "School One"}},
	}
	// Eight children receive the grant, three do not and have not applied.
	for i := range 11 {
		c := findings.Child{School: "s1", Scored: true, CSGReceived: &yes}
		if i >= 8 {
			c.CSGReceived, c.CSGApplied = &no, &no
		}
		in.Children = append(in.Children, c)
	}
	r := findings.Build(in)
	if err := r.WriteTableCSV(os.Stdout, "site", findings.TableCSG); err != nil {
		panic(err)
	}
	// Output:
	// Child Support Grant,Children,% of scored
	// Received,suppressed,suppressed
	// "Not received: applied, awaiting",0,0.0
	// Not received: not applied,<5,suppressed
	// Not answered,0,0.0
	// All scored children,11,100.0
}
