-- Docket schema, migration 11: the audit log as a hash chain. Each event gets a link, the SHA-256
-- of the previous event's link and this event's canonical content (DocketCore's AuditChain),
-- written in the same transaction as the event. `docket check` recomputes the chain and names
-- the first event whose link does not hold. Events written before this migration are linked by
-- the first command that opens the database to write.
CREATE TABLE event_links (
    event   INTEGER PRIMARY KEY REFERENCES events (id),
    link    TEXT    NOT NULL CHECK (length(link) = 64)
);

CREATE TRIGGER event_links_no_update BEFORE UPDATE ON event_links
BEGIN
    SELECT RAISE(ABORT, 'the audit chain is append-only');
END;

CREATE TRIGGER event_links_no_delete BEFORE DELETE ON event_links
BEGIN
    SELECT RAISE(ABORT, 'the audit chain is append-only');
END;
