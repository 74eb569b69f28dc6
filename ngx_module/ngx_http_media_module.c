/*
 * ngx_http_media_module: directives, configuration and registration.
 *
 *   media_api;      a location that serves the media APIs
 *   media_upload;   a location that receives signed PUT uploads
 *
 * The http-level media_* directives configure the database, the key cache,
 * the signing secret and the store; see README.md for the reference.
 */

#include "ngx_http_media_module.h"
#include "ngx_http_media_api.h"
#include "ngx_http_media_auth.h"
#include "ngx_http_media_pg.h"
#include "ngx_http_media_s3.h"
#include "ngx_http_media_sign.h"
#include "ngx_http_media_upload.h"

#include <curl/curl.h>


static void *ngx_http_media_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_media_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_media_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_media_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_media_role(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_media_trim_url(ngx_conf_t *cf, ngx_str_t *url,
    const char *directive);
static ngx_int_t ngx_http_media_init_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_media_storages[] = {
    { ngx_string("local"), NGX_HTTP_MEDIA_STORAGE_LOCAL },
    { ngx_string("s3"), NGX_HTTP_MEDIA_STORAGE_S3 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_media_commands[] = {

    { ngx_string("media_pg"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, pg_conninfo),
      NULL },

    { ngx_string("media_pg_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, pg_pool_name),
      NULL },

    { ngx_string("media_pg_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, pg_timeout),
      NULL },

    { ngx_string("media_auth_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_media_auth_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("media_auth_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, auth_ttl),
      NULL },

    { ngx_string("media_sign_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_media_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("media_store_root"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, store_root),
      NULL },

    { ngx_string("media_public_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, public_url),
      NULL },

    { ngx_string("media_upload_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, upload_url),
      NULL },

    { ngx_string("media_upload_url_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, upload_ttl),
      NULL },

    { ngx_string("media_max_file_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, max_file_size),
      NULL },

    { ngx_string("media_storage"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, storage),
      &ngx_http_media_storages },

    { ngx_string("media_s3_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, s3_endpoint),
      NULL },

    { ngx_string("media_s3_region"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, s3_region),
      NULL },

    { ngx_string("media_s3_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, s3_bucket),
      NULL },

    { ngx_string("media_s3_path_style"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, s3_path_style),
      NULL },

    { ngx_string("media_s3_credentials_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_media_main_conf_t, s3_credentials),
      NULL },

    { ngx_string("media_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_media_role,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("media_upload"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_media_role,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_media_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_media_create_main_conf,       /* create main configuration */
    ngx_http_media_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_media_create_loc_conf,        /* create location configuration */
    ngx_http_media_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_media_module = {
    NGX_MODULE_V1,
    &ngx_http_media_module_ctx,            /* module context */
    ngx_http_media_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_media_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_media_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_media_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->pg_conninfo = { 0, NULL };
     *     mcf->pg_pool_name = { 0, NULL };
     *     mcf->pg_pool = NULL;
     *     mcf->auth_zone = NULL;
     *     mcf->secret = { 0, NULL };
     *     mcf->store_root = { 0, NULL };
     *     mcf->public_url = { 0, NULL };
     *     mcf->upload_url = { 0, NULL };
     */

    mcf->pg_timeout = NGX_CONF_UNSET_MSEC;
    mcf->auth_ttl = NGX_CONF_UNSET;
    mcf->upload_ttl = NGX_CONF_UNSET;
    mcf->max_file_size = NGX_CONF_UNSET;
    mcf->storage = NGX_CONF_UNSET_UINT;
    mcf->s3_path_style = NGX_CONF_UNSET;

    return mcf;
}


static char *
ngx_http_media_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_media_main_conf_t *mcf = conf;

    ngx_conf_init_msec_value(mcf->pg_timeout, 5000);
    ngx_conf_init_value(mcf->auth_ttl, 30);
    ngx_conf_init_value(mcf->upload_ttl, 30 * 60);
    if (mcf->max_file_size == NGX_CONF_UNSET) {
        mcf->max_file_size = 100 * 1024 * 1024;
    }

    if (mcf->pg_pool_name.len == 0) {
        ngx_str_set(&mcf->pg_pool_name, "default");
    }

    if (ngx_http_media_trim_url(cf, &mcf->public_url, "media_public_url")
        != NGX_CONF_OK
        || ngx_http_media_trim_url(cf, &mcf->upload_url, "media_upload_url")
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_uint_value(mcf->storage, NGX_HTTP_MEDIA_STORAGE_LOCAL);
    ngx_conf_init_value(mcf->s3_path_style, 0);

    if (ngx_http_media_pg_init_conf(cf, mcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (mcf->storage == NGX_HTTP_MEDIA_STORAGE_S3
        && ngx_http_media_s3_init_conf(cf, mcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A small file of secrets read at configuration time: min to max bytes,
 * NUL-terminated in cf->pool.  A bad one stops nginx from starting.
 */
ngx_int_t
ngx_http_media_read_conf_file(ngx_conf_t *cf, ngx_str_t *path, size_t min,
    size_t max, ngx_str_t *out)
{
    u_char           *buf;
    ssize_t           n;
    ngx_str_t         name;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    name = *path;
    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &name);
        return NGX_ERROR;
    }

    buf = NULL;
    n = -1;

    if (ngx_fd_info(file.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) >= (off_t) min
        && ngx_file_size(&fi) <= (off_t) max)
    {
        buf = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
        if (buf) {
            n = ngx_read_file(&file, buf, ngx_file_size(&fi), 0);
        }
    }

    ngx_close_file(file.fd);

    if (buf == NULL || n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" must be a readable "
                           "file of %uz to %uz bytes", &name, min, max);
        return NGX_ERROR;
    }

    buf[n] = '\0';
    out->data = buf;
    out->len = n;

    return NGX_OK;
}


/*
 * Base URLs are kept without a trailing slash ("<base>/<key>") and
 * NUL-terminated (the parser's strings have room for the NUL).
 */
static char *
ngx_http_media_trim_url(ngx_conf_t *cf, ngx_str_t *url, const char *directive)
{
    if (url->len == 0) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(url->data, "http://", 7) != 0
        && ngx_strncmp(url->data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s \"%V\" must be an http:// or https:// URL",
                           directive, url);
        return NGX_CONF_ERROR;
    }

    while (url->len && url->data[url->len - 1] == '/') {
        url->len--;
    }

    /* NUL-terminated once here: requests pass it to queries as is */
    url->data[url->len] = '\0';

    return NGX_CONF_OK;
}


/* libcurl (the s3 HEAD check) is set up before any pool thread uses it */
static ngx_int_t
ngx_http_media_init_process(ngx_cycle_t *cycle)
{
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_media_module);

    if (mcf == NULL || mcf->storage != NGX_HTTP_MEDIA_STORAGE_S3) {
        return NGX_OK;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "media: curl_global_init() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_http_media_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_media_loc_conf_t  *mlcf;

    mlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_media_loc_conf_t));
    if (mlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mlcf->role = NGX_HTTP_MEDIA_NONE;
     */

    return mlcf;
}


static char *
ngx_http_media_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    /* the role belongs to the location it is written in, not inherited */
    return NGX_CONF_OK;
}


/* media_api and media_upload make the location's content handler ours. */
static char *
ngx_http_media_role(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_media_loc_conf_t *mlcf = conf;

    ngx_http_media_main_conf_t  *mcf;
    ngx_http_core_loc_conf_t    *clcf;

    if (mlcf->role != NGX_HTTP_MEDIA_NONE) {
        return "is duplicate";
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_media_module);
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (cmd->name.len == sizeof("media_api") - 1) {
        mlcf->role = NGX_HTTP_MEDIA_API;
        clcf->handler = ngx_http_media_api_handler;

    } else {
        mlcf->role = NGX_HTTP_MEDIA_UPLOAD;
        clcf->handler = ngx_http_media_upload_handler;
    }

    /* the http-level settings come first, so a missing one fails here */
    if (mcf->pg_conninfo.len == 0 || mcf->secret.data == NULL
        || mcf->store_root.len == 0 || mcf->public_url.len == 0
        || mcf->upload_url.len == 0)
    {
        return "requires media_pg, media_sign_secret_file, media_store_root, "
               "media_public_url and media_upload_url before it";
    }

    return NGX_CONF_OK;
}
