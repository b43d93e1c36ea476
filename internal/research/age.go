package research

import "time"

// AgeMonths returns the age in completed calendar months on the date on of
// a child born on birth, each read as a calendar date in its own location.
// A month is completed on the day of the month of birth, or on the first
// of the next month when the month is too short: a child born on 31
// January is 0 months old on 28 February and 1 month old on 1 March; one
// born on 29 February is 47 months old on 28 February four years later and
// 48 on 29 February (or on 1 March in a common year). The result is
// negative when on is before birth.
func AgeMonths(birth, on time.Time) int {
	by, bm, bd := birth.Date()
	oy, om, od := on.Date()
	months := (oy-by)*12 + int(om-bm)
	if od < bd {
		months--
	}
	return months
}
