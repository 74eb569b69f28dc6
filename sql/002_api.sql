-- 002: the API operations the nginx module calls, one function each.
--
-- Each function is one round trip: it checks ownership, writes, enqueues and
-- notifies in the caller's transaction and returns the response JSON as text.
-- Client errors are raised with SQLSTATE 'MDnnn' (nnn = HTTP status), the
-- human text as MESSAGE and the stable error_code as HINT; the module maps
-- them to {"error": MESSAGE, "error_code": HINT} with status nnn.

CREATE FUNCTION media_raise(p_status int, p_message text, p_code text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'MD' || p_status::text,
                          MESSAGE = p_message, HINT = p_code;
END $$;

-- Authentication: tenant of a key hash, or no row for an unknown key.
CREATE FUNCTION media_auth(p_hash bytea)
RETURNS TABLE (tenant_id bigint, revoked boolean)
LANGUAGE sql STABLE AS $$
    SELECT k.tenant_id, k.revoked_at IS NOT NULL
      FROM api_keys k WHERE k.key_hash = p_hash
$$;

-- The PUT receiver reports an object it has renamed into place.  A second
-- PUT to the same signed URL replaces the first; a confirmed upload is final.
CREATE FUNCTION media_upload_received(p_tenant bigint, p_key text,
                                      p_content_type text, p_size bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO uploads (tenant_id, object_key, content_type, size)
    VALUES (p_tenant, p_key, p_content_type, p_size)
    ON CONFLICT (object_key) DO UPDATE
        SET content_type = EXCLUDED.content_type, size = EXCLUDED.size,
            uploaded_at = now()
        WHERE uploads.confirmed_at IS NULL
          AND uploads.tenant_id = EXCLUDED.tenant_id;
END $$;

-- The media file structure of the Rentix documents.  row_to_json keeps the
-- column order and prints compact JSON, as the documents show it.
CREATE FUNCTION media_variants_json(p_media bigint, p_base text)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT COALESCE('[' || string_agg(j, ',' ORDER BY n) || ']', '[]')::json
      FROM (SELECT v.variant_size AS n, row_to_json(x)::text AS j
              FROM media_variants v,
                   LATERAL (SELECT p_base || '/' || v.object_key AS url,
                                   v.variant_size::text AS "variantSize",
                                   v.size) x
             WHERE v.media_id = p_media) s
$$;

CREATE FUNCTION media_json(m media, p_base text)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT row_to_json(r) FROM (SELECT
        m.id,
        m.external_id AS "externalId",
        m.size,
        m.content_type AS "contentType",
        m.optimization,
        m.blurhash,
        p_base || '/' || m.object_key AS "originalUrl",
        media_variants_json(m.id, p_base) AS variants) r
$$;

CREATE FUNCTION media_find(p_tenant bigint, p_id bigint)
RETURNS media LANGUAGE plpgsql STABLE AS $$
DECLARE
    m media;
BEGIN
    SELECT * INTO m FROM media WHERE id = p_id AND tenant_id = p_tenant;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'File not found', 'FILE_NOT_FOUND');
    END IF;
    RETURN m;
END $$;

-- GET /media/:id, the hot read: one inlinable statement returning columns;
-- the module writes the JSON (building it here costs several times the
-- lookup).  No row for a missing file: the module answers 404.  variants
-- is "<width> <bytes> <key> ..." (keys hold no spaces).
CREATE FUNCTION media_file(p_tenant bigint, p_id bigint)
RETURNS TABLE (id bigint, external_id text, size bigint, content_type text,
               optimization text, blurhash text, object_key text,
               variants text)
LANGUAGE sql STABLE AS $$
    SELECT m.id, m.external_id, m.size, m.content_type, m.optimization,
           m.blurhash, m.object_key,
           (SELECT string_agg(v.variant_size || ' ' || v.size || ' '
                              || v.object_key, ' ' ORDER BY v.variant_size)
              FROM media_variants v WHERE v.media_id = m.id)
      FROM media m WHERE m.id = p_id AND m.tenant_id = p_tenant
$$;

-- The same document as JSON, for SQL callers and tools.
CREATE FUNCTION media_get(p_tenant bigint, p_id bigint, p_base text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT media_json(m, p_base)::text FROM media m
     WHERE m.id = p_id AND m.tenant_id = p_tenant
$$;

-- Enqueue a job for a media row and wake the workers.  NOTIFY is delivered
-- at commit, so a worker never sees a job whose row is not yet visible.
CREATE FUNCTION media_enqueue(p_tenant bigint, p_kind text, p_media bigint,
                              p_payload jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_job bigint;
BEGIN
    INSERT INTO jobs (tenant_id, kind, media_id, payload)
    VALUES (p_tenant, p_kind, p_media, COALESCE(p_payload, '{}'))
    RETURNING id INTO v_job;
    PERFORM pg_notify('media_jobs', v_job::text);
    RETURN v_job;
END $$;

-- confirm-upload: turn a received upload into a media row plus an optimize
-- job.  Confirming the same upload twice returns the same media row.
CREATE FUNCTION media_confirm_upload(p_tenant bigint, p_uuid text,
                                     p_name text, p_external text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    u uploads;
    v_key text := p_tenant::text || '/' || p_name;
    v_media bigint;
BEGIN
    IF left(p_name, length(p_uuid) + 1) <> p_uuid || '_' THEN
        PERFORM media_raise(400, 'generatedFileName does not belong to uuid',
                            'VALIDATION_ERROR');
    END IF;
    SELECT * INTO u FROM uploads
     WHERE object_key = v_key AND tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'Upload not found', 'UPLOAD_NOT_FOUND');
    END IF;
    IF u.confirmed_at IS NOT NULL THEN
        SELECT id INTO v_media FROM media
         WHERE tenant_id = p_tenant AND object_key = v_key;
        IF v_media IS NOT NULL THEN
            RETURN jsonb_build_object('mediaId', v_media);
        END IF;
    END IF;
    BEGIN
        INSERT INTO media (tenant_id, external_id, object_key, size,
                           content_type)
        VALUES (p_tenant, p_external, v_key, u.size, u.content_type)
        RETURNING id INTO v_media;
    EXCEPTION WHEN unique_violation THEN
        PERFORM media_raise(400, 'Duplicate external ID',
                            'DUPLICATE_EXTERNAL_ID');
    END;
    UPDATE uploads SET confirmed_at = now() WHERE id = u.id;
    PERFORM media_enqueue(p_tenant, 'optimize', v_media, NULL);
    RETURN jsonb_build_object('mediaId', v_media);
END $$;

-- One bulk operation; raises MDnnn on a client error.
CREATE FUNCTION media_bulk_op(p_tenant bigint, p_op jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    CASE p_op->>'op'
    WHEN 'confirm-upload' THEN
        RETURN media_confirm_upload(p_tenant, p_op->>'uuid',
                                    p_op->>'generatedFileName',
                                    p_op->>'externalId');
    ELSE
        PERFORM media_raise(400, 'Unsupported operation', 'INVALID_OPERATION');
    END CASE;
    RETURN NULL;
END $$;

-- POST /media/bulk.  The module has checked the shape of every operation.
-- Each operation runs in its own subtransaction: one failing operation does
-- not undo or stop the others.  Results are built as json, not jsonb, so the
-- keys keep the documented order (op, ids, success, error).
CREATE FUNCTION media_bulk_item(p_op jsonb, p_res jsonb, p_error json)
RETURNS json LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := '{"op":' || (p_op->'op')::text;
BEGIN
    IF p_op ? 'uuid' THEN
        v := v || ',"uuid":' || (p_op->'uuid')::text;
    END IF;
    IF p_op ? 'generatedFileName' THEN
        v := v || ',"generatedFileName":'
               || (p_op->'generatedFileName')::text;
    END IF;
    v := v || ',"externalId":' || COALESCE((p_op->'externalId')::text, 'null')
           || ',"mediaId":' || COALESCE((p_res->'mediaId')::text, 'null')
           || ',"success":' || (p_error IS NULL)::text;
    IF p_error IS NOT NULL THEN
        v := v || ',"error":' || p_error::text;
    END IF;
    RETURN (v || '}')::json;
END $$;

CREATE FUNCTION media_bulk(p_tenant bigint, p_ops jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_op jsonb;
    v_res jsonb;
    v_items text[] := '{}';
    v_ok int := 0;
    v_state text;
    v_msg text;
    v_code text;
    v_error json;
BEGIN
    FOR v_op IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
        v_error := NULL;
        BEGIN
            v_res := media_bulk_op(p_tenant, v_op);
            v_ok := v_ok + 1;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE,
                                    v_msg = MESSAGE_TEXT,
                                    v_code = PG_EXCEPTION_HINT;
            IF left(v_state, 2) <> 'MD' THEN
                RAISE;
            END IF;
            v_res := '{}';
            SELECT row_to_json(e) INTO v_error
              FROM (SELECT substr(v_state, 3)::int AS "statusCode",
                           (SELECT row_to_json(b) FROM (SELECT v_msg AS error,
                                   v_code AS error_code) b) AS body) e;
        END;
        v_items := v_items || media_bulk_item(v_op, v_res, v_error)::text;
    END LOOP;
    RETURN '{"results":[' || array_to_string(v_items, ',') || '],'
        || '"summary":{"total":' || jsonb_array_length(p_ops)
        || ',"succeeded":' || v_ok
        || ',"failed":' || (jsonb_array_length(p_ops) - v_ok) || '}}';
END $$;
