/*
 * JSON in and out.  Every response of the module leaves through here, so
 * every error has the same shape and content type.
 */

#include "ngx_http_media_json.h"


static ngx_int_t ngx_http_media_send_buffer(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
static void ngx_http_media_json_decref(void *data);
static ngx_uint_t ngx_http_media_invalid_status(ngx_http_request_t *r);


ngx_int_t
ngx_http_media_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *code)
{
    json_t     *body;
    ngx_int_t   rc;

    body = json_pack("{s:s, s:s}", "error", error, "error_code", code);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_media_send_json(r, status, body);
    json_decref(body);

    return rc;
}


ngx_int_t
ngx_http_media_send_errorf(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *fmt, ...)
{
    u_char   *p, text[512];
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(text, text + sizeof(text) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    return ngx_http_media_send_error(r, status, (char *) text, code);
}


ngx_int_t
ngx_http_media_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    ngx_str_t  text;

    if (ngx_http_media_json_text(r, body, &text) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_media_send_buffer(r, status, text.data, text.len);
}


/* Compact JSON text of json in r->pool, NUL-terminated (a query parameter). */
u_char *
ngx_http_media_json_text(ngx_http_request_t *r, json_t *json, ngx_str_t *out)
{
    size_t   len;
    u_char  *data;

    len = json_dumpb(json, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (len == 0) {
        return NULL;
    }

    data = ngx_pnalloc(r->pool, len + 1);
    if (data == NULL) {
        return NULL;
    }

    json_dumpb(json, (char *) data, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
    data[len] = '\0';

    if (out) {
        out->data = data;
        out->len = len;
    }

    return data;
}


ngx_int_t
ngx_http_media_send_text(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json)
{
    return ngx_http_media_send_buffer(r, status, json->data, json->len);
}


static ngx_int_t
ngx_http_media_send_buffer(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* nginx has no status line of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    if (r->header_only) {
        return NGX_HTTP_MEDIA_SENT;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    /* NGX_AGAIN too: finalizing sees the buffered rest and sends it */
    rc = ngx_http_output_filter(r, &out);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_MEDIA_SENT;
}


/*
 * The request body as a JSON document.  The API locations keep the whole
 * body in memory (client_body_buffer_size = client_max_body_size), so a
 * body that went to a temporary file is one that is too large.
 */
ngx_int_t
ngx_http_media_read_json(ngx_http_request_t *r, json_t **out)
{
    size_t         len;
    u_char        *data, *p;
    json_t        *json;
    ngx_chain_t   *cl;
    json_error_t   err;

    *out = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "Request body is required",
                                         "INVALID_JSON");
    }

    if (r->request_body->temp_file) {
        return ngx_http_media_send_error(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "Request body too large",
                                         "BODY_TOO_LARGE");
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    data = ngx_pnalloc(r->pool, len + 1);
    if (data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = data;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    json = json_loadb((char *) data, len, JSON_REJECT_DUPLICATES, &err);
    if (json == NULL) {
        return ngx_http_media_send_errorf(r, NGX_HTTP_BAD_REQUEST,
                                          "INVALID_JSON",
                                          "Malformed JSON body: %s",
                                          err.text);
    }

    if (ngx_http_media_json_cleanup(r->pool, json) != NGX_OK) {
        json_decref(json);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!json_is_object(json)) {
        return ngx_http_media_send_error(r, ngx_http_media_invalid_status(r),
                                         "Request body must be a JSON object",
                                         "VALIDATION_ERROR");
    }

    *out = json;

    return NGX_OK;
}


/* jansson objects live as long as the request's pool. */
ngx_int_t
ngx_http_media_json_cleanup(ngx_pool_t *pool, json_t *json)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_media_json_decref;
    cln->data = json;

    return NGX_OK;
}


static void
ngx_http_media_json_decref(void *data)
{
    json_decref(data);
}


/* "files[3].size" or, with where NULL, "size" */
static u_char *
ngx_http_media_json_where(u_char *buf, u_char *last, const char *where,
    size_t i, const char *field)
{
    if (where == NULL) {
        return ngx_slprintf(buf, last, "%s%Z", field);
    }

    return ngx_slprintf(buf, last, "%s[%uz].%s%Z", where, i, field);
}


/*
 * A string field of obj: present (unless optional; null counts as absent),
 * a string, 1 to max characters.  Sends the error itself.
 */
ngx_int_t
ngx_http_media_json_string(ngx_http_request_t *r, json_t *obj,
    const char *field, const char *where, size_t i, size_t max,
    ngx_uint_t optional, ngx_str_t *out)
{
    u_char   name[128];
    json_t  *v;
    size_t   len;

    out->len = 0;
    out->data = NULL;

    ngx_http_media_json_where(name, name + sizeof(name), where, i, field);

    v = json_object_get(obj, field);

    if (v == NULL || json_is_null(v)) {
        if (optional) {
            return NGX_OK;
        }

        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "VALIDATION_ERROR", "%s is required", name);
    }

    if (!json_is_string(v)) {
        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "VALIDATION_ERROR", "%s must be a string", name);
    }

    if (ngx_strlchr((u_char *) json_string_value(v),
                    (u_char *) json_string_value(v) + json_string_length(v),
                    '\0'))
    {
        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "VALIDATION_ERROR", "%s must not contain NUL", name);
    }

    len = ngx_utf8_length((u_char *) json_string_value(v),
                          json_string_length(v));

    if (len == 0 || len > max) {
        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "VALIDATION_ERROR", "%s must be 1 to %uz characters long",
                   name, max);
    }

    out->data = (u_char *) json_string_value(v);
    out->len = json_string_length(v);

    return NGX_OK;
}


