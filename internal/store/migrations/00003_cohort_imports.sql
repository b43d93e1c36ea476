-- +goose Up
-- Cohort imports (a school's class list as CSV), kept by their Idempotency-Key
-- so a retried upload is answered with the first result and imports nothing
-- twice. The result names lines and opaque child IDs, never a name.

CREATE TABLE cohort_imports (
    idem_key     TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites(id),
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    imported     INTEGER NOT NULL DEFAULT 0,
    result       TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE cohort_imports;
