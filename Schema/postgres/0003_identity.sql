-- Docket schema for PostgreSQL, migration 3 (as SQLite's migration 12): each reviewer is bound to
-- a login, here the PostgreSQL login role (current_user) that acts as them. Existing reviewers are
-- bound to the role of their own name. Reviewers and escalations are never deleted.
-- Migrations are append-only: never edit a committed migration, add a new numbered one.
ALTER TABLE reviewers ADD COLUMN login TEXT COLLATE "C" CHECK (login IS NULL OR length(login) > 0);
UPDATE reviewers SET login = name;
CREATE UNIQUE INDEX reviewers_by_login ON reviewers (login);

CREATE TRIGGER reviewers_no_delete BEFORE DELETE ON reviewers
FOR EACH ROW EXECUTE FUNCTION docket_refuse('reviewers are never deleted');
CREATE TRIGGER reviewers_no_truncate BEFORE TRUNCATE ON reviewers
FOR EACH STATEMENT EXECUTE FUNCTION docket_refuse('reviewers are never deleted');
CREATE TRIGGER escalations_no_delete BEFORE DELETE ON escalations
FOR EACH ROW EXECUTE FUNCTION docket_refuse('escalations are never deleted');
CREATE TRIGGER escalations_no_truncate BEFORE TRUNCATE ON escalations
FOR EACH STATEMENT EXECUTE FUNCTION docket_refuse('escalations are never deleted');
