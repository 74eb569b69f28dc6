/*
 * ngx_http_media_module: a media upload edge for listing platforms.
 *
 * Shared types: the module's configuration and the per-request context.
 */

#ifndef _NGX_HTTP_MEDIA_MODULE_H_INCLUDED_
#define _NGX_HTTP_MEDIA_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>
#include <jansson.h>

#include "ngx_http_media_hmac.h"
#include "ngx_http_media_sigv4.h"


#define NGX_HTTP_MEDIA_KEY_HASH_LEN  32
#define NGX_HTTP_MEDIA_MAX_FILES     100
#define NGX_HTTP_MEDIA_MAX_NAME      255
#define NGX_HTTP_MEDIA_MAX_URL       2048
#define NGX_HTTP_MEDIA_MAX_ARGS      2

/*
 * "A response has been sent": what the send functions return on success,
 * so that a check that sent its error is never mistaken for a check that
 * passed (NGX_OK).  Finalized as NGX_OK by ngx_http_media_finalize().
 */
#define NGX_HTTP_MEDIA_SENT  -100

#ifndef NGX_HTTP_UNPROCESSABLE_ENTITY
#define NGX_HTTP_UNPROCESSABLE_ENTITY  422
#endif


#define ngx_http_media_isalnum(c)                                           \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')               \
     || ((c) >= 'A' && (c) <= 'Z'))


typedef enum {
    NGX_HTTP_MEDIA_NONE = 0,
    NGX_HTTP_MEDIA_API,
    NGX_HTTP_MEDIA_UPLOAD
} ngx_http_media_role_e;


#define NGX_HTTP_MEDIA_STORAGE_LOCAL  0
#define NGX_HTTP_MEDIA_STORAGE_S3     1


typedef struct {
    ngx_str_t             pg_conninfo;
    ngx_str_t             pg_pool_name;
    ngx_thread_pool_t    *pg_pool;
    ngx_msec_t            pg_timeout;

    ngx_shm_zone_t       *auth_zone;
    time_t                auth_ttl;

    ngx_str_t             secret;     /* only "is set": wiped after use */
    media_signer_t       *signer;
    ngx_str_t             store_root;
    ngx_str_t             public_url;
    ngx_str_t             upload_url;
    time_t                upload_ttl;
    off_t                 max_file_size;

    ngx_uint_t            storage;
    ngx_str_t             s3_endpoint;
    ngx_str_t             s3_region;
    ngx_str_t             s3_bucket;
    ngx_flag_t            s3_path_style;
    ngx_str_t             s3_credentials;
    media_sigv4_conf_t    s3;
    media_sigv4_t        *s3_signer;    /* the event loop's */
} ngx_http_media_main_conf_t;


typedef struct {
    ngx_http_media_role_e  role;
} ngx_http_media_loc_conf_t;


typedef struct ngx_http_media_ctx_s  ngx_http_media_ctx_t;

typedef ngx_int_t (*ngx_http_media_step_pt)(ngx_http_request_t *r,
    ngx_http_media_ctx_t *ctx);


struct ngx_http_media_ctx_s {
    int64_t                tenant_id;
    u_char                 key_hash[NGX_HTTP_MEDIA_KEY_HASH_LEN];

    json_t                *body;
    ngx_str_t              args[NGX_HTTP_MEDIA_MAX_ARGS];  /* route's ":" */
    ngx_uint_t             ok_status;  /* status of a successful answer */
    ngx_uint_t             invalid_status;  /* of a validation error */
    void                  *data;       /* the operation's own state */

    ngx_array_t           *heads;      /* object keys a confirm names */

    ngx_str_t              idem_key;   /* Idempotency-Key, if sent */
    u_char                 idem_hash[2 + 64 + 1];

    /* what to run once the caller is authenticated */
    ngx_http_media_step_pt next;
};


extern ngx_module_t  ngx_http_media_module;


ngx_int_t ngx_http_media_read_conf_file(ngx_conf_t *cf, ngx_str_t *path,
    size_t min, size_t max, ngx_str_t *out);


/* rc as nginx expects it: NGX_HTTP_MEDIA_SENT becomes NGX_OK */
static ngx_inline ngx_int_t
ngx_http_media_rc(ngx_int_t rc)
{
    return (rc == NGX_HTTP_MEDIA_SENT) ? NGX_OK : rc;
}


static ngx_inline void
ngx_http_media_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, ngx_http_media_rc(rc));
}


#endif /* _NGX_HTTP_MEDIA_MODULE_H_INCLUDED_ */
