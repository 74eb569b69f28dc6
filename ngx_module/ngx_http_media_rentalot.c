/*
 * The Rentalot property images API: properties, presign / confirm (single
 * and batch), import by URL as a polled job, list, delete, reorder.
 *
 * A property is a Rentix listing and an image a media file attached to it;
 * the SQL functions in sql/005_rentalot.sql do the work.  Validation errors
 * are 422 here, as the documents give them.
 */

#include "ngx_http_media_api.h"
#include "ngx_http_media_json.h"
#include "ngx_http_media_sign.h"


#define NGX_HTTP_MEDIA_RENTALOT_BATCH     20
#define NGX_HTTP_MEDIA_RENTALOT_MAX_SIZE  (10 * 1024 * 1024)
#define NGX_HTTP_MEDIA_MAX_KEY            1024


typedef struct {
    ngx_str_t   name;
    ngx_str_t   ctype;
    off_t       size;
    ngx_str_t   ext;
} ngx_http_media_image_t;


typedef struct {
    ngx_http_media_image_t  *images;
    size_t                   n;
    ngx_uint_t               batch;
} ngx_http_media_presign_t;


static ngx_int_t ngx_http_media_rentalot_begin(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_uint_t body);
static ngx_int_t ngx_http_media_rentalot_start(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_uint_t body, u_char **id);
static u_char *ngx_http_media_rentalot_property(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_int_t *rc);
static ngx_int_t ngx_http_media_rentalot_items(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, const char *field, ngx_uint_t batch,
    json_t **items);
static ngx_int_t ngx_http_media_rentalot_image(ngx_http_request_t *r,
    json_t *item, size_t i, ngx_http_media_image_t *img);
static ngx_int_t ngx_http_media_rentalot_ext(ngx_http_request_t *r,
    ngx_http_media_image_t *img);
static ngx_int_t ngx_http_media_rentalot_type(ngx_http_request_t *r,
    json_t *item, size_t i, ngx_str_t *ctype);
static ngx_int_t ngx_http_media_rentalot_size(ngx_http_request_t *r,
    json_t *item, size_t i, off_t *size);
