-- Docket schema for PostgreSQL, migration 6: what a second hostile review did with psql as a
-- reviewer's login, closed in the database:
--   * times it chose (the year -292 million) that trapped lead commands: every time a reviewer's
--     login writes is within a day of the server's clock (a lease's end within a day past its length);
--   * an event detail nested 2,500 deep that PostgreSQL's JSON accepts and SQLite's refuses (so a
--     backup failed): a review's event details are flat objects of numbers and strings;
--   * answers outside the core's FeedbackRules (a ranking that is not a permutation of the item's
--     responses, an edit of a response the item does not have, a rating between whole points,
--     empty texts): the guard checks what FeedbackRules checks;
--   * floods that made the next staff write run for minutes: one feedback row per transaction,
--     and each event about an item the login holds an assignment on (or selected in this
--     transaction), once per kind and item per transaction.
-- Migrations are append-only: never edit a committed migration, add a new numbered one.

-- The server's clock in milliseconds since the epoch, and whether `at` is within a day of it.
CREATE FUNCTION docket_near_now(at bigint, after_ms bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
    now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    RETURN $1 IS NULL OR ($1 >= now_ms - 86400000 AND $1 <= now_ms + 86400000 + coalesce($2, 0));
END;
$$;

-- Whether a JSON text is an object whose values are numbers, strings, booleans or nulls.
CREATE FUNCTION docket_flat_object(detail text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN $1 IS NULL OR (docket_json_kind($1) = 'object'
        AND NOT EXISTS (SELECT 1 FROM json_each($1::json) e WHERE json_typeof(e.value) IN ('object', 'array')));
END;
$$;

-- ResponseLetters.letters(count:): A, B, …, Z, AA, AB, …
CREATE FUNCTION docket_letters(count bigint) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    out text[] := '{}';
    n bigint;
    letter text;
BEGIN
    FOR i IN 0 .. coalesce($1, 0) - 1 LOOP
        n := i;
        letter := '';
        LOOP
            letter := chr(65 + (n % 26)::int) || letter;
            n := n / 26 - 1;
            EXIT WHEN n < 0;
        END LOOP;
        out := out || letter;
    END LOOP;
    RETURN out;
END;
$$;

-- Whether the item was written (selected) by the current transaction: for the `selected` event.
CREATE FUNCTION docket_item_written_now(item bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM items i WHERE i.seq = $1 AND docket_written_now(i.xmin));
END;
$$;

-- The second guard, for rows of a reviewer's login (staff pass unchecked), run after docket_guard
-- (triggers of one event fire in name order: *_guard before *_guard_bounds).
CREATE FUNCTION docket_bounds() RETURNS trigger
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
                 AND e.detail::json->>'assignment' = new.detail::json->>'assignment'))
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

CREATE TRIGGER feedback_guard_bounds BEFORE INSERT ON feedback FOR EACH ROW EXECUTE FUNCTION docket_bounds();
CREATE TRIGGER withdrawals_guard_bounds BEFORE INSERT ON withdrawals FOR EACH ROW EXECUTE FUNCTION docket_bounds();
CREATE TRIGGER assignments_guard_bounds BEFORE INSERT OR UPDATE ON assignments FOR EACH ROW EXECUTE FUNCTION docket_bounds();
CREATE TRIGGER events_guard_bounds BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION docket_bounds();

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['docket_near_now(bigint, bigint)', 'docket_flat_object(text)', 'docket_letters(bigint)', 'docket_item_written_now(bigint)',
                             'docket_bounds()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END;
$$;
