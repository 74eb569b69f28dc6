/*
 * JSON responses: the error contract {"error", "error_code"} and bodies
 * produced by jansson or by the database.
 */

#ifndef _NGX_HTTP_MEDIA_JSON_H_INCLUDED_
#define _NGX_HTTP_MEDIA_JSON_H_INCLUDED_


#include "ngx_http_media_module.h"


ngx_int_t ngx_http_media_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *code);
ngx_int_t ngx_http_media_send_errorf(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *fmt, ...);
ngx_int_t ngx_http_media_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body);
ngx_int_t ngx_http_media_send_text(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json);
u_char *ngx_http_media_json_str(u_char *p, ngx_str_t *s);
u_char *ngx_http_media_json_text(ngx_http_request_t *r, json_t *json,
    ngx_str_t *out);
ngx_int_t ngx_http_media_read_json(ngx_http_request_t *r, json_t **out);
ngx_int_t ngx_http_media_json_cleanup(ngx_pool_t *pool, json_t *json);

/*
 * Field checks: each sends the 400 itself and returns its result; NGX_OK
 * when the field is valid.  "where" and "i" name an array element in the
 * message (files[3].size); where NULL names a top-level field.
 */
ngx_int_t ngx_http_media_json_string(ngx_http_request_t *r, json_t *obj,
    const char *field, const char *where, size_t i, size_t max,
    ngx_uint_t optional, ngx_str_t *out);
ngx_int_t ngx_http_media_json_id(ngx_http_request_t *r, json_t *obj,
    const char *field, const char *where, size_t i, ngx_uint_t optional,
    int64_t *out);
ngx_int_t ngx_http_media_json_url(ngx_http_request_t *r, json_t *obj,
    const char *field, const char *where, size_t i, ngx_uint_t optional,
    ngx_str_t *out);


#endif /* _NGX_HTTP_MEDIA_JSON_H_INCLUDED_ */
