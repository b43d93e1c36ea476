package longitudinal

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

var benchDomains = []string{"health", "nutrition", "material", "education", "protection", "psychosocial", "caregiver"}

// benchWaves makes n children over 40 schools in two waves: 90% seen in
// both, 5% only in each; 2% change school; levels drawn at random.
func benchWaves(n int) (from, to []ChildLevels) {
	rng := rand.New(rand.NewPCG(1, 2))
	levels := []string{hi, mo, lo, lo, lo, na}
	child := func(id, school string) ChildLevels {
		d := make(map[string]string, len(benchDomains))
		for _, name := range benchDomains {
			d[name] = levels[rng.IntN(len(levels))]
		}
		return ChildLevels{ChildID: id, SchoolID: school, Domains: d}
	}
	for i := range n {
		id := fmt.Sprintf("child-%06d", i)
		school := fmt.Sprintf("school-%02d", i%40)
		switch k := i % 20; {
		case k == 0:
			from = append(from, child(id, school))
		case k == 1:
			to = append(to, child(id, school))
		default:
			from = append(from, child(id, school))
			if rng.IntN(50) == 0 {
				school = fmt.Sprintf("school-%02d", (i+1)%40)
			}
			to = append(to, child(id, school))
		}
	}
	return from, to
}

func BenchmarkBuild(b *testing.B) {
	from, to := benchWaves(100_000)
	b.ReportAllocs()
	for b.Loop() {
		r := Build(1, 2, benchDomains, from, to)
		if r.Site.Both+r.Site.OnlyFrom+r.Site.OnlyTo != 100_000 {
			b.Fatalf("children: %+v", r.Site)
		}
	}
}

func BenchmarkAnnotate(b *testing.B) {
	// One child's trajectory of 10 waves over 7 domains, shuffled.
	rng := rand.New(rand.NewPCG(3, 4))
	levels := []string{hi, mo, lo, na}
	base := make([]TimePoint, 10)
	for i := range base {
		d := make(map[string]string, len(benchDomains))
		for _, name := range benchDomains {
			d[name] = levels[rng.IntN(len(levels))]
		}
		base[i] = TimePoint{Wave: i + 1, Domains: d}
	}
	rng.Shuffle(len(base), func(i, j int) { base[i], base[j] = base[j], base[i] })
	pts := make([]TimePoint, len(base))
	b.ReportAllocs()
	for b.Loop() {
		copy(pts, base)
		Annotate(pts)
	}
}
