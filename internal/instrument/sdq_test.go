package instrument

import (
	"testing"
)

// sdqItems lists each subscale's items in the order the tables below give
// raw answers.
var sdqItems = map[string][5]int{
	"sdq.emotional":     {3, 8, 13, 16, 24},
	"sdq.conduct":       {5, 7, 12, 18, 22},  // 7 reversed
	"sdq.hyperactivity": {2, 10, 15, 21, 25}, // 21, 25 reversed
	"sdq.peer":          {6, 11, 14, 19, 23}, // 11, 14 reversed
	"sdq.prosocial":     {1, 4, 9, 17, 20},
}

// raw sets a subscale's five items to raw answers (0/1/2 as the caregiver
// answered, before reverse scoring); -1 leaves an item unanswered.
func raw(a Answers, scale string, vals [5]float64) Answers {
	out := with(a, nil)
	for i, n := range sdqItems[scale] {
		if vals[i] < 0 {
			delete(out, sdqID(n))
			continue
		}
		out[sdqID(n)] = vals[i]
	}
	return out
}

// TestSDQSubscaleBands scores every subscale at every band boundary and at
// both ends of its range. Reverse items count max + min - value = 2 - value.
func TestSDQSubscaleBands(t *testing.T) {
	in := cwtt(t)
	tests := []struct {
		scale string
		raw   [5]float64
		score float64
		band  string
		why   string
	}{
		// emotional 3, 8, 13, 16, 24: normal 0–3, borderline 4, abnormal 5–10.
		{"sdq.emotional", [5]float64{0, 0, 0, 0, 0}, 0, "normal", "0+0+0+0+0"},
		{"sdq.emotional", [5]float64{2, 1, 0, 0, 0}, 3, "normal", "2+1+0+0+0"},
		{"sdq.emotional", [5]float64{2, 2, 0, 0, 0}, 4, "borderline", "2+2+0+0+0"},
		{"sdq.emotional", [5]float64{2, 2, 1, 0, 0}, 5, "abnormal", "2+2+1+0+0"},
		{"sdq.emotional", [5]float64{2, 2, 2, 2, 2}, 10, "abnormal", "2×5"},
		// conduct 5, 7R, 12, 18, 22: normal 0–2, borderline 3, abnormal 4–10.
		{"sdq.conduct", [5]float64{0, 2, 0, 0, 0}, 0, "normal", "0+(2-2)+0+0+0"},
		{"sdq.conduct", [5]float64{1, 2, 1, 0, 0}, 2, "normal", "1+(2-2)+1+0+0"},
		{"sdq.conduct", [5]float64{1, 1, 1, 0, 0}, 3, "borderline", "1+(2-1)+1+0+0"},
		{"sdq.conduct", [5]float64{2, 1, 1, 0, 0}, 4, "abnormal", "2+(2-1)+1+0+0"},
		{"sdq.conduct", [5]float64{2, 0, 2, 2, 2}, 10, "abnormal", "2+(2-0)+2+2+2"},
		// hyperactivity 2, 10, 15, 21R, 25R: normal 0–5, borderline 6, abnormal 7–10.
		{"sdq.hyperactivity", [5]float64{0, 0, 0, 2, 2}, 0, "normal", "0+0+0+(2-2)+(2-2)"},
		{"sdq.hyperactivity", [5]float64{2, 2, 1, 2, 2}, 5, "normal", "2+2+1+(2-2)+(2-2)"},
		{"sdq.hyperactivity", [5]float64{2, 2, 1, 1, 2}, 6, "borderline", "2+2+1+(2-1)+(2-2)"},
		{"sdq.hyperactivity", [5]float64{2, 2, 1, 1, 1}, 7, "abnormal", "2+2+1+(2-1)+(2-1)"},
		{"sdq.hyperactivity", [5]float64{2, 2, 2, 0, 0}, 10, "abnormal", "2+2+2+(2-0)+(2-0)"},
		// peer 6, 11R, 14R, 19, 23: normal 0–2, borderline 3, abnormal 4–10.
		{"sdq.peer", [5]float64{0, 2, 2, 0, 0}, 0, "normal", "0+(2-2)+(2-2)+0+0"},
		{"sdq.peer", [5]float64{1, 2, 1, 0, 0}, 2, "normal", "1+(2-2)+(2-1)+0+0"},
		{"sdq.peer", [5]float64{1, 1, 1, 0, 0}, 3, "borderline", "1+(2-1)+(2-1)+0+0"},
		{"sdq.peer", [5]float64{2, 1, 1, 0, 0}, 4, "abnormal", "2+(2-1)+(2-1)+0+0"},
		{"sdq.peer", [5]float64{2, 0, 0, 2, 2}, 10, "abnormal", "2+(2-0)+(2-0)+2+2"},
		// prosocial 1, 4, 9, 17, 20 (a strength): normal 6–10, borderline 5, abnormal 0–4.
		{"sdq.prosocial", [5]float64{2, 2, 2, 2, 2}, 10, "normal", "2×5"},
		{"sdq.prosocial", [5]float64{2, 2, 2, 0, 0}, 6, "normal", "2+2+2+0+0"},
		{"sdq.prosocial", [5]float64{2, 2, 1, 0, 0}, 5, "borderline", "2+2+1+0+0"},
		{"sdq.prosocial", [5]float64{2, 2, 0, 0, 0}, 4, "abnormal", "2+2+0+0+0"},
		{"sdq.prosocial", [5]float64{0, 0, 0, 0, 0}, 0, "abnormal", "0×5"},
	}
	for _, tc := range tests {
		t.Run(tc.scale+"="+tc.why, func(t *testing.T) {
			r := score(t, in, boy, raw(fineAnswers(), tc.scale, tc.raw), nil)
			got := r.Scales[tc.scale]
			if !got.Computed || got.Prorated || got.Score != tc.score || got.Band != tc.band {
				t.Errorf("%s = %+v, want score %v (%s) band %s", tc.scale, got, tc.score, tc.why, tc.band)
			}
		})
	}
}

