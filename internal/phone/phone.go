// Package phone reads a phone number as a South African practitioner writes
// it ("082 123 4567", "+27 82 123 4567", "0821234567", a foreign number
// with its + and country code) and gives its E.164 form ("+27821234567"),
// the one form khula stores and sends to SMS and WhatsApp gateways.
// Numbers are checked against the numbering plan of their country with
// github.com/nyaruka/phonenumbers (a port of Google's libphonenumber).
//
// A phone number is personal data (often a child's caregiver's): no error
// of this package ever contains the number it was given, so an error can be
// logged, shown or returned by an API as it is.
package phone

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region (ISO 3166-1 alpha-2) of a number written
// without a country code: khula's sites are in South Africa.
const DefaultRegion = "ZA"

// southAfrica is South Africa's country calling code.
const southAfrica = 27

// Errors of E164; test them with errors.Is. Their text never holds the number.
var (
	// ErrNotANumber: the text is empty, holds something other than digits,
	// spaces, brackets, dots, hyphens and one leading +, or is too short or
	// too long to be a phone number at all.
	ErrNotANumber = errors.New("phone: not a phone number")
	// ErrInvalid: the text reads as a phone number, but not one that the
	// numbering plan of its country allows (a wrong length or prefix, or an
	// unknown country code).
	ErrInvalid = errors.New("phone: not a valid number for its region")
)

// maxLen bounds the text read: E.164 allows 15 digits, and 40 characters
// leave room for spaces and brackets.
const maxLen = 40

// E164 parses s, a phone number written with or without its country code
// (without one it is South African: DefaultRegion), and returns its E.164
// form: "082 123 4567", "+27 82 123 4567", "0027 82 123 4567" and
// "0821234567" all give "+27821234567"; "+44 7911 123456" gives
// "+447911123456". A South African number must have all ten digits:
// libphonenumber alone would take "082 123 456" as a short mobile number.
// Spaces (a non-breaking one too), brackets, dots and hyphens are ignored;
// letters are refused rather than read as keypad digits, since in a class
// list they are typing mistakes (an O for a 0), and so are extensions,
// which E.164 cannot hold.
//
// The error wraps ErrNotANumber or ErrInvalid and never contains s.
func E164(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: it is empty", ErrNotANumber)
	}
	if len(s) > maxLen {
		return "", fmt.Errorf("%w: it is longer than %d characters", ErrNotANumber, maxLen)
	}
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', unicode.IsSpace(r), strings.ContainsRune("()-.", r):
		case r == '+' && i == 0:
		default:
			return "", fmt.Errorf("%w: write only digits, spaces, brackets, dots or hyphens, and + before a country code", ErrNotANumber)
		}
	}
	num, err := phonenumbers.Parse(s, DefaultRegion)
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "", fmt.Errorf("%w: unknown country code", ErrInvalid)
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "", fmt.Errorf("%w: too short", ErrNotANumber)
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "", fmt.Errorf("%w: too long", ErrNotANumber)
	case err != nil:
		// The library's other errors do not hold the number either, but
		// they are not passed on: this package's text is the contract.
		return "", ErrNotANumber
	}
	if num.GetExtension() != "" {
		return "", fmt.Errorf("%w: it has an extension", ErrNotANumber)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalid
	}
	// The South African plan gives every subscriber nine digits after the
	// 0, but libphonenumber also takes some shorter 08[1-4] numbers as
	// mobiles, so "082 123 456", a digit short, would pass: refuse them.
	if num.GetCountryCode() == southAfrica && len(phonenumbers.GetNationalSignificantNumber(num)) < 9 {
		return "", fmt.Errorf("%w: too short (a South African number has 10 digits, its leading 0 included)", ErrInvalid)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}
