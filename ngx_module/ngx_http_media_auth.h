/*
 * API key authentication: "Authorization: ApiKey <key>" or "Bearer <key>".
 * Keys are looked up by their SHA-256; valid and revoked keys are cached in
 * a shared memory zone for media_auth_cache_ttl, so the hot path does no
 * query and a revocation takes effect within that time.
 */

#ifndef _NGX_HTTP_MEDIA_AUTH_H_INCLUDED_
#define _NGX_HTTP_MEDIA_AUTH_H_INCLUDED_


#include "ngx_http_media_module.h"


char *ngx_http_media_auth_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_media_authenticate(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);


#endif /* _NGX_HTTP_MEDIA_AUTH_H_INCLUDED_ */
