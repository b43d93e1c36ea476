package dedupe

import "testing"

var (
	benchA = child("Sipho", "Nkosi", "2019-05-14", "Thandiwe", "Nkosi", "+27 82 555 0101")
	benchB = child("Siphho", "Nkosie", "2019-05-14", "Thandiwe", "Nkosie", "082 555 0101")
	sinkM  Match
	sinkT  []Token
	sinkF  float64
)

func BenchmarkCompare(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkM = Compare(benchA, benchB)
	}
}

// Non-ASCII names take the decomposition path of Normalise.
func BenchmarkCompareAccented(b *testing.B) {
	a := child("Léràto", "Molefe", "2020-02-11", "Mpho", "Molefe", "0605550104")
	c := child("Lerato", "Molefé", "2020-02-11", "Mpho", "Molefe", "0605550104")
	b.ReportAllocs()
	for b.Loop() {
		sinkM = Compare(a, c)
	}
}

func BenchmarkTokens(b *testing.B) {
	ix := newTestIndexer(b, "k1", testKey)
	b.ReportAllocs()
	for b.Loop() {
		sinkT = ix.Tokens(benchA)
	}
}

func BenchmarkQueryTokens(b *testing.B) {
	ix := newTestIndexer(b, "k1", testKey)
	p := benchA
	p.BirthDate = "2019-05-04"
	b.ReportAllocs()
	for b.Loop() {
		sinkT = ix.QueryTokens(p)
	}
}

func BenchmarkJaroWinkler(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkF = JaroWinkler("sipho nkosi", "siphho nkosie")
	}
}
