/*
 * Signed upload URLs (local store):
 *
 *   <media_upload_url>/<tenant>/<name>?expires=<unix>&type=<ctype>
 *       &size=<bytes>&sig=<hex HMAC-SHA256>
 *
 * The signature covers the method, the object key (which starts with the
 * tenant), the content type, the maximum size and the expiry, so none of
 * them can be changed by the holder of the URL.
 */

#include "ngx_http_media_sign.h"
#include "ngx_http_media_hmac.h"
#include "ngx_http_media_s3.h"

#include <openssl/rand.h>


#define NGX_HTTP_MEDIA_MIN_SECRET  32
#define NGX_HTTP_MEDIA_MAX_SECRET  1024


static size_t ngx_http_media_escape_arg(u_char *dst, ngx_str_t *src);
static void ngx_http_media_signer_cleanup(void *data);


/* Read at configuration time: a bad secret stops nginx from starting. */
char *
ngx_http_media_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_media_main_conf_t *mcf = conf;

    ngx_str_t           *value, secret;
    ngx_pool_cleanup_t  *cln;

    if (mcf->secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_media_read_conf_file(cf, &value[1], NGX_HTTP_MEDIA_MIN_SECRET,
                                      NGX_HTTP_MEDIA_MAX_SECRET, &secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    mcf->secret = secret;

    mcf->signer = media_signer_new(secret.data, secret.len);
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (mcf->signer == NULL || cln == NULL) {
        media_signer_free(mcf->signer);
        mcf->signer = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_media_signer_cleanup;
    cln->data = mcf->signer;

    /* the signer holds what it needs; no copy of the secret stays around */
    ngx_explicit_memzero(secret.data, secret.len);

    return NGX_CONF_OK;
}


static void
ngx_http_media_signer_cleanup(void *data)
{
    media_signer_free(data);
}


/*
 * hex_len lowercase hex digits, unpredictable.  The generator is seeded
 * from OpenSSL's RAND_bytes once per worker process (the first call after
 * fork), and then costs one SHA-256 block and no system call.
 */
ngx_int_t
ngx_http_media_random_hex(u_char *out, size_t hex_len)
{
    u_char  seed[32];

    static media_rng_t  *rng;
    static ngx_pid_t     rng_pid;

    if (rng == NULL || rng_pid != ngx_pid) {
        if (RAND_bytes(seed, sizeof(seed)) != 1) {
            return NGX_ERROR;
        }

        media_rng_free(rng);
        rng = media_rng_new(seed, sizeof(seed));
        ngx_explicit_memzero(seed, sizeof(seed));

        if (rng == NULL) {
            return NGX_ERROR;
        }

        rng_pid = ngx_pid;
    }

    return media_rng_hex(rng, (char *) out, hex_len) == 0 ? NGX_OK
                                                          : NGX_ERROR;
}


ngx_int_t
ngx_http_media_upload_url(ngx_http_request_t *r, ngx_http_media_signed_t *s,
    ngx_str_t *url)
{
    u_char                      *p;
    size_t                       len;
    char                         sig[MEDIA_SIG_HEX_LEN];
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    if (mcf->storage == NGX_HTTP_MEDIA_STORAGE_S3) {
        return ngx_http_media_s3_presign(r, &s->key, &s->ctype, s->size,
                                         s->expires - ngx_time(), url);
    }

    if (media_sign_upload(mcf->signer, (char *) s->key.data, s->key.len,
                          (char *) s->ctype.data, s->ctype.len,
                          (uint64_t) s->size, (uint64_t) s->expires, sig)
        != 0)
    {
        return NGX_ERROR;
    }

    len = mcf->upload_url.len + 1 + s->key.len
          + sizeof("?expires=&type=&size=&sig=") - 1
          + NGX_TIME_T_LEN + 3 * s->ctype.len + NGX_OFF_T_LEN
          + MEDIA_SIG_HEX_LEN;

    url->data = ngx_pnalloc(r->pool, len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(url->data, "%V/%V?expires=%T&type=", &mcf->upload_url,
                    &s->key, s->expires);
    p += ngx_http_media_escape_arg(p, &s->ctype);
    p = ngx_sprintf(p, "&size=%O&sig=", s->size);
    p = ngx_cpymem(p, sig, MEDIA_SIG_HEX_LEN);

    url->len = p - url->data;

    return NGX_OK;
}


/* Everything but RFC 3986 unreserved characters is percent-encoded. */
static size_t
ngx_http_media_escape_arg(u_char *dst, ngx_str_t *src)
{
    static u_char  hex[] = "0123456789ABCDEF";

    u_char  *p, c;
    size_t   i;

    p = dst;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if (ngx_http_media_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *p++ = c;
            continue;
        }

        *p++ = '%';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0x0f];
    }

    return p - dst;
}


/*
 * Fills s from the request's query string and checks the signature.
 * NGX_OK, NGX_DECLINED (bad or missing signature), NGX_ABORT (expired,
 * only reported once the signature is known to be good), NGX_ERROR.
 */
ngx_int_t
ngx_http_media_check_upload_url(ngx_http_request_t *r,
    ngx_http_media_signed_t *s)
{
    u_char                      *dst, *src;
    ngx_str_t                    expires, type, size, sig;
    ngx_http_media_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    if (ngx_http_arg(r, (u_char *) "expires", 7, &expires) != NGX_OK
        || ngx_http_arg(r, (u_char *) "type", 4, &type) != NGX_OK
        || ngx_http_arg(r, (u_char *) "size", 4, &size) != NGX_OK
        || ngx_http_arg(r, (u_char *) "sig", 3, &sig) != NGX_OK
        || type.len == 0 || type.len > 255)
    {
        return NGX_DECLINED;
    }

    s->expires = ngx_atotm(expires.data, expires.len);
    s->size = ngx_atoof(size.data, size.len);

    if (s->expires == NGX_ERROR || s->size == NGX_ERROR) {
        return NGX_DECLINED;
    }

    s->ctype.data = ngx_pnalloc(r->pool, type.len);
    if (s->ctype.data == NULL) {
        return NGX_ERROR;
    }

    dst = s->ctype.data;
    src = type.data;
    ngx_unescape_uri(&dst, &src, type.len, NGX_UNESCAPE_URI);
    s->ctype.len = dst - s->ctype.data;

    if (media_verify_upload(mcf->signer, (char *) s->key.data, s->key.len,
                            (char *) s->ctype.data, s->ctype.len,
                            (uint64_t) s->size, (uint64_t) s->expires,
                            (char *) sig.data, sig.len)
        != 0)
    {
        return NGX_DECLINED;
    }

    if (s->expires < ngx_time()) {
        return NGX_ABORT;
    }

    return NGX_OK;
}
