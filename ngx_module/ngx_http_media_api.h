/*
 * The API location: routing, the request body, authentication, and the
 * common way an operation calls its SQL function and answers.
 */

#ifndef _NGX_HTTP_MEDIA_API_H_INCLUDED_
#define _NGX_HTTP_MEDIA_API_H_INCLUDED_


#include "ngx_http_media_module.h"
#include "ngx_http_media_pg.h"


ngx_int_t ngx_http_media_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_media_api_call(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, const char *sql, ngx_uint_t nparams, ...);
ngx_int_t ngx_http_media_api_query(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, const char *sql,
    ngx_http_media_pg_done_pt done, ngx_uint_t nparams, ...);
ngx_uint_t ngx_http_media_api_status(ngx_http_media_ctx_t *ctx,
    ngx_http_media_pg_query_t *q);
u_char *ngx_http_media_tenant_param(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
u_char *ngx_http_media_cstr(ngx_http_request_t *r, ngx_str_t *s);
ngx_int_t ngx_http_media_api_head(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx, ngx_str_t *key);


/* operations (ngx_http_media_rentix.c) */
ngx_int_t ngx_http_media_rentix_presign(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_rentix_bulk(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_rentix_get(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_rentix_import(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_rentix_external_op(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_rentix_delete(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_rentix_link(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);

/* listings (ngx_http_media_listings.c) */
ngx_int_t ngx_http_media_listing_put(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_listing_get(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);


/* Rentalot (ngx_http_media_rentalot.c) */
ngx_int_t ngx_http_media_property_create(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_property_get(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_images_presign(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_images_confirm(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_images_import(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_import_poll(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_images_delete(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);
ngx_int_t ngx_http_media_images_reorder(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);


#endif /* _NGX_HTTP_MEDIA_API_H_INCLUDED_ */
