package api

import (
	"strconv"
	"strings"
	"unicode"
)

// Thresholds of a reason of substance (break-the-glass).
const (
	minReasonWords    = 4
	minDistinctWords  = 3
	minReasonWordRune = 2
)

// reasonProblem says what is wrong with a free-text reason that must
// explain itself to a reviewer ("" when it is fine): at least minRunes
// characters, and words rather than filler — minReasonWords words of two
// or more letters (a run of one letter, "aaaa", is no word), at least
// minDistinctWords of them different. It cannot tell a true reason from a
// made-up one; it makes "aaaaaaaaaaaaaaaaaaaa" and "x x x x x" fail, and
// the coordinator reads the rest.
func reasonProblem(reason string, minRunes int) string {
	if hiddenInText(reason) {
		return "the reason must not contain control or invisible characters"
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) < minRunes {
		return "say why you need this child's record in a few words: at least 4 words and " + strconv.Itoa(minRunes) + " characters"
	}
	words := strings.FieldsFunc(strings.ToLower(reason), func(r rune) bool { return !unicode.IsLetter(r) })
	n, distinct := 0, map[string]bool{}
	for _, w := range words {
		if len([]rune(w)) < minReasonWordRune || oneLetter(w) {
			continue
		}
		n++
		distinct[w] = true
	}
	if n < minReasonWords || len(distinct) < minDistinctWords {
		return "say why you need this child's record in words a reviewer can check (at least 4 words, not repeated letters or filler), e.g. \"child brought to my clinic injured, need history\""
	}
	return ""
}

// oneLetter reports a word that is one letter repeated ("aaaa").
func oneLetter(w string) bool {
	first := []rune(w)[0]
	for _, r := range w {
		if r != first {
			return false
		}
	}
	return true
}