// TestSDQReverseItems checks each reverse item on its own: raw 0, 1, 2
// score 2, 1, 0, while a forward item of the same subscale scores as answered.
func TestSDQReverseItems(t *testing.T) {
	in := cwtt(t)
	base := fineAnswers() // every difficulty subscale at 0
	for _, tc := range []struct {
		item  int
		scale string
	}{{7, "sdq.conduct"}, {11, "sdq.peer"}, {14, "sdq.peer"}, {21, "sdq.hyperactivity"}, {25, "sdq.hyperactivity"}} {
		for rawVal, want := range []float64{2, 1, 0} {
			r := score(t, in, boy, with(base, Answers{sdqID(tc.item): float64(rawVal)}), nil)
			if got := r.Scales[tc.scale].Score; got != want {
				t.Errorf("sdq%02d = %d: %s = %v, want %v (2 - %d)", tc.item, rawVal, tc.scale, got, want, rawVal)
			}
		}
	}
	// A forward item is not reversed: sdq05 (conduct) at 2 adds 2.
	r := score(t, in, boy, with(base, Answers{"sdq05": 2.0}), nil)
	if got := r.Scales["sdq.conduct"].Score; got != 2 {
		t.Errorf("sdq05 = 2: conduct = %v, want 2", got)
	}
}

// TestSDQProration covers missing items: up to 2 of 5 missing are prorated
// as round-half-up(mean of answered × 5); 3 missing leave the subscale not
// computed.
func TestSDQProration(t *testing.T) {
	in := cwtt(t)
	const m = -1 // missing
	tests := []struct {
		name     string
		scale    string
		raw      [5]float64
		computed bool
		score    float64
		band     string
		missing  int
		reason   string
	}{
		{"no missing", "sdq.emotional", [5]float64{2, 1, 1, 0, 0}, true, 4, "borderline", 0, ""},
		// 1 missing: (2+2+1+0)/4 × 5 = 6.25 → 6.
		{"1 missing", "sdq.emotional", [5]float64{2, 2, 1, 0, m}, true, 6, "abnormal", 1, ""},
		// 1 missing, exact half: (1+1+0+0)/4 × 5 = 2.5 → 3 (half rounds up, not to even).
		{"1 missing half up", "sdq.emotional", [5]float64{1, 1, 0, 0, m}, true, 3, "normal", 1, ""},
		// 1 missing, exact half: (2+2+2+0)/4 × 5 = 7.5 → 8.
		{"1 missing 7.5", "sdq.emotional", [5]float64{2, 2, 2, 0, m}, true, 8, "abnormal", 1, ""},
		// 2 missing: (2+1+1)/3 × 5 = 6.67 → 7.
		{"2 missing", "sdq.emotional", [5]float64{2, 1, 1, m, m}, true, 7, "abnormal", 2, ""},
		// 2 missing: (1+0+0)/3 × 5 = 1.67 → 2.
		{"2 missing low", "sdq.emotional", [5]float64{m, 1, 0, 0, m}, true, 2, "normal", 2, ""},
		// 2 missing with a reverse item: peer 6=2, 14R=0 → 2, 19=1; (2+2+1)/3 × 5 = 8.33 → 8.
		{"2 missing reverse", "sdq.peer", [5]float64{2, m, 0, 1, m}, true, 8, "abnormal", 2, ""},
		// 2 missing prosocial: (2+2+1)/3 × 5 = 8.33 → 8.
		{"2 missing prosocial", "sdq.prosocial", [5]float64{2, 2, 1, m, m}, true, 8, "normal", 2, ""},
		// 3 missing: not computed.
		{"3 missing", "sdq.emotional", [5]float64{2, 2, m, m, m}, false, 0, "", 3, "3 of 5 items missing (at most 2 allowed)"},
		{"5 missing", "sdq.conduct", [5]float64{m, m, m, m, m}, false, 0, "", 5, "5 of 5 items missing (at most 2 allowed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := score(t, in, boy, raw(fineAnswers(), tc.scale, tc.raw), nil)
			got := r.Scales[tc.scale]
			want := ScaleResult{Score: tc.score, Band: tc.band, Computed: tc.computed,
				Prorated: tc.computed && tc.missing > 0, Missing: tc.missing, Reason: tc.reason}
			if got != want {
				t.Errorf("%s = %+v, want %+v", tc.scale, got, want)
			}
		})
	}
}

