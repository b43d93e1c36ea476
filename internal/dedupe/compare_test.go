package dedupe

import (
	"slices"
	"strings"
	"testing"
)

// child builds a made-up Person: names, birth date, caregiver names and
// phone. None of these are real people.
func child(given, family, dob, carerGiven, carerFamily, phone string) Person {
	return Person{
		GivenName: given, FamilyName: family, BirthDate: dob,
		CaregiverGivenName: carerGiven, CaregiverFamilyName: carerFamily,
		CaregiverPhone: phone,
	}
}

// labelled is one pair of the evaluation set: a new record, a known one,
// and whether they are really the same child.
type labelled struct {
	name string
	a, b Person
	same bool
}

// evaluationPairs are made-up South African-style pairs, labelled by hand.
var evaluationPairs = []labelled{
	// The same child.
	{"exact duplicate",
		child("Sipho", "Nkosi", "2019-05-14", "Thandiwe", "Nkosi", "082 555 0101"),
		child("Sipho", "Nkosi", "2019-05-14", "Thandiwe", "Nkosi", "082 555 0101"), true},
	{"Nkosi/Nkosie",
		child("Andile", "Nkosi", "2018-10-02", "Zodwa", "Nkosi", "0835550102"),
		child("Andile", "Nkosie", "2018-10-02", "Zodwa", "Nkosie", "0835550102"), true},
	{"Thabo/Tabo, one phone missing",
		child("Thabo", "Mokoena", "2017-06-21", "Dineo", "Mokoena", "0715550103"),
		child("Tabo", "Mokoena", "2017-06-21", "Dineo", "Mokoena", ""), true},
	{"Lerato with accents",
		child("Léràto", "Molefe", "2020-02-11", "Mpho", "Molefe", "0605550104"),
		child("Lerato", "Molefe", "2020-02-11", "Mpho", "Molefe", "0605550104"), true},
	{"Sipho/Siphho typing slip",
		child("Sipho", "Dlamini", "2016-12-01", "Nomsa", "Dlamini", "0725550105"),
		child("Siphho", "Dlamini", "2016-12-01", "Nomsa", "Dlamini", "0725550105"), true},
	{"Mokoena/Mokwena",
		child("Kagiso", "Mokoena", "2019-08-30", "Boitumelo", "Mokoena", "0815550106"),
		child("Kagiso", "Mokwena", "2019-08-30", "Boitumelo", "Mokwena", "0815550106"), true},
	{"Dlamini/Dhlamini",
		child("Zanele", "Dlamini", "2018-01-17", "Busi", "Dlamini", ""),
		child("Zanele", "Dhlamini", "2018-01-17", "Busi", "Dhlamini", ""), true},
	{"day and month swapped",
		child("Ayanda", "Khumalo", "2018-03-07", "Lindiwe", "Khumalo", "0845550107"),
		child("Ayanda", "Khumalo", "2018-07-03", "Lindiwe", "Khumalo", "0845550107"), true},
	{"family and given name swapped",
		child("Buhle", "Ndlovu", "2017-09-09", "Sizwe", "Ndlovu", "0795550108"),
		child("Ndlovu", "Buhle", "2017-09-09", "Sizwe", "Ndlovu", "0795550108"), true},
	{"phone with +27 and with 0, caregiver name missing",
		child("Naledi", "Mahlangu", "2020-01-22", "Palesa", "Mahlangu", "+27 72 555 0199"),
		child("Naledi", "Mahlangu", "2020-01-22", "", "", "072 555 0199"), true},
	{"Khumalo/Kumalo",
		child("Nandi", "Khumalo", "2016-04-28", "Gugu", "Khumalo", "0825550109"),
		child("Nandi", "Kumalo", "2016-04-28", "Gugu", "Kumalo", "0825550109"), true},
	{"Mahlangu/Mahlango, phone formats",
		child("Lwazi", "Mahlangu", "2019-11-05", "Precious", "Mahlangu", "0027735550110"),
		child("Lwazi", "Mahlango", "2019-11-05", "Precious", "Mahlango", "073 555 0110"), true},
	{"capitals, caregiver changed phone",
		child("BONGANI", "ZULU", "2017-02-14", "THEMBI", "ZULU", "0615550111"),
		child("Bongani", "Zulu", "2017-02-14", "Thembi", "Zulu", "0765550112"), true},
	{"double-barrelled family name with and without hyphen",
		child("Nomvula", "Mthembu-Shabalala", "2018-05-19", "Sindi", "Mthembu", "0825550113"),
		child("Nomvula", "Mthembu Shabalala", "2018-05-19", "Sindi", "Mthembu", "0825550113"), true},
	{"accent and swapped date",
		child("Thandó", "Ngcobo", "2017-11-02", "Ntombi", "Ngcobo", "0835550114"),
		child("Thando", "Ngcobo", "2017-02-11", "Ntombi", "Ngcobo", "0835550114"), true},
	{"caregiver names in the other order, no phones",
		child("Kamogelo", "Sithole", "2019-03-25", "Refilwe", "Sithole", ""),
		child("Kamogelo", "Sithole", "2019-03-25", "Sithole", "Refilwe", ""), true},
	{"apostrophe and spaces",
		child("Ka'Nandi ", " Mabaso", "2020-06-06", "Nonhlanhla", "Mabaso", "0715550115"),
		child("Kanandi", "Mabaso", "2020-06-06", "Nonhlanhla", "Mabaso", "0715550115"), true},
	{"no caregiver details at all",
		child("Tshepo", "Radebe", "2016-07-12", "", "", ""),
		child("Tshepo", "Radebe", "2016-07-12", "", "", ""), true},
	{"given name typo and Mokwena, caregiver supports",
		child("Keabetswe", "Mokoena", "2018-09-15", "Masego", "Mokoena", "0605550116"),
		child("Keabetswe", "Mokwena", "2018-09-15", "Masego", "Mokwena", "+27605550116"), true},
	// A year typed wrong: same name, day and month, same caregiver.
	{"wrong birth year",
		child("Karabo", "Sithole", "2016-08-19", "Lerato", "Sithole", "0725550117"),
		child("Karabo", "Sithole", "2015-08-19", "Lerato", "Sithole", "0725550117"), true},

	// Different children.
	{"same name and birth date, another caregiver",
		child("Sipho", "Nkosi", "2019-05-14", "Thandiwe", "Nkosi", "0825550101"),
		child("Sipho", "Nkosi", "2019-05-14", "Mbali", "Zwane", "0715550177"), false},
	{"same name and birth date, another caregiver (2)",
		child("Lerato", "Molefe", "2020-02-11", "Mpho", "Molefe", "0605550104"),
		child("Lerato", "Molefe", "2020-02-11", "Kgomotso", "Seleka", "0845550178"), false},
	{"same name, swapped-looking date, another caregiver",
		child("Mpho", "Sithole", "2018-03-07", "Ntsako", "Baloyi", "0835550179"),
		child("Mpho", "Sithole", "2018-07-03", "Rethabile", "Nkuna", "0795550180"), false},
	{"twins Lethabo and Lesedi",
		child("Lethabo", "Mokoena", "2019-04-10", "Dineo", "Mokoena", "0715550181"),
		child("Lesedi", "Mokoena", "2019-04-10", "Dineo", "Mokoena", "0715550181"), false},
	{"twins Lwazi and Lwandle",
		child("Lwazi", "Mahlangu", "2020-08-08", "Precious", "Mahlangu", "0735550182"),
		child("Lwandle", "Mahlangu", "2020-08-08", "Precious", "Mahlangu", "0735550182"), false},
	{"twins Amahle and Ayanda, no phone",
		child("Amahle", "Khumalo", "2017-12-24", "Lindiwe", "Khumalo", ""),
		child("Ayanda", "Khumalo", "2017-12-24", "Lindiwe", "Khumalo", ""), false},
	{"siblings, same caregiver, different birth dates",
		child("Neo", "Molefe", "2016-02-10", "Mpho", "Molefe", "0605550104"),
		child("Naledi", "Molefe", "2019-09-01", "Mpho", "Molefe", "0605550104"), false},
	{"siblings Thabo and Thabang",
		child("Thabo", "Nkosi", "2015-06-03", "Zodwa", "Nkosi", "0835550102"),
		child("Thabang", "Nkosi", "2018-06-03", "Zodwa", "Nkosi", "0835550102"), false},
	// Siblings do not share a given name: a same-name pair a year apart
	// with the same caregiver is a year typed wrong (held, see below).
	{"siblings born a year apart on the same day and month",
		child("Sibusiso", "Zulu", "2017-05-20", "Thembi", "Zulu", "0615550111"),
		child("Sibongile", "Zulu", "2018-05-20", "Thembi", "Zulu", "0615550111"), false},
	{"unrelated",
		child("Zanele", "Dlamini", "2018-01-17", "Busi", "Dlamini", "0825550183"),
		child("Ayanda", "Khumalo", "2018-03-07", "Lindiwe", "Khumalo", "0845550107"), false},
	{"unrelated, same birth date",
		child("Kagiso", "Mokoena", "2019-08-30", "Boitumelo", "Mokoena", "0815550106"),
		child("Busisiwe", "Ndlovu", "2019-08-30", "Sizwe", "Ndlovu", "0795550184"), false},
	{"unrelated, shared community phone",
		child("Bongani", "Zulu", "2017-02-14", "Thembi", "Zulu", "0825550185"),
		child("Naledi", "Mahlangu", "2020-01-22", "Palesa", "Mahlangu", "0825550185"), false},
	{"same family name and birth date, similar given names, other caregivers",
		child("Sibusiso", "Dlamini", "2019-10-10", "Nokuthula", "Dlamini", "0725550186"),
		child("Sifiso", "Dlamini", "2019-10-10", "Zandile", "Mkhize", "0615550187"), false},
	{"same name, one birth date unknown, other caregiver",
		child("Lerato", "Molefe", "", "Mpho", "Molefe", "0605550104"),
		child("Lerato", "Molefe", "2020-02-11", "Kgomotso", "Seleka", "0845550178"), false},
	{"cousins, same family name, different everything",
		child("Mandla", "Ngcobo", "2016-03-03", "Sipho", "Ngcobo", "0835550188"),
		child("Mbali", "Ngcobo", "2018-12-12", "Themba", "Ngcobo", "0845550189"), false},
}

