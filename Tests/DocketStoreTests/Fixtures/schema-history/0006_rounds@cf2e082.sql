-- Docket schema, migration 6: feedback-loop rounds. Items imported while a round is open belong to it.
CREATE TABLE rounds (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),
    started_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    CHECK (closed_at IS NULL OR closed_at >= started_at)
);
-- At most one open round.
CREATE UNIQUE INDEX rounds_one_open ON rounds ((closed_at IS NULL)) WHERE closed_at IS NULL;
