/*
 * PostgreSQL access for request handlers, off the event loop.
 *
 * A query runs on an nginx thread pool; each thread of the pool keeps its
 * own libpq connection (the per-worker connection pool), reconnects after a
 * PostgreSQL restart and enforces statement_timeout.  The request's handler
 * is called back on the event loop with the outcome.
 */

#ifndef _NGX_HTTP_MEDIA_PG_H_INCLUDED_
#define _NGX_HTTP_MEDIA_PG_H_INCLUDED_


#include "ngx_http_media_module.h"


#define NGX_HTTP_MEDIA_PG_MAX_PARAMS  6
#define NGX_HTTP_MEDIA_PG_MAX_COLS    8


typedef enum {
    NGX_HTTP_MEDIA_PG_OK = 0,
    NGX_HTTP_MEDIA_PG_NO_ROWS,
    NGX_HTTP_MEDIA_PG_APP_ERROR,     /* raised by our SQL: MDnnn */
    NGX_HTTP_MEDIA_PG_UNAVAILABLE,   /* cannot connect, connection lost */
    NGX_HTTP_MEDIA_PG_TIMEOUT,       /* statement_timeout */
    NGX_HTTP_MEDIA_PG_STORAGE,       /* s3: the store did not answer */
    NGX_HTTP_MEDIA_PG_FAILED         /* any other database error */
} ngx_http_media_pg_status_e;


typedef struct ngx_http_media_pg_query_s  ngx_http_media_pg_query_t;

typedef void (*ngx_http_media_pg_done_pt)(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);


struct ngx_http_media_pg_query_s {
    /* set by the caller, read-only while the thread runs */
    const char                   *sql;
    int                           nparams;
    const char                   *params[NGX_HTTP_MEDIA_PG_MAX_PARAMS];
    ngx_http_media_pg_done_pt     done;
    ngx_http_request_t           *request;
    ngx_http_media_main_conf_t   *mcf;

    /*
     * Idempotency-Key: when idem_key is set, the query runs in a
     * transaction that first looks the key up (replaying its stored
     * answer) and then stores the query's answer under it.
     */
    const char                   *tenant;
    const char                   *idem_tenant;
    const char                   *idem_key;
    const char                   *idem_hash;     /* "\x<hex>" */
    ngx_uint_t                    ok_status;

    /* s3: objects to HEAD and record before the query (confirm) */
    const char                  **heads;
    ngx_uint_t                    nheads;

    /* set by the thread; strings are copied into r->pool before done() */
    ngx_http_media_pg_status_e    status;
    ngx_str_t                     value[NGX_HTTP_MEDIA_PG_MAX_COLS];
    ngx_str_t                     message;
    ngx_str_t                     code;
    ngx_uint_t                    http_status;
    ngx_uint_t                    replay_status;  /* a stored answer */
};


ngx_http_media_pg_query_t *ngx_http_media_pg_query(ngx_http_request_t *r,
    const char *sql, ngx_http_media_pg_done_pt done);
ngx_int_t ngx_http_media_pg_run(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
ngx_int_t ngx_http_media_pg_send_failure(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);
ngx_int_t ngx_http_media_pg_init_conf(ngx_conf_t *cf,
    ngx_http_media_main_conf_t *mcf);


#endif /* _NGX_HTTP_MEDIA_PG_H_INCLUDED_ */
