package instrument_test

import (
	"fmt"
	"time"

	"github.com/khula-cop/khula/instruments"
	"github.com/khula-cop/khula/internal/instrument"
)

// Example loads the CWTT, validates a nurse's form and scores the answers
// received so far. Without growth reference tables the z-scores are not
// computed, and domains nobody has answered for yet are not_assessed.
func Example() {
	in, err := instrument.Load(instruments.FS, "cwtt.yaml", instruments.FS)
	if err != nil {
		fmt.Println(err)
		return
	}
	nurse := instrument.Answers{
		"weight_kg": 19.0, "height_cm": 114.0, "rthb_seen": true, "imm_up_to_date": false,
		"chronic_illness": false, "nurse_injury": true,
	}
	if err := in.Validate("nurse", nurse); err != nil {
		fmt.Println(err)
		return
	}
	child := instrument.Subject{
		Sex:        instrument.SexFemale,
		DOB:        time.Date(2014, 7, 1, 0, 0, 0, 0, time.UTC),
		AssessedOn: time.Date(2020, 11, 2, 0, 0, 0, 0, time.UTC),
	}
	res, err := in.Score(child, nurse, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Instrument.ID, res.Instrument.Version)
	fmt.Println("flags:", res.Flags)
	for _, d := range in.Domains() {
		fmt.Printf("%s: %s (%s)\n", d.ID, res.Domains[d.ID], res.DomainReasons[d.ID])
	}
	// Output:
	// cwtt 2.0.0
	// flags: [protection.signs_of_abuse]
	// health: moderate (Immunisations not up to date (Road to Health booklet))
	// nutrition: low (No nutrition or growth concern found)
	// material: not_assessed (no item of this domain was answered)
	// education: not_assessed (no item of this domain was answered)
	// protection: high (red flag protection.signs_of_abuse: Signs of abuse or unexplained injuries seen by the teacher or the nurse)
	// psychosocial: not_assessed (no item of this domain was answered)
	// caregiver: not_assessed (no item of this domain was answered)
}

// ExampleCompare contrasts a reassessment with the baseline.
func ExampleCompare() {
	baseline := map[string]string{"health": "high", "nutrition": "moderate", "education": "low", "protection": "not_assessed"}
	followUp := map[string]string{"health": "moderate", "nutrition": "moderate", "education": "moderate", "protection": "low"}
	changes := instrument.Compare(baseline, followUp)
	for _, d := range []string{"health", "nutrition", "education", "protection"} {
		fmt.Println(d, changes[d])
	}
	// Output:
	// health improved
	// nutrition unchanged
	// education worse
	// protection not_comparable
}
