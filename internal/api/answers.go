package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/khula-cop/khula/internal/cycle"
)

// Bounds of one answer set, checked before it reaches a workflow: a
// request under the body limit could otherwise carry tens of thousands of
// keys whose field-error list outgrows Temporal's payload limit and blocks
// the child's cycle.
const (
	// maxAnswerItems is far above any instrument's items per respondent.
	maxAnswerItems = 400
	// maxAnswerKey is the longest item ID.
	maxAnswerKey = 64
	// maxAnswerValue bounds one value as JSON (a free-text answer).
	maxAnswerValue = 4000
	// maxAnswerErrors bounds the errors listed for one answer set.
	maxAnswerErrors = 20
)

var answerKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkAnswerBounds adds to fe what makes an answer set too large or
// malformed to send to a cycle: too many items, keys that cannot be item
// IDs, values too long. Errors name item IDs, never values, and stop after
// maxAnswerErrors with a count of the rest.
func checkAnswerBounds(fe *fieldErrors, answers cycle.Answers) {
	if len(answers) > maxAnswerItems {
		fe.add("answers", "too_many", "answers has %d items; a form has at most %d", len(answers), maxAnswerItems)
		return
	}
	keys := make([]string, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	badKeys, listed, more := 0, 0, 0
	for _, k := range keys {
		if len(k) > maxAnswerKey || !answerKeyPattern.MatchString(k) {
			badKeys++
			continue
		}
		raw, err := json.Marshal(answers[k])
		if err != nil || len(raw) > maxAnswerValue {
			if listed < maxAnswerErrors {
				fe.add("answers."+k, "too_long", "%s is longer than %d characters", k, maxAnswerValue)
				listed++
			} else {
				more++
			}
		}
	}
	if badKeys > 0 {
		fe.add("answers", "invalid_key", "answers has %d key(s) that are not item IDs (lower-case letters, digits and _, at most %d characters)", badKeys, maxAnswerKey)
	}
	if more > 0 {
		fe.add("answers", "more", "%s", fmt.Sprintf("and %d more answer(s) too long", more))
	}
}
