package instrument

// ScaleInfo describes a compiled scale for codebooks and data exports: its
// definition as merged (label, items or sum_of, reverse items, proration,
// bands) and the range of scores it can take. Method is the effective
// method ("sum" or "mean"; "sum" for sum_of scales).
type ScaleInfo struct {
	Scale
	// Min and Max are the lowest and highest possible scores.
	Min, Max float64
	// Whole reports that scores are whole numbers.
	Whole bool
}

// Scales returns the scales in the order they are computed, as
// [Instrument.Scale] does.
func (in *Instrument) Scales() []ScaleInfo {
	out := make([]ScaleInfo, 0, len(in.scales))
	for _, cs := range in.scales {
		out = append(out, cs.info())
	}
	return out
}

// Scale returns the scale with the given id. The result is a copy: changing
// it does not change the instrument.
func (in *Instrument) Scale(id string) (ScaleInfo, bool) {
	j, ok := in.scaleIdx[id]
	if !ok {
		return ScaleInfo{}, false
	}
	return in.scales[j].info(), true
}

// GrowthItems returns the items holding the nurse's weight and height, and
// false when the instrument does not measure growth (no growth z-scores).
func (in *Instrument) GrowthItems() (GrowthItems, bool) {
	if in.growthItems == nil {
		return GrowthItems{}, false
	}
	return *in.growthItems, true
}

// info copies the scale's definition and range.
func (cs *compiledScale) info() ScaleInfo {
	s := cs.Scale
	s.Method = cs.method
	if len(cs.parts) > 0 {
		s.Method = "sum"
	}
	s.Label = make(Text, len(cs.Label))
	for k, v := range cs.Label {
		s.Label[k] = v
	}
	s.Items = append([]string(nil), cs.Items...)
	s.Reverse = append([]string(nil), cs.Reverse...)
	s.SumOf = append([]string(nil), cs.SumOf...)
	s.Bands = append([]Band(nil), cs.Bands...)
	if cs.Prorate != nil {
		p := *cs.Prorate
		s.Prorate = &p
	}
	return ScaleInfo{Scale: s, Min: cs.lo, Max: cs.hi, Whole: cs.whole}
}

// Number reads an answer as a number the way validation does: any Go
// integer or float, or a json.Number; false for anything else.
func Number(v any) (float64, bool) { return toFloat(v) }
