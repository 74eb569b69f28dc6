-- 005: the Rentalot property images API on the same records: a property is
-- a listing, an image is a media file attached to it (listing_files), its
-- id the media uuid.  Plan limits per tenant; idempotency keys; the webhook
-- outbox.

ALTER TABLE tenants
    ADD COLUMN images_per_property integer NOT NULL DEFAULT 20
        CHECK (images_per_property BETWEEN 1 AND 1000),
    ADD COLUMN import_budget_monthly integer NOT NULL DEFAULT 1000
        CHECK (import_budget_monthly >= 0);

-- An import request of the Rentalot API: one job per URL, polled as one.
CREATE TABLE import_batches (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    listing_id  bigint NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
    total_urls  integer NOT NULL CHECK (total_urls BETWEEN 1 AND 20),
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE media
    ADD COLUMN batch_id uuid REFERENCES import_batches(id) ON DELETE SET NULL;

CREATE INDEX media_batch_idx ON media (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX media_imports_idx ON media (tenant_id, created_at)
    WHERE source_url IS NOT NULL;

-- Idempotency-Key: the stored answer of a write, per tenant, for 24 hours.
CREATE TABLE idempotency_keys (
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  bytea NOT NULL,
    status        integer NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- Webhooks: endpoints per tenant, and an outbox written in the same
-- transaction as the change it announces; the worker delivers it.
CREATE TABLE webhook_endpoints (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url         text NOT NULL CHECK (url ~ '^https?://'),
    secret      text NOT NULL CHECK (length(secret) >= 16),
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);

CREATE TABLE webhook_events (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint_id   bigint NOT NULL REFERENCES webhook_endpoints(id)
                  ON DELETE CASCADE,
    event         text NOT NULL,
    payload       jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    next_at       timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz
);

CREATE INDEX webhook_events_due_idx ON webhook_events (next_at, id)
    WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    event_id     bigint NOT NULL REFERENCES webhook_events(id)
                 ON DELETE CASCADE,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    http_status  integer,
    error        text,
    PRIMARY KEY (event_id, attempt)
);

-- Queue one event for every endpoint of the tenant and wake the worker.
CREATE FUNCTION media_webhook_emit(p_tenant bigint, p_event text,
                                   p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_events (tenant_id, endpoint_id, event, payload)
    SELECT p_tenant, e.id, p_event,
           jsonb_build_object('event', p_event, 'createdAt', now(),
                              'data', p_data)
      FROM webhook_endpoints e
     WHERE e.tenant_id = p_tenant AND e.disabled_at IS NULL;
    IF FOUND THEN
        PERFORM pg_notify('media_jobs', 'webhook');
    END IF;
END $$;

CREATE FUNCTION media_property_updated(p_tenant bigint, p_listing bigint)
RETURNS void LANGUAGE sql AS $$
    SELECT media_webhook_emit(p_tenant, 'property.updated',
        jsonb_build_object('propertyId', p_listing,
            'imageCount', (SELECT count(*) FROM listing_files
                            WHERE listing_id = p_listing)))
$$;


-- Properties -------------------------------------------------------------

CREATE FUNCTION media_property_find(p_tenant bigint, p_id bigint,
                                    p_lock boolean DEFAULT false)
RETURNS listings LANGUAGE plpgsql AS $$
DECLARE
    l listings;
BEGIN
    IF p_lock THEN
        -- serializes quota checks of one property: the confirm race
        SELECT * INTO l FROM listings
         WHERE id = p_id AND tenant_id = p_tenant FOR UPDATE;
    ELSE
        SELECT * INTO l FROM listings WHERE id = p_id AND tenant_id = p_tenant;
    END IF;
    IF NOT FOUND THEN
        PERFORM media_raise(422, 'Property not found', 'PROPERTY_NOT_FOUND');
    END IF;
    RETURN l;
END $$;

CREATE FUNCTION media_property_create(p_tenant bigint, p_title text,
                                      p_external text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO listings (tenant_id, external_id, title)
    VALUES (p_tenant, p_external, p_title)
    RETURNING id INTO v_id;
    RETURN '{"data":{"id":' || v_id || '}}';
EXCEPTION WHEN unique_violation THEN
    PERFORM media_raise(422, 'A property with this externalId exists',
                        'DUPLICATE_EXTERNAL_ID');
    RETURN NULL;
END $$;

-- An image as the documents show it.  Images whose import failed are not
-- images of the property; they stay visible in their import job's errors.
CREATE FUNCTION media_image_json(m media, p_alt text, p_order int,
                                 p_base text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '{"id":"' || m.uuid || '","url":' || to_json(p_base || '/'
               || m.object_key)::text
        || ',"altText":' || COALESCE(to_json(p_alt)::text, 'null')
        || ',"order":' || p_order || '}'
$$;

CREATE VIEW media_property_images AS
SELECT f.listing_id, f.media_id, f.alt_text, f.position, m
  FROM listing_files f JOIN media m ON m.id = f.media_id
 WHERE NOT (m.optimization = 'failed' AND m.source_url IS NOT NULL);

CREATE FUNCTION media_images_json(p_listing bigint, p_base text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '[' || COALESCE(string_agg(
               media_image_json(i.m, i.alt_text, i.position, p_base), ','
               ORDER BY i.position), '') || ']'
      FROM media_property_images i WHERE i.listing_id = p_listing
$$;

CREATE FUNCTION media_property_get(p_tenant bigint, p_id bigint,
                                   p_base text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id);
BEGIN
    RETURN '{"data":{"id":' || l.id
        || ',"title":' || COALESCE(to_json(l.title)::text, 'null')
        || ',"externalId":' || COALESCE(to_json(l.external_id)::text, 'null')
        || ',"status":' || to_json(media_listing_status(l))::text
        || ',"images":' || media_images_json(l.id, p_base) || '}}';
END $$;

CREATE FUNCTION media_images_list(p_tenant bigint, p_id bigint, p_base text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id);
BEGIN
    RETURN '{"data":' || media_images_json(l.id, p_base) || '}';
END $$;


-- Quota -------------------------------------------------------------------

CREATE FUNCTION media_image_count(p_listing bigint)
RETURNS int LANGUAGE sql STABLE AS $$
    SELECT count(*)::int FROM media_property_images WHERE listing_id = p_listing
$$;

CREATE FUNCTION media_quota_check(p_tenant bigint, p_listing bigint,
                                  p_more int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    v_max int;
BEGIN
    SELECT images_per_property INTO v_max FROM tenants WHERE id = p_tenant;
    IF media_image_count(p_listing) + p_more > v_max THEN
        PERFORM media_raise(422, 'Image limit reached: at most ' || v_max
                            || ' images per property', 'IMAGE_LIMIT_REACHED');
    END IF;
    RETURN v_max;
END $$;

-- Presign: the property must exist and have room; returns maxImages.  The
-- module signs the URLs itself.
CREATE FUNCTION media_images_presign(p_tenant bigint, p_id bigint, p_count int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id);
BEGIN
    RETURN media_quota_check(p_tenant, l.id, p_count)::text;
END $$;


-- Confirm -----------------------------------------------------------------

-- One image: the key must be this property's, uploaded, of the type and
-- size the client states.  Confirming the same key again returns the image.
CREATE FUNCTION media_image_confirm_one(p_tenant bigint, l listings,
                                        p_image jsonb, p_base text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_key text := p_image->>'r2Key';
    v_prefix text := 'images/' || p_tenant || '/' || l.id || '/';
    u uploads;
    m media;
    v_pos int;
    v_alt text := p_image->>'altText';
BEGIN
    IF left(v_key, length(v_prefix)) <> v_prefix THEN
        PERFORM media_raise(422, 'r2Key must start with ' || v_prefix,
                            'INVALID_R2_KEY');
    END IF;
    SELECT * INTO u FROM uploads
     WHERE object_key = v_key AND tenant_id = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM media_raise(422, 'No upload found for this r2Key',
                            'UPLOAD_NOT_FOUND');
    END IF;
    IF u.content_type <> p_image->>'contentType' THEN
        PERFORM media_raise(422, 'contentType does not match the upload',
                            'CONTENT_TYPE_MISMATCH');
    END IF;
    IF u.size <> (p_image->>'sizeBytes')::bigint THEN
        PERFORM media_raise(422, 'sizeBytes does not match the upload ('
                            || u.size || ' bytes)', 'SIZE_MISMATCH');
    END IF;

    SELECT * INTO m FROM media WHERE tenant_id = p_tenant AND object_key = v_key;
    IF FOUND THEN
        SELECT position, alt_text INTO v_pos, v_alt FROM listing_files
         WHERE listing_id = l.id AND media_id = m.id;
        RETURN media_image_json(m, v_alt, v_pos, p_base);
    END IF;

    PERFORM media_quota_check(p_tenant, l.id, 1);

    INSERT INTO media (tenant_id, object_key, size, content_type)
    VALUES (p_tenant, v_key, u.size, u.content_type)
    RETURNING * INTO m;
    UPDATE uploads SET confirmed_at = now() WHERE id = u.id;
    SELECT COALESCE(max(position) + 1, 0) INTO v_pos
      FROM listing_files WHERE listing_id = l.id;
    INSERT INTO listing_files (listing_id, media_id, position, alt_text)
    VALUES (l.id, m.id, v_pos, v_alt);
    PERFORM media_enqueue(p_tenant, 'optimize', m.id, NULL);
    RETURN media_image_json(m, v_alt, v_pos, p_base);
END $$;

CREATE FUNCTION media_images_confirm(p_tenant bigint, p_id bigint,
                                     p_images jsonb, p_batch boolean,
                                     p_base text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id, true);
    v_image jsonb;
    v_items text[] := '{}';
BEGIN
    FOR v_image IN SELECT value FROM jsonb_array_elements(p_images) LOOP
        v_items := v_items || media_image_confirm_one(p_tenant, l, v_image,
                                                      p_base);
    END LOOP;
    PERFORM media_property_updated(p_tenant, l.id);
    IF p_batch THEN
        RETURN '{"data":[' || array_to_string(v_items, ',') || ']}';
    END IF;
    RETURN '{"data":' || v_items[1] || '}';
END $$;


-- Delete and reorder -----------------------------------------------------

-- Ids that are not images of this property of this tenant are skipped.
CREATE FUNCTION media_images_delete(p_tenant bigint, p_id bigint,
                                    p_ids jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id, true);
    m media;
    v_n int := 0;
BEGIN
    FOR m IN
        SELECT x.* FROM media x JOIN listing_files f ON f.media_id = x.id
         WHERE f.listing_id = l.id AND x.tenant_id = p_tenant
           AND x.uuid::text IN (SELECT jsonb_array_elements_text(p_ids))
    LOOP
        PERFORM media_delete_row(p_tenant, m);
        v_n := v_n + 1;
    END LOOP;
    PERFORM media_property_updated(p_tenant, l.id);
    RETURN '{"data":{"deleted":' || v_n || '}}';
END $$;

-- The first id gets order 0, the next 1, ...; images not named keep their
-- relative order after them.
CREATE FUNCTION media_images_reorder(p_tenant bigint, p_id bigint,
                                     p_ids jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id, true);
    v_unknown text;
BEGIN
    SELECT x INTO v_unknown FROM jsonb_array_elements_text(p_ids) x
     WHERE NOT EXISTS (
         SELECT 1 FROM listing_files f JOIN media m ON m.id = f.media_id
          WHERE f.listing_id = l.id AND m.uuid::text = x)
     LIMIT 1;
    IF v_unknown IS NOT NULL THEN
        PERFORM media_raise(422, 'Not an image of this property: '
                            || v_unknown, 'IMAGE_NOT_FOUND');
    END IF;

    WITH wanted AS (
        SELECT x AS uuid, ord FROM jsonb_array_elements_text(p_ids)
               WITH ORDINALITY AS t(x, ord)),
    ranked AS (
        SELECT f.media_id,
               row_number() OVER (ORDER BY w.ord NULLS LAST, f.position) - 1
                   AS pos
          FROM listing_files f JOIN media m ON m.id = f.media_id
          LEFT JOIN wanted w ON w.uuid = m.uuid::text
         WHERE f.listing_id = l.id)
    UPDATE listing_files f SET position = r.pos
      FROM ranked r
     WHERE f.listing_id = l.id AND f.media_id = r.media_id;

    PERFORM media_property_updated(p_tenant, l.id);
    RETURN '{"ok":true}';
END $$;


-- Import ------------------------------------------------------------------

CREATE FUNCTION media_images_import(p_tenant bigint, p_id bigint,
                                    p_urls jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id, true);
    v_n int := jsonb_array_length(p_urls);
    v_budget int;
    v_used int;
    v_batch uuid;
    v_url text;
    v_media bigint;
    v_pos int;
BEGIN
    -- one budget check at a time per tenant
    PERFORM 1 FROM tenants WHERE id = p_tenant FOR UPDATE;
    SELECT import_budget_monthly INTO v_budget FROM tenants WHERE id = p_tenant;
    SELECT count(*) INTO v_used FROM media
     WHERE tenant_id = p_tenant AND source_url IS NOT NULL
       AND created_at >= date_trunc('month', now());
    IF v_used + v_n > v_budget THEN
        PERFORM media_raise(422, 'Monthly import budget exhausted: '
                            || v_used || ' of ' || v_budget || ' used',
                            'IMPORT_BUDGET_EXHAUSTED');
    END IF;
    PERFORM media_quota_check(p_tenant, l.id, v_n);

    INSERT INTO import_batches (tenant_id, listing_id, total_urls)
    VALUES (p_tenant, l.id, v_n) RETURNING id INTO v_batch;

    SELECT COALESCE(max(position) + 1, 0) INTO v_pos
      FROM listing_files WHERE listing_id = l.id;
    FOR v_url IN SELECT jsonb_array_elements_text(p_urls) LOOP
        v_media := (media_import(p_tenant, v_url, NULL)->>'mediaId')::bigint;
        UPDATE media SET batch_id = v_batch WHERE id = v_media;
        INSERT INTO listing_files (listing_id, media_id, position)
        VALUES (l.id, v_media, v_pos)
        ON CONFLICT DO NOTHING;
        v_pos := v_pos + 1;
    END LOOP;

    RETURN '{"data":{"jobId":"' || v_batch || '","status":"pending",'
        || '"totalUrls":' || v_n || '}}';
END $$;

CREATE FUNCTION media_import_poll(p_tenant bigint, p_id bigint, p_job text,
                                  p_base text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l listings := media_property_find(p_tenant, p_id);
    b import_batches;
    v_ok int;
    v_failed int;
    v_busy int;
    v_bytes bigint;
    v_done timestamptz;
    v_errors text;
    v_status text;
BEGIN
    IF p_job !~ '^[0-9a-fA-F-]{36}$' THEN
        PERFORM media_raise(404, 'Import job not found', 'JOB_NOT_FOUND');
    END IF;
    SELECT * INTO b FROM import_batches
     WHERE id = p_job::uuid AND tenant_id = p_tenant AND listing_id = l.id;
    IF NOT FOUND THEN
        PERFORM media_raise(404, 'Import job not found', 'JOB_NOT_FOUND');
    END IF;

    SELECT count(*) FILTER (WHERE optimization = 'success'),
           count(*) FILTER (WHERE optimization = 'failed'),
           count(*) FILTER (WHERE optimization = 'in_progress'),
           COALESCE(sum(size) FILTER (WHERE optimization = 'success'), 0),
           max(updated_at),
           string_agg(json_build_object('url', source_url,
                                        'error', failure_code,
                                        'message', failure_reason)::text,
                      ',' ORDER BY id) FILTER (WHERE optimization = 'failed')
      INTO v_ok, v_failed, v_busy, v_bytes, v_done, v_errors
      FROM media WHERE batch_id = b.id;

    v_status := CASE
        WHEN v_ok + v_failed >= b.total_urls AND v_ok = 0 THEN 'failed'
        WHEN v_ok + v_failed >= b.total_urls THEN 'completed'
        WHEN v_ok + v_failed + v_busy > 0 THEN 'processing'
        ELSE 'pending' END;

    RETURN '{"data":{"jobId":"' || b.id || '","status":"' || v_status
        || '","totalUrls":' || b.total_urls
        || ',"imported":' || v_ok || ',"failed":' || v_failed
        || ',"totalBytes":' || v_bytes
        || ',"errors":[' || COALESCE(v_errors, '') || ']'
        || ',"createdAt":' || to_json(media_iso(b.created_at))::text
        || ',"completedAt":'
        || CASE WHEN v_status IN ('completed', 'failed')
                THEN to_json(media_iso(v_done))::text ELSE 'null' END
        || '}}';
END $$;

-- 2026-05-08T12:00:04.123Z, as the documents show timestamps
CREATE FUNCTION media_iso(p timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;


-- Idempotency-Key --------------------------------------------------------

-- Called with the request's transaction open and the key's advisory lock
-- held: the stored answer, or no row.  A key used with another request is
-- a conflict; an expired key is forgotten.
CREATE FUNCTION media_idem_lookup(p_tenant bigint, p_key text,
                                  p_hash bytea)
RETURNS TABLE (status int, body text) LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys;
BEGIN
    SELECT * INTO k FROM idempotency_keys
     WHERE tenant_id = p_tenant AND key = p_key;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF k.created_at < now() - interval '24 hours' THEN
        DELETE FROM idempotency_keys WHERE tenant_id = p_tenant AND key = p_key;
        RETURN;
    END IF;
    IF k.request_hash <> p_hash THEN
        PERFORM media_raise(422, 'Idempotency-Key was used with another '
                            || 'request', 'IDEMPOTENCY_KEY_REUSED');
    END IF;
    status := k.status;
    body := k.body;
    RETURN NEXT;
END $$;

CREATE FUNCTION media_idem_store(p_tenant bigint, p_key text, p_hash bytea,
                                 p_status int, p_body text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body)
    VALUES (p_tenant, p_key, p_hash, p_status, p_body)
$$;


-- media.optimized / media.failed, in the transaction that ends the file's
-- optimization, whoever ends it.
CREATE FUNCTION media_optimization_event()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM media_webhook_emit(NEW.tenant_id,
        CASE NEW.optimization WHEN 'success' THEN 'media.optimized'
                              ELSE 'media.failed' END,
        jsonb_build_object('mediaId', NEW.id, 'imageId', NEW.uuid,
                           'externalId', NEW.external_id,
                           'optimization', NEW.optimization,
                           'error', NEW.failure_code,
                           'reason', NEW.failure_reason));
    RETURN NEW;
END $$;

CREATE TRIGGER media_optimization_event
    AFTER UPDATE OF optimization ON media
    FOR EACH ROW
    WHEN (NEW.optimization IN ('success', 'failed')
          AND OLD.optimization IS DISTINCT FROM NEW.optimization)
    EXECUTE FUNCTION media_optimization_event();
