package api

import "testing"

func TestReasonProblem(t *testing.T) {
	cases := []struct {
		name, reason string
		ok           bool
	}{
		{"a real reason", "child transferred to my clinic after an injury, need history", true},
		{"isiZulu", "ingane ilethwe emtholampilo ilimele, ngidinga umlando wayo", true},
		{"four short words", "injured child at clinic today", true},
		{"twenty a's", "aaaaaaaaaaaaaaaaaaaa", false},
		{"filler with spaces", "a a a a a a a a a a a a", false},
		{"one word repeated", "help help help help help", false},
		{"two words repeated", "urgent case urgent case urgent case", false},
		{"repeated-letter words", "aaaa bbbb cccc dddd eeee", false},
		{"too short", "need history", false},
		{"digits and punctuation", "1234567890 !!!! ???? ....", false},
		{"a NUL byte", "child transferred to my clinic\x00 need history", false},
		{"an ANSI escape", "child transferred \x1b[2J to my clinic, need history", false},
		{"a zero-width space", "child transferred\u200b to my clinic, need history", false},
		{"a bidi override", "child transferred \u202eto my clinic, need history", false},
		{"padded with spaces", "   injured   ", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := reasonProblem(tc.reason, 20)
			if (got == "") != tc.ok {
				t.Errorf("reasonProblem(%q) = %q, want ok=%v", tc.reason, got, tc.ok)
			}
		})
	}
}
