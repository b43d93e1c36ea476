-- +goose Up
-- The outbox recorded messages when plugins were stand-ins that wrote to the
-- database instead of sending. Real plugins (with their own idempotency
-- journal) replaced them, so nothing writes here any more; the table would
-- only keep message bodies nobody reads.
DROP TABLE outbox;

-- +goose Down
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