// TestSDQTotal checks total difficulties = emotional + conduct +
// hyperactivity + peer at its band boundaries (normal 0–13, borderline
// 14–16, abnormal 17–40), with prosocial left out, and a missing subscale.
func TestSDQTotal(t *testing.T) {
	in := cwtt(t)
	type parts struct{ e, c, h, p [5]float64 }
	e3, e4 := [5]float64{2, 1, 0, 0, 0}, [5]float64{2, 2, 0, 0, 0}
	c3 := [5]float64{1, 1, 1, 0, 0}
	h5, h6 := [5]float64{2, 2, 1, 2, 2}, [5]float64{2, 2, 1, 1, 2}
	p2, p3, p4 := [5]float64{1, 2, 1, 0, 0}, [5]float64{1, 1, 1, 0, 0}, [5]float64{2, 1, 1, 0, 0}
	zero := [5]float64{0, 0, 0, 0, 0}
	tests := []struct {
		name  string
		in    parts
		score float64
		band  string
	}{
		{"0", parts{zero, [5]float64{0, 2, 0, 0, 0}, [5]float64{0, 0, 0, 2, 2}, [5]float64{0, 2, 2, 0, 0}}, 0, "normal"},
		{"13 = 3+3+5+2", parts{e3, c3, h5, p2}, 13, "normal"},
		{"14 = 3+3+5+3", parts{e3, c3, h5, p3}, 14, "borderline"},
		{"16 = 3+3+6+4", parts{e3, c3, h6, p4}, 16, "borderline"},
		{"17 = 4+3+6+4", parts{e4, c3, h6, p4}, 17, "abnormal"},
		{"40 = 10×4", parts{[5]float64{2, 2, 2, 2, 2}, [5]float64{2, 0, 2, 2, 2}, [5]float64{2, 2, 2, 0, 0}, [5]float64{2, 0, 0, 2, 2}}, 40, "abnormal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := raw(fineAnswers(), "sdq.emotional", tc.in.e)
			a = raw(a, "sdq.conduct", tc.in.c)
			a = raw(a, "sdq.hyperactivity", tc.in.h)
			a = raw(a, "sdq.peer", tc.in.p)
			// Prosocial is not part of the total: at its worst it changes nothing.
			a = raw(a, "sdq.prosocial", zero)
			r := score(t, in, boy, a, nil)
			got := r.Scales["sdq.total"]
			if !got.Computed || got.Score != tc.score || got.Band != tc.band {
				t.Errorf("sdq.total = %+v, want %v %s", got, tc.score, tc.band)
			}
		})
	}

	t.Run("missing subscale", func(t *testing.T) {
		// Conduct has 3 of 5 missing, so it and the total are not computed.
		a := raw(fineAnswers(), "sdq.conduct", [5]float64{2, -1, -1, -1, 2})
		r := score(t, in, boy, a, nil)
		if got := r.Scales["sdq.conduct"]; got.Computed {
			t.Errorf("conduct = %+v, want not computed", got)
		}
		got := r.Scales["sdq.total"]
		if got.Computed || got.Reason != "sdq.conduct not computed" {
			t.Errorf("total = %+v, want not computed because of sdq.conduct", got)
		}
		// The subscales that are computed still count: emotional 5 makes
		// psychosocial moderate even without a total.
		a = raw(a, "sdq.emotional", [5]float64{2, 2, 1, 0, 0})
		r = score(t, in, boy, a, nil)
		if r.Domains["psychosocial"] != LevelModerate || r.DomainReasons["psychosocial"] != "An SDQ difficulties subscale in the abnormal band" {
			t.Errorf("psychosocial = %s (%s)", r.Domains["psychosocial"], r.DomainReasons["psychosocial"])
		}
	})

	t.Run("prorated subscale", func(t *testing.T) {
		// Emotional (2+1+1)/3×5 = 6.67 → 7 prorated; total 7+0+0+0 = 7, prorated.
		a := raw(fineAnswers(), "sdq.emotional", [5]float64{2, 1, 1, -1, -1})
		got := score(t, in, boy, a, nil).Scales["sdq.total"]
		if !got.Computed || !got.Prorated || got.Score != 7 || got.Band != "normal" {
			t.Errorf("total = %+v, want 7 normal, prorated", got)
		}
	})
}
