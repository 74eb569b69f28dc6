-- 004: the rest of the Rentix media API: import by URL, external ids,
-- delete, bulk operations, listings.

-- Listings (Rentix) alias properties (Rentalot): one record.  The listing
-- fields a CRM sends that we do not interpret are kept as given in fields.
CREATE TABLE listings (
    id                   bigserial PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    external_id          text CHECK (length(external_id) BETWEEN 1 AND 255),
    title                text CHECK (length(title) <= 500),
    announcement_status  text NOT NULL DEFAULT 'draft'
                         CHECK (length(announcement_status) BETWEEN 1 AND 64),
    fields               jsonb NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, external_id)
);

CREATE TABLE listing_files (
    listing_id  bigint NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
    media_id    bigint NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    alt_text    text CHECK (length(alt_text) <= 500),
    PRIMARY KEY (listing_id, media_id)
);

CREATE INDEX listing_files_media_idx ON listing_files (media_id);
CREATE INDEX media_source_idx ON media (tenant_id, source_url)
    WHERE source_url IS NOT NULL;

-- Storage objects of deleted media wait here for the worker to remove them.
CREATE INDEX storage_garbage_idx ON storage_garbage (id);


CREATE FUNCTION media_find_external(p_tenant bigint, p_external text)
RETURNS media LANGUAGE plpgsql STABLE AS $$
DECLARE
    m media;
BEGIN
    SELECT * INTO m FROM media
     WHERE tenant_id = p_tenant AND external_id = p_external;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'File not found', 'FILE_NOT_FOUND');
    END IF;
    RETURN m;
END $$;

CREATE FUNCTION media_file_external(p_tenant bigint, p_external text)
RETURNS TABLE (id bigint, external_id text, size bigint, content_type text,
               optimization text, blurhash text, object_key text,
               variants text)
LANGUAGE sql STABLE AS $$
    SELECT f.* FROM media m, media_file(p_tenant, m.id) f
     WHERE m.tenant_id = p_tenant AND m.external_id = p_external
$$;


