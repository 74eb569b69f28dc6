-- 003: the worker's side of the job queue.
--
-- A worker claims one job at a time per thread with media_job_claim, keeps
-- its lease alive with media_job_heartbeat, and ends the attempt with one of
-- media_job_done / _optimized / _retry / _fail.  An attempt is
-- identified by (job, worker, attempt number), the attempt number being that
-- of its job_attempts row: only the worker that holds the job may end it,
-- and a worker whose job was taken over after its lease expired learns so
-- from the answer 'lost' instead of overwriting the new owner's state.
-- 'gone' means the job no longer exists (its media row was deleted).
--
-- jobs.attempts counts the attempts against max_attempts (media-admin jobs
-- retry resets it); job_attempts.attempt numbers every attempt ever made.

-- Claim the next due job, or take over a running job whose lease expired.
-- One UPDATE with FOR UPDATE SKIP LOCKED, so concurrent claims never wait on
-- each other and never get the same job.  A job that has lost its worker
-- more than max_attempts times (one that crashes whoever runs it) is failed
-- instead of handed out again.
CREATE FUNCTION media_job_claim(p_worker text, p_lease_seconds int)
RETURNS TABLE (job_id bigint, kind text, tenant_id bigint, media_id bigint,
               payload jsonb, attempt int, object_key text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    j jobs;
    v_attempt int;
BEGIN
    LOOP
        UPDATE jobs
           SET state = 'running', attempts = jobs.attempts + 1,
               locked_by = p_worker,
               locked_until = now() + make_interval(secs => p_lease_seconds),
               updated_at = now()
         WHERE jobs.id = (SELECT c.id FROM jobs c
                           WHERE (c.state = 'queued' AND c.run_at <= now())
                              OR (c.state = 'running'
                                  AND c.locked_until < now())
                           ORDER BY c.run_at, c.id
                           LIMIT 1
                           FOR UPDATE SKIP LOCKED)
        RETURNING jobs.* INTO j;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        UPDATE job_attempts a
           SET outcome = 'lost', finished_at = now(),
               error = 'lease expired: worker stopped or crashed'
         WHERE a.job_id = j.id AND a.outcome IS NULL;
        EXIT WHEN j.attempts <= j.max_attempts;
        PERFORM media_job_end(j, 'failed', 'worker_lost',
            'Processing was interrupted ' || j.max_attempts
            || ' times; the file may be too demanding to process.');
    END LOOP;

    SELECT COALESCE(max(a.attempt), 0) + 1 INTO v_attempt
      FROM job_attempts a WHERE a.job_id = j.id;
    INSERT INTO job_attempts (job_id, attempt, worker)
    VALUES (j.id, v_attempt, p_worker);
    UPDATE media m SET optimization = 'in_progress', updated_at = now()
     WHERE m.id = j.media_id;
    RETURN QUERY
        SELECT j.id, j.kind, j.tenant_id, j.media_id, j.payload, v_attempt,
               m.object_key
          FROM (SELECT 1) one LEFT JOIN media m ON m.id = j.media_id;
END $$;

-- Extend the leases of the jobs this worker holds; returns the ids still
-- held, so the worker can tell which ones it lost.
CREATE FUNCTION media_job_heartbeat(p_worker text, p_jobs bigint[],
                                    p_lease_seconds int)
RETURNS SETOF bigint LANGUAGE sql AS $$
    UPDATE jobs
       SET locked_until = now() + make_interval(secs => p_lease_seconds)
     WHERE id = ANY (p_jobs) AND state = 'running' AND locked_by = p_worker
    RETURNING id
$$;

-- The job row of an attempt, locked, when the caller still holds it; else
-- 'lost' or 'gone' in p_status.  The lease itself may have run out: as long
-- as nobody took the job over, the work done is still good.
CREATE FUNCTION media_job_hold(p_job bigint, p_worker text, p_attempt int,
                               OUT p_row jobs, OUT p_status text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO p_row FROM jobs WHERE id = p_job FOR UPDATE;
    IF NOT FOUND THEN
        p_status := 'gone';
    ELSIF p_row.state = 'running' AND p_row.locked_by = p_worker
          AND EXISTS (SELECT 1 FROM job_attempts
                       WHERE job_id = p_job AND attempt = p_attempt
                         AND worker = p_worker AND outcome IS NULL) THEN
        p_status := 'ok';
    ELSE
        p_status := 'lost';
    END IF;
END $$;

-- End the current attempt and the job: outcome 'done' or 'failed', or
-- 'retry' (back to queued at p_run_at).  A failed job fails its media row
-- with a stable code and a sentence for the client.
CREATE FUNCTION media_job_end(j jobs, p_outcome text, p_code text,
                              p_reason text,
                              p_run_at timestamptz DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job_attempts
       SET outcome = p_outcome, finished_at = now(),
           error = CASE WHEN p_code IS NULL THEN NULL
                        ELSE p_code || ': ' || p_reason END
     WHERE job_id = j.id AND outcome IS NULL;
    UPDATE jobs
       SET state = CASE p_outcome WHEN 'retry' THEN 'queued'
                                  ELSE p_outcome END,
           run_at = COALESCE(p_run_at, run_at),
           locked_by = NULL, locked_until = NULL,
           last_error = CASE WHEN p_code IS NULL THEN last_error
                             ELSE p_code || ': ' || p_reason END,
           finished_at = CASE WHEN p_outcome = 'retry' THEN NULL
                              ELSE now() END,
           updated_at = now()
     WHERE id = j.id;
    IF p_outcome = 'failed' THEN
        UPDATE media
           SET optimization = 'failed', failure_code = p_code,
               failure_reason = p_reason, updated_at = now()
         WHERE id = j.media_id;
    ELSIF p_outcome = 'retry' THEN
        UPDATE media SET optimization = 'pending', updated_at = now()
         WHERE id = j.media_id;
    END IF;
END $$;

-- Hold and end in one: the answer is media_job_hold's status.
CREATE FUNCTION media_job_close(p_job bigint, p_worker text, p_attempt int,
                                p_outcome text, p_code text, p_reason text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h record;
BEGIN
    h := media_job_hold(p_job, p_worker, p_attempt);
    IF h.p_status = 'ok' THEN
        PERFORM media_job_end(h.p_row, p_outcome, p_code, p_reason);
    END IF;
    RETURN h.p_status;
END $$;

CREATE FUNCTION media_job_done(p_job bigint, p_worker text, p_attempt int)
RETURNS text LANGUAGE sql AS $$
    SELECT media_job_close(p_job, p_worker, p_attempt, 'done', NULL, NULL)
$$;

-- A transient failure: queued again after p_delay_seconds (the worker
-- computes the exponential backoff with jitter), or failed for good when
-- this was the last allowed attempt.  Returns 'queued', 'failed', 'lost' or
-- 'gone'.
CREATE FUNCTION media_job_retry(p_job bigint, p_worker text, p_attempt int,
                                p_code text, p_reason text,
                                p_delay_seconds double precision)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h record;
BEGIN
    h := media_job_hold(p_job, p_worker, p_attempt);
    IF h.p_status <> 'ok' THEN
        RETURN h.p_status;
    END IF;
    IF (h.p_row).attempts >= (h.p_row).max_attempts THEN
        PERFORM media_job_end(h.p_row, 'failed', p_code, p_reason);
        RETURN 'failed';
    END IF;
    PERFORM media_job_end(h.p_row, 'retry', p_code, p_reason,
                          now() + make_interval(secs => p_delay_seconds));
    RETURN 'queued';
END $$;

-- A permanent failure (not an image, too large, forbidden address ...).
CREATE FUNCTION media_job_fail(p_job bigint, p_worker text, p_attempt int,
                               p_code text, p_reason text)
RETURNS text LANGUAGE sql AS $$
    SELECT media_job_close(p_job, p_worker, p_attempt, 'failed', p_code,
                           p_reason)
$$;

-- A photo is optimized: dimensions, BlurHash and the variants
-- ([{"variant":128,"key":...,"bytes":...,"width":...,"height":...}, ...])
-- land in one transaction with the job's end.  An import job also sets the
-- type detected from the bytes and the size fetched (NULL keeps them).
-- When the media row was deleted while we worked, the files just written
-- are garbage.
CREATE FUNCTION media_job_optimized(p_job bigint, p_worker text,
                                    p_attempt int, p_width int, p_height int,
                                    p_blurhash text, p_variants jsonb,
                                    p_content_type text, p_size bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h record;
BEGIN
    h := media_job_hold(p_job, p_worker, p_attempt);
    IF h.p_status = 'gone' THEN
        INSERT INTO storage_garbage (object_key)
        SELECT v->>'key' FROM jsonb_array_elements(p_variants) v;
    END IF;
    IF h.p_status <> 'ok' THEN
        RETURN h.p_status;
    END IF;
    INSERT INTO media_variants AS mv
           (media_id, variant_size, object_key, size, width, height)
    SELECT (h.p_row).media_id, (v->>'variant')::int, v->>'key',
           (v->>'bytes')::bigint, (v->>'width')::int, (v->>'height')::int
      FROM jsonb_array_elements(p_variants) v
    ON CONFLICT (media_id, variant_size) DO UPDATE
       SET object_key = EXCLUDED.object_key, size = EXCLUDED.size,
           width = EXCLUDED.width, height = EXCLUDED.height;
    UPDATE media
       SET optimization = 'success', width = p_width, height = p_height,
           blurhash = p_blurhash, failure_code = NULL, failure_reason = NULL,
           content_type = COALESCE(p_content_type, content_type),
           size = COALESCE(p_size, size), updated_at = now()
     WHERE id = (h.p_row).media_id;
    PERFORM media_job_end(h.p_row, 'done', NULL, NULL);
    RETURN 'ok';
END $$;

-- media-admin jobs retry: a failed job back to the queue with a fresh
-- attempt budget, and its media row back to pending.
CREATE FUNCTION media_job_requeue(p_job bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
BEGIN
    UPDATE jobs
       SET state = 'queued', attempts = 0, run_at = now(), last_error = NULL,
           finished_at = NULL, updated_at = now()
     WHERE id = p_job AND state = 'failed'
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE media
       SET optimization = 'pending', failure_code = NULL,
           failure_reason = NULL, updated_at = now()
     WHERE id = j.media_id;
    PERFORM pg_notify('media_jobs', j.id::text);
    RETURN true;
END $$;

-- Objects left behind by deleted media rows, handed out for removal.
CREATE FUNCTION media_garbage_take(p_limit int)
RETURNS SETOF text LANGUAGE sql AS $$
    DELETE FROM storage_garbage
     WHERE id IN (SELECT id FROM storage_garbage ORDER BY id
                   LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING object_key
$$;
