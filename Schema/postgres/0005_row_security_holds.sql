-- Docket schema for PostgreSQL, migration 5: what a hostile review of migration 4 found a
-- reviewer's login could still do with psql, closed in the database:
--   * rows with ids it chose (an event numbered ahead of the sequence blocked every later write):
--     new events, feedback, assignments and backlog rows take their ids from their sequences;
--   * the audit chain's links, from which another reviewer's event could be guessed by trying
--     candidates: a reviewer's login no longer reads or writes event_links; it lists the events
--     it writes in event_backlog, and the next write of a staff login links them, in order,
--     before anything else (only those: a link removed by hand is never made again);
--   * the escalation backlog applied to the item as it is later, not as it was: each backlog row
--     records the item's feedback as it stood (the newest id, and those not withdrawn), and only
--     for feedback given or withdrawn in the same transaction, once;
--   * the budget spent without selecting items: one more `served` only with the item selected at
--     that step, and an item selected only at the next step;
--   * answers outside the task definition: labels of the project, finite ratings within the
--     scale, flag reasons of the definition;
--   * events of kinds a review never writes, or naming someone else as the one who acted, and
--     lease ends for leases that are not over;
--   * LOCK TABLE on assignments: its UPDATE grant is on the three columns a lease changes.
-- Migrations are append-only: never edit a committed migration, add a new numbered one.

-- Events a reviewer's login wrote, waiting for a staff login's next write to link them.
CREATE TABLE event_backlog (
    event   BIGINT PRIMARY KEY REFERENCES events (id)
);
ALTER TABLE event_backlog ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_backlog_queue ON event_backlog FOR INSERT WITH CHECK ((SELECT docket_reviewer_of(current_user::text)) IS NOT NULL);
GRANT INSERT ON event_backlog TO PUBLIC;

ALTER TABLE escalation_backlog ADD COLUMN through BIGINT;
ALTER TABLE escalation_backlog ADD COLUMN live BIGINT[];
CREATE UNIQUE INDEX escalation_backlog_once ON escalation_backlog (feedback, withdrawn);

-- The item's feedback as it stands when a backlog row is written: the newest feedback id on the
-- item, and the ids not withdrawn. Read with the owner's rights (the writer sees only its own).
CREATE FUNCTION docket_backlog_state() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    SELECT coalesce(max(f.id), 0),
           coalesce(array_agg(f.id ORDER BY f.id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id)), '{}')
      INTO new.through, new.live
      FROM feedback f WHERE f.item = (SELECT g.item FROM feedback g WHERE g.id = new.feedback);
    RETURN new;
END;
$$;
CREATE TRIGGER escalation_backlog_state BEFORE INSERT ON escalation_backlog FOR EACH ROW EXECUTE FUNCTION docket_backlog_state();

