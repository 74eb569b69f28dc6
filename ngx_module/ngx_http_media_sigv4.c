/*
 * AWS Signature Version 4 (docs.aws.amazon.com/IAM/latest/UserGuide/
 * reference_sigv-create-signed-request.html, and for S3 presigned URLs
 * docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).
 *
 * The SHA256_* functions are used for the reason given in
 * ngx_http_media_hmac.c: EVP fetches and allocates per call.  HMAC key
 * schedules (the SHA-256 states after key ^ ipad and key ^ opad) are kept
 * for the secret and for the day's signing key, so a presign is the
 * canonical request hashed, then the string to sign through the schedule:
 * about six SHA-256 blocks, and no allocation.
 *
 * The canonical request and the string to sign are produced by one routine
 * each, which writes to a buffer (for the tests), feeds a hash (for
 * signing), or both: what the tests check is what signs.
 */

#define OPENSSL_SUPPRESS_DEPRECATED  1

#include "ngx_http_media_sigv4.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>


#define MEDIA_SIGV4_ALGORITHM      "AWS4-HMAC-SHA256"
#define MEDIA_SIGV4_UNSIGNED       "UNSIGNED-PAYLOAD"
#define MEDIA_SIGV4_TERMINATOR     "aws4_request"
#define MEDIA_SIGV4_MAX_HEADERS    5
#define MEDIA_SIGV4_MAX_ID         128
#define MEDIA_SIGV4_MAX_REGION     64
#define MEDIA_SIGV4_MAX_SERVICE    32
#define MEDIA_SIGV4_MAX_ENDPOINT   255


typedef struct {
    SHA256_CTX  inner;      /* after (key ^ ipad) */
    SHA256_CTX  outer;      /* after (key ^ opad) */
} media_sigv4_hmac_t;


/* where generated text goes: a buffer, a hash, or both */
typedef struct {
    SHA256_CTX  *sha;
    char        *pos;
    char        *end;
    int          overflow;
} media_sigv4_sink_t;


/* fixed arrays: one allocation, freed in one place */
struct media_sigv4_s {
    media_sigv4_hmac_t  secret;     /* key: "AWS4" secret */
    media_sigv4_hmac_t  signing;    /* key: the signing key of date */
    char                date[8];    /* yyyymmdd of signing, or zeroes */
    char                region[MEDIA_SIGV4_MAX_REGION + 1];
    char                service[MEDIA_SIGV4_MAX_SERVICE + 1];
    char                id[MEDIA_SIGV4_MAX_ID + 1];
    char                id_enc[3 * MEDIA_SIGV4_MAX_ID + 1];
    char                scope[128];         /* "/region/service/aws4_..." */
    char                scope_enc[384];     /* URI-encoded */
    char                host[2 * MEDIA_SIGV4_MAX_ENDPOINT + 2];
    char                origin[2 * MEDIA_SIGV4_MAX_ENDPOINT + 16];
    char                root[3 * MEDIA_SIGV4_MAX_ENDPOINT + 3];
    size_t              host_len;
};


static const char  media_sigv4_hexdigits[] = "0123456789abcdef";


static void
media_sigv4_put(media_sigv4_sink_t *o, const void *data, size_t len)
{
    if (o->sha) {
        SHA256_Update(o->sha, data, len);
    }

    if (o->pos == NULL || o->overflow) {
        return;
    }

    if ((size_t) (o->end - o->pos) < len) {
        o->overflow = 1;
        return;
    }

    memcpy(o->pos, data, len);
    o->pos += len;
}


static void
media_sigv4_puts(media_sigv4_sink_t *o, const char *s)
{
    media_sigv4_put(o, s, strlen(s));
}


static void
media_sigv4_hex(const unsigned char *in, size_t len, char *out)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[2 * i] = media_sigv4_hexdigits[in[i] >> 4];
        out[2 * i + 1] = media_sigv4_hexdigits[in[i] & 0x0f];
    }
}


