-- +goose Up
-- The audit chain is keyed: each entry names the keyring key whose derived
-- HMAC key signed it, so rewriting the log needs the key as well as the
-- database. Entries written before this migration keep key_id '' and their
-- unkeyed hashes; the first keyed entry records the change in the chain.
ALTER TABLE audit_log ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- Entries of writes that have happened but could not be appended to the
-- chain at once (the head busy, the database slow): kept here, on disk,
-- until the drain appends them in order. A process that dies loses none.
CREATE TABLE audit_outbox (
    id         TEXT PRIMARY KEY,
    queued_at  TIMESTAMP NOT NULL,
    at         TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    site_id    TEXT NOT NULL DEFAULT '',
    child_id   TEXT NOT NULL DEFAULT '',
    what       TEXT NOT NULL,
    why        TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_outbox_queued ON audit_outbox(queued_at, id);

-- +goose Down
DROP TABLE audit_outbox;
ALTER TABLE audit_head DROP COLUMN key_id;
ALTER TABLE audit_log DROP COLUMN key_id;
