-- Docket schema, migration 2: the task definition (rubric versions) and reviewers' feedback.

-- Each applied task definition whose content differs is a new rubric version.
CREATE TABLE rubrics (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL UNIQUE CHECK (version >= 1),
    hash        TEXT    NOT NULL UNIQUE CHECK (length(hash) = 64),
    definition  TEXT    NOT NULL CHECK (json_valid(definition)),
    applied_at  INTEGER NOT NULL
);

ALTER TABLE project ADD COLUMN rubric INTEGER REFERENCES rubrics (id);

-- Every piece of feedback, append-only. What is current is what has no withdrawal.
CREATE TABLE feedback (
    id              INTEGER PRIMARY KEY,
    item            INTEGER NOT NULL REFERENCES items (seq),
    reviewer        INTEGER NOT NULL REFERENCES reviewers (id),
    assignment      INTEGER REFERENCES assignments (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('label', 'rating', 'ranking', 'preference', 'edit', 'demonstration',
                                                     'critique', 'flag', 'skip', 'note')),
    label           TEXT,
    rating          REAL,
    ranking         TEXT    CHECK (ranking IS NULL OR (json_valid(ranking) AND json_type(ranking) = 'array')),
    preference      TEXT    CHECK (preference IS NULL OR preference IN ('A', 'B', 'tie')),
    text            TEXT,
    target          TEXT,
    reason          TEXT,
    severity        INTEGER CHECK (severity IS NULL OR severity BETWEEN 0 AND 3),
    rubric          INTEGER REFERENCES rubrics (id),
    created_at      INTEGER NOT NULL,
    seconds_spent   REAL    CHECK (seconds_spent IS NULL OR seconds_spent >= 0),
    CHECK ((kind = 'label') = (label IS NOT NULL)),
    CHECK ((kind = 'rating') = (rating IS NOT NULL)),
    CHECK ((kind = 'ranking') = (ranking IS NOT NULL)),
    CHECK ((kind = 'preference') = (preference IS NOT NULL)),
    CHECK (kind NOT IN ('edit', 'demonstration', 'critique', 'note') OR text IS NOT NULL),
    CHECK ((kind = 'flag') = (severity IS NOT NULL))
);
CREATE INDEX feedback_by_item ON feedback (item, reviewer);
CREATE INDEX feedback_by_assignment ON feedback (assignment);
CREATE INDEX feedback_by_reviewer ON feedback (reviewer, created_at);

CREATE TRIGGER feedback_no_update BEFORE UPDATE ON feedback
BEGIN
    SELECT RAISE(ABORT, 'feedback is append-only; withdraw it instead');
END;

CREATE TRIGGER feedback_no_delete BEFORE DELETE ON feedback
BEGIN
    SELECT RAISE(ABORT, 'feedback is append-only; withdraw it instead');
END;

-- `undo`: a withdrawal is a row of its own; the feedback stays.
CREATE TABLE withdrawals (
    feedback    INTEGER PRIMARY KEY REFERENCES feedback (id),
    reviewer    INTEGER NOT NULL REFERENCES reviewers (id),
    at          INTEGER NOT NULL
);

CREATE TRIGGER withdrawals_no_change BEFORE UPDATE ON withdrawals
BEGIN
    SELECT RAISE(ABORT, 'withdrawals are append-only');
END;

CREATE TRIGGER withdrawals_no_delete BEFORE DELETE ON withdrawals
BEGIN
    SELECT RAISE(ABORT, 'withdrawals are append-only');
END;
