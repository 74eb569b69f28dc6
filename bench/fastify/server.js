'use strict';
// The reference for `make bench` (bench/run.sh): GET /api/v1/media/:id as a
// team would otherwise write it, Fastify + node-postgres, one process.
//
// Same work as the nginx module: "ApiKey <key>" or "Bearer <key>", the
// key's SHA-256 looked up with media_auth() once and cached in a Map for
// 30 s, then one round trip to SELECT media_get(tenant, id, base) (a named,
// i.e. prepared, statement, as the module prepares its statements), the
// function's JSON text sent as it is.  Client errors raised by the SQL
// functions (SQLSTATE MDnnn, HINT = error_code) become status nnn with
// {"error", "error_code"}, as the module does.
//
// Environment: BENCH_PORT (to listen on, 127.0.0.1), BENCH_PG_PORT (the
// stack's PostgreSQL on 127.0.0.1, database media, user postgres),
// BENCH_BASE (the public files URL, as media_public_url), BENCH_POOL
// (connections, default 16).

const crypto = require('node:crypto');
const fastify = require('fastify')({ logger: false });
const { Pool } = require('pg');

const port = Number(process.env.BENCH_PORT);
const base = process.env.BENCH_BASE;
const pool = new Pool({
  host: '127.0.0.1',
  port: Number(process.env.BENCH_PG_PORT),
  database: 'media',
  user: 'postgres',
  max: Number(process.env.BENCH_POOL || 16),
});

const AUTH_TTL_MS = 30 * 1000;
const keys = new Map();            // sha256 hex -> { tenant, revoked, expires }
const KEY_RE = /^(?:ApiKey|Bearer) +([A-Za-z0-9\-_.~+/=]{1,256})$/i;

function fail(reply, status, error, code) {
  return reply.code(status).type('application/json')
    .send(JSON.stringify({ error, error_code: code }));
}

function sqlError(reply, err) {
  if (typeof err.code === 'string' && /^MD\d{3}$/.test(err.code)) {
    return fail(reply, Number(err.code.slice(2)), err.message, err.hint);
  }
  return fail(reply, 503, 'Service temporarily unavailable', 'UNAVAILABLE');
}

async function tenantOf(request, reply) {
  const h = request.headers.authorization;
  if (h === undefined) {
    fail(reply, 401, 'Missing API key', 'MISSING_API_KEY');
    return null;
  }
  const m = KEY_RE.exec(h);
  if (m === null) {
    fail(reply, 401, 'Malformed Authorization header', 'MALFORMED_AUTHORIZATION');
    return null;
  }
  const hash = crypto.createHash('sha256').update(m[1]).digest();
  const hex = hash.toString('hex');
  const now = Date.now();
  let k = keys.get(hex);
  if (k === undefined || k.expires <= now) {
    const r = await pool.query({
      name: 'media_auth',
      text: 'SELECT tenant_id, revoked FROM media_auth($1)',
      values: [hash],
    });
    k = r.rows.length === 0
      ? { tenant: null, revoked: false, expires: now + AUTH_TTL_MS }
      : { tenant: r.rows[0].tenant_id, revoked: r.rows[0].revoked,
          expires: now + AUTH_TTL_MS };
    keys.set(hex, k);
  }
  if (k.tenant === null || k.revoked) {
    fail(reply, 401, 'Invalid API key', 'INVALID_API_KEY');
    return null;
  }
  return k.tenant;
}

function mediaJson(m) {
  const variants = [];
  const f = m.variants ? m.variants.split(' ') : [];
  for (let i = 0; i + 2 < f.length; i += 3) {
    variants.push({ url: `${base}/${f[i + 2]}`, variantSize: f[i],
                    size: Number(f[i + 1]) });
  }
  return JSON.stringify({
    id: Number(m.id), externalId: m.external_id, size: Number(m.size),
    contentType: m.content_type, optimization: m.optimization,
    blurhash: m.blurhash, originalUrl: `${base}/${m.object_key}`, variants,
  });
}

fastify.get('/api/v1/media/:id', async (request, reply) => {
  let tenant;
  try {
    tenant = await tenantOf(request, reply);
  } catch (err) {
    return sqlError(reply, err);
  }
  if (tenant === null) return reply;
  const id = request.params.id;
  if (!/^[1-9][0-9]{0,17}$/.test(id)) {
    return fail(reply, 404, 'File not found', 'FILE_NOT_FOUND');
  }
  // The same query as the module (media_file), and the JSON written here,
  // as the module writes it in C.
  try {
    const r = await pool.query({
      name: 'media_file',
      text: 'SELECT * FROM media_file($1::bigint, $2::bigint)',
      values: [tenant, id],
    });
    if (r.rows.length === 0) {
      return fail(reply, 404, 'File not found', 'FILE_NOT_FOUND');
    }
    return reply.type('application/json').send(mediaJson(r.rows[0]));
  } catch (err) {
    return sqlError(reply, err);
  }
});

fastify.listen({ host: '127.0.0.1', port }).then(() => {
  process.stdout.write(`fastify listening on 127.0.0.1:${port}\n`);
}, (err) => {
  process.stderr.write(`fastify: ${err.message}\n`);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    fastify.close().then(() => pool.end()).then(() => process.exit(0));
  });
}
