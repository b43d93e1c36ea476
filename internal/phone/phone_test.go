package phone_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/phone"
)

// The cases are worked out by hand from the South African numbering plan
// (ten digits with the trunk 0: 0 + a two-digit code + seven digits; 06x,
// 07x and 08[1-4] are mobile, 01x-05x geographic) and the UK's (+44, then
// ten digits: 7xxx xxxxxx mobile, 20 xxxx xxxx London). None is a real
// person's number.
func TestE164(t *testing.T) {
	cases := []struct {
		name, in string
		want     string
		err      error
	}{
		// South African mobiles, as practitioners write them.
		{"mobile, spaced", "082 123 4567", "+27821234567", nil},
		{"mobile, international", "+27 82 123 4567", "+27821234567", nil},
		{"mobile, digits only", "0821234567", "+27821234567", nil},
		{"mobile, already E.164", "+27821234567", "+27821234567", nil},
		{"mobile, 00 and the country code", "0027 82 123 4567", "+27821234567", nil},
		{"mobile, +27 (0)", "+27 (0)82 123 4567", "+27821234567", nil},
		{"mobile, brackets and hyphen", "(082) 123-4567", "+27821234567", nil},
		{"mobile, leading 0 lost by a spreadsheet", "821234567", "+27821234567", nil},
		{"mobile, non-breaking spaces and padding", " 072\u00a0555\u00a06666 ", "+27725556666", nil},
		{"mobile 06x", "061 444 3333", "+27614443333", nil},
		// Landlines.
		{"landline Johannesburg", "011 123 4567", "+27111234567", nil},
		{"landline Cape Town, international", "+27 21 123 4567", "+27211234567", nil},
		// Foreign numbers keep their country.
		{"UK mobile", "+44 7911 123456", "+447911123456", nil},
		{"UK landline", "+44 20 7946 0958", "+442079460958", nil},
		{"Zimbabwe mobile", "+263 77 123 4567", "+263771234567", nil},
		// Refused.
		{"empty", "", "", phone.ErrNotANumber},
		{"blank", "   ", "", phone.ErrNotANumber},
		{"one digit", "1", "", phone.ErrNotANumber},
		{"too short: a digit missing", "082 123 456", "", phone.ErrInvalid},
		{"too short: three digits", "082", "", phone.ErrInvalid},
		{"too long for South Africa", "082 123 45678", "", phone.ErrInvalid},
		{"letters", "082 ABC 4567", "", phone.ErrNotANumber},
		{"letter O for a zero", "O82 123 4567", "", phone.ErrNotANumber},
		{"words", "no phone", "", phone.ErrNotANumber},
		{"extension", "011 123 4567 ext 12", "", phone.ErrNotANumber},
		{"two plus signs", "++27 82 123 4567", "", phone.ErrNotANumber},
		{"plus inside", "082+123 4567", "", phone.ErrNotANumber},
		{"UK mobile a digit short", "+44 7911 12345", "", phone.ErrInvalid},
		{"unknown country code", "+999 123 4567", "", phone.ErrInvalid},
		{"longer than 40 characters", strings.Repeat("0 ", 21), "", phone.ErrNotANumber},
	}
	e164 := regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := phone.E164(c.in)
			if c.err == nil {
				if err != nil || got != c.want {
					t.Fatalf("E164(%q) = %q, %v; want %q", c.in, got, err, c.want)
				}
				if !e164.MatchString(got) {
					t.Errorf("E164(%q) = %q is not E.164", c.in, got)
				}
				return
			}
			if !errors.Is(err, c.err) || got != "" {
				t.Fatalf("E164(%q) = %q, %v; want the error %v", c.in, got, err, c.err)
			}
			// The error never repeats the number, as written or as digits.
			msg := err.Error()
			if in := strings.TrimSpace(c.in); in != "" && strings.Contains(msg, in) {
				t.Errorf("the error %q contains the number", msg)
			}
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, c.in)
			if len(digits) >= 4 && strings.Contains(msg, digits) {
				t.Errorf("the error %q contains the number's digits", msg)
			}
			if !strings.HasPrefix(msg, "phone: ") {
				t.Errorf("the error %q does not say it is about a phone number", msg)
			}
		})
	}
}

// Every way of writing one number gives one E.164 form, so a caregiver's
// number typed differently on two class lists is stored once the same.
func TestE164IsOneFormPerNumber(t *testing.T) {
	forms := []string{"082 123 4567", "+27 82 123 4567", "0821234567", "27821234567", "0027821234567", "+27 (0) 82 123 4567", "082-123-4567", "082.123.4567"}
	for _, f := range forms {
		if got, err := phone.E164(f); err != nil || got != "+27821234567" {
			t.Errorf("E164(%q) = %q, %v", f, got, err)
		}
	}
}

func ExampleE164() {
	for _, s := range []string{"082 123 4567", "+44 7911 123456", "082 123 456"} {
		n, err := phone.E164(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(n)
	}
	// Output:
	// +27821234567
	// +447911123456
	// phone: not a valid number for its region: too short (a South African number has 10 digits, its leading 0 included)
}
