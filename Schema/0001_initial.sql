-- Docket schema, migration 1: project, reviewers, items, assignments (leases and reviews), events.
-- Migrations are append-only: never edit a shipped file, add a new numbered one.
-- Times are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE project (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    labels          TEXT    NOT NULL CHECK (json_valid(labels) AND json_type(labels) = 'array'),
    level           TEXT    NOT NULL CHECK (level IN ('nominal', 'ordinal', 'interval', 'ratio')),
    overlap         INTEGER NOT NULL CHECK (overlap >= 1),
    budget          INTEGER CHECK (budget IS NULL OR budget >= 0),
    w_risk          REAL    NOT NULL CHECK (w_risk >= 0),
    w_uncertainty   REAL    NOT NULL CHECK (w_uncertainty >= 0),
    w_diversity     REAL    NOT NULL CHECK (w_diversity >= 0),
    explore         REAL    NOT NULL CHECK (explore >= 0 AND explore <= 1),
    lease_seconds   INTEGER NOT NULL CHECK (lease_seconds > 0),
    seed            INTEGER NOT NULL,
    -- Counters kept by the store in the same transactions that change them; `docket check` verifies them.
    item_count      INTEGER NOT NULL DEFAULT 0 CHECK (item_count >= 0),
    served          INTEGER NOT NULL DEFAULT 0 CHECK (served >= 0 AND (budget IS NULL OR served <= budget)),
    embedding_dim   INTEGER CHECK (embedding_dim IS NULL OR embedding_dim > 0),
    created_at      INTEGER NOT NULL
);

CREATE TABLE reviewers (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),
    role        TEXT    NOT NULL CHECK (role IN ('reviewer', 'lead', 'admin')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE items (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE CHECK (length(id) > 0),
    prompt          TEXT,
    response        TEXT,
    responses       TEXT    CHECK (responses IS NULL OR (json_valid(responses) AND json_array_length(responses) >= 2)),
    category        TEXT,
    risk            REAL    CHECK (risk IS NULL OR (risk >= 0 AND risk <= 1)),
    uncertainty     REAL    CHECK (uncertainty IS NULL OR (uncertainty >= 0 AND uncertainty <= 1)),
    -- Given diversity, or for embedding items the last computed distance to the selected set (an upper bound).
    diversity       REAL    CHECK (diversity IS NULL OR (diversity >= 0 AND diversity <= 1)),
    diversity_from_embedding INTEGER NOT NULL DEFAULT 0 CHECK (diversity_from_embedding IN (0, 1)),
    embedding       BLOB,
    gold            TEXT,
    meta            TEXT    CHECK (meta IS NULL OR json_valid(meta)),
    utility         REAL    NOT NULL,
    overlap         INTEGER NOT NULL CHECK (overlap >= 1),
    -- Open leases plus completed reviews; kept by the triggers on assignments.
    taken           INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0 AND taken <= overlap),
    -- Set once, when the item is first handed out: how and with what probability it was chosen.
    served_at       INTEGER,
    policy          TEXT    CHECK (policy IS NULL OR policy IN ('exploit', 'explore')),
    propensity      REAL    CHECK (propensity IS NULL OR (propensity > 0 AND propensity <= 1)),
    selection_step  INTEGER UNIQUE,
    imported_at     INTEGER NOT NULL,
    CHECK ((served_at IS NULL) = (policy IS NULL) AND (policy IS NULL) = (propensity IS NULL) AND (propensity IS NULL) = (selection_step IS NULL))
);

-- New selections: unserved items in queue order.
CREATE INDEX items_unserved ON items (utility DESC, id) WHERE served_at IS NULL;
-- Items in progress: served, with room for more reviewers.
CREATE INDEX items_in_progress ON items (utility DESC, id) WHERE served_at IS NOT NULL AND taken < overlap;

CREATE TABLE assignments (
    id          INTEGER PRIMARY KEY,
    item        INTEGER NOT NULL REFERENCES items (seq),
    reviewer    INTEGER NOT NULL REFERENCES reviewers (id),
    -- open: leased; done: reviewed; skipped: passed over by this reviewer; expired/released: lease ended
    -- unused; withdrawn: a review taken back with undo.
    state       TEXT    NOT NULL CHECK (state IN ('open', 'done', 'skipped', 'expired', 'released', 'withdrawn')),
    claimed_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    CHECK ((state = 'open') = (closed_at IS NULL))
);

-- No reviewer holds or has reviewed one item twice.
CREATE UNIQUE INDEX assignments_one_per_reviewer ON assignments (item, reviewer) WHERE state IN ('open', 'done', 'skipped');
CREATE INDEX assignments_open_by_expiry ON assignments (expires_at) WHERE state = 'open';
CREATE INDEX assignments_by_reviewer ON assignments (reviewer, item);

-- items.taken counts open and done assignments; the CHECK on it makes over-collection impossible.
CREATE TRIGGER assignments_taken_insert AFTER INSERT ON assignments WHEN new.state IN ('open', 'done')
BEGIN
    UPDATE items SET taken = taken + 1 WHERE seq = new.item;
END;

CREATE TRIGGER assignments_taken_update AFTER UPDATE OF state ON assignments
WHEN (old.state IN ('open', 'done')) <> (new.state IN ('open', 'done'))
BEGIN
    UPDATE items SET taken = taken + (CASE WHEN new.state IN ('open', 'done') THEN 1 ELSE -1 END) WHERE seq = new.item;
END;

CREATE TRIGGER assignments_no_delete BEFORE DELETE ON assignments
BEGIN
    SELECT RAISE(ABORT, 'assignments are never deleted');
END;

-- The audit log: append-only.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    reviewer    INTEGER REFERENCES reviewers (id),
    item        INTEGER REFERENCES items (seq),
    detail      TEXT    CHECK (detail IS NULL OR json_valid(detail))
);
CREATE INDEX events_by_item ON events (item) WHERE item IS NOT NULL;
CREATE INDEX events_by_reviewer ON events (reviewer) WHERE reviewer IS NOT NULL;
CREATE INDEX events_by_time ON events (at);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
