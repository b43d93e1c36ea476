package dedupe

import "bytes"

// Person is what the check compares: the child's names and birth date and
// the caregiver's names and phone, as typed.
type Person struct {
	GivenName, FamilyName string
	BirthDate             string // YYYY-MM-DD; empty or invalid means unknown
	CaregiverGivenName    string
	CaregiverFamilyName   string
	CaregiverPhone        string
}

// Match is the result of comparing a new person with a known one.
type Match struct {
	// Score is an overall similarity from 0 to 1, for ranking candidates;
	// see the package documentation for its weights.
	Score float64
	// Likely is true when the pair should be held for the coordinator as a
	// probable duplicate.
	Likely bool
	// NameSimilarity is the Jaro–Winkler similarity of the normalised full
	// names, the better of given+family against given+family and against
	// family+given, so swapped name order still matches.
	NameSimilarity float64
	// Evidence lists Evidence* codes explaining the result. It never holds
	// names, dates or numbers.
	Evidence []string
}

// Evidence codes, in the order Compare reports them: name, given name,
// birth date, phone, caregiver name, and the outcome of the twins guard.
const (
	EvidenceNameExact            = "name_exact"         // normalised full names equal
	EvidenceNameSimilar          = "name_similar"       // name similarity ≥ 0.85
	EvidenceNameDiffers          = "name_differs"       // name similarity < 0.85
	EvidenceNameMissing          = "name_missing"       // either child has no name
	EvidenceNameOrder            = "name_order_swapped" // matched as family+given
	EvidenceGivenDiffers         = "given_name_differs" // given names' similarity < 0.80
	EvidenceDOBExact             = "birth_date_exact"
	EvidenceDOBSwapped           = "birth_date_day_month_swapped"
	EvidenceDOBDiffers           = "birth_date_differs"
	EvidenceDOBYearSlip          = "birth_date_year_differs"
	EvidenceDOBUnknown           = "birth_date_unknown" // either date missing or not a real date
	EvidencePhoneSame            = "phone_same"
	EvidencePhoneDiffers         = "phone_differs"
	EvidencePhoneMissing         = "phone_missing"          // either phone missing
	EvidenceCaregiverSame        = "caregiver_name_same"    // similarity ≥ 0.90
	EvidenceCaregiverSimilar     = "caregiver_name_similar" // 0.85 ≤ similarity < 0.90
	EvidenceCaregiverDiffers     = "caregiver_name_differs" // similarity < 0.85
	EvidenceCaregiverMissing     = "caregiver_name_missing"
	EvidenceCaregiverSupports    = "caregiver_supports"
	EvidenceCaregiverContradicts = "caregiver_contradicts"
	EvidenceTwinsGuard           = "twins_guard" // would be Likely but for the given names
)

// Thresholds of the decision rule (see the package documentation).
const (
	nameStrong    = 0.90 // enough name on its own, with a matching birth date
	nameSimilar   = 0.85 // enough name with an exact birth date and caregiver support
	carerSame     = 0.90 // caregiver names that support
	carerSimilar  = 0.85 // caregiver names below this are not similar
	givenDistinct = 0.80 // given names below this are different children
)

// Compare compares a new person a with a known person b and says whether
// they are likely the same child. The rule is in the package documentation.
// For names and numbers of usual length it allocates only the Evidence
// slice.
func Compare(a, b Person) Match {
	ev := make([]string, 0, 8)
	names := compareNames(a, b)
	ev = names.evidence(ev)
	dob := compareBirthDates(a.BirthDate, b.BirthDate)
	ev = append(ev, dob.evidence())
	carer := compareCaregivers(a, b)
	ev = carer.evidence(ev)

	dobMatches := dob == dobExact || dob == dobSwapped
	likely := (names.sim >= nameStrong && dobMatches && !carer.contradicts()) ||
		(names.sim >= nameSimilar && dob == dobExact && carer.supports()) ||
		// A year typed wrong (same day and month, a year or two apart):
		// siblings do not share a name, so the same name and caregiver is
		// the same child.
		(names.sim >= nameExactish && dob == dobYearSlip && carer.supports())
	if likely && dobMatches && names.givenKnown && names.givenSim < givenDistinct {
		likely = false
		ev = append(ev, EvidenceTwinsGuard)
	}
	return Match{
		Score:          0.6*names.sim + 0.3*dob.score() + 0.1*carer.score(),
		Likely:         likely,
		NameSimilarity: names.sim,
		Evidence:       ev,
	}
}