static void
media_sigv4_put_encoded(media_sigv4_sink_t *o, const char *src, size_t len,
    int keep_slash)
{
    char           esc[3];
    size_t         i, run;
    unsigned char  c;

    esc[0] = '%';

    /* runs of kept bytes are copied at once: most keys are all kept */
    for (i = 0; i < len; i += run + 1) {
        for (run = 0; i + run < len; run++) {
            c = (unsigned char) src[i + run];

            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                  || (c >= '0' && c <= '9') || c == '-' || c == '.'
                  || c == '_' || c == '~' || (c == '/' && keep_slash)))
            {
                break;
            }
        }

        media_sigv4_put(o, src + i, run);

        if (i + run == len) {
            break;
        }

        c = (unsigned char) src[i + run];
        esc[1] = "0123456789ABCDEF"[c >> 4];
        esc[2] = "0123456789ABCDEF"[c & 0x0f];
        media_sigv4_put(o, esc, 3);
    }
}


ssize_t
media_sigv4_uri_encode(const char *src, size_t len, int keep_slash,
    char *dst, size_t size)
{
    media_sigv4_sink_t  o = { NULL, dst, dst + size, 0 };

    media_sigv4_put_encoded(&o, src, len, keep_slash);

    return o.overflow ? -1 : o.pos - dst;
}


static int
media_sigv4_blank(char c)
{
    return c == ' ' || c == '\t';
}


/* a header value trimmed, runs of blanks as one space, as SigV4 wants */
static void
media_sigv4_put_value(media_sigv4_sink_t *o, const char *v, size_t len)
{
    size_t  i, start;

    while (len && media_sigv4_blank(v[len - 1])) {
        len--;
    }

    for (i = 0; i < len && media_sigv4_blank(v[i]); i++) { /* void */ }

    while (i < len) {
        for (start = i; i < len && !media_sigv4_blank(v[i]); i++) {
            /* void */
        }

        media_sigv4_put(o, v + start, i - start);

        if (i == len) {
            break;
        }

        media_sigv4_put(o, " ", 1);

        while (media_sigv4_blank(v[i])) {
            i++;
        }
    }
}


static void
media_sigv4_put_signed(media_sigv4_sink_t *o,
    const media_sigv4_header_t *headers, size_t n, const char *sep)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (i) {
            media_sigv4_puts(o, sep);
        }

        media_sigv4_puts(o, headers[i].name);
    }
}


static void
media_sigv4_put_creq(media_sigv4_sink_t *o, const char *method,
    const char *uri, size_t uri_len, const char *query, size_t query_len,
    const media_sigv4_header_t *headers, size_t n, const char *payload_hash)
{
    size_t  i;

    media_sigv4_puts(o, method);
    media_sigv4_put(o, "\n", 1);
    media_sigv4_put(o, uri, uri_len);
    media_sigv4_put(o, "\n", 1);
    media_sigv4_put(o, query, query_len);
    media_sigv4_put(o, "\n", 1);

    for (i = 0; i < n; i++) {
        media_sigv4_puts(o, headers[i].name);
        media_sigv4_put(o, ":", 1);
        media_sigv4_put_value(o, headers[i].value, headers[i].value_len);
        media_sigv4_put(o, "\n", 1);
    }

    media_sigv4_put(o, "\n", 1);
    media_sigv4_put_signed(o, headers, n, ";");
    media_sigv4_put(o, "\n", 1);
    media_sigv4_puts(o, payload_hash);
}


ssize_t
media_sigv4_canonical_request(char *buf, size_t size, const char *method,
    const char *uri, const char *query, const media_sigv4_header_t *headers,
    size_t n, const char *payload_hash)
{
    media_sigv4_sink_t  o = { NULL, buf, buf + size, 0 };

    media_sigv4_put_creq(&o, method, uri, strlen(uri), query, strlen(query),
                         headers, n, payload_hash);

    return o.overflow ? -1 : o.pos - buf;
}


/* the scope's date is the amz_date's first eight characters */
static void
media_sigv4_put_sts(media_sigv4_sink_t *o, const char *amz_date,
    const char *scope_tail, const unsigned char creq_hash[32])
{
    char  hex[MEDIA_SIGV4_HEX_LEN];

    media_sigv4_hex(creq_hash, 32, hex);

    media_sigv4_puts(o, MEDIA_SIGV4_ALGORITHM "\n");
    media_sigv4_put(o, amz_date, MEDIA_SIGV4_DATE_LEN);
    media_sigv4_put(o, "\n", 1);
    media_sigv4_put(o, amz_date, 8);
    media_sigv4_puts(o, scope_tail);
    media_sigv4_put(o, "\n", 1);
    media_sigv4_put(o, hex, sizeof(hex));
}


