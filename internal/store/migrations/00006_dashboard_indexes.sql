-- +goose Up
-- Covering indexes for the dashboard at 100,000 children: the risk heatmap
-- (domain × school × level) and progress by school and stage are answered
-- from the index alone instead of a row lookup per child and domain
-- (khula bench: the heatmap took 1.4 s at 100,000 children). The heatmap
-- index also serves the wave report's domain × level counts, so it
-- replaces domain_risks_wave.
CREATE INDEX domain_risks_heatmap ON domain_risks(wave_id, phase, domain, school_id, level);
DROP INDEX domain_risks_wave;
CREATE INDEX cycles_wave_school_stage ON cycles(wave_id, school_id, stage);

-- +goose Down
DROP INDEX cycles_wave_school_stage;
CREATE INDEX domain_risks_wave ON domain_risks(wave_id, phase, domain, level);
DROP INDEX domain_risks_heatmap;
