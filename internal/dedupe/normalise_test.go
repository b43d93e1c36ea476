package dedupe

import (
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Sipho", "sipho"},
		{"upper case", "ZOLA", "zola"},
		{"acute and grave", "Léràto", "lerato"},
		{"tilde", "Muñoz", "munoz"},
		{"cedilla", "Şükrü François", "sukru francois"},
		{"dotted capital I", "İpek", "ipek"},
		{"undecomposable letters", "Søren Straße Łukasz Æsa", "soren strasse lukasz aesa"},
		{"straight apostrophe", "O'Neill", "oneill"},
		{"curly apostrophe", "D’Almeida", "dalmeida"},
		{"modifier apostrophe", "Ka\u02bcNtombi", "kantombi"},
		{"hyphen", "Mokoena-Dlamini", "mokoenadlamini"},
		{"en dash", "Mokoena–Dlamini", "mokoenadlamini"},
		{"full stops", "J.P.", "jp"},
		{"comma then space", "Ngwenya,  T.", "ngwenya t"},
		{"comma alone", "Nkosi,Sipho", "nkosisipho"},
		{"white space runs", "  Sipho \t\n Nkosi  ", "sipho nkosi"},
		{"other punctuation", "Nomsa (Precious)", "nomsa precious"},
		{"slash", "Thabo/Tabo", "thabo tabo"},
		{"digits kept", "Baby 2", "baby 2"},
		{"empty", "", ""},
		{"only dropped", "-'.,", ""},
		{"only punctuation", " !? ", ""},
	}
	for _, tt := range tests {
		if got := Normalise(tt.in); got != tt.want {
			t.Errorf("%s: Normalise(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// Normalise is idempotent and leaves no stray spaces, whatever it is given.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"Léràto", "  Sipho \t Nkosi ", "O'Neill", "Mokoena–Dlamini", "Straße", "\xff\xfe", "a  -  b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalise(s)
		if again := Normalise(n); again != n {
			t.Errorf("Normalise(%q) = %q but Normalise(%q) = %q", s, n, n, again)
		}
		if strings.HasPrefix(n, " ") || strings.HasSuffix(n, " ") || strings.Contains(n, "  ") {
			t.Errorf("Normalise(%q) = %q has stray spaces", s, n)
		}
	})
}

func TestNormalisePhone(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"international with plus", "+27 82 123 4567", "0821234567"},
		{"national", "082 123 4567", "0821234567"},
		{"international with 00", "0027821234567", "0821234567"},
		{"country code without plus", "27821234567", "0821234567"},
		{"trunk zero kept after country code", "+27 (0)82 123 4567", "0821234567"},
		{"00 and trunk zero", "0027 (0)82 123 4567", "0821234567"},
		{"leading zero lost by a spreadsheet", "821234567", "0821234567"},
		{"landline with punctuation", "(011) 555-0100", "0115550100"},
		{"foreign number kept as digits", "+44 20 7946 0958", "442079460958"},
		{"too short", "1234 5678", ""},
		{"no digits", "none", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := NormalisePhone(tt.in); got != tt.want {
			t.Errorf("%s: NormalisePhone(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
