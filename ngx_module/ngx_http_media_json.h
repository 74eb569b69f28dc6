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
ngx_int_t ngx_http_media_read_json(ngx_http_request_t *r, json_t **out);
ngx_int_t ngx_http_media_json_cleanup(ngx_pool_t *pool, json_t *json);


#endif /* _NGX_HTTP_MEDIA_JSON_H_INCLUDED_ */
