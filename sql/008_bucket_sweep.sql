-- 008: the bucket sweep.  With s3 a client PUTs straight to the bucket and
-- only a confirm's HEAD records an upload (media_upload_received), so an
-- object PUT and never confirmed is unknown here.  The worker lists the
-- bucket now and then and hands us the keys of objects older than any
-- signed URL could be; those no row knows are queued for removal.
--
-- A confirm racing the sweep: both take the key's advisory lock (class 8,
-- apart from the idempotency locks' single-key space), the sweep queues
-- only keys nothing references, and an upload is recorded only if its key
-- is not queued for removal.  So either the confirm recorded it first and
-- the sweep leaves it, or the sweep queued it first and the confirm
-- reports the file as not uploaded; never a recorded file that is removed.

CREATE INDEX media_object_key_idx ON media (object_key);
CREATE INDEX media_variants_object_key_idx ON media_variants (object_key);
CREATE INDEX storage_garbage_object_key_idx ON storage_garbage (object_key);

CREATE OR REPLACE FUNCTION media_upload_received(p_tenant bigint, p_key text,
                                                 p_content_type text,
                                                 p_size bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(8, hashtext(p_key));
    IF EXISTS (SELECT 1 FROM storage_garbage WHERE object_key = p_key) THEN
        RETURN;     -- swept: its removal is under way
    END IF;
    INSERT INTO uploads (tenant_id, object_key, content_type, size)
    VALUES (p_tenant, p_key, p_content_type, p_size)
    ON CONFLICT (object_key) DO UPDATE
        SET content_type = EXCLUDED.content_type, size = EXCLUDED.size,
            uploaded_at = now()
        WHERE uploads.confirmed_at IS NULL
          AND uploads.tenant_id = EXCLUDED.tenant_id;
END $$;

-- Of p_keys (objects the worker listed, all older than the signed URLs'
-- lifetime), queue for removal those no media, variant, upload or pending
-- removal refers to; returns how many.
CREATE FUNCTION media_sweep_unknown(p_keys text[])
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    k text;
    n int := 0;
BEGIN
    FOREACH k IN ARRAY p_keys LOOP
        PERFORM pg_advisory_xact_lock(8, hashtext(k));
        IF NOT EXISTS (SELECT 1 FROM media WHERE object_key = k)
           AND NOT EXISTS (SELECT 1 FROM media_variants WHERE object_key = k)
           AND NOT EXISTS (SELECT 1 FROM uploads WHERE object_key = k)
           AND NOT EXISTS (SELECT 1 FROM storage_garbage WHERE object_key = k)
        THEN
            INSERT INTO storage_garbage (object_key) VALUES (k);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;
