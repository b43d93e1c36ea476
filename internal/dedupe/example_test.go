package dedupe_test

import (
	"fmt"

	"github.com/khula-cop/khula/internal/dedupe"
)

// A record in a new cohort file against a child the study already knows:
// the family name is spelt differently, day and month of the birth date
// are swapped and the caregiver's phone is written with the country code.
// By hand: "ayanda kumalo" matches all 13 of its runes in "ayanda khumalo",
// in order, so Jaro = (13/13 + 13/14 + 1)/3 = 0.9762 and, with the prefix
// "ayan", 0.9762 + 0.4·0.0238 = 0.9857; Score = 0.6·0.9857 + 0.3·0.8 + 0.1·1.
func ExampleCompare() {
	known := dedupe.Person{
		GivenName: "Ayanda", FamilyName: "Khumalo", BirthDate: "2018-03-07",
		CaregiverGivenName: "Lindiwe", CaregiverFamilyName: "Khumalo",
		CaregiverPhone: "084 555 0107",
	}
	incoming := dedupe.Person{
		GivenName: "Ayanda", FamilyName: "Kumalo", BirthDate: "2018-07-03",
		CaregiverGivenName: "Lindiwe", CaregiverFamilyName: "Kumalo",
		CaregiverPhone: "+27 84 555 0107",
	}
	m := dedupe.Compare(incoming, known)
	fmt.Printf("likely: %v\n", m.Likely)
	fmt.Printf("name similarity: %.4f\n", m.NameSimilarity)
	fmt.Printf("score: %.4f\n", m.Score)
	fmt.Println(m.Evidence)
	// Output:
	// likely: true
	// name similarity: 0.9857
	// score: 0.9314
	// [name_similar birth_date_day_month_swapped phone_same caregiver_name_same caregiver_supports]
}
