-- 006: the worker's side of the webhook outbox (webhook_events, 005).
--
-- The webhook thread of a worker claims due events with
-- media_webhook_claim, POSTs them, and records every attempt with
-- media_webhook_result.  A claim takes a lease (locked_until) and counts
-- the attempt; the attempt number is the lease token: only the claim that
-- made it may end the attempt, a claim whose lease ran out and was taken
-- over learns so from the answer 'lost'.  Every attempt, whatever its
-- answer, is a row of webhook_attempts.

ALTER TABLE webhook_events ADD COLUMN locked_by text;

-- The body as it is sent and signed: {"event","createdAt","data"}, keys in
-- that order, createdAt as the API writes timestamps.  The same bytes on
-- every attempt.
CREATE FUNCTION media_webhook_body(e webhook_events)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"event":' || to_json(e.event)::text
        || ',"createdAt":'
        || to_json(media_iso((e.payload->>'createdAt')::timestamptz))::text
        || ',"data":' || COALESCE(e.payload->'data', 'null'::jsonb)::text
        || '}'
$$;

-- Up to p_limit due events: pending, next_at reached, not leased (or the
-- lease expired: a worker died while delivering).  One UPDATE over a
-- FOR UPDATE SKIP LOCKED select, so concurrent workers never get the same
-- event.  An event of a removed endpoint is not handed out.
CREATE FUNCTION media_webhook_claim(p_worker text, p_limit int,
                                    p_lease_seconds int)
RETURNS TABLE (event_id bigint, attempt int, event text, body text,
               url text, secret text)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT e.id FROM webhook_events e
          JOIN webhook_endpoints p ON p.id = e.endpoint_id
         WHERE e.state = 'pending' AND e.next_at <= now()
           AND (e.locked_until IS NULL OR e.locked_until < now())
           AND p.disabled_at IS NULL
         ORDER BY e.next_at, e.id
         LIMIT p_limit
         FOR UPDATE OF e SKIP LOCKED),
    claimed AS (
        UPDATE webhook_events e
           SET attempts = e.attempts + 1, locked_by = p_worker,
               locked_until = now() + make_interval(secs => p_lease_seconds)
          FROM due WHERE e.id = due.id
        RETURNING e.*)
    SELECT c.id, c.attempts, c.event, media_webhook_body(c::webhook_events),
           p.url, p.secret
      FROM claimed c JOIN webhook_endpoints p ON p.id = c.endpoint_id
     ORDER BY c.next_at, c.id
$$;

-- One attempt's outcome: delivered (any 2xx), or failed with the HTTP
-- status (NULL when there was no answer) and an error.  A failed attempt
-- is retried after p_delay_seconds (the worker computes the exponential
-- backoff with jitter) unless it was attempt p_max_attempts: then the
-- event is 'failed' for good.  Returns 'delivered', 'queued', 'failed',
-- 'lost' (another claim holds the event now) or 'gone' (deleted).
CREATE FUNCTION media_webhook_result(p_event bigint, p_attempt int,
                                     p_http_status int, p_error text,
                                     p_delivered boolean,
                                     p_delay_seconds double precision,
                                     p_max_attempts int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e webhook_events;
BEGIN
    SELECT * INTO e FROM webhook_events WHERE id = p_event FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'gone';
    END IF;
    INSERT INTO webhook_attempts (event_id, attempt, http_status, error)
    VALUES (p_event, p_attempt, p_http_status,
            CASE WHEN p_delivered THEN NULL ELSE p_error END)
    ON CONFLICT DO NOTHING;
    IF e.state <> 'pending' OR e.attempts <> p_attempt THEN
        RETURN 'lost';
    END IF;
    IF p_delivered THEN
        UPDATE webhook_events
           SET state = 'delivered', delivered_at = now(), last_error = NULL,
               locked_by = NULL, locked_until = NULL
         WHERE id = p_event;
        RETURN 'delivered';
    END IF;
    IF p_attempt >= p_max_attempts THEN
        UPDATE webhook_events
           SET state = 'failed', last_error = p_error, locked_by = NULL,
               locked_until = NULL
         WHERE id = p_event;
        RETURN 'failed';
    END IF;
    UPDATE webhook_events
       SET last_error = p_error, locked_by = NULL, locked_until = NULL,
           next_at = now() + make_interval(secs => p_delay_seconds)
     WHERE id = p_event;
    RETURN 'queued';
END $$;

-- Seconds until the next pending event is due (0 when one is due now),
-- NULL when none is pending: how long the webhook thread may sleep.
CREATE FUNCTION media_webhook_next()
RETURNS double precision LANGUAGE sql STABLE AS $$
    SELECT greatest(0, extract(epoch FROM
               min(greatest(e.next_at, COALESCE(e.locked_until, e.next_at)))
               - now()))::double precision
      FROM webhook_events e
     WHERE e.state = 'pending'
$$;

-- media-admin webhook remove: the endpoint stops receiving; its pending
-- events fail with a reason.  The history stays.  Returns the number of
-- events dropped, NULL when there is no such endpoint.
CREATE FUNCTION media_webhook_remove(p_endpoint bigint)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    v_n int;
BEGIN
    UPDATE webhook_endpoints SET disabled_at = COALESCE(disabled_at, now())
     WHERE id = p_endpoint;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE webhook_events
       SET state = 'failed', last_error = 'endpoint removed',
           locked_by = NULL, locked_until = NULL
     WHERE endpoint_id = p_endpoint AND state = 'pending';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END $$;
