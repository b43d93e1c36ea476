-- +goose Up
-- Privacy controls: an append-only, hash-chained audit log of every read
-- and write of a child's record; time-limited break-the-glass grants; and
-- the marks left by consent withdrawal and retention.

CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    site_id    TEXT NOT NULL DEFAULT '',
    child_id   TEXT NOT NULL DEFAULT '',
    what       TEXT NOT NULL,
    why        TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_child ON audit_log(child_id, seq);

-- The chain's head: the last entry's number and hash, moved in the same
-- transaction as each append, so a deleted last entry is noticed too.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TABLE access_grants (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    site_id    TEXT NOT NULL,
    child_id   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX access_grants_child ON access_grants(child_id, user_id);
CREATE INDEX access_grants_site ON access_grants(site_id, granted_at);

ALTER TABLE children ADD COLUMN erased_at TIMESTAMP;
ALTER TABLE caregivers ADD COLUMN erased_at TIMESTAMP;
ALTER TABLE consents ADD COLUMN withdrawal_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consents DROP COLUMN withdrawal_reason;
ALTER TABLE caregivers DROP COLUMN erased_at;
ALTER TABLE children DROP COLUMN erased_at;
DROP TABLE access_grants;
DROP TABLE audit_head;
DROP TABLE audit_log;
