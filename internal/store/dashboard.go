package store

import (
	"context"

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
