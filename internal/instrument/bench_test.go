package instrument

import "testing"

// BenchmarkScore scores one complete assessment (91 answers, 10 scales, 63
// rules, 7 red flags) per iteration and reports assessments per second.
func BenchmarkScore(b *testing.B) {
	in := cwtt(b)
	a := with(fineAnswers(), Answers{"sdq03": 2.0, "sdq08": nil, "hunger_bed": 2.0, "imm_up_to_date": false})
	g := normalGrowth()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Score(boy, a, g); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assessments/s")
}

// BenchmarkValidate validates one caregiver form (50 items).
func BenchmarkValidate(b *testing.B) {
	in := cwtt(b)
	a := only(in, fineAnswers(), "caregiver")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := in.Validate("caregiver", a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad loads and compiles the CWTT.
func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		loadOnceForBench(b)
	}
}
