/*
 * API key authentication with a shared-memory cache.
 */

#include "ngx_http_media_auth.h"
#include "ngx_http_media_json.h"
#include "ngx_http_media_pg.h"

#include <openssl/crypto.h>


#define NGX_HTTP_MEDIA_AUTH_MAX_KEY  256


typedef struct {
    ngx_rbtree_node_t   node;
    ngx_queue_t         queue;
    u_char              hash[NGX_HTTP_MEDIA_KEY_HASH_LEN];
    int64_t             tenant_id;
    time_t              expires;
    ngx_uint_t          revoked;
} ngx_http_media_auth_node_t;


typedef struct {
    ngx_rbtree_t        rbtree;
    ngx_rbtree_node_t   sentinel;
    ngx_queue_t         lru;
} ngx_http_media_auth_sh_t;


typedef struct {
    ngx_http_media_auth_sh_t  *sh;
    ngx_slab_pool_t           *shpool;
} ngx_http_media_auth_cache_t;


static ngx_int_t ngx_http_media_auth_parse(ngx_http_request_t *r,
    ngx_str_t *key);
static ngx_int_t ngx_http_media_auth_cached(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
static void ngx_http_media_auth_store(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_uint_t revoked);
static ngx_http_media_auth_node_t *ngx_http_media_auth_lookup(
    ngx_http_media_auth_cache_t *cache, u_char *hash);
static void ngx_http_media_auth_done(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
static ngx_int_t ngx_http_media_auth_proceed(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_uint_t revoked);
static ngx_int_t ngx_http_media_auth_reject(ngx_http_request_t *r,
    const char *error, const char *code);
static ngx_int_t ngx_http_media_auth_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_media_auth_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


static const char  ngx_http_media_auth_sql[] =
    "SELECT tenant_id, revoked FROM media_auth($1::bytea)";


/*
 * NGX_OK: ctx->tenant_id is set, go on.  NGX_DONE: a query is running and
 * ctx->next() will be called with the outcome.  Otherwise: the response
 * has been sent and rc is for ngx_http_finalize_request().
 */
ngx_int_t
ngx_http_media_authenticate(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                     *p, *hex;
    ngx_int_t                   rc;
    ngx_str_t                   key = ngx_null_string;
    ngx_http_media_pg_query_t  *q;

    rc = ngx_http_media_auth_parse(r, &key);
    if (rc != NGX_OK) {
        return rc;
    }

    media_sha256(key.data, key.len, ctx->key_hash);

    rc = ngx_http_media_auth_cached(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    q = ngx_http_media_pg_query(r, ngx_http_media_auth_sql,
                                ngx_http_media_auth_done);
    hex = ngx_pnalloc(r->pool, 2 + 2 * NGX_HTTP_MEDIA_KEY_HASH_LEN + 1);
    if (q == NULL || hex == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(hex, "\\x", 2);
    p = ngx_hex_dump(p, ctx->key_hash, NGX_HTTP_MEDIA_KEY_HASH_LEN);
    *p = '\0';

    q->nparams = 1;
    q->params[0] = (char *) hex;

    if (ngx_http_media_pg_run(r, q) != NGX_OK) {
        return ngx_http_media_pg_send_failure(r, q);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_media_auth_parse(ngx_http_request_t *r, ngx_str_t *key)
{
    u_char           *p, *last;
    ngx_str_t         value;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;
    if (h == NULL) {
        return ngx_http_media_auth_reject(r, "Missing API key",
                                          "MISSING_API_KEY");
    }

    value = h->value;

    if (value.len > sizeof("ApiKey ") - 1
        && ngx_strncasecmp(value.data, (u_char *) "ApiKey ", 7) == 0)
    {
        p = value.data + 7;

    } else if (value.len > sizeof("Bearer ") - 1
               && ngx_strncasecmp(value.data, (u_char *) "Bearer ", 7) == 0)
    {
        p = value.data + 7;

    } else {
        goto malformed;
    }

    last = value.data + value.len;

    while (p < last && *p == ' ') {
        p++;
    }

    if (p == last || last - p > NGX_HTTP_MEDIA_AUTH_MAX_KEY) {
        goto malformed;
    }

    key->data = p;

    for ( /* void */ ; p < last; p++) {
        if (!(ngx_http_media_isalnum(*p) || *p == '-' || *p == '_' || *p == '.'
              || *p == '~' || *p == '+' || *p == '/' || *p == '='))
        {
            goto malformed;
        }
    }

    key->len = last - key->data;

    return NGX_OK;

malformed:

    return ngx_http_media_auth_reject(r, "Malformed Authorization header",
                                      "MALFORMED_AUTHORIZATION");
}


static ngx_int_t
ngx_http_media_auth_cached(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    ngx_uint_t                    found, revoked;
    ngx_http_media_main_conf_t   *mcf;
    ngx_http_media_auth_node_t   *node;
    ngx_http_media_auth_cache_t  *cache;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    if (mcf->auth_zone == NULL || mcf->auth_ttl == 0) {
        return NGX_DECLINED;
    }

    cache = mcf->auth_zone->data;
    found = 0;
    revoked = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_media_auth_lookup(cache, ctx->key_hash);

    if (node && node->expires > ngx_time()) {
        found = 1;
        revoked = node->revoked;
        ctx->tenant_id = node->tenant_id;

        ngx_queue_remove(&node->queue);
        ngx_queue_insert_head(&cache->sh->lru, &node->queue);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (!found) {
        return NGX_DECLINED;
    }

    if (revoked) {
        return ngx_http_media_auth_reject(r, "API key revoked",
                                          "API_KEY_REVOKED");
    }

    return NGX_OK;
}


static void
ngx_http_media_auth_done(ngx_http_request_t *r, ngx_http_media_pg_query_t *q)
{
    ngx_int_t              rc, tenant;
    ngx_uint_t             revoked;
    ngx_http_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    if (q->status == NGX_HTTP_MEDIA_PG_NO_ROWS) {
        rc = ngx_http_media_auth_reject(r, "Invalid API key",
                                        "INVALID_API_KEY");
        goto done;
    }

    if (q->status != NGX_HTTP_MEDIA_PG_OK || q->value[0].data == NULL) {
        rc = ngx_http_media_pg_send_failure(r, q);
        goto done;
    }

    tenant = ngx_atoi(q->value[0].data, q->value[0].len);
    if (tenant == NGX_ERROR) {
        rc = ngx_http_media_pg_send_failure(r, q);
        goto done;
    }

    revoked = (q->value[1].len == 1 && q->value[1].data[0] == 't');

    ctx->tenant_id = tenant;
    ngx_http_media_auth_store(r, ctx, revoked);

    rc = ngx_http_media_auth_proceed(r, ctx, revoked);

done:

    if (rc != NGX_DONE) {
        ngx_http_media_finalize(r, rc);
    }
}


static ngx_int_t
ngx_http_media_auth_proceed(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    ngx_uint_t revoked)
{
    if (revoked) {
        return ngx_http_media_auth_reject(r, "API key revoked",
                                          "API_KEY_REVOKED");
    }

    return ctx->next(r, ctx);
}


static ngx_int_t
ngx_http_media_auth_reject(ngx_http_request_t *r, const char *error,
    const char *code)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    ngx_str_set(&h->value, "ApiKey, Bearer");

    return ngx_http_media_send_error(r, NGX_HTTP_UNAUTHORIZED, error, code);
}


/*
 * Remembers a known key.  When the zone is full the least recently used
 * entries make room: the cache only saves queries, it never decides.
 */
static void
ngx_http_media_auth_store(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    ngx_uint_t revoked)
{
    ngx_uint_t                    tries;
    ngx_queue_t                  *q;
    ngx_http_media_main_conf_t   *mcf;
    ngx_http_media_auth_node_t   *node;
    ngx_http_media_auth_cache_t  *cache;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    if (mcf->auth_zone == NULL || mcf->auth_ttl == 0) {
        return;
    }

    cache = mcf->auth_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    node = ngx_http_media_auth_lookup(cache, ctx->key_hash);

    if (node == NULL) {
        for (tries = 0; tries < 3; tries++) {
            node = ngx_slab_alloc_locked(cache->shpool,
                                         sizeof(ngx_http_media_auth_node_t));
            if (node || ngx_queue_empty(&cache->sh->lru)) {
                break;
            }

            q = ngx_queue_last(&cache->sh->lru);
            ngx_queue_remove(q);
            node = ngx_queue_data(q, ngx_http_media_auth_node_t, queue);
            ngx_rbtree_delete(&cache->sh->rbtree, &node->node);
            ngx_slab_free_locked(cache->shpool, node);
            node = NULL;
        }

        if (node == NULL) {
            goto done;
        }

        ngx_memcpy(node->hash, ctx->key_hash, NGX_HTTP_MEDIA_KEY_HASH_LEN);
        ngx_memcpy(&node->node.key, ctx->key_hash, sizeof(ngx_rbtree_key_t));
        ngx_rbtree_insert(&cache->sh->rbtree, &node->node);

    } else {
        ngx_queue_remove(&node->queue);
    }

    ngx_queue_insert_head(&cache->sh->lru, &node->queue);

    node->tenant_id = ctx->tenant_id;
    node->revoked = revoked;
    node->expires = ngx_time() + mcf->auth_ttl;

done:

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_http_media_auth_node_t *
ngx_http_media_auth_lookup(ngx_http_media_auth_cache_t *cache, u_char *hash)
{
    ngx_rbtree_key_t             key;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_media_auth_node_t  *an;

    ngx_memcpy(&key, hash, sizeof(ngx_rbtree_key_t));

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        an = (ngx_http_media_auth_node_t *) node;

        /* constant time for equality: the hash of a secret */
        if (CRYPTO_memcmp(an->hash, hash, NGX_HTTP_MEDIA_KEY_HASH_LEN) == 0) {
            return an;
        }

        node = (ngx_memcmp(hash, an->hash, NGX_HTTP_MEDIA_KEY_HASH_LEN) < 0)
               ? node->left : node->right;
    }

    return NULL;
}


char *
ngx_http_media_auth_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_media_main_conf_t *mcf = conf;

    ssize_t                       size;
    ngx_str_t                    *value;
    ngx_http_media_auth_cache_t  *cache;

    if (mcf->auth_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);
    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid media_auth_zone size \"%V\", "
                           "at least %uz bytes", &value[2], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_media_auth_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->auth_zone = ngx_shared_memory_add(cf, &value[1], size,
                                           &ngx_http_media_module);
    if (mcf->auth_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->auth_zone->init = ngx_http_media_auth_init_zone;
    mcf->auth_zone->data = cache;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_media_auth_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_media_auth_cache_t  *ocache = data;

    ngx_http_media_auth_cache_t  *cache;

    cache = shm_zone->data;
    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (ocache) {
        cache->sh = ocache->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_media_auth_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_media_auth_rbtree_insert);
    ngx_queue_init(&cache->sh->lru);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_media_auth_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t           **p;
    ngx_http_media_auth_node_t   *an, *at;

    an = (ngx_http_media_auth_node_t *) node;

    for ( ;; ) {
        at = (ngx_http_media_auth_node_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (ngx_memcmp(an->hash, at->hash, NGX_HTTP_MEDIA_KEY_HASH_LEN)
                 < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
