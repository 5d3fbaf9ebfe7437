-- A reviewer who answers the same question again on an item (a second label, a new rating)
-- replaces the earlier answer. The earlier row stays; it gets a withdrawal (so it stops being
-- current everywhere current feedback is read) and a supersession naming the answer that
-- replaced it, so the log and `show` can tell a change from an undo.
CREATE TABLE supersessions (
    feedback    INTEGER PRIMARY KEY REFERENCES feedback (id) REFERENCES withdrawals (feedback),
    by          INTEGER NOT NULL REFERENCES feedback (id),
    CHECK (by > feedback)
);

CREATE INDEX supersessions_by ON supersessions (by);

CREATE TRIGGER supersessions_no_change BEFORE UPDATE ON supersessions
BEGIN
    SELECT RAISE(ABORT, 'supersessions are append-only');
END;

CREATE TRIGGER supersessions_no_delete BEFORE DELETE ON supersessions
BEGIN
    SELECT RAISE(ABORT, 'supersessions are append-only');
END;
