/*
 * AWS Signature Version 4 for S3-compatible stores, in plain C over OpenSSL
 * so the C unit tests can check it without nginx.
 *
 * The module issues query-presigned PUT URLs (content-type, content-length
 * and host are signed headers, so the store refuses any other type or
 * size), and the header-signed requests without a body (HEAD, DELETE, GET)
 * it sends itself.  A signer holds one store's configuration and the HMAC
 * key schedule of its secret; the signing key, which depends only on the
 * date, region and service, is derived once a day and cached in the
 * signer, so signing is not thread-safe: one signer per process (an nginx
 * worker is one thread).
 *
 * The lower-level pieces (URI encoding, canonical request, string to sign,
 * signing key, signature) are exposed for the tests, which check each one
 * against the published AWS examples.
 */

#ifndef _NGX_HTTP_MEDIA_SIGV4_H_INCLUDED_
#define _NGX_HTTP_MEDIA_SIGV4_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>


#define MEDIA_SIGV4_HEX_LEN        64
#define MEDIA_SIGV4_DATE_LEN       16      /* "20130524T000000Z" */
#define MEDIA_SIGV4_MAX_EXPIRES    604800  /* 7 days, the S3 limit */
#define MEDIA_SIGV4_MAX_KEY        1024    /* bytes, the S3 limit */
#define MEDIA_SIGV4_AUTH_LEN       512

/* x-amz-content-sha256 of a request without a body */
#define MEDIA_SIGV4_EMPTY_SHA256                                              \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


typedef struct {
    const char  *access_key_id;
    const char  *secret_access_key;
    const char  *region;            /* "us-east-1", "auto" for R2 */
    const char  *service;           /* NULL: "s3" */
    const char  *endpoint;          /* host[:port], no scheme, no path */
    const char  *scheme;            /* NULL: "https" */
    const char  *bucket;
    int          path_style;        /* host/bucket/key, else bucket.host/key */
} media_sigv4_conf_t;


typedef struct {
    const char  *method;            /* "PUT", "GET", "HEAD", "DELETE" */
    const char  *key;               /* object key, not URI-encoded */
    size_t       key_len;
    const char  *content_type;      /* NULL: not signed */
    size_t       content_type_len;
    int64_t      content_length;    /* -1: not signed */
    unsigned     expires;           /* seconds, 1..MEDIA_SIGV4_MAX_EXPIRES */
    time_t       now;
} media_sigv4_request_t;


/* the headers of a header-signed request, besides Host */
typedef struct {
    char  amz_date[MEDIA_SIGV4_DATE_LEN + 1];       /* X-Amz-Date */
    char  authorization[MEDIA_SIGV4_AUTH_LEN];      /* Authorization */
    /* X-Amz-Content-Sha256 is MEDIA_SIGV4_EMPTY_SHA256 */
} media_sigv4_auth_t;


typedef struct media_sigv4_s  media_sigv4_t;


/* NULL on a missing or malformed field or no memory; copies the strings */
media_sigv4_t *media_sigv4_new(const media_sigv4_conf_t *conf);
void media_sigv4_free(media_sigv4_t *s);

/* the Host header of the store's requests, NUL-terminated */
const char *media_sigv4_host(const media_sigv4_t *s);

/* an upper bound of the URL's length plus its NUL, for a key_len key */
size_t media_sigv4_url_size(const media_sigv4_t *s, size_t key_len);

/*
 * Writes the presigned URL, NUL-terminated, to buf; returns its length,
 * or -1 if buf is too small or a field is invalid.  The query has
 * X-Amz-Content-Sha256=UNSIGNED-PAYLOAD as the AWS SDKs' URLs have.
 */
ssize_t media_sigv4_presign(media_sigv4_t *s, const media_sigv4_request_t *r,
    char *buf, size_t size);

/*
 * A header-signed request without a body: writes its URL to buf as
 * media_sigv4_presign() does and its X-Amz-Date and Authorization headers
 * to auth.  Signed headers: content-length and content-type when given,
 * host, x-amz-content-sha256 (MEDIA_SIGV4_EMPTY_SHA256), x-amz-date.
 * r->expires is not used.
 */
ssize_t media_sigv4_authorize(media_sigv4_t *s,
    const media_sigv4_request_t *r, char *buf, size_t size,
    media_sigv4_auth_t *auth);


/* the lower-level pieces */

typedef struct {
    const char  *name;      /* lowercase; an array of them sorted by name */
    const char  *value;     /* trimmed, inner blanks collapsed when signed */
    size_t       value_len;
} media_sigv4_header_t;

/*
 * RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ kept,
 * '/' kept if keep_slash (object keys), everything else as %XX (uppercase).
 * Returns the length written (no NUL) or -1 if dst is too small.
 */
ssize_t media_sigv4_uri_encode(const char *src, size_t len, int keep_slash,
    char *dst, size_t size);

/* uri and query already encoded and the query sorted; -1 if too small */
ssize_t media_sigv4_canonical_request(char *buf, size_t size,
    const char *method, const char *uri, const char *query,
    const media_sigv4_header_t *headers, size_t n,
    const char *payload_hash);

/* scope is "yyyymmdd/region/service/aws4_request"; -1 if too small */
ssize_t media_sigv4_string_to_sign(char *buf, size_t size,
    const char *amz_date, const char *scope, const char *creq,
    size_t creq_len);

void media_sigv4_signing_key(const char *secret, const char *date8,
    const char *region, const char *service, unsigned char key[32]);

void media_sigv4_signature(const unsigned char key[32], const char *sts,
    size_t sts_len, char hex[MEDIA_SIGV4_HEX_LEN]);

/* "20130524T000000Z" and its NUL; -1 if the time does not fit */
int media_sigv4_amz_date(time_t t, char out[MEDIA_SIGV4_DATE_LEN + 1]);


#endif /* _NGX_HTTP_MEDIA_SIGV4_H_INCLUDED_ */
