-- 007: orphans.  A presigned upload that was PUT but never confirmed is
-- removed once its URL has expired (plus a margin for a confirm in
-- flight): the row goes, and its object joins storage_garbage, which the
-- worker empties with the driver in use (local or s3).  With s3 an upload
-- has a row only once a confirm HEADed it (README, "S3-compatible
-- storage"): objects PUT and never confirmed are unknown here.

CREATE INDEX uploads_unconfirmed ON uploads (uploaded_at)
    WHERE confirmed_at IS NULL;

-- Rows locked by a confirm in progress are skipped (SKIP LOCKED): the
-- confirm wins, or the next pass takes them.
CREATE FUNCTION media_orphans_collect(p_age_seconds bigint, p_limit int)
RETURNS int LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM uploads
         WHERE id IN (SELECT id FROM uploads
                       WHERE confirmed_at IS NULL
                         AND uploaded_at < now()
                             - make_interval(secs => p_age_seconds)
                       ORDER BY uploaded_at
                       LIMIT p_limit FOR UPDATE SKIP LOCKED)
           AND confirmed_at IS NULL
        RETURNING object_key),
    queued AS (
        INSERT INTO storage_garbage (object_key)
        SELECT object_key FROM gone
        RETURNING 1)
    SELECT count(*)::int FROM queued
$$;
