-- Docket schema, migration 3: feedback imported from files (historical labels) is marked as such.
ALTER TABLE feedback ADD COLUMN source TEXT NOT NULL DEFAULT 'session' CHECK (source IN ('session', 'import'));
-- Current labels by item and reviewer, for the agreement statistics; covering, so reading
-- millions of labels never visits the table.
CREATE INDEX feedback_labels ON feedback (item, reviewer, id, label, rubric, created_at) WHERE kind = 'label';