-- upload-from-url.  A retry of the same request (same externalId, same
-- URL) returns the file it created; the same externalId with another URL
-- is a duplicate.
CREATE FUNCTION media_import(p_tenant bigint, p_url text, p_external text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m media;
    v_job bigint;
BEGIN
    IF p_external IS NOT NULL THEN
        SELECT * INTO m FROM media
         WHERE tenant_id = p_tenant AND external_id = p_external;
        IF FOUND THEN
            IF m.source_url IS DISTINCT FROM p_url THEN
                PERFORM media_raise(400, 'Duplicate external ID',
                                    'DUPLICATE_EXTERNAL_ID');
            END IF;
            SELECT max(id) INTO v_job FROM jobs WHERE media_id = m.id;
            RETURN jsonb_build_object('mediaId', m.id,
                                      'status', m.optimization,
                                      'jobId', v_job);
        END IF;
    END IF;

    BEGIN
        INSERT INTO media (tenant_id, external_id, object_key, content_type,
                           source_url)
        VALUES (p_tenant, p_external, '', 'application/octet-stream', p_url)
        RETURNING * INTO m;
    EXCEPTION WHEN unique_violation THEN
        -- a concurrent request took the externalId first
        PERFORM media_raise(400, 'Duplicate external ID',
                            'DUPLICATE_EXTERNAL_ID');
    END;

    UPDATE media SET object_key = p_tenant::text || '/i/' || m.uuid::text
     WHERE id = m.id;
    v_job := media_enqueue(p_tenant, 'import', m.id,
                           jsonb_build_object('url', p_url));
    RETURN jsonb_build_object('mediaId', m.id, 'status', 'pending',
                              'jobId', v_job);
END $$;

-- POST /media/upload-from-url: {mediaId, status, externalId, jobId}
CREATE FUNCTION media_upload_from_url(p_tenant bigint, p_url text,
                                      p_external text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := media_import(p_tenant, p_url, p_external);
BEGIN
    RETURN '{"mediaId":' || (r->'mediaId')::text
        || ',"status":' || (r->'status')::text
        || ',"externalId":' || COALESCE(to_json(p_external)::text, 'null')
        || ',"jobId":' || COALESCE((r->'jobId')::text, 'null') || '}';
END $$;


-- Link an external id to a file.  Linking the id it already has is a
-- no-op; another id, or an id used by another file, is a conflict.
CREATE FUNCTION media_link_op(p_tenant bigint, p_id bigint, p_external text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m media;
BEGIN
    SELECT * INTO m FROM media
     WHERE id = p_id AND tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'File not found', 'FILE_NOT_FOUND');
    END IF;
    IF m.external_id = p_external THEN
        RETURN jsonb_build_object('mediaId', m.id);
    END IF;
    IF m.external_id IS NOT NULL THEN
        PERFORM media_raise(409, 'File already has external ID',
                            'FILE_ALREADY_HAS_EXTERNAL_ID');
    END IF;
    BEGIN
        UPDATE media SET external_id = p_external, updated_at = now()
         WHERE id = m.id;
    EXCEPTION WHEN unique_violation THEN
        PERFORM media_raise(409, 'External ID already linked',
                            'EXTERNAL_ID_ALREADY_LINKED');
    END;
    RETURN jsonb_build_object('mediaId', m.id);
END $$;

CREATE FUNCTION media_unlink_op(p_tenant bigint, p_id bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m media;
BEGIN
    SELECT * INTO m FROM media
     WHERE id = p_id AND tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'File not found', 'FILE_NOT_FOUND');
    END IF;
    IF m.external_id IS NULL THEN
        PERFORM media_raise(409, 'File has no external ID',
                            'FILE_HAS_NO_EXTERNAL_ID');
    END IF;
    UPDATE media SET external_id = NULL, updated_at = now() WHERE id = m.id;
    RETURN jsonb_build_object('mediaId', m.id, 'externalId', m.external_id);
END $$;

CREATE FUNCTION media_link(p_tenant bigint, p_id bigint, p_external text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM media_link_op(p_tenant, p_id, p_external);
    RETURN '{"mediaId":' || p_id || ',"externalId":' || to_json(p_external)
        || ',"linked":true}';
END $$;

CREATE FUNCTION media_unlink(p_tenant bigint, p_id bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := media_unlink_op(p_tenant, p_id);
BEGIN
    RETURN '{"mediaId":' || p_id || ',"externalId":' || (r->'externalId')::text
        || ',"unlinked":true}';
END $$;


-- Delete a file: its row, its variants, its place in every listing, and
-- (through storage_garbage, removed by the worker) its stored objects.
-- Irreversible.  A job still running for it finds its media gone.
CREATE FUNCTION media_delete_row(p_tenant bigint, m media)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO storage_garbage (object_key)
    SELECT m.object_key WHERE m.object_key <> ''
    UNION ALL
    SELECT v.object_key FROM media_variants v WHERE v.media_id = m.id;
    DELETE FROM uploads
     WHERE tenant_id = p_tenant AND object_key = m.object_key;
    -- close the gap the file leaves in each listing's order
    WITH gone AS (
        DELETE FROM listing_files WHERE media_id = m.id
        RETURNING listing_id, position)
    UPDATE listing_files f SET position = f.position - 1
      FROM gone g
     WHERE f.listing_id = g.listing_id AND f.position > g.position;
    DELETE FROM media WHERE id = m.id;
    PERFORM pg_notify('media_jobs', 'garbage');
    RETURN m.id;
END $$;

CREATE FUNCTION media_delete_op(p_tenant bigint, p_id bigint,
                                p_external text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    m media;
BEGIN
    IF p_id IS NOT NULL THEN
        m := media_find(p_tenant, p_id);
    ELSE
        m := media_find_external(p_tenant, p_external);
    END IF;
    PERFORM 1 FROM media WHERE id = m.id FOR UPDATE;
    RETURN jsonb_build_object('mediaId', media_delete_row(p_tenant, m));
END $$;

CREATE FUNCTION media_delete(p_tenant bigint, p_id bigint)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM media_delete_op(p_tenant, p_id, NULL);
    RETURN '{"deleted":true}';
END $$;

CREATE FUNCTION media_delete_external(p_tenant bigint, p_external text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := media_delete_op(p_tenant, NULL, p_external);
BEGIN
    RETURN '{"deleted":true,"mediaId":' || (r->'mediaId')::text || '}';
END $$;


-- Bulk: every operation the documents list.  The module has checked each
-- operation's shape; ids arrive as JSON numbers.
CREATE OR REPLACE FUNCTION media_bulk_op(p_tenant bigint, p_op jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    CASE p_op->>'op'
    WHEN 'confirm-upload' THEN
        RETURN media_confirm_upload(p_tenant, p_op->>'uuid',
                                    p_op->>'generatedFileName',
                                    p_op->>'externalId');
    WHEN 'upload-from-url' THEN
        RETURN media_import(p_tenant, p_op->>'url', p_op->>'externalId');
    WHEN 'link' THEN
        RETURN media_link_op(p_tenant, (p_op->>'mediaId')::bigint,
                             p_op->>'externalId');
    WHEN 'unlink' THEN
        RETURN media_unlink_op(p_tenant, (p_op->>'mediaId')::bigint);
    WHEN 'delete' THEN
        RETURN media_delete_op(p_tenant, (p_op->>'mediaId')::bigint,
                               p_op->>'externalId');
    ELSE
        PERFORM media_raise(400, 'Unsupported operation',
                            'INVALID_OPERATION');
    END CASE;
    RETURN NULL;
END $$;

-- A result shows the operation's own ids; unlink reports the external id
-- it removed.
CREATE OR REPLACE FUNCTION media_bulk_item(p_op jsonb, p_res jsonb,
                                           p_error json)
RETURNS json LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := '{"op":' || (p_op->'op')::text;
    v_ext jsonb := COALESCE(p_op->'externalId', p_res->'externalId');
BEGIN
    IF p_op ? 'uuid' THEN
        v := v || ',"uuid":' || (p_op->'uuid')::text;
    END IF;
    IF p_op ? 'generatedFileName' THEN
        v := v || ',"generatedFileName":'
               || (p_op->'generatedFileName')::text;
    END IF;
    IF p_op ? 'url' THEN
        v := v || ',"url":' || (p_op->'url')::text;
    END IF;
    v := v || ',"externalId":' || COALESCE(v_ext::text, 'null')
           || ',"mediaId":'
           || COALESCE((p_res->'mediaId')::text,
                       (p_op->'mediaId')::text, 'null');
    IF p_res ? 'jobId' THEN
        v := v || ',"jobId":' || (p_res->'jobId')::text;
    END IF;
    v := v || ',"success":' || (p_error IS NULL)::text;
    IF p_error IS NOT NULL THEN
        v := v || ',"error":' || p_error::text;
    END IF;
    RETURN (v || '}')::json;
END $$;


-- Listings.  The status a listing shows is derived on every read from its
-- files, so a listing asked to be active is published the moment its last
-- file is optimized ("the system automatically waits for optimization"):
--   draft / inactive / ...   what the CRM asked for, when not "active"
--   waiting_for_media        active asked, files still pending/in_progress
--   media_failed             active asked, a file failed to optimize
--   not_enough_photos        active asked, fewer than 3 optimized photos
--   active                   published
CREATE FUNCTION media_listing_status(p_listing listings)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_listing.announcement_status <> 'active'
            THEN p_listing.announcement_status
        WHEN bool_or(m.optimization = 'failed') THEN 'media_failed'
        WHEN bool_or(m.optimization IN ('pending', 'in_progress'))
            THEN 'waiting_for_media'
        WHEN count(*) FILTER (WHERE m.content_type LIKE 'image/%') < 3
            THEN 'not_enough_photos'
        ELSE 'active'
    END
      FROM listing_files f JOIN media m ON m.id = f.media_id
     WHERE f.listing_id = p_listing.id
$$;

CREATE FUNCTION media_listing_json(l listings, p_base text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v text;
    v_kv record;
    v_files text;
    v_errors text;
BEGIN
    v := '{"id":' || l.id
      || ',"externalId":' || COALESCE(to_json(l.external_id)::text, 'null')
      || ',"status":' || to_json(media_listing_status(l))::text
      || ',"announcementStatus":' || to_json(l.announcement_status)::text
      || ',"title":' || COALESCE(to_json(l.title)::text, 'null');
    FOR v_kv IN SELECT key, value FROM jsonb_each(l.fields) ORDER BY key LOOP
        v := v || ',' || to_json(v_kv.key)::text || ':' || v_kv.value::text;
    END LOOP;

    SELECT string_agg(
               '{"order":' || f.position || ','
               || substr(media_json(m, p_base)::text, 2), ','
               ORDER BY f.position),
           string_agg(
               json_build_object('id', m.id, 'externalId', m.external_id,
                                 'error', m.failure_code,
                                 'reason', m.failure_reason)::text, ','
               ORDER BY f.position) FILTER (WHERE m.optimization = 'failed')
      INTO v_files, v_errors
      FROM listing_files f JOIN media m ON m.id = f.media_id
     WHERE f.listing_id = l.id;

    v := v || ',"files":[' || COALESCE(v_files, '') || ']';
    IF v_errors IS NOT NULL THEN
        v := v || ',"mediaErrors":[' || v_errors || ']';
    END IF;
    RETURN v || ',"createdAt":' || to_json(l.created_at)::text
             || ',"updatedAt":' || to_json(l.updated_at)::text || '}';
END $$;

CREATE FUNCTION media_listing_find(p_tenant bigint, p_external text)
RETURNS listings LANGUAGE plpgsql STABLE AS $$
DECLARE
    l listings;
BEGIN
    SELECT * INTO l FROM listings
     WHERE tenant_id = p_tenant AND external_id = p_external;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'Listing not found', 'LISTING_NOT_FOUND');
    END IF;
    RETURN l;
END $$;

CREATE FUNCTION media_listing_get(p_tenant bigint, p_external text,
                                  p_base text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT media_listing_json(media_listing_find(p_tenant, p_external), p_base)
$$;

-- One entry of a listing's files: {id}, {externalFileId}, or {url,
-- externalFileId} (imported unless a file with that externalFileId, or one
-- imported from that URL, exists already).
CREATE FUNCTION media_listing_file(p_tenant bigint, p_file jsonb, p_i int)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_ext text := p_file->>'externalFileId';
    v_url text := p_file->>'url';
BEGIN
    IF p_file ? 'id' THEN
        SELECT id INTO v_id FROM media
         WHERE id = (p_file->>'id')::bigint AND tenant_id = p_tenant;
    ELSIF v_ext IS NOT NULL THEN
        SELECT id INTO v_id FROM media
         WHERE tenant_id = p_tenant AND external_id = v_ext;
    ELSIF v_url IS NOT NULL THEN
        SELECT id INTO v_id FROM media
         WHERE tenant_id = p_tenant AND source_url = v_url
           AND optimization <> 'failed'
         ORDER BY id LIMIT 1;
    END IF;

    IF v_id IS NULL AND v_url IS NOT NULL THEN
        v_id := (media_import(p_tenant, v_url, v_ext)->>'mediaId')::bigint;
    END IF;
    IF v_id IS NULL THEN
        PERFORM media_raise(404, 'File not found: files[' || p_i || ']',
                            'FILE_NOT_FOUND');
    END IF;
    RETURN v_id;
END $$;

-- PUT /listings: create or update by externalId.  The module has checked
-- the shape; fields other than the ones named here are kept as given.
CREATE FUNCTION media_listing_put(p_tenant bigint, p_body jsonb, p_base text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings;
    v_file jsonb;
    v_ids bigint[] := '{}';
    v_id bigint;
    v_i int := 0;
    v_photos int;
    v_alts jsonb;
    v_fields jsonb := p_body - 'externalId' - 'files' - 'announcementStatus'
                             - 'title' - 'id';
BEGIN
    INSERT INTO listings AS x (tenant_id, external_id, title,
                               announcement_status, fields)
    VALUES (p_tenant, p_body->>'externalId', p_body->>'title',
            COALESCE(p_body->>'announcementStatus', 'draft'), v_fields)
    ON CONFLICT (tenant_id, external_id) DO UPDATE
        SET title = COALESCE(EXCLUDED.title, x.title),
            announcement_status = COALESCE(p_body->>'announcementStatus',
                                           x.announcement_status),
            fields = x.fields || EXCLUDED.fields,
            updated_at = now()
    RETURNING * INTO l;

    IF p_body ? 'files' THEN
        FOR v_file IN SELECT value FROM jsonb_array_elements(p_body->'files')
        LOOP
            v_id := media_listing_file(p_tenant, v_file, v_i);
            IF v_id = ANY (v_ids) THEN
                PERFORM media_raise(400, 'The same file is listed twice: '
                                    || 'files[' || v_i || ']',
                                    'DUPLICATE_FILE');
            END IF;
            v_ids := v_ids || v_id;
            v_i := v_i + 1;
        END LOOP;
        -- files that stay keep their alt text (set through Rentalot)
        SELECT jsonb_object_agg(media_id, alt_text) INTO v_alts
          FROM listing_files WHERE listing_id = l.id AND alt_text IS NOT NULL;
        DELETE FROM listing_files WHERE listing_id = l.id;
        INSERT INTO listing_files (listing_id, media_id, position, alt_text)
        SELECT l.id, u.id, u.ord - 1, v_alts->>(u.id::text)
          FROM unnest(v_ids) WITH ORDINALITY AS u(id, ord);
    END IF;

    IF l.announcement_status = 'active' THEN
        SELECT count(*) INTO v_photos
          FROM listing_files f JOIN media m ON m.id = f.media_id
         WHERE f.listing_id = l.id AND m.content_type NOT LIKE 'video/%';
        IF v_photos < 3 THEN
            PERFORM media_raise(400, 'At least 3 photos are required to '
                                || 'publish a listing', 'NOT_ENOUGH_PHOTOS');
        END IF;
    END IF;

    RETURN media_listing_json(l, p_base);
END $$;
