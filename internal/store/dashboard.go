package store

import (
	"context"
	"sort"

	"github.com/khula-cop/khula/internal/cycle"
)

// Heatmap counts a wave's children by baseline risk level, per domain and
// school: the programme manager's risk heatmap (domain × school).
type Heatmap map[string]map[string]map[string]int // domain -> school -> level -> children

// RiskHeatmap builds the heatmap of a wave in one grouped query.
func (s *Store) RiskHeatmap(ctx context.Context, waveID string) (Heatmap, error) {
	type row struct {
		Domain, School, Level string
		N                     int
	}
	var rows []row
	if err := s.with(ctx).Model(&DomainRisk{}).
		Select("domain, school_id AS school, level, count(*) AS n").
		Where("wave_id = ? AND phase = ?", waveID, cycle.PhaseBaseline).
		Group("domain, school_id, level").Scan(&rows).Error; err != nil {
		return nil, err
	}
	h := Heatmap{}
	for _, r := range rows {
		if h[r.Domain] == nil {
			h[r.Domain] = map[string]map[string]int{}
		}
		if h[r.Domain][r.School] == nil {
			h[r.Domain][r.School] = map[string]int{}
		}
		h[r.Domain][r.School][r.Level] = r.N
	}
	return h, nil
}

// WaveAggregates counts a wave's children per school by outcome and by
// baseline risk level per domain: what an export plugin pushes.
func (s *Store) WaveAggregates(ctx context.Context, waveID string) ([]cycle.Aggregate, error) {
	var out []cycle.Aggregate
	var outcomes []keyCount
	if err := s.with(ctx).Model(&Cycle{}).Select("school_id AS k1, outcome AS k2, count(*) AS n").
		Where("wave_id = ? AND status = ?", waveID, CycleClosed).Group("school_id, outcome").Scan(&outcomes).Error; err != nil {
		return nil, err
	}
	for _, r := range outcomes {
		out = append(out, cycle.Aggregate{SchoolID: r.K1, Key: "outcome." + r.K2, Value: r.N})
	}
	h, err := s.RiskHeatmap(ctx, waveID)
	if err != nil {
		return nil, err
	}
	for domain, bySchool := range h {
		for school, byLevel := range bySchool {
			for level, n := range byLevel {
				out = append(out, cycle.Aggregate{SchoolID: school, Key: "risk." + domain + "." + level, Value: n})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SchoolID != out[j].SchoolID {
			return out[i].SchoolID < out[j].SchoolID
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}
