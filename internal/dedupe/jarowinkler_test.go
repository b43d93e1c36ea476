package dedupe

import (
	"math"
	"strings"
	"testing"
)

func TestJaroWinkler(t *testing.T) {
	tests := []struct {
		a, b string
		want float64 // to 4 decimal places
	}{
		// The textbook values (Winkler 1990).
		{"MARTHA", "MARHTA", 0.9611},
		{"DWAYNE", "DUANE", 0.84},
		{"DIXON", "DICKSONX", 0.8133},

		{"sipho", "sipho", 1},
		{"", "", 1},
		{"", "a", 0},
		{"a", "", 0},
		// Case is the caller's business: nothing matches.
		{"sipho", "SIPHO", 0},
		{"abc", "xyz", 0},
		// Window max(2,2)/2−1 = 0: a and b only match in place, and they
		// don't.
		{"ab", "ba", 0},
		// Window 1. t, a, b, o match (h has no partner), none out of order:
		// Jaro = (4/5 + 4/4 + 4/4)/3 = 0.9333; prefix "t", ℓ = 1:
		// 0.9333 + 0.1·0.0667 = 0.94.
		{"thabo", "tabo", 0.94},
		// Window 2. All five of nkosi match in order:
		// Jaro = (5/5 + 5/6 + 5/5)/3 = 0.9444; prefix "nkos", ℓ = 4:
		// 0.9444 + 0.4·0.0556 = 0.9667.
		{"nkosi", "nkosie", 0.9667},
		// Window 2; the o of sipho (4) finds the o of siphho (5) within
		// the window: the same m = 5, t = 0, ℓ = 4 as above, so 0.9667.
		{"sipho", "siphho", 0.9667},
		// Runes, not bytes (é is two bytes). Window 1: s, n, a match, é
		// does not: Jaro = (3/4 + 3/4 + 3/3)/3 = 0.8333; ℓ = 1:
		// 0.8333 + 0.1·0.1667 = 0.85.
		{"séna", "sena", 0.85},
	}
	for _, tt := range tests {
		got := JaroWinkler(tt.a, tt.b)
		if math.Abs(got-tt.want) > 0.00005 {
			t.Errorf("JaroWinkler(%q, %q) = %.6f, want %.4f", tt.a, tt.b, got, tt.want)
		}
		if back := JaroWinkler(tt.b, tt.a); back != got {
			t.Errorf("JaroWinkler(%q, %q) = %.6f but reversed %.6f", tt.a, tt.b, got, back)
		}
	}
}

// Strings longer than the stack buffers take the heap path and agree with
// the short ones.
func TestJaroWinklerLong(t *testing.T) {
	a := strings.Repeat("nkosi ", 30)
	b := strings.Repeat("nkosie ", 30)
	got := JaroWinkler(a, b)
	if got <= 0.5 || got >= 1 {
		t.Errorf("JaroWinkler(long) = %.4f, want between 0.5 and 1", got)
	}
	if JaroWinkler(a, a) != 1 {
		t.Errorf("JaroWinkler(long, long) != 1")
	}
}

// JaroWinkler stays within [0, 1], is 1 for equal strings and does not
// depend on argument order.
func FuzzJaroWinkler(f *testing.F) {
	f.Add("MARTHA", "MARHTA")
	f.Add("nkosi", "nkosie")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		s := JaroWinkler(a, b)
		if s < 0 || s > 1 {
			t.Errorf("JaroWinkler(%q, %q) = %v", a, b, s)
		}
		if back := JaroWinkler(b, a); back != s {
			t.Errorf("JaroWinkler(%q, %q) = %v but reversed %v", a, b, s, back)
		}
		if JaroWinkler(a, a) != 1 {
			t.Errorf("JaroWinkler(%q, itself) != 1", a)
		}
	})
}
