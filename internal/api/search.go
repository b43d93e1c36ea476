package api

import (
	"encoding/json"

	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
)

func waveSearchAttributes(in cycle.WaveInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(cycle.SASite.ValueSet(in.SiteID), cycle.SAWave.ValueSet(int64(in.Number)))
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
