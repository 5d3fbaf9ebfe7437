-- Docket schema for PostgreSQL, migration 8: what an honest team's use found (a fourth review):
--   * a session that began before a config change stores its answers under the rubric it began
--     with (as on SQLite), but the guard judged them by the project's current rubric: a rating of
--     5 after the scale became 1-3, a flag reason dropped since, and the undo that brings such an
--     answer back, were refused. An answer is now judged by the rubric it is stored under;
--   * a lead's session whose login stopped being a member of the owner (demoted, then REVOKEd as
--     check says) went on trying a staff's catch-up and failed every answer: docket_waiting()
--     tells a write, in one statement after the lock, whether its login is staff (NULL when not:
--     the session then goes on as a reviewer's login) and whether anything waits for it.
-- Migrations are append-only: never edit a committed migration, add a new numbered one.

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
        -- Within the task definition the answer is given under (its rubric: a session that began
        -- before a config change goes on under the rubric it began with), as Docket checks it.
        SELECT r.definition::json INTO definition FROM rubrics r WHERE r.id = coalesce(new.rubric, (SELECT p.rubric FROM project p));
        IF new.label IS NOT NULL AND new.label NOT IN (
            SELECT json_array_elements_text(coalesce(definition->'labels', (SELECT p.labels::json FROM project p)))) THEN
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


-- NULL when `login` is not staff (it is held to a reviewer's rights); else whether anything waits
-- for a staff write to catch up with. A write asks it in a statement of its own after the lock.
CREATE FUNCTION docket_waiting(login text) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    IF NOT (pg_catalog.pg_has_role($1, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'items'::regclass), 'USAGE')
            OR coalesce((SELECT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = $1), false)) THEN
        RETURN NULL;
    END IF;
    RETURN EXISTS (SELECT 1 FROM escalation_backlog) OR EXISTS (SELECT 1 FROM event_backlog);
END;
$$;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['docket_guard()', 'docket_waiting(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END;
$$;
