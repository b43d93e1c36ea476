-- +goose Up
-- The first schema. Written in SQL that SQLite and PostgreSQL both accept:
-- text keys (deterministic IDs make writes idempotent), TIMESTAMP, BOOLEAN
-- and TEXT holding JSON.

CREATE TABLE sites (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    setting    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE schools (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL REFERENCES sites(id),
    name       TEXT NOT NULL,
    quintile   INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX schools_site ON schools(site_id);

CREATE TABLE caregivers (
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL REFERENCES sites(id),
    given_name  TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE children (
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites(id),
    school_id    TEXT NOT NULL REFERENCES schools(id),
    caregiver_id TEXT NOT NULL REFERENCES caregivers(id),
    given_name   TEXT NOT NULL,
    family_name  TEXT NOT NULL,
    sex          TEXT NOT NULL,
    birth_date   TIMESTAMP NOT NULL,
    grade        TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX children_site_school ON children(site_id, school_id);

-- A consent is given by a competent person (POPIA s35) for a purpose; it can be withdrawn.
CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    child_id     TEXT NOT NULL REFERENCES children(id),
    caregiver_id TEXT NOT NULL REFERENCES caregivers(id),
    relationship TEXT NOT NULL,
    scope        TEXT NOT NULL,
    given_at     TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP
);
CREATE INDEX consents_child ON consents(child_id);

CREATE TABLE waves (
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites(id),
    number       INTEGER NOT NULL,
    window_open  TIMESTAMP NOT NULL,
    window_close TIMESTAMP NOT NULL,
    day_length_ms BIGINT NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,
    cohort_size  INTEGER NOT NULL DEFAULT 0,
    launched_at  TIMESTAMP NOT NULL,
    closed_at    TIMESTAMP,
    report       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX waves_site_number ON waves(site_id, number);

CREATE TABLE cycles (
    id         TEXT PRIMARY KEY,
    wave_id    TEXT NOT NULL REFERENCES waves(id),
    site_id    TEXT NOT NULL,
    school_id  TEXT NOT NULL,
    child_id   TEXT NOT NULL REFERENCES children(id),
    stage      TEXT NOT NULL,
    status     TEXT NOT NULL,
    outcome    TEXT NOT NULL DEFAULT '',
    risk       TEXT NOT NULL DEFAULT '',
    red_flag   BOOLEAN NOT NULL DEFAULT FALSE,
    flags      TEXT NOT NULL DEFAULT '',
    awaiting   TEXT NOT NULL DEFAULT '',
    stage_seq  INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX cycles_wave_stage ON cycles(wave_id, stage);
CREATE INDEX cycles_site_school_stage ON cycles(site_id, school_id, stage);
CREATE INDEX cycles_child ON cycles(child_id);

-- One row per stage a cycle entered: the child's timeline.
CREATE TABLE stage_events (
    id       TEXT PRIMARY KEY,
    cycle_id TEXT NOT NULL REFERENCES cycles(id),
    seq      INTEGER NOT NULL,
    stage    TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '',
    at       TIMESTAMP NOT NULL
);
CREATE INDEX stage_events_cycle ON stage_events(cycle_id, seq);

CREATE TABLE assessments (
    id           TEXT PRIMARY KEY,
    cycle_id     TEXT NOT NULL REFERENCES cycles(id),
    phase        TEXT NOT NULL,
    respondent   TEXT NOT NULL,
    answers      TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL
);
CREATE INDEX assessments_cycle ON assessments(cycle_id);

CREATE TABLE scores (
    id                 TEXT PRIMARY KEY,
    cycle_id           TEXT NOT NULL REFERENCES cycles(id),
    phase              TEXT NOT NULL,
    instrument_id      TEXT NOT NULL,
    instrument_version TEXT NOT NULL,
    result             TEXT NOT NULL,
    computed_at        TIMESTAMP NOT NULL
);
CREATE INDEX scores_cycle ON scores(cycle_id);

-- Domain risks are kept apart from the score document so the heatmap and
-- wave reports are plain indexed queries.
CREATE TABLE domain_risks (
    cycle_id  TEXT NOT NULL REFERENCES cycles(id),
    phase     TEXT NOT NULL,
    domain    TEXT NOT NULL,
    wave_id   TEXT NOT NULL,
    site_id   TEXT NOT NULL,
    school_id TEXT NOT NULL,
    level     TEXT NOT NULL,
    change    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (cycle_id, phase, domain)
);
CREATE INDEX domain_risks_wave ON domain_risks(wave_id, phase, domain, level);

CREATE TABLE meetings (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL,
    school_id  TEXT NOT NULL,
    date       TEXT NOT NULL,
    status     TEXT NOT NULL,
    agenda     TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL,
    held_at    TIMESTAMP
);
CREATE INDEX meetings_school ON meetings(site_id, school_id, status);

CREATE TABLE plans (
    id         TEXT PRIMARY KEY,
    cycle_id   TEXT NOT NULL REFERENCES cycles(id),
    meeting_id TEXT NOT NULL,
    actions    TEXT NOT NULL,
    agreed_at  TIMESTAMP NOT NULL
);
CREATE INDEX plans_cycle ON plans(cycle_id);

CREATE TABLE referrals (
    id              TEXT PRIMARY KEY,
    cycle_id        TEXT NOT NULL REFERENCES cycles(id),
    wave_id         TEXT NOT NULL,
    site_id         TEXT NOT NULL,
    school_id       TEXT NOT NULL,
    service_type    TEXT NOT NULL,
    service_id      TEXT NOT NULL DEFAULT '',
    domain          TEXT NOT NULL,
    urgent          BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL,
    overdue         BOOLEAN NOT NULL DEFAULT FALSE,
    dispatch_ref    TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    dispatched_at   TIMESTAMP,
    acknowledged_at TIMESTAMP,
    closed_at       TIMESTAMP,
    due_at          TIMESTAMP
);
CREATE INDEX referrals_site_status ON referrals(site_id, status);
CREATE INDEX referrals_cycle ON referrals(cycle_id);

CREATE TABLE follow_ups (
    id          TEXT PRIMARY KEY,
    cycle_id    TEXT NOT NULL REFERENCES cycles(id),
    recorded_by TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          TIMESTAMP NOT NULL
);

-- Outbound messages and referral dispatches, keyed by idempotency key so a
-- retried activity never sends twice.
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    site_id    TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    channel    TEXT NOT NULL,
    language   TEXT NOT NULL,
    template   TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_site_kind ON outbox(site_id, kind);

-- +goose Down
DROP TABLE outbox;
DROP TABLE follow_ups;
DROP TABLE referrals;
DROP TABLE plans;
DROP TABLE meetings;
DROP TABLE domain_risks;
DROP TABLE scores;
DROP TABLE assessments;
DROP TABLE stage_events;
DROP TABLE cycles;
DROP TABLE waves;
DROP TABLE consents;
DROP TABLE children;
DROP TABLE caregivers;
DROP TABLE schools;
DROP TABLE sites;
