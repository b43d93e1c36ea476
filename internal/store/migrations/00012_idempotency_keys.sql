-- +goose Up
-- Each Idempotency-Key the API has seen, with a digest of the request it
-- came with (method, path, body): the same key with a different request is
-- refused instead of replaying the first answer, and a retry is audited as
-- a replay. Keys older than the retention below are pruned.
CREATE TABLE idempotency_keys (
    idem_key     TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- +goose Down
DROP TABLE idempotency_keys;