// nameComparison is how two children's names compare.
type nameComparison struct {
	missing    bool    // either child has no name at all
	sim        float64 // full names, the better order
	swapped    bool    // the better order was b's family + given
	givenKnown bool    // both given names present (in the better order)
	givenSim   float64 // given names, in the better order
}

// compareNames compares the normalised full names of a and b, in b's order
// and the other way round.
func compareNames(a, b Person) nameComparison {
	var bufA, bufB, bufS [stackRunes]rune
	fullA, gA, _ := fullName(bufA[:0], a.GivenName, a.FamilyName)
	fullB, gB, fB := fullName(bufB[:0], b.GivenName, b.FamilyName)
	if len(fullA) == 0 || len(fullB) == 0 {
		return nameComparison{missing: true}
	}
	c := nameComparison{sim: jaroWinkler(fullA, fullB)}
	givenB := gB
	if len(gB) > 0 && len(fB) > 0 {
		if s := jaroWinkler(fullA, joinName(bufS[:0], fB, gB)); s > c.sim {
			c.sim, c.swapped, givenB = s, true, fB
		}
	}
	if len(gA) > 0 && len(givenB) > 0 {
		c.givenKnown, c.givenSim = true, jaroWinkler(gA, givenB)
	}
	return c
}

// evidence appends the codes for c to ev.
func (c nameComparison) evidence(ev []string) []string {
	switch {
	case c.missing:
		return append(ev, EvidenceNameMissing)
	case c.sim == 1:
		ev = append(ev, EvidenceNameExact)
	case c.sim >= nameSimilar:
		ev = append(ev, EvidenceNameSimilar)
	default:
		ev = append(ev, EvidenceNameDiffers)
	}
	if c.swapped {
		ev = append(ev, EvidenceNameOrder)
	}
	if c.givenKnown && c.givenSim < givenDistinct {
		ev = append(ev, EvidenceGivenDiffers)
	}
	return ev
}

// dobRelation is how two birth dates relate.
type dobRelation int

const (
	dobUnknown dobRelation = iota // either missing or not a real date
	dobExact
	dobSwapped  // day and month exchanged
	dobDiffers  // anything else
	dobYearSlip // the same day and month, the year one or two apart
)

// nameExactish is the name similarity of a year slip: the same name but
// for a letter at most.
const nameExactish = 0.97

// compareBirthDates relates birth dates a and b.
func compareBirthDates(a, b string) dobRelation {
	da, okA := parseDate(a)
	db, okB := parseDate(b)
	switch {
	case !okA || !okB:
		return dobUnknown
	case da == db:
		return dobExact
	}
	if s, ok := da.swapped(); ok && s == db {
		return dobSwapped
	}
	if da.month == db.month && da.day == db.day && abs(da.year-db.year) <= 2 {
		return dobYearSlip
	}
	return dobDiffers
}

// evidence returns the code for d.
func (d dobRelation) evidence() string {
	return [...]string{
		dobUnknown:  EvidenceDOBUnknown,
		dobExact:    EvidenceDOBExact,
		dobSwapped:  EvidenceDOBSwapped,
		dobDiffers:  EvidenceDOBDiffers,
		dobYearSlip: EvidenceDOBYearSlip,
	}[d]
}

// score is d's part of Match.Score, before weighting.
func (d dobRelation) score() float64 {
	return [...]float64{dobUnknown: 0.5, dobExact: 1, dobSwapped: 0.8, dobDiffers: 0, dobYearSlip: 0.5}[d]
}

