/*
 * Listings (Rentix): PUT /api/v1/listings creates or updates a listing by
 * its externalId with its files in order; GET /api/v1/listings/:externalId
 * shows it.  The files may be given by {id}, by {externalFileId}, or by
 * {url, externalFileId} (imported unless already there).
 */

#include "ngx_http_media_api.h"
#include "ngx_http_media_json.h"


#define NGX_HTTP_MEDIA_LISTING_FILES  20


static ngx_int_t ngx_http_media_listing_files(ngx_http_request_t *r,
    json_t *files);
static ngx_int_t ngx_http_media_listing_file(ngx_http_request_t *r,
    json_t *file, size_t i);


static const char  ngx_http_media_listing_put_sql[] =
    "SELECT media_listing_put($1::bigint, $2::jsonb, $3)";

static const char  ngx_http_media_listing_get_sql[] =
    "SELECT media_listing_get($1::bigint, $2, $3)";


ngx_int_t
ngx_http_media_listing_put(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                      *tenant, *body, *base;
    json_t                      *files;
    ngx_int_t                    rc;
    ngx_str_t                    value;
    ngx_http_media_main_conf_t  *mcf;

    rc = ngx_http_media_read_json(r, &ctx->body);
    if (ctx->body == NULL) {
        return rc;
    }

    rc = ngx_http_media_json_string(r, ctx->body, "externalId", NULL, 0,
                                    NGX_HTTP_MEDIA_MAX_NAME, 0, &value);
    if (rc == NGX_OK) {
        rc = ngx_http_media_json_string(r, ctx->body, "announcementStatus",
                                        NULL, 0, 64, 1, &value);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_media_json_string(r, ctx->body, "title", NULL, 0, 500,
                                        1, &value);
    }

    files = json_object_get(ctx->body, "files");
    if (rc == NGX_OK && files) {
        rc = ngx_http_media_listing_files(r, files);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    body = ngx_http_media_json_text(r, ctx->body, NULL);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);
    tenant = ngx_http_media_tenant_param(r, ctx);
    base = mcf->public_url.data;

    if (body == NULL || tenant == NULL || base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_listing_put_sql, 3,
                                   tenant, body, base);
}


static ngx_int_t
ngx_http_media_listing_files(ngx_http_request_t *r, json_t *files)
{
    size_t     i;
    ngx_int_t  rc;

    if (!json_is_array(files)) {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "files must be an array",
                                         "VALIDATION_ERROR");
    }

    if (json_array_size(files) > NGX_HTTP_MEDIA_LISTING_FILES) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "TOO_MANY_FILES", "Too many files: at most %d per listing",
                   NGX_HTTP_MEDIA_LISTING_FILES);
    }

    for (i = 0; i < json_array_size(files); i++) {
        rc = ngx_http_media_listing_file(r, json_array_get(files, i), i);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


/* {id} | {externalFileId} | {url, externalFileId?} */
static ngx_int_t
ngx_http_media_listing_file(ngx_http_request_t *r, json_t *file, size_t i)
{
    int64_t    id;
    ngx_int_t  rc;
    ngx_str_t  url, ext;

    if (!json_is_object(file)) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR", "files[%uz] must be an object", i);
    }

    rc = ngx_http_media_json_id(r, file, "id", "files", i, 1, &id);
    if (rc == NGX_OK) {
        rc = ngx_http_media_json_string(r, file, "externalFileId", "files", i,
                                        NGX_HTTP_MEDIA_MAX_NAME, 1, &ext);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_media_json_url(r, file, "url", "files", i, 1, &url);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (id == 0 && ext.data == NULL && url.data == NULL) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                   "VALIDATION_ERROR",
                   "files[%uz] needs id, externalFileId or url", i);
    }

    return NGX_OK;
}


/* GET /api/v1/listings/:externalId */
ngx_int_t
ngx_http_media_listing_get(ngx_http_request_t *r, ngx_http_media_ctx_t *ctx)
{
    u_char                      *tenant, *ext, *base;
    ngx_http_media_main_conf_t  *mcf;

    if (ngx_utf8_length(ctx->args[0].data, ctx->args[0].len)
        > NGX_HTTP_MEDIA_MAX_NAME
        || ngx_strlchr(ctx->args[0].data, ctx->args[0].data + ctx->args[0].len,
                       '\0'))
    {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "Invalid external id",
                                         "INVALID_EXTERNAL_ID");
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);
    tenant = ngx_http_media_tenant_param(r, ctx);
    ext = ngx_http_media_cstr(r, &ctx->args[0]);
    base = mcf->public_url.data;

    if (tenant == NULL || ext == NULL || base == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_api_call(r, ctx, ngx_http_media_listing_get_sql, 3,
                                   tenant, ext, base);
}
