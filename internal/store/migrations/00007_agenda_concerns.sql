-- +goose Up
-- A practitioner's concern about a child puts the child on the school's next
-- LLCoP agenda, whatever the child's risk (a teacher's worry, a home visit).
-- One open concern per cycle; it leaves the agenda when a meeting agrees a
-- plan for the child. The reason is free text: sealed like follow-up notes.
CREATE TABLE agenda_concerns (
    id         TEXT PRIMARY KEY REFERENCES cycles(id), -- the cycle's ID
    site_id    TEXT NOT NULL,
    school_id  TEXT NOT NULL,
    child_id   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    added_by   TEXT NOT NULL,
    added_at   TIMESTAMP NOT NULL,
    planned_at TIMESTAMP
);
CREATE INDEX agenda_concerns_school ON agenda_concerns(site_id, school_id, planned_at);

-- +goose Down
DROP TABLE agenda_concerns;
