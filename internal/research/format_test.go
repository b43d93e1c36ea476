package research

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/instrument"
)

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {3, "3"}, {255, "255"}, {256, "256"}, {4.5, "4.5"},
		{-0.25, "-0.25"}, {20.50, "20.5"}, {116.25, "116.25"}, {-7, "-7"}, {1e21, "1000000000000000000000"},
		{2.675, "2.675"}, {-1e-7, "-0.0000001"},
	} {
		if got := formatNumber(tc.in); got != tc.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatRound2(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{-2.314, "-2.31"}, {-2.316, "-2.32"}, {3.456, "3.46"}, {1.5, "1.5"}, {2, "2"}, {1.999, "2"},
		{0.004, "0"}, {-0.004, "0"}, {-3.1, "-3.1"}, {0.125, "0.13"},
	} {
		if got := formatRound2(tc.in); got != tc.want {
			t.Errorf("formatRound2(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNeutralise(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"school-07", "school-07"},
		{"=1+1", "'=1+1"},
		{"=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"},
		{"+27 82 555 0101", "'+27 82 555 0101"},
		{"-1+1", "'-1+1"},
		{"-2.31", "'-2.31"}, // as text; numbers never go through neutralise
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{" =1", " =1"},
		{"a=1", "a=1"},
	} {
		if got := neutralise(tc.in); got != tc.want {
			t.Errorf("neutralise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIsCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"social_work", true}, {"cwtt-moutse", true}, {"sdq.total", true}, {"a1", true},
		{"", false}, {"Clinic", false}, {"1a", false}, {"a:b", false}, {"a;b", false}, {"a b", false}, {"-a", false}, {"=a", false},
	} {
		if got := isCode(tc.in); got != tc.want {
			t.Errorf("isCode(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestAnswerCell checks how each item type's answers are written.
func TestAnswerCell(t *testing.T) {
	v1, v2 := minis(t)
	item := func(in *instrument.Instrument, id string) *instrument.Item {
		it, ok := in.Item(id)
		if !ok {
			t.Fatalf("no item %s", id)
		}
		return &it
	}
	for _, tc := range []struct {
		name string
		in   *instrument.Instrument
		id   string
		v    any
		want string
		err  error
	}{
		{"scored choice", v1, "q1", 2.0, "2", nil},
		{"scored choice as int", v1, "q1", 1, "1", nil},
		{"scored choice as json.Number", v1, "q1", json.Number("0"), "0", nil},
		{"scored choice out of range", v1, "q1", 3.0, "", ErrInvalidValue},
		{"v2 accepts 3", v2, "q1", 3.0, "3", nil},
		{"scored choice as string", v1, "q1", "2", "", ErrInvalidValue},
		{"declined", v1, "q2", "declined", "declined", nil},
		{"declined, not declinable", v1, "q1", "declined", "", ErrInvalidValue},
		{"code choice", v1, "why", "plain", "plain", nil},
		{"code choice read as formula", v1, "why", "-1+1", "'-1+1", nil},
		{"code choice HYPERLINK", v1, "why", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")", nil},
		{"free text is not a choice", v1, "why", "Her uncle hits her", "", ErrInvalidValue},
		{"yes", v1, "sad", true, "1", nil},
		{"no", v1, "sad", false, "0", nil},
		{"yesno as text", v1, "sad", "yes", "", ErrInvalidValue},
		{"measurement", v1, "kg", 20.50, "20.5", nil},
		{"negative stays a number", v1, "kg", -1.5, "-1.5", nil},
		{"NaN", v1, "kg", math.NaN(), "", ErrInvalidValue},
		{"integer number", v2, "absent", 12.0, "12", nil},
		{"date written as its month", v1, "seen", "2023-11-30", "2023-11", nil},
		{"time.Time date", v1, "seen", day(2023, 2, 1), "2023-02", nil},
		{"not a date", v1, "seen", "30/11/2023", "", ErrInvalidValue},
		{"zero time", v1, "seen", time.Time{}, "", ErrInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := answerCell(item(tc.in, tc.id), tc.v)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("cell = %q, want %q", got, tc.want)
			}
			if err != nil && tc.name == "free text is not a choice" && strings.Contains(err.Error(), "uncle") {
				t.Errorf("the error repeats the rejected text: %v", err)
			}
		})
	}
}
