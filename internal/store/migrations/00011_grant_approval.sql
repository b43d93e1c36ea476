-- +goose Up
-- A site may require a second person to approve a break-the-glass grant
-- before it opens the record. Grants made before this change were given
-- without approval: they count as approved when granted.
ALTER TABLE access_grants ADD COLUMN minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_grants ADD COLUMN approved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE access_grants ADD COLUMN approved_at TIMESTAMP;
UPDATE access_grants SET approved_at = granted_at;

-- +goose Down
ALTER TABLE access_grants DROP COLUMN approved_at;
ALTER TABLE access_grants DROP COLUMN approved_by;
ALTER TABLE access_grants DROP COLUMN minutes;