// TestEvaluation measures precision and recall of Compare().Likely on the
// labelled pairs, and the recall of blocking by tokens.
func TestEvaluation(t *testing.T) {
	if len(evaluationPairs) < 30 {
		t.Fatalf("only %d labelled pairs", len(evaluationPairs))
	}
	ix := newTestIndexer(t, "k1", testKey)
	var tp, fp, fn, dups, blocked int
	for _, p := range evaluationPairs {
		m := Compare(p.a, p.b)
		switch {
		case m.Likely && p.same:
			tp++
		case m.Likely && !p.same:
			fp++
			t.Errorf("false positive: %s: %.4f %v", p.name, m.NameSimilarity, m.Evidence)
		case !m.Likely && p.same:
			fn++
			t.Logf("missed: %s: %.4f %v", p.name, m.NameSimilarity, m.Evidence)
		}
		if back := Compare(p.b, p.a); back.Likely != m.Likely {
			t.Errorf("%s: Likely is %v one way and %v the other", p.name, m.Likely, back.Likely)
		}
		if p.same {
			dups++
			if shareToken(ix.QueryTokens(p.a), ix.Tokens(p.b)) {
				blocked++
			} else {
				t.Errorf("blocking misses %s", p.name)
			}
		}
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("%d pairs, %d duplicates: precision %.3f, recall %.3f, blocking recall %.3f",
		len(evaluationPairs), dups, precision, recall, float64(blocked)/float64(dups))
	if precision != 1 {
		t.Errorf("precision = %.3f, want 1", precision)
	}
	if recall < 0.9 {
		t.Errorf("recall = %.3f, want ≥ 0.9", recall)
	}
}

func shareToken(query, stored []Token) bool {
	for _, q := range query {
		if slices.Contains(stored, q) {
			return true
		}
	}
	return false
}

// knownEvidence is every code Compare may report.
var knownEvidence = []string{
	EvidenceNameExact, EvidenceNameSimilar, EvidenceNameDiffers, EvidenceNameMissing,
	EvidenceNameOrder, EvidenceGivenDiffers,
	EvidenceDOBExact, EvidenceDOBSwapped, EvidenceDOBDiffers, EvidenceDOBYearSlip, EvidenceDOBUnknown,
	EvidencePhoneSame, EvidencePhoneDiffers, EvidencePhoneMissing,
	EvidenceCaregiverSame, EvidenceCaregiverSimilar, EvidenceCaregiverDiffers, EvidenceCaregiverMissing,
	EvidenceCaregiverSupports, EvidenceCaregiverContradicts, EvidenceTwinsGuard,
}

// Evidence holds known codes only, never anything the person typed.
func TestEvidenceIsCodesOnly(t *testing.T) {
	for _, p := range evaluationPairs {
		m := Compare(p.a, p.b)
		if len(m.Evidence) == 0 {
			t.Errorf("%s: no evidence", p.name)
		}
		for _, e := range m.Evidence {
			if !slices.Contains(knownEvidence, e) {
				t.Errorf("%s: unknown evidence %q", p.name, e)
			}
			for _, f := range []string{p.a.GivenName, p.a.FamilyName, p.a.BirthDate, p.a.CaregiverPhone} {
				if f = strings.ToLower(strings.TrimSpace(f)); len(f) > 3 && strings.Contains(e, f) {
					t.Errorf("%s: evidence %q contains %q", p.name, e, f)
				}
			}
		}
		if m.Score < 0 || m.Score > 1 || m.NameSimilarity < 0 || m.NameSimilarity > 1 {
			t.Errorf("%s: score %v, name similarity %v out of range", p.name, m.Score, m.NameSimilarity)
		}
	}
}

// Each branch of the decision rule, with the evidence it reports.
func TestCompareRules(t *testing.T) {
	base := child("Sipho", "Nkosi", "2019-05-04", "Thandiwe", "Nkosi", "0825550101")
	with := func(f func(*Person)) Person {
		p := base
		f(&p)
		return p
	}
	tests := []struct {
		name     string
		b        Person
		likely   bool
		evidence []string // must all be present
		absent   []string // must not be present
	}{
		{"identical", base, true,
			[]string{EvidenceNameExact, EvidenceDOBExact, EvidencePhoneSame, EvidenceCaregiverSame, EvidenceCaregiverSupports}, nil},
		{"name order swapped", with(func(p *Person) { p.GivenName, p.FamilyName = p.FamilyName, p.GivenName }), true,
			[]string{EvidenceNameExact, EvidenceNameOrder}, []string{EvidenceGivenDiffers}},
		{"swapped date", with(func(p *Person) { p.BirthDate = "2019-04-05" }), true, []string{EvidenceDOBSwapped}, nil},
		{"birth date unknown", with(func(p *Person) { p.BirthDate = "" }), false, []string{EvidenceDOBUnknown}, nil},
		{"birth date invalid", with(func(p *Person) { p.BirthDate = "2019-02-30" }), false, []string{EvidenceDOBUnknown}, nil},
		{"birth date differs", with(func(p *Person) { p.BirthDate = "2019-05-15" }), false, []string{EvidenceDOBDiffers}, nil},
		{"caregiver contradicts", with(func(p *Person) { p.CaregiverGivenName, p.CaregiverPhone = "Mbali", "0715550177" }), false,
			[]string{EvidencePhoneDiffers, EvidenceCaregiverDiffers, EvidenceCaregiverContradicts}, nil},
		{"phone differs, caregiver missing: contradicts", with(func(p *Person) {
			p.CaregiverGivenName, p.CaregiverFamilyName, p.CaregiverPhone = "", "", "0715550177"
		}), false, []string{EvidenceCaregiverMissing, EvidenceCaregiverContradicts}, nil},
		{"phone differs, caregiver same: supports", with(func(p *Person) { p.CaregiverPhone = "0715550177" }), true,
			[]string{EvidencePhoneDiffers, EvidenceCaregiverSame, EvidenceCaregiverSupports}, nil},
		{"twins", with(func(p *Person) { p.GivenName = "Lwandle" }), false, []string{EvidenceGivenDiffers}, nil},
		{"no name", with(func(p *Person) { p.GivenName, p.FamilyName = "", "" }), false, []string{EvidenceNameMissing}, nil},
	}
	for _, tt := range tests {
		m := Compare(base, tt.b)
		if m.Likely != tt.likely {
			t.Errorf("%s: Likely = %v, want %v (%v)", tt.name, m.Likely, tt.likely, m.Evidence)
		}
		for _, e := range tt.evidence {
			if !slices.Contains(m.Evidence, e) {
				t.Errorf("%s: evidence %v lacks %s", tt.name, m.Evidence, e)
			}
		}
		for _, e := range tt.absent {
			if slices.Contains(m.Evidence, e) {
				t.Errorf("%s: evidence %v has %s", tt.name, m.Evidence, e)
			}
		}
	}
}

// The twins guard: names close enough to be Likely, but the given names
// clearly differ.
func TestCompareTwinsGuard(t *testing.T) {
	a := child("Lwazi", "Mahlangu", "2020-08-08", "Precious", "Mahlangu", "0735550182")
	b := child("Lwandle", "Mahlangu", "2020-08-08", "Precious", "Mahlangu", "0735550182")
	m := Compare(a, b)
	if m.NameSimilarity < nameSimilar {
		t.Skipf("names too far apart (%.4f) to exercise the guard", m.NameSimilarity)
	}
	if m.Likely || !slices.Contains(m.Evidence, EvidenceTwinsGuard) {
		t.Errorf("twins: Likely %v, evidence %v", m.Likely, m.Evidence)
	}
}

func TestCompareScore(t *testing.T) {
	a := child("Sipho", "Nkosi", "2019-05-04", "Thandiwe", "Nkosi", "0825550101")
	tests := []struct {
		name string
		b    Person
		want float64
	}{
		// 0.6·1 + 0.3·1 + 0.1·1
		{"identical", a, 1},
		// 0.6·1 + 0.3·0.8 + 0.1·1
		{"swapped date", child("Sipho", "Nkosi", "2019-04-05", "Thandiwe", "Nkosi", "0825550101"), 0.94},
		// 0.6·1 + 0.3·0.5 + 0.1·0.5
		{"nothing but the name", child("Sipho", "Nkosi", "", "", "", ""), 0.8},
		// 0.6·1 + 0.3·0 + 0.1·0
		{"same name only", child("Sipho", "Nkosi", "2018-01-01", "Mbali", "Zwane", "0715550177"), 0.6},
	}
	for _, tt := range tests {
		if got := Compare(a, tt.b).Score; got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("%s: Score = %v, want %v", tt.name, got, tt.want)
		}
	}
}
