-- Docket schema, migration 4: gold items mixed into reviewers' queues for calibration.
-- A gold assignment does not count toward an item's overlap, nor toward the budget.
ALTER TABLE assignments ADD COLUMN gold INTEGER NOT NULL DEFAULT 0 CHECK (gold IN (0, 1));

DROP TRIGGER assignments_taken_insert;
DROP TRIGGER assignments_taken_update;

CREATE TRIGGER assignments_taken_insert AFTER INSERT ON assignments
WHEN new.state IN ('open', 'done') AND new.gold = 0
BEGIN
    UPDATE items SET taken = taken + 1 WHERE seq = new.item;
END;

CREATE TRIGGER assignments_taken_update AFTER UPDATE OF state ON assignments
WHEN new.gold = 0 AND (old.state IN ('open', 'done')) <> (new.state IN ('open', 'done'))
BEGIN
    UPDATE items SET taken = taken + (CASE WHEN new.state IN ('open', 'done') THEN 1 ELSE -1 END) WHERE seq = new.item;
END;

CREATE INDEX items_gold ON items (seq) WHERE gold IS NOT NULL;
