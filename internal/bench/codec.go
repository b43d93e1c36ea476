package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/temporalx"
)

// codecRoundTrips is how many payloads each codec figure seals and opens.
const codecRoundTrips = 20000

// codec measures what crypto-shredding costs the worker: sealing and
// opening a cycle's payload with the child's data key (looked up in the
// app database once, then cached) against the keyring alone (the
// baseline, side by side in the same process), and the first use of a
// child's key (made, wrapped and stored).
func (b *bench) codec(ctx context.Context) error {
	fmt.Fprintf(b.progress, "codec: %d payload round trips each way\n", codecRoundTrips)
	form := cycle.SubmitAssessmentInput{Phase: cycle.PhaseBaseline, Respondent: "teacher", SubmittedBy: "bench",
		Answers: cycle.Answers{"sdq01": 1, "sdq02": 0, "sdq03": 2, "hunger_bed": "no", "attendance_days": 18}}
	keyring := codec.New(b.d.Keys).DataConverter()
	child := converter.WithDataConverterSerializationContext(codec.New(b.d.Keys).WithDataKeys(b.d.DataKeys).DataConverter(),
		converter.WorkflowSerializationContext{Namespace: "khula", WorkflowID: cycle.CycleID("bench", 1, "bench-codec-child")})
	// The two are measured in alternating rounds and each keeps its best
	// round, so a neighbour's load hits both alike.
	const rounds = 10
	roundTrips := func(dc converter.DataConverter) (float64, error) {
		start := time.Now()
		for range codecRoundTrips / rounds {
			p, err := dc.ToPayload(form)
			if err != nil {
				return 0, err
			}
			var back cycle.SubmitAssessmentInput
			if err := dc.FromPayload(p, &back); err != nil {
				return 0, err
			}
		}
		return codecRoundTrips / rounds / time.Since(start).Seconds(), nil
	}
	// Warm both (the child's key is made on the first call).
	if _, err := child.ToPayload(form); err != nil {
		return fmt.Errorf("bench codec: %w", err)
	}
	var base, withKey float64
	for range rounds {
		b1, err := roundTrips(keyring)
		if err != nil {
			return fmt.Errorf("bench codec: %w", err)
		}
		w1, err := roundTrips(child)
		if err != nil {
			return fmt.Errorf("bench codec: %w", err)
		}
		base, withKey = max(base, b1), max(withKey, w1)
	}
	b.rep.add(Figure{Name: "codec: payloads sealed+opened with the keyring", Value: base, Unit: "payloads/s", Ratio: 1, Note: "baseline for the next figure"})
	b.rep.add(Figure{Name: "codec: payloads sealed+opened with a child's key", Value: withKey, Unit: "payloads/s", Ratio: withKey / base,
		Baseline: "keyring", Target: "ratio >= 0.9", Met: met(withKey/base >= 0.9), Note: "key cached after its first lookup; best of 10 alternating rounds each"})

	// First use: a new child's key is made, wrapped and stored.
	const firstUses = 200
	keys := codec.NewDataKeys(b.d.Store, temporalx.ChildSubject)
	pc := codec.New(b.d.Keys).WithDataKeys(keys)
	start := time.Now()
	for i := range firstUses {
		dc := converter.WithDataConverterSerializationContext(pc.DataConverter(),
			converter.WorkflowSerializationContext{WorkflowID: cycle.CycleID("bench", 1, fmt.Sprintf("bench-codec-new-%d", i))})
		if _, err := dc.ToPayload(form); err != nil {
			return fmt.Errorf("bench codec: %w", err)
		}
	}
	per := time.Since(start) / firstUses
	b.rep.add(Figure{Name: "codec: first payload of a new child (key made and stored)", Value: float64(per.Microseconds()) / 1000, Unit: "ms",
		Note: fmt.Sprintf("%d children; once per child, at enrolment", firstUses)})
	return nil
}
