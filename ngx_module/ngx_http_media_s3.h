/*
 * The s3 storage driver: presigned PUT URLs (our SigV4 signer) and the
 * HEAD check that records uploads before a confirm.
 */

#ifndef _NGX_HTTP_MEDIA_S3_H_INCLUDED_
#define _NGX_HTTP_MEDIA_S3_H_INCLUDED_


#include "ngx_http_media_module.h"
#include "ngx_http_media_pg.h"

#include <libpq-fe.h>


ngx_int_t ngx_http_media_s3_init_conf(ngx_conf_t *cf,
    ngx_http_media_main_conf_t *mcf);
ngx_int_t ngx_http_media_s3_presign(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *ctype, off_t size, time_t ttl, ngx_str_t *url);
ngx_int_t ngx_http_media_s3_record(ngx_http_media_pg_query_t *q,
    PGconn *conn, ngx_log_t *log);


#endif /* _NGX_HTTP_MEDIA_S3_H_INCLUDED_ */
