-- +goose Up
-- Each child's data key: it seals the payloads of the child's cycle
-- workflows in the engine. Kept wrapped (sealed) by the payload keyring.
-- Withdrawal of consent and retention destroy it (wrapped emptied,
-- destroyed_at set): the engine's copy of those payloads can no longer be
-- opened by anyone. The row stays as a tombstone so no new key is made for
-- an erased child.
CREATE TABLE data_keys (
    id           TEXT PRIMARY KEY,
    subject      TEXT NOT NULL UNIQUE,
    wrapped      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    destroyed_at TIMESTAMP
);

-- +goose Down
DROP TABLE data_keys;