// caregiverComparison is how two children's caregivers compare.
type caregiverComparison struct {
	phoneKnown, phoneSame bool    // both phones present; and equal
	nameKnown             bool    // both caregivers' names present
	nameSim               float64 // their full names, the better order
}

// compareCaregivers compares the caregivers' phones and normalised full
// names (in b's order and the other way round).
func compareCaregivers(a, b Person) caregiverComparison {
	var c caregiverComparison
	var pbA, pbB [24]byte
	phoneA, phoneB := appendPhone(pbA[:0], a.CaregiverPhone), appendPhone(pbB[:0], b.CaregiverPhone)
	c.phoneKnown = len(phoneA) > 0 && len(phoneB) > 0
	c.phoneSame = c.phoneKnown && bytes.Equal(phoneA, phoneB)

	var bufA, bufB, bufS [stackRunes]rune
	fullA, _, _ := fullName(bufA[:0], a.CaregiverGivenName, a.CaregiverFamilyName)
	fullB, gB, fB := fullName(bufB[:0], b.CaregiverGivenName, b.CaregiverFamilyName)
	if len(fullA) > 0 && len(fullB) > 0 {
		c.nameKnown, c.nameSim = true, jaroWinkler(fullA, fullB)
		if len(gB) > 0 && len(fB) > 0 {
			c.nameSim = max(c.nameSim, jaroWinkler(fullA, joinName(bufS[:0], fB, gB)))
		}
	}
	return c
}

// supports reports whether the caregivers look like the same person: equal
// phones, or names with similarity ≥ 0.90.
func (c caregiverComparison) supports() bool {
	return c.phoneSame || (c.nameKnown && c.nameSim >= carerSame)
}

// contradicts reports whether the caregivers look like different people:
// different phones and names not similar (or unknown).
func (c caregiverComparison) contradicts() bool {
	return c.phoneKnown && !c.phoneSame && (!c.nameKnown || c.nameSim < carerSimilar)
}

// score is the caregiver's part of Match.Score, before weighting.
func (c caregiverComparison) score() float64 {
	switch {
	case c.supports():
		return 1
	case c.contradicts():
		return 0
	}
	return 0.5
}

// evidence appends the codes for c to ev.
func (c caregiverComparison) evidence(ev []string) []string {
	switch {
	case !c.phoneKnown:
		ev = append(ev, EvidencePhoneMissing)
	case c.phoneSame:
		ev = append(ev, EvidencePhoneSame)
	default:
		ev = append(ev, EvidencePhoneDiffers)
	}
	switch {
	case !c.nameKnown:
		ev = append(ev, EvidenceCaregiverMissing)
	case c.nameSim >= carerSame:
		ev = append(ev, EvidenceCaregiverSame)
	case c.nameSim >= carerSimilar:
		ev = append(ev, EvidenceCaregiverSimilar)
	default:
		ev = append(ev, EvidenceCaregiverDiffers)
	}
	switch {
	case c.supports():
		ev = append(ev, EvidenceCaregiverSupports)
	case c.contradicts():
		ev = append(ev, EvidenceCaregiverContradicts)
	}
	return ev
}

// fullName appends the normalised given and family names to dst, joined by
// a space when both are present, and returns the full name and its given and
// family parts (sub-slices of it).
func fullName(dst []rune, given, family string) (full, g, f []rune) {
	start := len(dst)
	dst = appendNormalised(dst, given)
	gEnd := len(dst)
	if gEnd > start {
		dst = append(dst, ' ')
	}
	fStart := len(dst)
	dst = appendNormalised(dst, family)
	if len(dst) == fStart && gEnd > start { // no family name: drop the space
		dst = dst[:gEnd]
		fStart = gEnd
	}
	return dst[start:], dst[start:gEnd], dst[fStart:]
}

// joinName appends first, a space and second to dst.
func joinName(dst, first, second []rune) []rune {
	dst = append(dst, first...)
	dst = append(dst, ' ')
	return append(dst, second...)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
