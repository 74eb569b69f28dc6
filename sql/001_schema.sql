-- 001: tenants, API keys, uploads, media, variants, jobs.
--
-- Migrations are numbered, applied in order, each in one transaction that
-- records itself in schema_migrations (see scripts/migrate.sh).  A released
-- migration is never edited; changes go into a new file.

CREATE TABLE tenants (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored as SHA-256 of the presented secret; the secret itself is
-- shown once by the admin CLI and never stored.
CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- An object received by a signed PUT.  The PUT receiver records it here after
-- the rename that makes it visible; confirm turns it into a media row.
CREATE TABLE uploads (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    object_key    text NOT NULL UNIQUE,
    content_type  text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    confirmed_at  timestamptz
);

CREATE TABLE media (
    id              bigserial PRIMARY KEY,
    uuid            uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    external_id     text CHECK (length(external_id) BETWEEN 1 AND 255),
    object_key      text NOT NULL,
    size            bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    content_type    text NOT NULL,
    optimization    text NOT NULL DEFAULT 'pending'
                    CHECK (optimization IN
                           ('pending', 'in_progress', 'success', 'failed')),
    failure_code    text,
    failure_reason  text,
    blurhash        text,
    width           integer,
    height          integer,
    source_url      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, external_id)
);

CREATE INDEX media_tenant_idx ON media (tenant_id, id);

CREATE TABLE media_variants (
    media_id      bigint NOT NULL REFERENCES media(id) ON DELETE CASCADE,
    variant_size  integer NOT NULL CHECK (variant_size IN (128, 512, 1024)),
    object_key    text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    width         integer NOT NULL,
    height        integer NOT NULL,
    PRIMARY KEY (media_id, variant_size)
);

-- The job queue.  A job is 'queued' until a worker claims it ('running',
-- with a lease in locked_until that the worker's heartbeat extends); it ends
-- 'done' or 'failed'.  A running job whose lease expired is claimable again,
-- so the jobs of a crashed worker are taken over.
CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('optimize', 'import')),
    media_id      bigint REFERENCES media(id) ON DELETE CASCADE,
    payload       jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    run_at        timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    locked_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

CREATE INDEX jobs_claimable_idx ON jobs (run_at, id)
    WHERE state IN ('queued', 'running');

CREATE TABLE job_attempts (
    job_id       bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    worker       text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('done', 'retry', 'failed', 'lost')),
    error        text,
    PRIMARY KEY (job_id, attempt)
);

-- Objects whose media row was deleted; the worker removes them from storage.
CREATE TABLE storage_garbage (
    id          bigserial PRIMARY KEY,
    object_key  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
