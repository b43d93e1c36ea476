package research

import (
	"testing"
	"time"
)

func TestAgeMonths(t *testing.T) {
	sast := time.FixedZone("SAST", 2*60*60)
	for _, tc := range []struct {
		name      string
		birth, on time.Time
		want      int
	}{
		{"same day", day(2019, 1, 31), day(2019, 1, 31), 0},
		{"31 Jan to 28 Feb: the month is not complete", day(2019, 1, 31), day(2019, 2, 28), 0},
		{"31 Jan to 1 Mar", day(2019, 1, 31), day(2019, 3, 1), 1},
		{"31 Jan to 30 Mar", day(2019, 1, 31), day(2019, 3, 30), 1},
		{"31 Jan to 31 Mar", day(2019, 1, 31), day(2019, 3, 31), 2},
		{"31 Jan to 29 Feb in a leap year", day(2020, 1, 31), day(2020, 2, 29), 0},
		{"leap day to 28 Feb four years on", day(2016, 2, 29), day(2020, 2, 28), 47},
		{"leap day to 29 Feb four years on", day(2016, 2, 29), day(2020, 2, 29), 48},
		{"leap day to 28 Feb a year on", day(2016, 2, 29), day(2017, 2, 28), 11},
		{"leap day to 1 Mar a year on", day(2016, 2, 29), day(2017, 3, 1), 12},
		{"day before the monthly birthday", day(2018, 6, 15), day(2024, 3, 14), 68},
		{"monthly birthday", day(2018, 6, 15), day(2024, 3, 15), 69},
		{"across a year end", day(2018, 12, 20), day(2019, 1, 20), 1},
		{"dates read in their own zones", time.Date(2018, 6, 15, 0, 30, 0, 0, sast), time.Date(2018, 7, 15, 23, 0, 0, 0, time.UTC), 1},
		{"before birth", day(2020, 5, 10), day(2020, 5, 9), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AgeMonths(tc.birth, tc.on); got != tc.want {
				t.Errorf("AgeMonths(%s, %s) = %d, want %d", tc.birth.Format(time.DateOnly), tc.on.Format(time.DateOnly), got, tc.want)
			}
		})
	}
}