/* A positive integer field (an id); optional fields may be absent/null. */
ngx_int_t
ngx_http_media_json_id(ngx_http_request_t *r, json_t *obj, const char *field,
    const char *where, size_t i, ngx_uint_t optional, int64_t *out)
{
    u_char   name[128];
    json_t  *v;

    *out = 0;
    ngx_http_media_json_where(name, name + sizeof(name), where, i, field);

    v = json_object_get(obj, field);

    if (v == NULL || json_is_null(v)) {
        if (optional) {
            return NGX_OK;
        }

        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "VALIDATION_ERROR", "%s is required", name);
    }

    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "VALIDATION_ERROR", "%s must be a positive integer", name);
    }

    *out = json_integer_value(v);

    return NGX_OK;
}


/* An import URL: http or https, with a host, at most 2048 characters. */
ngx_int_t
ngx_http_media_json_url(ngx_http_request_t *r, json_t *obj, const char *field,
    const char *where, size_t i, ngx_uint_t optional, ngx_str_t *out)
{
    u_char     name[128], *host;
    ngx_int_t  rc;

    rc = ngx_http_media_json_string(r, obj, field, where, i,
                                    NGX_HTTP_MEDIA_MAX_URL, optional, out);
    if (rc != NGX_OK || out->data == NULL) {
        return rc;
    }

    if (out->len > 7 && ngx_strncasecmp(out->data, (u_char *) "http://", 7)
                        == 0)
    {
        host = out->data + 7;

    } else if (out->len > 8
               && ngx_strncasecmp(out->data, (u_char *) "https://", 8) == 0)
    {
        host = out->data + 8;

    } else {
        host = NULL;
    }

    if (host == NULL || *host == '/' || *host == '?' || *host == '#'
        || ngx_strlchr(out->data, out->data + out->len, ' ')
        || ngx_strlchr(out->data, out->data + out->len, '\n'))
    {
        ngx_http_media_json_where(name, name + sizeof(name), where, i, field);
        return ngx_http_media_send_errorf(r, ngx_http_media_invalid_status(r),
                   "INVALID_URL", "%s must be an http:// or https:// URL "
                   "with a host", name);
    }

    return NGX_OK;
}


/* 400, or the status the API of the request uses (Rentalot: 422) */
static ngx_uint_t
ngx_http_media_invalid_status(ngx_http_request_t *r)
{
    ngx_http_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_media_module);

    return (ctx && ctx->invalid_status) ? ctx->invalid_status
                                        : NGX_HTTP_BAD_REQUEST;
}


/* A JSON string of s, or null when s is NULL (a NULL column). */
u_char *
ngx_http_media_json_str(u_char *p, ngx_str_t *s)
{
    if (s->data == NULL) {
        return ngx_cpymem(p, "null", 4);
    }

    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s->data, s->len);
    *p++ = '"';

    return p;
}
