package instrument

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestShowIfCondsOfTheShippedInstruments(t *testing.T) {
	in := cwtt(t)
	tests := []struct {
		item string
		want *Cond
	}{
		{"csg_applied", &Cond{Op: OpNot, Args: []*Cond{{Op: OpAnswer, Item: "csg_received"}}}},
		{"csg_received", nil},
	}
	for _, tt := range tests {
		got, err := in.ShowIfCond(tt.item)
		if err != nil {
			t.Fatalf("%s: %v", tt.item, err)
		}
		if (got == nil) != (tt.want == nil) || got != nil && !sameCond(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.item, got, tt.want)
		}
	}
	if _, err := in.ShowIfCond("no_such_item"); !errors.Is(err, ErrUnknownItem) {
		t.Errorf("unknown item: err = %v", err)
	}
}

func TestPortableFlagsSayWhyGrowthFlagsStayOnTheServer(t *testing.T) {
	in := cwtt(t)
	seen := map[string]PortableFlag{}
	for _, f := range in.PortableFlags() {
		seen[f.Code] = f
	}
	if f := seen["growth.severe_thinness"]; f.Cond != nil || f.NotPortable == "" {
		t.Errorf("growth flag: cond %+v, reason %q; want no cond and a reason", f.Cond, f.NotPortable)
	}
	f := seen["phq9.self_harm"]
	want := &Cond{Op: OpGt, Args: []*Cond{{Op: OpAnswerOr, Item: "phq9_9", Value: 0.0}, {Op: OpLit, Value: 0.0}}}
	if f.Cond == nil || !sameCond(f.Cond, want) {
		t.Errorf("phq9.self_harm: got %+v, want %+v", f.Cond, want)
	}
	if len(f.Items) != 1 || f.Items[0] != "phq9_9" {
		t.Errorf("phq9.self_harm reads %v, want [phq9_9]", f.Items)
	}
	if d := seen["phq9.self_harm_declined"]; d.Cond == nil || d.Cond.Op != OpDeclined {
		t.Errorf("declined flag: %+v", d.Cond)
	}
}

// TestCondsAgreeWithCEL runs every portable show_if and red flag of both
// sites' instruments over random answer sets (valid values, absent and
// declined answers) and checks the rewrite decides exactly as CEL does.
func TestCondsAgreeWithCEL(t *testing.T) {
	loadShipped(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for name, in := range map[string]*Instrument{"moutse": moutse, "johannesburg": jozi} {
		checked := 0
		for _, it := range in.items {
			prg := in.showIf[it.ID]
			if prg == nil {
				continue
			}
			c, err := in.ShowIfCond(it.ID)
			if err != nil {
				t.Errorf("%s %s: show_if not portable: %v", name, it.ID, err)
				continue
			}
			for range 200 {
				a, vals, _ := randomAnswers(in, c.ItemsRead(), rng)
				act, err := in.showIfActivation(vals)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := in.shown(&Item{ID: it.ID}, act)
				if got := c.Holds(a, nil); got != want {
					t.Fatalf("%s show_if of %s over %v: Cond says %v, CEL says %v", name, it.ID, a, got, want)
				}
				checked++
			}
		}
		for _, f := range in.flags {
			c, err := in.portable(f.prg)
			if err != nil {
				continue
			}
			for range 200 {
				a, vals, declined := randomAnswers(in, c.ItemsRead(), rng)
				declinedFields := map[string]any{}
				for _, it := range in.items {
					if it.Declinable {
						declinedFields[it.ID] = declined[it.ID]
					}
				}
				act, err := activation(map[string]any{
					"answers":  newRecord(typeAnswers, vals),
					"params":   newRecord(typeParams, paramFields(in.params)),
					"declined": newRecord(typeDeclined, declinedFields),
				})
				if err != nil {
					t.Fatal(err)
				}
				want, _ := f.prg.eval(act)
				if got := c.Holds(a, declined); got != want {
					t.Fatalf("%s flag %s over %v: Cond says %v, CEL says %v", name, f.Code, a, got, want)
				}
				checked++
			}
		}
		if checked == 0 {
			t.Errorf("%s: no condition checked", name)
		}
	}
}

// randomAnswers answers each item at random: absent, declined (where
// allowed) or a valid value. It returns the JSON-style answers, their CEL
// values and the declined items.
func randomAnswers(in *Instrument, items []string, rng *rand.Rand) (Answers, map[string]any, map[string]bool) {
	a := Answers{}
	vals := map[string]any{}
	declined := map[string]bool{}
	for _, id := range items {
		it := in.items[in.itemIdx[id]]
		switch r := rng.IntN(10); {
		case r == 0:
			continue
		case r == 1 && it.Declinable:
			a[id] = Declined
			declined[id] = true
			continue
		}
		var v any
		switch it.Type {
		case TypeYesNo:
			v = rng.IntN(2) == 0
		case TypeChoice:
			v = it.Choices[rng.IntN(len(it.Choices))].Value
		case TypeNumber, TypeMeasurement:
			lo, hi := 0.0, 100.0
			if it.Min != nil {
				lo = *it.Min
			}
			if it.Max != nil {
				hi = *it.Max
			}
			f := lo + rng.Float64()*(hi-lo)
			if it.Integer || rng.IntN(3) == 0 {
				f = float64(int(f))
			}
			v = f
		default:
			continue // dates: no shipped condition reads one
		}
		cv, fe := in.convert(it, v)
		if fe != nil {
			continue
		}
		a[id] = v
		vals[id] = cv
	}
	return a, vals, declined
}

func sameCond(a, b *Cond) bool {
	if a.Op != b.Op || a.Item != b.Item || a.Value != b.Value || len(a.Args) != len(b.Args) {
		return false
	}
	for i := range a.Args {
		if !sameCond(a.Args[i], b.Args[i]) {
			return false
		}
	}
	return true
}