ssize_t
media_sigv4_string_to_sign(char *buf, size_t size, const char *amz_date,
    const char *scope, const char *creq, size_t creq_len)
{
    unsigned char       hash[SHA256_DIGEST_LENGTH];
    media_sigv4_sink_t  o = { NULL, buf, buf + size, 0 };

    if (strlen(amz_date) != MEDIA_SIGV4_DATE_LEN || strlen(scope) < 8
        || memcmp(amz_date, scope, 8) != 0)
    {
        return -1;
    }

    SHA256((const unsigned char *) creq, creq_len, hash);
    media_sigv4_put_sts(&o, amz_date, scope + 8, hash);

    return o.overflow ? -1 : o.pos - buf;
}


/* the schedule of the key k1 k2: "AWS4" and the secret need no copy */
static void
media_sigv4_hmac_init(media_sigv4_hmac_t *h, const void *k1, size_t len1,
    const void *k2, size_t len2)
{
    size_t         i;
    SHA256_CTX     ctx;
    unsigned char  block[SHA256_CBLOCK], pad[SHA256_CBLOCK];

    memset(block, 0, sizeof(block));

    if (len1 + len2 > SHA256_CBLOCK) {
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, k1, len1);
        SHA256_Update(&ctx, k2, len2);
        SHA256_Final(block, &ctx);
        OPENSSL_cleanse(&ctx, sizeof(ctx));

    } else {
        memcpy(block, k1, len1);
        memcpy(block + len1, k2, len2);
    }

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = block[i] ^ 0x36;
    }

    SHA256_Init(&h->inner);
    SHA256_Update(&h->inner, pad, sizeof(pad));

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = block[i] ^ 0x5c;
    }

    SHA256_Init(&h->outer);
    SHA256_Update(&h->outer, pad, sizeof(pad));

    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
}


/* ctx was copied from h->inner and fed the message */
static void
media_sigv4_hmac_final(const media_sigv4_hmac_t *h, SHA256_CTX *ctx,
    unsigned char mac[32])
{
    SHA256_Final(mac, ctx);

    *ctx = h->outer;
    SHA256_Update(ctx, mac, 32);
    SHA256_Final(mac, ctx);

    OPENSSL_cleanse(ctx, sizeof(SHA256_CTX));
}


static void
media_sigv4_hmac(const media_sigv4_hmac_t *h, const char *msg, size_t len,
    unsigned char mac[32])
{
    SHA256_CTX  ctx;

    ctx = h->inner;
    SHA256_Update(&ctx, msg, len);
    media_sigv4_hmac_final(h, &ctx, mac);
}


/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 *                 "aws4_request"), from the secret's schedule */
static void
media_sigv4_derive(const media_sigv4_hmac_t *secret, const char *date8,
    const char *region, const char *service, unsigned char key[32])
{
    media_sigv4_hmac_t  h;

    media_sigv4_hmac(secret, date8, 8, key);

    media_sigv4_hmac_init(&h, key, 32, "", 0);
    media_sigv4_hmac(&h, region, strlen(region), key);

    media_sigv4_hmac_init(&h, key, 32, "", 0);
    media_sigv4_hmac(&h, service, strlen(service), key);

    media_sigv4_hmac_init(&h, key, 32, "", 0);
    media_sigv4_hmac(&h, MEDIA_SIGV4_TERMINATOR,
                     sizeof(MEDIA_SIGV4_TERMINATOR) - 1, key);

    OPENSSL_cleanse(&h, sizeof(h));
}


void
media_sigv4_signing_key(const char *secret, const char *date8,
    const char *region, const char *service, unsigned char key[32])
{
    media_sigv4_hmac_t  h;

    media_sigv4_hmac_init(&h, "AWS4", 4, secret, strlen(secret));
    media_sigv4_derive(&h, date8, region, service, key);
    OPENSSL_cleanse(&h, sizeof(h));
}


