-- Docket schema, migration 12: each reviewer is bound to a login, the operating-system account
-- (SQLite) or the PostgreSQL login role that acts as them; Docket finds the acting reviewer by
-- the caller's login, never by a name the caller types. Existing reviewers are bound to the
-- account of their own name. Reviewers are never deleted (their feedback and events name them).
ALTER TABLE reviewers ADD COLUMN login TEXT CHECK (login IS NULL OR length(login) > 0);
UPDATE reviewers SET login = name;
CREATE UNIQUE INDEX reviewers_by_login ON reviewers (login);

CREATE TRIGGER reviewers_no_delete BEFORE DELETE ON reviewers
BEGIN
    SELECT RAISE(ABORT, 'reviewers are never deleted');
END;

CREATE TRIGGER escalations_no_delete BEFORE DELETE ON escalations
BEGIN
    SELECT RAISE(ABORT, 'escalations are never deleted');
END;
