-- +goose Up
-- Following children across waves.
--
-- A child who leaves the study (moved to a school outside it, left the
-- area, withdrew consent, died, lost to follow-up) is kept with the reason
-- and is not started in later waves. same_as links a record found to be a
-- duplicate to the child it duplicates (confirmed by a person, never by
-- khula alone).
ALTER TABLE children ADD COLUMN left_at TIMESTAMP;
ALTER TABLE children ADD COLUMN left_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE children ADD COLUMN left_by TEXT NOT NULL DEFAULT '';
ALTER TABLE children ADD COLUMN same_as TEXT NOT NULL DEFAULT '';

-- Children whose every consent was withdrawn before this migration left
-- the study then (withdrawal records it from now on).
UPDATE children SET left_at = (SELECT MAX(withdrawn_at) FROM consents c WHERE c.child_id = children.id), left_reason = 'withdrew_consent'
WHERE left_at IS NULL
  AND EXISTS (SELECT 1 FROM consents c WHERE c.child_id = children.id AND c.withdrawn_at IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.child_id = children.id AND c.withdrawn_at IS NULL);

-- Consent per wave: a renewal restarts a standing consent's validity.
ALTER TABLE consents ADD COLUMN renewed_at TIMESTAMP;

-- Keyed blind index over each child's normalised names, birth date and
-- caregiver phone (HMAC tokens; the values themselves stay sealed in
-- children and caregivers). key_id names the key the token was made with,
-- so tokens of a retired key are rebuilt.
CREATE TABLE child_index (
    child_id TEXT NOT NULL REFERENCES children(id),
    kind     TEXT NOT NULL,
    token    TEXT NOT NULL,
    site_id  TEXT NOT NULL,
    key_id   TEXT NOT NULL,
    PRIMARY KEY (child_id, kind, token)
);
CREATE INDEX child_index_token ON child_index(token);

-- A likely duplicate found at import: the new child is held out of waves
-- until a coordinator (or, across sites, a programme manager) decides it is
-- the same child (linked) or a different one. Evidence holds codes, never names.
CREATE TABLE duplicate_holds (
    id             TEXT PRIMARY KEY,
    site_id        TEXT NOT NULL,
    child_id       TEXT NOT NULL REFERENCES children(id),
    known_child_id TEXT NOT NULL,
    known_site_id  TEXT NOT NULL,
    score          REAL NOT NULL,
    evidence       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    decided_by     TEXT NOT NULL DEFAULT '',
    decided_at     TIMESTAMP
);
CREATE INDEX duplicate_holds_site ON duplicate_holds(site_id, status);
CREATE INDEX duplicate_holds_child ON duplicate_holds(child_id, status);
CREATE INDEX duplicate_holds_known ON duplicate_holds(known_site_id, status);

-- The levels of every child of a wave, in cycle order, from the index
-- alone (the change between two waves reads them all).
CREATE INDEX domain_risks_levels ON domain_risks(wave_id, phase, cycle_id, domain, level, school_id);

-- +goose Down
DROP INDEX domain_risks_levels;
DROP TABLE duplicate_holds;
DROP TABLE child_index;
ALTER TABLE consents DROP COLUMN renewed_at;
ALTER TABLE children DROP COLUMN same_as;
ALTER TABLE children DROP COLUMN left_by;
ALTER TABLE children DROP COLUMN left_reason;
ALTER TABLE children DROP COLUMN left_at;