static void ngx_http_media_rentalot_signed(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
static ngx_int_t ngx_http_media_rentalot_sign(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_http_media_image_t *img, size_t i,
    ngx_str_t *key, ngx_str_t *url);
static void ngx_http_media_rentalot_confirmed(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
static ngx_int_t ngx_http_media_rentalot_ids(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, const char *sql);
static ngx_int_t ngx_http_media_rentalot_invalid(ngx_http_request_t *r,
    const char *fmt, ...);


static ngx_str_t  ngx_http_media_image_types[] = {
    ngx_string("image/jpeg"),
    ngx_string("image/png"),
    ngx_string("image/webp"),
    ngx_string("image/heic"),
    ngx_null_string
};

static ngx_str_t  ngx_http_media_image_exts[] = {
    ngx_string("jpg"),
    ngx_string("png"),
    ngx_string("webp"),
    ngx_string("heic"),
    ngx_null_string
};


static const char  ngx_http_media_property_create_sql[] =
    "SELECT media_property_create($1::bigint, $2, $3)";
static const char  ngx_http_media_property_get_sql[] =
    "SELECT media_property_get($1::bigint, $2::bigint, $3)";
static const char  ngx_http_media_images_presign_sql[] =
    "SELECT media_images_presign($1::bigint, $2::bigint, $3::int)";
static const char  ngx_http_media_images_confirm_sql[] =
    "SELECT media_images_confirm($1::bigint, $2::bigint, $3::jsonb, "
    "$4::boolean, $5)";
static const char  ngx_http_media_images_import_sql[] =
    "SELECT media_images_import($1::bigint, $2::bigint, $3::jsonb)";
static const char  ngx_http_media_import_poll_sql[] =
    "SELECT media_import_poll($1::bigint, $2::bigint, $3, $4)";
static const char  ngx_http_media_images_list_sql[] =
    "SELECT media_images_list($1::bigint, $2::bigint, $3)";
static const char  ngx_http_media_images_delete_sql[] =
    "SELECT media_images_delete($1::bigint, $2::bigint, $3::jsonb)";
static const char  ngx_http_media_images_reorder_sql[] =
    "SELECT media_images_reorder($1::bigint, $2::bigint, $3::jsonb)";


/* POST /api/v1/properties {title, externalId?} */
ngx_int_t
ngx_http_media_property_create(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *title, *ext;
    ngx_int_t   rc;
    ngx_str_t   t, e;

    rc = ngx_http_media_rentalot_begin(r, ctx, 1);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_json_string(r, ctx->body, "title", NULL, 0, 500, 0,
                                    &t);
    if (rc == NGX_OK) {
        rc = ngx_http_media_json_string(r, ctx->body, "externalId", NULL, 0,
                                        NGX_HTTP_MEDIA_MAX_NAME, 1, &e);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    ctx->ok_status = NGX_HTTP_CREATED;
    tenant = ngx_http_media_tenant_param(r, ctx);
    title = ngx_http_media_cstr(r, &t);
    ext = e.data ? ngx_http_media_cstr(r, &e) : NULL;

    if (tenant == NULL || title == NULL || (e.data && ext == NULL)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_property_create_sql,
                                   3, tenant, title, ext);
}


/* GET /api/v1/properties/:id, GET /api/v1/properties/:id/images */
ngx_int_t
ngx_http_media_property_get(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                      *tenant, *id, *base;
    ngx_int_t                    rc;
    const char                  *sql;
    ngx_http_media_main_conf_t  *mcf;

    rc = ngx_http_media_rentalot_start(r, ctx, 0, &id);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);
    tenant = ngx_http_media_tenant_param(r, ctx);
    base = mcf->public_url.data;

    if (tenant == NULL || base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sql = (r->uri.len > 7
           && ngx_strncmp(r->uri.data + r->uri.len - 7, "/images", 7) == 0)
          ? ngx_http_media_images_list_sql : ngx_http_media_property_get_sql;

    return ngx_http_media_api_call(r, ctx, sql, 3, tenant, id, base);
}


/* POST .../images/presign and .../images/presign-batch */
ngx_int_t
ngx_http_media_images_presign(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char                    *tenant, *id, *count;
    size_t                     i;
    json_t                    *items;
    ngx_int_t                  rc;
    ngx_http_media_presign_t  *ps;

    rc = ngx_http_media_rentalot_start(r, ctx, 1, &id);
    if (rc != NGX_OK) {
        return rc;
    }

    ps = ngx_pcalloc(r->pool, sizeof(ngx_http_media_presign_t));
    if (ps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ps->batch = (r->uri.data[r->uri.len - 1] == 'h');   /* "-batch" */

    rc = ngx_http_media_rentalot_items(r, ctx, "images", ps->batch, &items);
    if (rc != NGX_OK) {
        return rc;
    }

    ps->n = json_array_size(items);
    ps->images = ngx_pcalloc(r->pool, ps->n * sizeof(ngx_http_media_image_t));
    count = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    tenant = ngx_http_media_tenant_param(r, ctx);

    if (ps->images == NULL || count == NULL || tenant == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < ps->n; i++) {
        rc = ngx_http_media_rentalot_image(r, json_array_get(items, i), i,
                                           &ps->images[i]);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    *ngx_sprintf(count, "%uz", ps->n) = '\0';
    ctx->data = ps;

    return ngx_http_media_api_query(r, ctx, ngx_http_media_images_presign_sql,
                                    ngx_http_media_rentalot_signed, 3,
                                    tenant, id, count);
}


/* The property has room (the query answered maxImages): sign the URLs. */
static void
ngx_http_media_rentalot_signed(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q)
{
    size_t                     i;
    json_t                    *data, *entry;
    ngx_int_t                  rc;
    ngx_str_t                  key, url;
    ngx_http_media_ctx_t      *ctx;
    ngx_http_media_presign_t  *ps;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);
    ps = ctx->data;

    if (q->status != NGX_HTTP_MEDIA_PG_OK || q->value[0].data == NULL) {
        ngx_http_media_finalize(r, ngx_http_media_pg_send_failure(r, q));
        return;
    }

    data = ps->batch ? json_array() : NULL;
    if (ps->batch && (data == NULL
                      || ngx_http_media_json_cleanup(r->pool, data) != NGX_OK))
    {
        json_decref(data);
        ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    for (i = 0; i < ps->n; i++) {
        if (ngx_http_media_rentalot_sign(r, ctx, &ps->images[i], i, &key, &url)
            != NGX_OK)
        {
            ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (ps->batch) {
            entry = json_pack("{s:s%, s:s%, s:s%}",
                              "fileName", ps->images[i].name.data,
                              ps->images[i].name.len,
                              "uploadUrl", url.data, url.len,
                              "r2Key", key.data, key.len);
        } else {
            entry = json_pack("{s:s%, s:s%, s:I}",
                              "uploadUrl", url.data, url.len,
                              "r2Key", key.data, key.len, "maxImages",
                              (json_int_t) ngx_atoi(q->value[0].data,
                                                    q->value[0].len));
        }

        if (entry == NULL) {
            ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (!ps->batch) {
            data = entry;
            break;
        }

        json_array_append_new(data, entry);
    }

    entry = json_pack(ps->batch ? "{s:O}" : "{s:o}", "data", data);
    if (entry == NULL) {
        ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_media_send_json(r, NGX_HTTP_OK, entry);
    json_decref(entry);

    ngx_http_media_finalize(r, rc);
}


/*
 * r2Key "images/<tenant>/<property>/<32 hex>.<ext>".  With an
 * Idempotency-Key the hex part is derived from it, so a retry gets the
 * same keys (and fresh URLs for them).
 */
static ngx_int_t
ngx_http_media_rentalot_sign(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    ngx_http_media_image_t *img, size_t i, ngx_str_t *key, ngx_str_t *url)
{
    u_char                       name[NGX_HTTP_MEDIA_UUID_LEN], *p;
    u_char                       seed[600], digest[32];
    ngx_http_media_signed_t      s;
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    if (ctx->idem_key.len) {
        p = ngx_snprintf(seed, sizeof(seed), "%L\n%V\n%uz", ctx->tenant_id,
                         &ctx->idem_key, i);
        media_sha256(seed, p - seed, digest);
        ngx_hex_dump(name, digest, sizeof(name) / 2);

    } else if (ngx_http_media_random_hex(name, sizeof(name)) != NGX_OK) {
        return NGX_ERROR;
    }

    key->data = ngx_pnalloc(r->pool, sizeof("images///.") + 2 * NGX_INT64_LEN
                                     + sizeof(name) + img->ext.len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(key->data, "images/%L/%V/", ctx->tenant_id,
                    &ctx->args[0]);
    p = ngx_cpymem(p, name, sizeof(name));
    p = ngx_sprintf(p, ".%V", &img->ext);
    key->len = p - key->data;

    s.key = *key;
    s.ctype = img->ctype;
    s.size = img->size;
    s.expires = ngx_time() + mcf->upload_ttl;

    return ngx_http_media_upload_url(r, &s, url);
}


/* POST .../images/confirm and .../images/confirm-batch */
ngx_int_t
ngx_http_media_images_confirm(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    u_char      *tenant, *id, *images, *base;
    size_t       i;
    json_t      *items, *item;
    off_t        size;
    ngx_int_t    rc;
    ngx_str_t    value;
    ngx_uint_t   batch;
    ngx_http_media_main_conf_t  *mcf;

    rc = ngx_http_media_rentalot_start(r, ctx, 1, &id);
    if (rc != NGX_OK) {
        return rc;
    }

    batch = (r->uri.data[r->uri.len - 1] == 'h');
    rc = ngx_http_media_rentalot_items(r, ctx, "images", batch, &items);
    if (rc != NGX_OK) {
        return rc;
    }

    for (i = 0; i < json_array_size(items); i++) {
        item = json_array_get(items, i);

        rc = ngx_http_media_json_string(r, item, "r2Key",
                                        batch ? "images" : NULL, i,
                                        NGX_HTTP_MEDIA_MAX_KEY, 0, &value);
        if (rc == NGX_OK && ngx_http_media_api_head(r, ctx, &value) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_OK) {
            rc = ngx_http_media_rentalot_type(r, item, i, &value);
        }

        if (rc == NGX_OK) {
            rc = ngx_http_media_rentalot_size(r, item, i, &size);
        }

        if (rc == NGX_OK) {
            rc = ngx_http_media_json_string(r, item, "altText",
                                            batch ? "images" : NULL, i, 500,
                                            1, &value);
        }

        if (rc != NGX_OK) {
            return rc;
        }
    }

    images = ngx_http_media_json_text(r, items, NULL);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);
    tenant = ngx_http_media_tenant_param(r, ctx);
    base = mcf->public_url.data;

    if (images == NULL || tenant == NULL || base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->ok_status = NGX_HTTP_CREATED;
    ctx->data = batch ? NULL : ctx;     /* "single": add Location */

    return ngx_http_media_api_query(r, ctx, ngx_http_media_images_confirm_sql,
                                    ngx_http_media_rentalot_confirmed, 5,
                                    tenant, id, images,
                                    batch ? "true" : "false", base);
}


/* 201 with Location: /api/v1/properties/:id/images/:imageId */
static void
ngx_http_media_rentalot_confirmed(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q)
{
    static u_char  prefix[] = "{\"data\":{\"id\":\"";

    size_t                 len;
    ngx_table_elt_t       *h;
    ngx_http_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    if (q->status != NGX_HTTP_MEDIA_PG_OK || q->value[0].data == NULL) {
        ngx_http_media_finalize(r, ngx_http_media_pg_send_failure(r, q));
        return;
    }

    len = sizeof(prefix) - 1;

    if (ctx->data && q->value[0].len > len + 36
        && ngx_strncmp(q->value[0].data, prefix, len) == 0)
    {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        h->value.data = ngx_pnalloc(r->pool, sizeof("/api/v1/properties/")
                                             + ctx->args[0].len
                                             + sizeof("/images/") + 36);
        if (h->value.data == NULL) {
            ngx_http_media_finalize(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.len = ngx_sprintf(h->value.data,
                                   "/api/v1/properties/%V/images/%*s",
                                   &ctx->args[0], (size_t) 36,
                                   q->value[0].data + len)
                       - h->value.data;
    }

    ngx_http_media_finalize(r,
        ngx_http_media_send_text(r, ngx_http_media_api_status(ctx, q),
                                 &q->value[0]));
}


/* POST .../images/import {urls: [...]} */
ngx_int_t
ngx_http_media_images_import(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char     *tenant, *id, *urls;
    size_t      i;
    json_t     *items, *wrap;
    ngx_int_t   rc;
    ngx_str_t   url;

    rc = ngx_http_media_rentalot_start(r, ctx, 1, &id);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_rentalot_items(r, ctx, "urls", 1, &items);
    if (rc != NGX_OK) {
        return rc;
    }

    for (i = 0; i < json_array_size(items); i++) {
        wrap = json_pack("{s:O}", "url", json_array_get(items, i));
        if (wrap == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_media_json_url(r, wrap, "url", "urls", i, 0, &url);
        json_decref(wrap);

        if (rc != NGX_OK) {
            return rc;
        }
    }

    ctx->ok_status = NGX_HTTP_ACCEPTED;
    tenant = ngx_http_media_tenant_param(r, ctx);
    urls = ngx_http_media_json_text(r, items, NULL);

    if (tenant == NULL || urls == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_images_import_sql, 3,
                                   tenant, id, urls);
}


/* GET .../images/import/:jobId */
ngx_int_t
ngx_http_media_import_poll(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                      *tenant, *id, *job, *base;
    ngx_int_t                    rc;
    ngx_http_media_main_conf_t  *mcf;

    rc = ngx_http_media_rentalot_start(r, ctx, 0, &id);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ctx->args[1].len > 64) {
        return ngx_http_media_send_error(r, NGX_HTTP_NOT_FOUND,
                                         "Import job not found",
                                         "JOB_NOT_FOUND");
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);
    tenant = ngx_http_media_tenant_param(r, ctx);
    job = ngx_http_media_cstr(r, &ctx->args[1]);
    base = mcf->public_url.data;

    if (tenant == NULL || job == NULL || base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_import_poll_sql, 4,
                                   tenant, id, job, base);
}


/* DELETE .../images {imageIds} */
ngx_int_t
ngx_http_media_images_delete(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    return ngx_http_media_rentalot_ids(r, ctx,
                                       ngx_http_media_images_delete_sql);
}


/* PATCH .../images/reorder {imageIds} */
ngx_int_t
ngx_http_media_images_reorder(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx)
{
    return ngx_http_media_rentalot_ids(r, ctx,
                                       ngx_http_media_images_reorder_sql);
}


static ngx_int_t
ngx_http_media_rentalot_ids(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx,
    const char *sql)
{
    u_char     *tenant, *id, *ids;
    size_t      i;
    json_t     *items, *v;
    ngx_int_t   rc;

    rc = ngx_http_media_rentalot_start(r, ctx, 1, &id);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_media_rentalot_items(r, ctx, "imageIds", 1, &items);
    if (rc != NGX_OK) {
        return rc;
    }

    for (i = 0; i < json_array_size(items); i++) {
        v = json_array_get(items, i);

        if (!json_is_string(v) || json_string_length(v) == 0
            || json_string_length(v) > 64)
        {
            return ngx_http_media_rentalot_invalid(r,
                       "imageIds[%uz] must be an image id", i);
        }
    }

    tenant = ngx_http_media_tenant_param(r, ctx);
    ids = ngx_http_media_json_text(r, items, NULL);

    if (tenant == NULL || ids == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, sql, 3, tenant, id, ids);
}


/* Validation errors of this API are 422; reads the body when it has one. */
static ngx_int_t
ngx_http_media_rentalot_begin(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_uint_t body)
{
    ngx_int_t  rc;

    ctx->invalid_status = NGX_HTTP_UNPROCESSABLE_ENTITY;

    if (!body) {
        return NGX_OK;
    }

    rc = ngx_http_media_read_json(r, &ctx->body);

    return ctx->body ? NGX_OK : rc;
}


/* Reads the body if any, and the property id of the route. */
static ngx_int_t
ngx_http_media_rentalot_start(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_uint_t body, u_char **id)
{
    ngx_int_t  rc;

    rc = ngx_http_media_rentalot_begin(r, ctx, body);
    if (rc != NGX_OK) {
        return rc;
    }

    *id = ngx_http_media_rentalot_property(r, ctx, &rc);

    return *id ? NGX_OK : rc;
}


/* The :id of the route; an id that is not one is an unknown property. */
static u_char *
ngx_http_media_rentalot_property(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_int_t *rc)
{
    u_char  *id;

    if (ctx->args[0].len == 0 || ctx->args[0].len > 18
        || ngx_atoi(ctx->args[0].data, ctx->args[0].len) <= 0)
    {
        *rc = ngx_http_media_send_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                        "Property not found",
                                        "PROPERTY_NOT_FOUND");
        return NULL;
    }

    id = ngx_http_media_cstr(r, &ctx->args[0]);
    if (id == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return id;
}


/*
 * The array of a request: body[field] with 1 to 20 entries, or, for a
 * single presign / confirm, the body itself as the one entry.
 */
static ngx_int_t
ngx_http_media_rentalot_items(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, const char *field, ngx_uint_t batch,
    json_t **items)
{
    json_t  *a;

    if (!batch) {
        a = json_pack("[O]", ctx->body);
        if (a == NULL || ngx_http_media_json_cleanup(r->pool, a) != NGX_OK) {
            json_decref(a);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *items = a;
        return NGX_OK;
    }

    a = json_object_get(ctx->body, field);

    if (!json_is_array(a) || json_array_size(a) == 0
        || json_array_size(a) > NGX_HTTP_MEDIA_RENTALOT_BATCH)
    {
        return ngx_http_media_rentalot_invalid(r,
                   "%s must be an array of 1 to %d entries", field,
                   NGX_HTTP_MEDIA_RENTALOT_BATCH);
    }

    *items = a;

    return NGX_OK;
}


static ngx_int_t
ngx_http_media_rentalot_image(ngx_http_request_t *r, json_t *item, size_t i,
    ngx_http_media_image_t *img)
{
    ngx_int_t   rc;

    if (!json_is_object(item)) {
        return ngx_http_media_rentalot_invalid(r,
                   "images[%uz] must be an object", i);
    }

    rc = ngx_http_media_json_string(r, item, "fileName", "images", i,
                                    NGX_HTTP_MEDIA_MAX_NAME, 0, &img->name);
    if (rc == NGX_OK) {
        rc = ngx_http_media_rentalot_type(r, item, i, &img->ctype);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_media_rentalot_size(r, item, i, &img->size);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_media_rentalot_ext(r, img);
}


/* The extension of fileName when it is a plain one, else the type's. */
static ngx_int_t
ngx_http_media_rentalot_ext(ngx_http_request_t *r, ngx_http_media_image_t *img)
{
    u_char     *dot, *p, *last;
    size_t      len;
    ngx_str_t  *t, *e;

    for (t = ngx_http_media_image_types, e = ngx_http_media_image_exts;
         t->len; t++, e++)
    {
        if (t->len == img->ctype.len
            && ngx_strncmp(t->data, img->ctype.data, t->len) == 0)
        {
            img->ext = *e;
        }
    }

    last = img->name.data + img->name.len;
    dot = NULL;

    for (p = img->name.data; p < last; p++) {
        if (*p == '.') {
            dot = p;
        } else if (!ngx_http_media_isalnum(*p)) {
            dot = (dot && p > dot) ? NULL : dot;
        }
    }

    len = dot ? (size_t) (last - dot - 1) : 0;

    if (len == 0 || len > 8) {
        return NGX_OK;
    }

    for (p = dot + 1; p < last; p++) {
        if (!ngx_http_media_isalnum(*p)) {
            return NGX_OK;
        }
    }

    img->ext.data = ngx_pnalloc(r->pool, len);
    if (img->ext.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    img->ext.len = len;
    ngx_strlow(img->ext.data, dot + 1, len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_media_rentalot_type(ngx_http_request_t *r, json_t *item, size_t i,
    ngx_str_t *ctype)
{
    ngx_int_t   rc;
    ngx_str_t  *t;

    rc = ngx_http_media_json_string(r, item, "contentType", NULL, i, 64, 0,
                                    ctype);
    if (rc != NGX_OK) {
        return rc;
    }

    for (t = ngx_http_media_image_types; t->len; t++) {
        if (t->len == ctype->len
            && ngx_strncmp(t->data, ctype->data, t->len) == 0)
        {
            return NGX_OK;
        }
    }

    return ngx_http_media_send_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
               "contentType must be one of image/jpeg, image/png, "
               "image/webp, image/heic", "INVALID_CONTENT_TYPE");
}


static ngx_int_t
ngx_http_media_rentalot_size(ngx_http_request_t *r, json_t *item, size_t i,
    off_t *size)
{
    json_t  *v;

    v = json_object_get(item, "sizeBytes");

    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        return ngx_http_media_rentalot_invalid(r,
                   "sizeBytes must be a positive integer");
    }

    if (json_integer_value(v) > NGX_HTTP_MEDIA_RENTALOT_MAX_SIZE) {
        return ngx_http_media_send_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "File too large: at most 10 MB (10485760 bytes)",
                   "FILE_TOO_LARGE");
    }

    *size = (off_t) json_integer_value(v);

    return NGX_OK;
}


static ngx_int_t
ngx_http_media_rentalot_invalid(ngx_http_request_t *r, const char *fmt, ...)
{
    u_char   *p, text[512];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(text, text + sizeof(text) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    return ngx_http_media_send_error(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                     (char *) text, "VALIDATION_ERROR");
}
