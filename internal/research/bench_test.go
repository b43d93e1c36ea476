package research

import (
	"fmt"
	"io"
	"testing"

	"github.com/khula-cop/khula/internal/instrument"
)

// BenchmarkWriteRows writes complete scored cwtt rows (every item answered,
// every scale, z-score and domain, a plan and a referral) to io.Discard.
func BenchmarkWriteRows(b *testing.B) {
	base, variant := shipped(b)
	s := mustSchema(b, []*instrument.Instrument{base, variant}, nil)
	rows := make([]Row, 64)
	for i := range rows {
		rows[i] = scoredRow(b, base, fmt.Sprintf("child-%06d", i), cwttAnswers())
	}
	w, err := NewWriter(io.Discard, s, testKey)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := w.Write(rows[n%len(rows)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