void
media_sigv4_signature(const unsigned char key[32], const char *sts,
    size_t sts_len, char hex[MEDIA_SIGV4_HEX_LEN])
{
    unsigned char       mac[SHA256_DIGEST_LENGTH];
    media_sigv4_hmac_t  h;

    media_sigv4_hmac_init(&h, key, 32, "", 0);
    media_sigv4_hmac(&h, sts, sts_len, mac);
    media_sigv4_hex(mac, sizeof(mac), hex);

    OPENSSL_cleanse(&h, sizeof(h));
}


int
media_sigv4_amz_date(time_t t, char out[MEDIA_SIGV4_DATE_LEN + 1])
{
    struct tm  tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900
        || tm.tm_year > 9999 - 1900)
    {
        return -1;
    }

    return strftime(out, MEDIA_SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm)
           == MEDIA_SIGV4_DATE_LEN ? 0 : -1;
}


/* a field of only these characters, 1..max of them */
static int
media_sigv4_valid(const char *v, size_t max, const char *extra)
{
    size_t  len;

    len = v ? strlen(v) : 0;

    if (len == 0 || len > max) {
        return 0;
    }

    for ( /* void */ ; *v; v++) {
        if (!((*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9')
              || strchr(extra, *v)))
        {
            return 0;
        }
    }

    return 1;
}


/* an access key id goes raw into Authorization: no blank, ',' or '/' */
static int
media_sigv4_valid_id(const char *id)
{
    size_t  len;

    len = id ? strlen(id) : 0;

    if (len == 0 || len > MEDIA_SIGV4_MAX_ID) {
        return 0;
    }

    for ( /* void */ ; *id; id++) {
        if (*id <= ' ' || *id >= 0x7f || *id == ',' || *id == '/') {
            return 0;
        }
    }

    return 1;
}


/*
 * The Host header a client will send for our URLs: clients lowercase the
 * host and drop the scheme's default port, and the signature must be over
 * what they send.
 */
static int
media_sigv4_conf_host(media_sigv4_t *s, const media_sigv4_conf_t *conf,
    const char *scheme)
{
    int     n;
    char    endpoint[MEDIA_SIGV4_MAX_ENDPOINT + 1], *p;
    size_t  len;

    if (!media_sigv4_valid(conf->endpoint, MEDIA_SIGV4_MAX_ENDPOINT,
                           ".-:[]ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    {
        return -1;
    }

    for (p = endpoint; (*p = conf->endpoint[p - endpoint]); p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char) (*p - 'A' + 'a');
        }
    }

    len = (size_t) (p - endpoint);

    if ((strcmp(scheme, "https") == 0 && len > 4
         && strcmp(p - 4, ":443") == 0)
        || (strcmp(scheme, "http") == 0 && len > 3
            && strcmp(p - 3, ":80") == 0))
    {
        *strrchr(endpoint, ':') = '\0';
    }

    n = conf->path_style
        ? snprintf(s->host, sizeof(s->host), "%s", endpoint)
        : snprintf(s->host, sizeof(s->host), "%s.%s", conf->bucket, endpoint);

    if (n < 0 || (size_t) n >= sizeof(s->host)) {
        return -1;
    }

    s->host_len = (size_t) n;

    n = snprintf(s->origin, sizeof(s->origin), "%s://%s", scheme, s->host);

    return n < 0 || (size_t) n >= sizeof(s->origin) ? -1 : 0;
}


static int
media_sigv4_conf_root(media_sigv4_t *s, const media_sigv4_conf_t *conf)
{
    ssize_t  n;
    size_t   len;

    len = conf->bucket ? strlen(conf->bucket) : 0;

    /* a virtual host's bucket is a DNS label; a path's is only encoded */
    if (len == 0 || len > MEDIA_SIGV4_MAX_ENDPOINT
        || (!conf->path_style
            && !media_sigv4_valid(conf->bucket, 63, ".-")))
    {
        return -1;
    }

    if (!conf->path_style) {
        strcpy(s->root, "/");
        return 0;
    }

    s->root[0] = '/';
    n = media_sigv4_uri_encode(conf->bucket, len, 0, s->root + 1,
                               sizeof(s->root) - 3);
    if (n < 0) {
        return -1;
    }

    strcpy(s->root + 1 + n, "/");

    return 0;
}


