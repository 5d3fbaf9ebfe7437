-- Docket schema, migration 5: escalations, triage, lead decisions and saved aggregation models.

-- An item routed to a tier (lead, expert, second-review, …) by the escalation policy.
CREATE TABLE escalations (
    id          INTEGER PRIMARY KEY,
    item        INTEGER NOT NULL REFERENCES items (seq),
    tier        TEXT    NOT NULL CHECK (length(tier) > 0),
    rule        INTEGER NOT NULL CHECK (rule >= 1),
    reason      TEXT    NOT NULL,
    severity    INTEGER NOT NULL DEFAULT 0 CHECK (severity BETWEEN 0 AND 3),
    feedback    INTEGER REFERENCES feedback (id),
    created_at  INTEGER NOT NULL,
    -- open, resolved (a decision), returned (sent back for another review round), dismissed
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'returned', 'dismissed')),
    closed_at   INTEGER,
    closed_by   INTEGER REFERENCES reviewers (id),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
-- At most one open escalation per item.
CREATE UNIQUE INDEX escalations_open_item ON escalations (item) WHERE status = 'open';
CREATE INDEX escalations_open_tier ON escalations (tier, severity DESC, created_at) WHERE status = 'open';

-- Triage: a fast severity before full review; it feeds the risk term when the model gave none.
ALTER TABLE items ADD COLUMN triage INTEGER CHECK (triage IS NULL OR triage BETWEEN 0 AND 3);

-- A lead's decisions; a revision is a new row that supersedes the previous one, which stays.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    item        INTEGER NOT NULL REFERENCES items (seq),
    escalation  INTEGER REFERENCES escalations (id),
    lead        INTEGER NOT NULL REFERENCES reviewers (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('label', 'rating', 'choice', 'return', 'dismiss')),
    value       TEXT,
    rationale   TEXT    NOT NULL CHECK (length(trim(rationale)) > 0),
    supersedes  INTEGER REFERENCES decisions (id),
    created_at  INTEGER NOT NULL,
    CHECK ((kind IN ('label', 'rating', 'choice')) = (value IS NOT NULL))
);
CREATE INDEX decisions_by_item ON decisions (item, id);

CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are append-only; record a revision instead');
END;

CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are append-only; record a revision instead');
END;

-- The latest Dawid–Skene model, saved by `docket aggregate --save`, for the escalation policy.
CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    method      TEXT    NOT NULL,
    model       TEXT    NOT NULL CHECK (json_valid(model)),
    created_at  INTEGER NOT NULL
);
