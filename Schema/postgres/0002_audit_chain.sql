-- Docket schema for PostgreSQL, migration 2: the audit log as a hash chain (as SQLite's
-- migration 11). Each event gets a link, the SHA-256 of the previous event's link and this
-- event's canonical content, written in the same transaction as the event; `docket check`
-- recomputes the chain and names the first event whose link does not hold.
-- Migrations are append-only: never edit a committed migration, add a new numbered one.
CREATE TABLE event_links (
    event   BIGINT PRIMARY KEY REFERENCES events (id),
    link    TEXT COLLATE "C" NOT NULL CHECK (length(link) = 64)
);

CREATE TRIGGER event_links_no_update BEFORE UPDATE ON event_links
FOR EACH ROW EXECUTE FUNCTION docket_refuse('the audit chain is append-only');
CREATE TRIGGER event_links_no_delete BEFORE DELETE ON event_links
FOR EACH ROW EXECUTE FUNCTION docket_refuse('the audit chain is append-only');
CREATE TRIGGER event_links_no_truncate BEFORE TRUNCATE ON event_links
FOR EACH STATEMENT EXECUTE FUNCTION docket_refuse('the audit chain is append-only');