static int
media_sigv4_conf_scope(media_sigv4_t *s, const media_sigv4_conf_t *conf)
{
    ssize_t      n;
    const char  *service;

    service = conf->service ? conf->service : "s3";

    if (!media_sigv4_valid_id(conf->access_key_id)
        || !media_sigv4_valid(conf->region, MEDIA_SIGV4_MAX_REGION, "-")
        || !media_sigv4_valid(service, MEDIA_SIGV4_MAX_SERVICE, "-"))
    {
        return -1;
    }

    strcpy(s->id, conf->access_key_id);
    strcpy(s->region, conf->region);
    strcpy(s->service, service);
    snprintf(s->scope, sizeof(s->scope), "/%s/%s/" MEDIA_SIGV4_TERMINATOR,
             s->region, s->service);

    n = media_sigv4_uri_encode(s->id, strlen(s->id), 0, s->id_enc,
                               sizeof(s->id_enc) - 1);
    if (n < 0) {
        return -1;
    }

    s->id_enc[n] = '\0';

    n = media_sigv4_uri_encode(s->scope, strlen(s->scope), 0, s->scope_enc,
                               sizeof(s->scope_enc) - 1);
    if (n < 0) {
        return -1;
    }

    s->scope_enc[n] = '\0';

    return 0;
}


