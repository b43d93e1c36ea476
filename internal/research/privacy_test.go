package research

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

// TestPrivacy writes a dataset and its codebook and checks that nothing
// identifying reaches them: not the child IDs, not the full dates (birth,
// assessment, clinic visit), not text smuggled into an answer.
func TestPrivacy(t *testing.T) {
	base, variant := shipped(t)
	v1, v2 := minis(t)
	for _, tc := range []struct {
		name string
		ins  []*instrument.Instrument
		rows func() []Row
	}{
		{"cwtt", []*instrument.Instrument{base, variant}, func() []Row {
			var rows []Row
			for i := range 20 {
				in := base
				if i%2 == 1 {
					in = variant
				}
				r := scoredRow(t, in, fmt.Sprintf("c9f1e2d4-%04d-child", i), cwttAnswers())
				r.Phase = []string{PhaseBaseline, PhaseReassessment}[i%2]
				rows = append(rows, r)
			}
			return rows
		}},
		{"mini", []*instrument.Instrument{v1, v2}, func() []Row {
			rows := miniRows()
			for i := range rows {
				rows[i].ChildID = fmt.Sprintf("c9f1e2d4-%04d-child", i)
			}
			return rows
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchema(t, tc.ins, nil)
			rows := tc.rows()
			var data bytes.Buffer
			w, err := NewWriter(&data, s, testKey)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			// A row with text in a choice answer is refused and leaves no trace.
			smuggled := rows[0]
			smuggled.Answers = map[string]any{}
			for k, v := range rows[0].Answers {
				smuggled.Answers[k] = v
			}
			key := "why"
			if tc.name == "cwtt" {
				key = "food_short"
			}
			smuggled.Answers[key] = "Thandi Mokoena, 082 555 0101"
			if err := w.Write(smuggled); !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("text in a choice answer: %v, want ErrInvalidValue", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var book bytes.Buffer
			if err := WriteCodebook(&book, s.Codebook()); err != nil {
				t.Fatal(err)
			}
			out := data.String() + book.String()
			for _, r := range rows {
				if strings.Contains(out, r.ChildID) {
					t.Errorf("the child ID %q appears in the output", r.ChildID)
				}
				p, err := Pseudonym(testKey, r.ChildID)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(data.String(), p) {
					t.Errorf("pseudonym %s of a written row is missing", p)
				}
			}
			for _, never := range []string{"c9f1e2d4", "2024-03-15", "2018-06-30", "2024-01-17", "2023-11-30", "Thandi", "082 555"} {
				if strings.Contains(out, never) {
					t.Errorf("%q appears in the output", never)
				}
			}
		})
	}
}
