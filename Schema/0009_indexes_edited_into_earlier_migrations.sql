-- Docket schema, migration 9: two indexes that were once edited into migrations already
-- shipped (0001 and 0003). Those files are back as first committed; this migration brings every
-- database, whichever of the two versions of 0001 and 0003 made it, to one schema.

-- Open leases by reviewer: the claim query names it (INDEXED BY). 0001 gained it after it was
-- committed, so databases made before that lack it.
CREATE INDEX IF NOT EXISTS assignments_open_by_reviewer ON assignments (reviewer) WHERE state = 'open';

-- Current labels by item and reviewer, for the agreement statistics; covering, so reading
-- millions of labels never visits the table. 0003 first made it without the last three columns.
DROP INDEX IF EXISTS feedback_labels;
CREATE INDEX feedback_labels ON feedback (item, reviewer, id, label, rubric, created_at) WHERE kind = 'label';
