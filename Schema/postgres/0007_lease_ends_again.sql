-- Docket schema for PostgreSQL, migration 7: a third hostile review found that migration 6 let a
-- lease end only once in an event: a lease taken up again (`lease-resumed` reopens the same
-- assignment) and over again could never be ended by a reviewer's claim, and every reviewer's
-- claim, which ends every lease that is over, then failed until a staff login claimed. A lease's
-- end is now logged once per transaction (the guard still requires the lease open and over).
-- Migrations are append-only: never edit a committed migration, add a new numbered one.

CREATE OR REPLACE FUNCTION docket_bounds() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    me bigint;
    responses bigint;
    letters text[];
BEGIN
    IF docket_is_staff(TG_RELID) THEN
        RETURN new;
    END IF;
    me := docket_reviewer_of(current_user::text);
    IF TG_TABLE_NAME = 'feedback' THEN
        IF NOT docket_near_now(new.created_at, 0) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login writes times within a day of the server''s clock; check this machine''s clock', ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM feedback f WHERE f.reviewer = me AND f.item = new.item AND docket_written_now(f.xmin)) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login gives one answer per transaction', ERRCODE = 'insufficient_privilege';
        END IF;
        -- FeedbackRules.problem, for the item's responses (its `responses`, or one `response`).
        SELECT coalesce(json_array_length(i.responses::json), CASE WHEN i.response IS NULL THEN 0 ELSE 1 END) INTO responses
          FROM items i WHERE i.seq = new.item;
        letters := docket_letters(responses);
        IF (new.kind = 'rating' AND new.rating <> round(new.rating))
           OR (new.kind = 'ranking' AND (responses < 2 OR docket_json_kind(new.ranking) IS DISTINCT FROM 'array'
               OR EXISTS (SELECT 1 FROM json_array_elements(new.ranking::json) e WHERE json_typeof(e) <> 'string')
               OR ARRAY(SELECT e FROM json_array_elements_text(new.ranking::json) e ORDER BY e COLLATE "C")
                  <> ARRAY(SELECT l FROM unnest(letters) l ORDER BY l COLLATE "C")))
           OR (new.kind = 'preference' AND responses < 2)
           OR (new.kind = 'edit' AND (new.target IS NULL OR NOT new.target = ANY(letters) OR coalesce(new.text, '') = ''))
           OR (new.kind IN ('demonstration', 'critique', 'note') AND coalesce(btrim(new.text, E' \n\t'), '') = '') THEN
            RAISE EXCEPTION USING MESSAGE = format('this %s is not one the task definition takes (FeedbackRules)', new.kind), ERRCODE = 'check_violation';
        END IF;
    ELSIF TG_TABLE_NAME = 'withdrawals' THEN
        IF NOT docket_near_now(new.at, 0) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login writes times within a day of the server''s clock; check this machine''s clock', ERRCODE = 'check_violation';
        END IF;
    ELSIF TG_TABLE_NAME = 'assignments' THEN
        -- The times it writes: all of a claim's, the ones an update changes.
        IF TG_OP = 'INSERT' THEN
            IF NOT docket_near_now(new.claimed_at, 0) OR NOT docket_near_now(new.closed_at, 0)
               OR NOT docket_near_now(new.expires_at, (SELECT p.lease_seconds * 1000 FROM project p)) THEN
                RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login writes times within a day of the server''s clock; check this machine''s clock', ERRCODE = 'check_violation';
            END IF;
        ELSIF (new.closed_at IS DISTINCT FROM old.closed_at AND NOT docket_near_now(new.closed_at, 0))
           OR (new.expires_at IS DISTINCT FROM old.expires_at AND NOT docket_near_now(new.expires_at, (SELECT p.lease_seconds * 1000 FROM project p))) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login writes times within a day of the server''s clock; check this machine''s clock', ERRCODE = 'check_violation';
        END IF;
    ELSIF TG_TABLE_NAME = 'events' THEN
        IF NOT docket_near_now(new.at, 0) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login writes times within a day of the server''s clock; check this machine''s clock', ERRCODE = 'check_violation';
        END IF;
        IF NOT docket_flat_object(new.detail) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login writes an event''s detail as one flat JSON object', ERRCODE = 'check_violation';
        END IF;
        IF new.item IS NULL
           OR (new.kind = 'lease-expired' AND EXISTS (
               SELECT 1 FROM events e WHERE e.item = new.item AND e.kind = 'lease-expired'
                 AND e.detail::json->>'assignment' = new.detail::json->>'assignment' AND docket_written_now(e.xmin)))
           OR (new.kind <> 'lease-expired' AND NOT (new.kind = 'selected' AND docket_item_written_now(new.item))
               AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item = new.item AND a.reviewer = me))
           OR (new.kind NOT IN ('lease-expired', 'superseded') AND EXISTS (
               SELECT 1 FROM events e WHERE e.item = new.item AND e.kind = new.kind AND e.reviewer = me AND docket_written_now(e.xmin)))
           OR (new.kind = 'superseded' AND NOT EXISTS (
               SELECT 1 FROM withdrawals w WHERE w.feedback = (new.detail::json->>'feedback')::bigint AND w.reviewer = me AND docket_written_now(w.xmin))) THEN
            RAISE EXCEPTION USING MESSAGE = 'a reviewer''s login logs each event of its review once, about an item it holds', ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN new;
END;
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION docket_bounds() SET search_path = %I, pg_temp', current_schema());
END;
$$;
