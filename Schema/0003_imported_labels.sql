-- Docket schema, migration 3: feedback imported from files (historical labels) is marked as such.
ALTER TABLE feedback ADD COLUMN source TEXT NOT NULL DEFAULT 'session' CHECK (source IN ('session', 'import'));
-- Current labels by item and reviewer, for the agreement statistics.
CREATE INDEX feedback_labels ON feedback (item, reviewer, id) WHERE kind = 'label';
