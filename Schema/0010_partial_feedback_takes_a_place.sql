-- Docket schema, migration 10: partial feedback takes a place (DocketCore's OverlapRule).
-- An assignment takes one of its item's overlap places while it is open or done, or, once it
-- ended any other way (expired, released, skipped), while it holds current feedback other than a
-- skip; a gold assignment never does. Before this, feedback given under a lease that then ended
-- freed the place, so an item at overlap 2 could collect three reviewers' labels.

-- Kept by the triggers below: 1 while the assignment holds current (not withdrawn) feedback
-- other than a skip.
ALTER TABLE assignments ADD COLUMN started INTEGER NOT NULL DEFAULT 0 CHECK (started IN (0, 1));

DROP TRIGGER assignments_taken_insert;
DROP TRIGGER assignments_taken_update;

UPDATE assignments SET started = 1
WHERE EXISTS (SELECT 1 FROM feedback f WHERE f.assignment = assignments.id AND f.kind <> 'skip'
              AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id));

-- Items that collected more than their overlap under the old rule keep what they have: their
-- overlap is raised to it (with an event each), so nobody else is handed them.
INSERT INTO events (at, kind, item, detail)
SELECT CAST(round((julianday('now') - 2440587.5) * 86400000) AS INTEGER), 'overlap-raised', i.seq,
       json_object('from', i.overlap, 'to', c.n, 'reason', 'feedback under ended leases takes a place (schema migration 10)')
FROM items i
JOIN (SELECT item, count(*) AS n FROM assignments WHERE gold = 0 AND (state IN ('open', 'done') OR started = 1) GROUP BY item) c
  ON c.item = i.seq
WHERE c.n > i.overlap;

UPDATE items SET overlap = c.n
FROM (SELECT item, count(*) AS n FROM assignments WHERE gold = 0 AND (state IN ('open', 'done') OR started = 1) GROUP BY item) c
WHERE c.item = items.seq AND c.n > items.overlap;

-- One pass each (assignments have no index on the item alone).
UPDATE items SET taken = c.n
FROM (SELECT item, count(*) AS n FROM assignments WHERE gold = 0 AND (state IN ('open', 'done') OR started = 1) GROUP BY item) c
WHERE c.item = items.seq AND items.taken <> c.n;

UPDATE items SET taken = 0
WHERE taken <> 0 AND seq NOT IN (SELECT item FROM assignments WHERE gold = 0 AND (state IN ('open', 'done') OR started = 1));

-- Feedback other than a skip starts its assignment; withdrawing the last such feedback un-starts it.
CREATE TRIGGER feedback_starts_assignment AFTER INSERT ON feedback
WHEN new.assignment IS NOT NULL AND new.kind <> 'skip'
BEGIN
    UPDATE assignments SET started = 1 WHERE id = new.assignment AND started = 0;
END;

CREATE TRIGGER withdrawals_unstart_assignment AFTER INSERT ON withdrawals
BEGIN
    UPDATE assignments SET started = 0
    WHERE id = (SELECT assignment FROM feedback WHERE id = new.feedback) AND started = 1
      AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.assignment = assignments.id AND f.kind <> 'skip'
                      AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id));
END;

-- items.taken counts the assignments that take a place; the CHECK on it (taken <= overlap) makes
-- over-collection impossible.
CREATE TRIGGER assignments_taken_insert AFTER INSERT ON assignments
WHEN new.gold = 0 AND (new.state IN ('open', 'done') OR new.started = 1)
BEGIN
    UPDATE items SET taken = taken + 1 WHERE seq = new.item;
END;

CREATE TRIGGER assignments_taken_update AFTER UPDATE OF state, started, gold ON assignments
WHEN (old.gold = 0 AND (old.state IN ('open', 'done') OR old.started = 1)) <> (new.gold = 0 AND (new.state IN ('open', 'done') OR new.started = 1))
BEGIN
    UPDATE items SET taken = taken + (CASE WHEN new.gold = 0 AND (new.state IN ('open', 'done') OR new.started = 1) THEN 1 ELSE -1 END)
    WHERE seq = new.item;
END;

-- A reviewer's started assignments whose lease ended: their next claim resumes one.
CREATE INDEX assignments_resumable ON assignments (reviewer, claimed_at) WHERE started = 1 AND state IN ('expired', 'released', 'withdrawn');
