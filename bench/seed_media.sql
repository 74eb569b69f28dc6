-- make bench: :n optimized media rows (with their three variants) for
-- tenant :tenant, as the GET /api/v1/media/:id benchmark's table.
-- psql -v tenant=<id> -v n=<count> -f bench/seed_media.sql
-- Prints the id range as "ids <min> <max>".
\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE bench_new ON COMMIT DROP AS
WITH ins AS (
    INSERT INTO media (tenant_id, external_id, object_key, size, content_type,
                       optimization, blurhash, width, height)
    SELECT :tenant, 'bench-' || g,
           :tenant || '/' || md5(g::text) || '_photo-' || g || '.jpg',
           150000 + (g * 7919) % 4000000, 'image/jpeg', 'success',
           'LEHV6nWB2yk8pyo0adR*.7kCMdnj', 4032, 3024
      FROM generate_series(1, :n) g
    RETURNING id)
SELECT id FROM ins;
INSERT INTO media_variants (media_id, variant_size, object_key, size,
                            width, height)
SELECT b.id, v.w, :tenant || '/v/' || b.id || '/' || v.w || '.webp',
       v.w * 40 + b.id % 997, v.w, v.w * 3 / 4
  FROM bench_new b, (VALUES (128), (512), (1024)) v(w);
SELECT min(id) AS min, max(id) AS max, count(*) AS count FROM bench_new \gset bench_
COMMIT;
VACUUM ANALYZE media;
VACUUM ANALYZE media_variants;
\echo ids :bench_min :bench_max :bench_count
