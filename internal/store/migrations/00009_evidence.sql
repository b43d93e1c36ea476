-- +goose Up
-- Evidence for the CoP (issue 14): how well the CoP itself works, the
-- advisory partners' review of plans, and the research dataset's key.

-- Who attended a meeting, as counts per sector (social work, education,
-- health, parents, NGO, government): JSON {"health": 2, ...}; '' when the
-- minutes did not say.
ALTER TABLE meetings ADD COLUMN attendance TEXT NOT NULL DEFAULT '';

-- One row per action a meeting agreed, with its owner and due date, so an
-- action is followed up like a referral: open until someone records it done
-- (or dropped), overdue after its due date. Actions that ask for a service
-- are followed by their referral; their row records the agreement only.
CREATE TABLE plan_actions (
    id           TEXT PRIMARY KEY, -- pa-<hash of the plan and the action's position>
    plan_id      TEXT NOT NULL,
    cycle_id     TEXT NOT NULL,
    meeting_id   TEXT NOT NULL,
    site_id      TEXT NOT NULL,
    school_id    TEXT NOT NULL,
    wave_id      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    domain       TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    service_type TEXT NOT NULL DEFAULT '',
    sector       TEXT NOT NULL DEFAULT '',
    owner        TEXT NOT NULL DEFAULT '',
    due_on       TEXT NOT NULL, -- YYYY-MM-DD
    status       TEXT NOT NULL, -- open, done, dropped, referred
    agreed_at    TIMESTAMP NOT NULL,
    closed_at    TIMESTAMP,
    closed_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX plan_actions_school ON plan_actions(site_id, school_id, status, due_on);
CREATE INDEX plan_actions_cycle ON plan_actions(cycle_id);
CREATE INDEX plan_actions_wave ON plan_actions(wave_id);

-- The Advisory Level CoP's review of a plan for a child at high risk: a
-- verdict and a comment (free text, sealed like follow-up notes).
CREATE TABLE plan_reviews (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL,
    cycle_id    TEXT NOT NULL,
    site_id     TEXT NOT NULL,
    school_id   TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    verdict     TEXT NOT NULL, -- endorsed, changes_suggested
    comment     TEXT NOT NULL DEFAULT '',
    reviewed_at TIMESTAMP NOT NULL
);
CREATE INDEX plan_reviews_plan ON plan_reviews(plan_id);
CREATE INDEX plan_reviews_site ON plan_reviews(site_id, reviewed_at);

-- An advisory partner sees no child's name unless a programme manager
-- grants it.
ALTER TABLE users ADD COLUMN sees_names BOOLEAN NOT NULL DEFAULT FALSE;

-- Each site's research pseudonym key (32 random bytes, sealed with the
-- field key): pseudonyms stay the same from wave to wave and key rotation
-- to key rotation, and differ between sites.
CREATE TABLE research_keys (
    site_id    TEXT PRIMARY KEY,
    key_sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE research_keys;
ALTER TABLE users DROP COLUMN sees_names;
DROP TABLE plan_reviews;
DROP TABLE plan_actions;
ALTER TABLE meetings DROP COLUMN attendance;
