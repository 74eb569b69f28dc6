/*
 * Signed upload URLs for the local store: issuing them (presign) and
 * checking them (the PUT receiver).  The signature itself is in
 * ngx_http_media_hmac.c.
 */

#ifndef _NGX_HTTP_MEDIA_SIGN_H_INCLUDED_
#define _NGX_HTTP_MEDIA_SIGN_H_INCLUDED_


#include "ngx_http_media_module.h"


#define NGX_HTTP_MEDIA_UUID_LEN  32


typedef struct {
    ngx_str_t   key;        /* "<tenant>/<generated name>" */
    ngx_str_t   ctype;
    off_t       size;
    time_t      expires;
} ngx_http_media_signed_t;


char *ngx_http_media_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_media_random_hex(u_char *out, size_t hex_len);
ngx_int_t ngx_http_media_upload_url(ngx_http_request_t *r,
    ngx_http_media_signed_t *s, ngx_str_t *url);
ngx_int_t ngx_http_media_check_upload_url(ngx_http_request_t *r,
    ngx_http_media_signed_t *s);


#endif /* _NGX_HTTP_MEDIA_SIGN_H_INCLUDED_ */
