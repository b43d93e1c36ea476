package longitudinal

import (
	"reflect"
	"testing"

	"github.com/khula-cop/khula/internal/cycle"
)

const (
	hi = cycle.RiskHigh
	mo = cycle.RiskModerate
	lo = cycle.RiskLow
	na = cycle.RiskNotAssessed
)

func TestCompare(t *testing.T) {
	tests := []struct {
		from, to string
		want     string
	}{
		{hi, mo, DirBetter},
		{hi, lo, DirBetter},
		{mo, lo, DirBetter},
		{hi, hi, DirSame},
		{mo, mo, DirSame},
		{lo, lo, DirSame},
		{lo, mo, DirWorse},
		{lo, hi, DirWorse},
		{mo, hi, DirWorse},
		{na, hi, DirNotComparable},
		{lo, na, DirNotComparable},
		{na, na, DirNotComparable},
		{"", lo, DirNotComparable},     // missing earlier
		{hi, "", DirNotComparable},     // missing later
		{"HIGH", lo, DirNotComparable}, // not a level
	}
	for _, tt := range tests {
		got := Compare(tt.from, tt.to)
		want := Change{From: tt.from, To: tt.to, Direction: tt.want}
		if got != want {
			t.Errorf("Compare(%q, %q) = %+v, want %+v", tt.from, tt.to, got, want)
		}
	}
}

func TestAtRisk(t *testing.T) {
	for level, want := range map[string]bool{hi: true, mo: true, lo: false, na: false, "": false} {
		if got := AtRisk(level); got != want {
			t.Errorf("AtRisk(%q) = %v, want %v", level, got, want)
		}
	}
}

func TestAnnotate(t *testing.T) {
	tests := []struct {
		name      string
		in        []TimePoint
		wantWaves []int
		wantCycle []string            // cycle IDs after sorting
		want      []map[string]Change // per point after sorting
	}{
		{name: "empty", in: nil},
		{
			name:      "one point has no change",
			in:        []TimePoint{{Wave: 1, Domains: map[string]string{"health": hi}, Change: map[string]Change{"x": {}}}},
			wantWaves: []int{1},
			want:      []map[string]Change{nil},
		},
		{
			name: "sorted by wave, union of domains",
			in: []TimePoint{
				{Wave: 3, CycleID: "c3", Domains: map[string]string{"health": lo, "nutrition": na, "caregiver": mo}},
				{Wave: 1, CycleID: "c1", Domains: map[string]string{"health": hi, "nutrition": lo, "protection": mo}},
				{Wave: 2, CycleID: "c2", Domains: map[string]string{"health": mo, "nutrition": hi, "protection": mo}},
			},
			wantWaves: []int{1, 2, 3},
			wantCycle: []string{"c1", "c2", "c3"},
			want: []map[string]Change{
				nil,
				{
					"health":     {hi, mo, DirBetter},
					"nutrition":  {lo, hi, DirWorse},
					"protection": {mo, mo, DirSame},
				},
				{
					"health":     {mo, lo, DirBetter},
					"nutrition":  {hi, na, DirNotComparable},
					"protection": {mo, "", DirNotComparable}, // gone in wave 3
					"caregiver":  {"", mo, DirNotComparable}, // new in wave 3
				},
			},
		},
		{
			name: "same wave keeps input order",
			in: []TimePoint{
				{Wave: 2, CycleID: "b", Domains: map[string]string{"health": lo}},
				{Wave: 2, CycleID: "a", Domains: map[string]string{"health": hi}},
				{Wave: 1, CycleID: "z", Domains: map[string]string{"health": lo}},
			},
			wantWaves: []int{1, 2, 2},
			wantCycle: []string{"z", "b", "a"},
			want: []map[string]Change{
				nil,
				{"health": {lo, lo, DirSame}},
				{"health": {lo, hi, DirWorse}},
			},
		},
		{
			name:      "no domains on either side",
			in:        []TimePoint{{Wave: 1}, {Wave: 2}},
			wantWaves: []int{1, 2},
			want:      []map[string]Change{nil, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Annotate(tt.in)
			for i, p := range tt.in {
				if p.Wave != tt.wantWaves[i] {
					t.Errorf("point %d: wave %d, want %d", i, p.Wave, tt.wantWaves[i])
				}
				if tt.wantCycle != nil && p.CycleID != tt.wantCycle[i] {
					t.Errorf("point %d: cycle %q, want %q", i, p.CycleID, tt.wantCycle[i])
				}
				if !reflect.DeepEqual(p.Change, tt.want[i]) {
					t.Errorf("point %d: change %+v, want %+v", i, p.Change, tt.want[i])
				}
			}
		})
	}
}

func TestKeepKeyScales(t *testing.T) {
	all := map[string]Scale{
		"sdq.total":       {Score: 14, Band: "borderline", Computed: true},
		"phq9.total":      {Computed: false},
		"sdq.item3":       {Score: 1, Computed: true},
		"cyrm.caregiver":  {Score: 20, Computed: true},
		"something.other": {Score: 2, Computed: true},
	}
	got := KeepKeyScales(all)
	want := map[string]Scale{
		"sdq.total":      {Score: 14, Band: "borderline", Computed: true},
		"phq9.total":     {Computed: false},
		"cyrm.caregiver": {Score: 20, Computed: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("KeepKeyScales = %+v, want %+v", got, want)
	}
	if got := KeepKeyScales(map[string]Scale{"other": {}}); got != nil {
		t.Errorf("KeepKeyScales(no key scales) = %+v, want nil", got)
	}
	if got := KeepKeyScales(nil); got != nil {
		t.Errorf("KeepKeyScales(nil) = %+v, want nil", got)
	}
}
