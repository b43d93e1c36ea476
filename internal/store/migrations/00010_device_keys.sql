-- +goose Up
-- Each practitioner's offline key (32 random bytes, sealed with the field
-- key). The browser encrypts forms queued without a connection under it and
-- holds it only while the practitioner is signed in: a lost phone keeps the
-- queued answers, but not the key to read them.
CREATE TABLE device_keys (
    user_id    TEXT PRIMARY KEY,
    key_sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE device_keys;