media_sigv4_t *
media_sigv4_new(const media_sigv4_conf_t *conf)
{
    const char     *scheme;
    media_sigv4_t  *s;

    scheme = conf->scheme ? conf->scheme : "https";

    if (conf->secret_access_key == NULL || conf->secret_access_key[0] == '\0'
        || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
    {
        return NULL;
    }

    s = calloc(1, sizeof(media_sigv4_t));
    if (s == NULL) {
        return NULL;
    }

    /* the root first: it checks the bucket that the host may hold */
    if (media_sigv4_conf_scope(s, conf) != 0
        || media_sigv4_conf_root(s, conf) != 0
        || media_sigv4_conf_host(s, conf, scheme) != 0)
    {
        goto failed;
    }

    media_sigv4_hmac_init(&s->secret, "AWS4", 4, conf->secret_access_key,
                          strlen(conf->secret_access_key));

    return s;

failed:

    free(s);
    return NULL;
}


void
media_sigv4_free(media_sigv4_t *s)
{
    if (s) {
        OPENSSL_cleanse(s, sizeof(media_sigv4_t));
        free(s);
    }
}


const char *
media_sigv4_host(const media_sigv4_t *s)
{
    return s->host;
}


#define MEDIA_SIGV4_QUERY_HEAD                                               \
    "X-Amz-Algorithm=" MEDIA_SIGV4_ALGORITHM                                \
    "&X-Amz-Content-Sha256=" MEDIA_SIGV4_UNSIGNED                            \
    "&X-Amz-Credential="
#define MEDIA_SIGV4_SIGNATURE  "&X-Amz-Signature="


size_t
media_sigv4_url_size(const media_sigv4_t *s, size_t key_len)
{
    return strlen(s->origin) + strlen(s->root) + 3 * key_len
           + 1 + sizeof(MEDIA_SIGV4_QUERY_HEAD) + strlen(s->id_enc) + 3 + 8
           + strlen(s->scope_enc)
           + sizeof("&X-Amz-Date=") + MEDIA_SIGV4_DATE_LEN
           + sizeof("&X-Amz-Expires=") + 6
           + sizeof("&X-Amz-SignedHeaders=content-length%3Bcontent-type%3B"
                    "host")
           + sizeof(MEDIA_SIGV4_SIGNATURE) + MEDIA_SIGV4_HEX_LEN + 1;
}


/* a content type is one header line: no control characters */
static int
media_sigv4_check(const media_sigv4_request_t *r)
{
    size_t  i;

    if (r->method == NULL
        || (strcmp(r->method, "PUT") != 0 && strcmp(r->method, "GET") != 0
            && strcmp(r->method, "HEAD") != 0
            && strcmp(r->method, "DELETE") != 0)
        || r->key == NULL || r->key_len == 0
        || r->key_len > MEDIA_SIGV4_MAX_KEY || r->content_length < -1)
    {
        return -1;
    }

    if (r->content_type == NULL) {
        return 0;
    }

    for (i = 0; i < r->content_type_len; i++) {
        if (((unsigned char) r->content_type[i] < ' '
             && r->content_type[i] != '\t')
            || r->content_type[i] == 0x7f)
        {
            return -1;
        }
    }

    return 0;
}


/* the signing key changes at midnight UTC: derived again then */
static void
media_sigv4_refresh(media_sigv4_t *s, const char *amz_date)
{
    unsigned char  key[SHA256_DIGEST_LENGTH];

    if (memcmp(s->date, amz_date, 8) == 0) {
        return;
    }

    media_sigv4_derive(&s->secret, amz_date, s->region, s->service, key);
    media_sigv4_hmac_init(&s->signing, key, sizeof(key), "", 0);
    memcpy(s->date, amz_date, 8);

    OPENSSL_cleanse(key, sizeof(key));
}


/* the signed headers, sorted; length is the buffer for content-length */
static size_t
media_sigv4_headers(const media_sigv4_t *s, const media_sigv4_request_t *r,
    const char *amz_date, char length[24], media_sigv4_header_t *h)
{
    size_t  n;

    n = 0;

    if (r->content_length >= 0) {
        h[n].name = "content-length";
        h[n].value = length;
        h[n++].value_len = (size_t) snprintf(length, 24, "%" PRId64,
                                             r->content_length);
    }

    if (r->content_type) {
        h[n].name = "content-type";
        h[n].value = r->content_type;
        h[n++].value_len = r->content_type_len;
    }

    h[n].name = "host";
    h[n].value = s->host;
    h[n++].value_len = s->host_len;

    if (amz_date) {
        h[n].name = "x-amz-content-sha256";
        h[n].value = MEDIA_SIGV4_EMPTY_SHA256;
        h[n++].value_len = MEDIA_SIGV4_HEX_LEN;
        h[n].name = "x-amz-date";
        h[n].value = amz_date;
        h[n++].value_len = MEDIA_SIGV4_DATE_LEN;
    }

    return n;
}


/* origin, then the path; returns where the path starts */
static size_t
media_sigv4_put_url(const media_sigv4_t *s, const media_sigv4_request_t *r,
    media_sigv4_sink_t *o, const char *base)
{
    size_t  path;

    media_sigv4_puts(o, s->origin);
    path = (size_t) (o->pos - base);
    media_sigv4_puts(o, s->root);
    media_sigv4_put_encoded(o, r->key, r->key_len, 1);

    return path;
}


/* the canonical request of a URL's path and query, through the schedule */
static void
media_sigv4_sign(media_sigv4_t *s, const media_sigv4_request_t *r,
    const char *amz_date, const char *path, size_t path_len,
    const char *query, size_t query_len, const media_sigv4_header_t *h,
    size_t n, const char *payload_hash, char hex[MEDIA_SIGV4_HEX_LEN])
{
    SHA256_CTX          ctx;
    unsigned char       hash[SHA256_DIGEST_LENGTH];
    media_sigv4_sink_t  o = { &ctx, NULL, NULL, 0 };

    SHA256_Init(&ctx);
    media_sigv4_put_creq(&o, r->method, path, path_len, query, query_len, h,
                         n, payload_hash);
    SHA256_Final(hash, &ctx);

    media_sigv4_refresh(s, amz_date);

    ctx = s->signing.inner;
    media_sigv4_put_sts(&o, amz_date, s->scope, hash);
    media_sigv4_hmac_final(&s->signing, &ctx, hash);
    media_sigv4_hex(hash, sizeof(hash), hex);
}


static void
media_sigv4_put_query(const media_sigv4_t *s, media_sigv4_sink_t *o,
    const char *amz_date, unsigned expires, const media_sigv4_header_t *h,
    size_t n)
{
    char  digits[16];

    media_sigv4_puts(o, MEDIA_SIGV4_QUERY_HEAD);
    media_sigv4_puts(o, s->id_enc);
    media_sigv4_puts(o, "%2F");
    media_sigv4_put(o, amz_date, 8);
    media_sigv4_puts(o, s->scope_enc);
    media_sigv4_puts(o, "&X-Amz-Date=");
    media_sigv4_put(o, amz_date, MEDIA_SIGV4_DATE_LEN);
    media_sigv4_puts(o, "&X-Amz-Expires=");
    media_sigv4_put(o, digits, (size_t) snprintf(digits, sizeof(digits),
                                                 "%u", expires));
    media_sigv4_puts(o, "&X-Amz-SignedHeaders=");
    media_sigv4_put_signed(o, h, n, "%3B");
}


ssize_t
media_sigv4_presign(media_sigv4_t *s, const media_sigv4_request_t *r,
    char *buf, size_t size)
{
    char                  amz_date[MEDIA_SIGV4_DATE_LEN + 1], length[24];
    char                  hex[MEDIA_SIGV4_HEX_LEN];
    size_t                n, path, query;
    media_sigv4_header_t  h[MEDIA_SIGV4_MAX_HEADERS];
    media_sigv4_sink_t    o = { NULL, buf, buf + size, 0 };

    if (media_sigv4_check(r) != 0 || r->expires == 0
        || r->expires > MEDIA_SIGV4_MAX_EXPIRES
        || media_sigv4_amz_date(r->now, amz_date) != 0)
    {
        return -1;
    }

    n = media_sigv4_headers(s, r, NULL, length, h);

    path = media_sigv4_put_url(s, r, &o, buf);
    media_sigv4_put(&o, "?", 1);
    query = (size_t) (o.pos - buf);
    media_sigv4_put_query(s, &o, amz_date, r->expires, h, n);

    if (o.overflow) {
        return -1;
    }

    media_sigv4_sign(s, r, amz_date, buf + path, query - 1 - path,
                     buf + query, (size_t) (o.pos - buf) - query, h, n,
                     MEDIA_SIGV4_UNSIGNED, hex);

    media_sigv4_puts(&o, MEDIA_SIGV4_SIGNATURE);
    media_sigv4_put(&o, hex, sizeof(hex));
    media_sigv4_put(&o, "", 1);

    return o.overflow ? -1 : o.pos - buf - 1;
}


ssize_t
media_sigv4_authorize(media_sigv4_t *s, const media_sigv4_request_t *r,
    char *buf, size_t size, media_sigv4_auth_t *auth)
{
    char                  length[24], hex[MEDIA_SIGV4_HEX_LEN];
    size_t                n, path, end;
    media_sigv4_header_t  h[MEDIA_SIGV4_MAX_HEADERS];
    media_sigv4_sink_t    o = { NULL, buf, buf + size, 0 };
    media_sigv4_sink_t    a = { NULL, auth->authorization,
                                auth->authorization + MEDIA_SIGV4_AUTH_LEN,
                                0 };

    /* the payload hash is of an empty body */
    if (media_sigv4_check(r) != 0 || r->content_length > 0
        || media_sigv4_amz_date(r->now, auth->amz_date) != 0)
    {
        return -1;
    }

    path = media_sigv4_put_url(s, r, &o, buf);
    end = (size_t) (o.pos - buf);
    media_sigv4_put(&o, "", 1);

    if (o.overflow) {
        return -1;
    }

    n = media_sigv4_headers(s, r, auth->amz_date, length, h);
    media_sigv4_sign(s, r, auth->amz_date, buf + path, end - path, "", 0, h,
                     n, MEDIA_SIGV4_EMPTY_SHA256, hex);

    media_sigv4_puts(&a, MEDIA_SIGV4_ALGORITHM " Credential=");
    media_sigv4_puts(&a, s->id);
    media_sigv4_put(&a, "/", 1);
    media_sigv4_put(&a, auth->amz_date, 8);
    media_sigv4_puts(&a, s->scope);
    media_sigv4_puts(&a, ", SignedHeaders=");
    media_sigv4_put_signed(&a, h, n, ";");
    media_sigv4_puts(&a, ", Signature=");
    media_sigv4_put(&a, hex, sizeof(hex));
    media_sigv4_put(&a, "", 1);

    return a.overflow ? -1 : (ssize_t) end;
}