-- Whether `id` is the value the row's identity sequence gave this session last: a row whose id
-- was chosen by its writer is not.
CREATE FUNCTION docket_fresh_id(relation regclass, id bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    RETURN $2 = currval(pg_get_serial_sequence($1::text, 'id'));
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RETURN false;
END;
$$;

-- Whether a row was written by the current transaction (its xmin).
CREATE FUNCTION docket_written_now(row_xmin xid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN $1::text::bigint = txid_current() % 4294967296;
END;
$$;

CREATE OR REPLACE FUNCTION docket_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    me bigint;
    my_name text;
    definition json;
BEGIN
    IF docket_is_staff(TG_RELID) THEN
        RETURN new;
    END IF;
    me := docket_reviewer_of(current_user::text);
    IF me IS NULL THEN
        RAISE EXCEPTION USING MESSAGE = format('the login %s is not bound to a reviewer of this project', current_user), ERRCODE = 'insufficient_privilege';
    END IF;
    -- (Nested: PL/pgSQL plans an expression for the table at hand, and items' id is its text id.)
    IF TG_OP = 'INSERT' AND TG_TABLE_NAME IN ('events', 'feedback', 'assignments', 'escalation_backlog') THEN
        IF NOT docket_fresh_id(TG_RELID::regclass, new.id) THEN
            RAISE EXCEPTION USING MESSAGE = format('a reviewer''s login may not choose the id of a new row of %s', TG_TABLE_NAME), ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'items' THEN
        -- The queue's selection of an unserved item (the columns are limited by the grants), at
        -- the project's next step.
        IF old.served_at IS NOT NULL THEN
            RAISE EXCEPTION USING MESSAGE = format('item %s was selected already; a reviewer''s login may not change it', old.id), ERRCODE = 'insufficient_privilege';
        END IF;
        IF new.served_at IS NOT NULL AND new.selection_step IS DISTINCT FROM (SELECT p.served FROM project p) THEN
            RAISE EXCEPTION USING MESSAGE = format('item %s may only be selected at the project''s next step', old.id), ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'project' THEN
        IF new.served IS DISTINCT FROM old.served + 1 OR NOT EXISTS (SELECT 1 FROM items i WHERE i.selection_step = old.served) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only count one more selection, of the item selected at that step', ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'assignments' THEN
        IF TG_OP = 'INSERT' THEN
            IF new.reviewer IS DISTINCT FROM me OR new.state <> 'open' OR new.started <> 0
               OR (new.gold <> 0 AND NOT EXISTS (SELECT 1 FROM items i WHERE i.seq = new.item AND i.seq = ANY(docket_gold_items()))) THEN
                RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only claim an item for itself', ERRCODE = 'insufficient_privilege';
            END IF;
        ELSIF (new.id, new.item, new.reviewer, new.claimed_at, new.gold, new.started)
              IS DISTINCT FROM (old.id, old.item, old.reviewer, old.claimed_at, old.gold, old.started) THEN
            RAISE EXCEPTION USING MESSAGE = format('a reviewer''s login may not move assignment %s', old.id), ERRCODE = 'insufficient_privilege';
        ELSIF old.reviewer <> me AND NOT (old.state = 'open' AND new.state = 'expired' AND new.expires_at = old.expires_at
                                          AND new.closed_at IS NOT NULL AND old.expires_at <= new.closed_at) THEN
            RAISE EXCEPTION USING MESSAGE = format('assignment %s is another reviewer''s; a reviewer''s login may only end it when its lease is over', old.id), ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'feedback' THEN
        -- As itself, given in a session, on its own assignment of the same item: an open one, or
        -- (undo bringing back an answer) one holding the withdrawn, superseded answer it copies.
        IF new.reviewer IS DISTINCT FROM me OR new.source <> 'session' OR NOT EXISTS (
            SELECT 1 FROM assignments a WHERE a.id = new.assignment AND a.reviewer = me AND a.item = new.item
              AND (a.state = 'open' OR EXISTS (
                  SELECT 1 FROM feedback o JOIN supersessions s ON s.feedback = o.id
                  WHERE o.assignment = a.id AND o.reviewer = me
                    AND (o.kind, o.label, o.rating, o.ranking, o.preference, o.text, o.target, o.reason, o.severity, o.rubric)
                        IS NOT DISTINCT FROM
                        (new.kind, new.label, new.rating, new.ranking, new.preference, new.text, new.target, new.reason, new.severity, new.rubric))))
        THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only give feedback as itself, on its own open assignment', ERRCODE = 'insufficient_privilege';
        END IF;
        -- Within the task definition, as Docket's session checks it.
        SELECT r.definition::json INTO definition FROM project p JOIN rubrics r ON r.id = p.rubric;
        IF new.label IS NOT NULL AND new.label NOT IN (SELECT json_array_elements_text(p.labels::json) FROM project p) THEN
            RAISE EXCEPTION USING MESSAGE = format('%s is not one of the project''s labels', new.label), ERRCODE = 'check_violation';
        END IF;
        IF new.rating IS NOT NULL AND (new.rating IN ('NaN', 'Infinity', '-Infinity')
           OR new.rating < coalesce((definition->'rating'->'scale'->>0)::double precision, '-Infinity')
           OR new.rating > coalesce((definition->'rating'->'scale'->>1)::double precision, 'Infinity')) THEN
            RAISE EXCEPTION USING MESSAGE = format('the rating %s is not on the rubric''s scale', new.rating), ERRCODE = 'check_violation';
        END IF;
        IF new.kind = 'flag' AND definition->'flag_reasons' IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM json_array_elements_text(definition->'flag_reasons') r WHERE r = new.reason) THEN
            RAISE EXCEPTION USING MESSAGE = format('%s is not one of the rubric''s flag reasons', coalesce(new.reason, 'no reason')), ERRCODE = 'check_violation';
        END IF;
    ELSIF TG_TABLE_NAME = 'withdrawals' THEN
        IF new.reviewer IS DISTINCT FROM me OR NOT EXISTS (SELECT 1 FROM feedback f WHERE f.id = new.feedback AND f.reviewer = me) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only withdraw its own feedback', ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'supersessions' THEN
        IF (SELECT count(*) FROM feedback f WHERE f.id IN (new.feedback, new."by") AND f.reviewer = me) <> 2 THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only replace its own feedback', ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'events' THEN
        -- The kinds a review writes: its own, and the end of someone else's lease that is over (a
        -- claim ends them), naming no one but itself as the one who acted.
        my_name := (SELECT r.name FROM reviewers r WHERE r.id = me);
        IF new.kind NOT IN ('selected', 'claimed', 'gold-mixed', 'lease-resumed', 'lease-released', 'lease-expired', 'feedback', 'superseded',
                            'skipped', 'review-done', 'withdrawn', 'restored', 'reopened')
           OR (new.detail IS NOT NULL AND (new.detail::json->>'actor') IS DISTINCT FROM NULL AND (new.detail::json->>'actor') IS DISTINCT FROM my_name)
           OR NOT (new.reviewer = me OR (new.kind = 'lease-expired' AND EXISTS (
                   SELECT 1 FROM assignments a WHERE a.id = (new.detail::json->>'assignment')::bigint AND a.reviewer = new.reviewer
                     AND a.state = 'open' AND a.expires_at <= new.at))) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only log its own review''s events', ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'event_backlog' THEN
        IF NOT EXISTS (SELECT 1 FROM events e WHERE e.id = new.event AND docket_written_now(e.xmin)) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only list for linking the events it writes in the same transaction', ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF TG_TABLE_NAME = 'event_links' THEN
        RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login does not link events; a staff login''s next write does', ERRCODE = 'insufficient_privilege';
    ELSIF TG_TABLE_NAME = 'escalation_backlog' THEN
        -- Feedback it gave, or a label it withdrew, in this very transaction.
        IF NOT EXISTS (SELECT 1 FROM feedback f WHERE f.id = new.feedback AND f.reviewer = me
                         AND CASE WHEN new.withdrawn = 0 THEN docket_written_now(f.xmin)
                                  ELSE EXISTS (SELECT 1 FROM withdrawals w WHERE w.feedback = f.id AND docket_written_now(w.xmin)) END) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login may only queue feedback it gives or withdraws in the same transaction', ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN new;
END;
$$;

CREATE TRIGGER event_backlog_guard BEFORE INSERT ON event_backlog FOR EACH ROW EXECUTE FUNCTION docket_guard();

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['docket_backlog_state()', 'docket_fresh_id(regclass, bigint)', 'docket_written_now(xid)', 'docket_guard()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END;
$$;

-- The chain's links are staff's alone.
DROP POLICY event_links_read ON event_links;
DROP POLICY event_links_link ON event_links;
REVOKE SELECT, INSERT ON event_links FROM PUBLIC;
-- A lease changes its state, its end and when it closed; table-wide UPDATE would also let any
-- login LOCK the whole table.
REVOKE UPDATE ON assignments FROM PUBLIC;
GRANT UPDATE (state, closed_at, expires_at) ON assignments TO PUBLIC;
