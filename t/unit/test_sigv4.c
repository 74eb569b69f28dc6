/*
 * Unit tests of the SigV4 signer (ngx_module/ngx_http_media_sigv4.c).
 *
 * (a) Published AWS examples, each piece checked on its own:
 *   - the signing key example of the IAM user guide
 *     (docs.aws.amazon.com/IAM/latest/UserGuide/
 *     reference_sigv-create-signed-request.html, secret with '+');
 *   - the four header-signed examples of the S3 API reference
 *     (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html:
 *     GET Object with Range, PUT Object "test$file.text", GET Bucket
 *     Lifecycle, GET Bucket (List Objects)): canonical request, the hash
 *     in the string to sign, signature;
 *   - the presigned GET example of the S3 API reference
 *     (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).
 * (b) URLs and Authorization headers that the AWS SDK for JavaScript v3
 *     (@aws-sdk/client-s3 3.1169.0, @aws-sdk/s3-request-presigner
 *     3.1163.0) produced from t/sdk/presign.js, embedded below; given a
 *     file of that script's output, the same checks run on it instead:
 *
 *       node t/sdk/presign.js > sdk.tsv && test_sigv4 sdk.tsv
 *
 * (c) Encoding, limits, invalid input, the daily signing key cache.
 */

#include "ngx_http_media_sigv4.h"
#include "unit.h"

#include <stdlib.h>


/* CHECK, and which vector or case it was */
#define CHECK_IN(cond, name)                                                 \
    do {                                                                     \
        int  before_ = unit_failures;                                        \
        CHECK(cond);                                                         \
        if (unit_failures > before_) {                                       \
            fprintf(stderr, "  in %s\n", name);                              \
        }                                                                    \
    } while (0)


/* the S3 reference's credentials; the IAM guide's secret has '+' for '/' */
#define DOC_ID      "AKIAIOSFODNN7EXAMPLE"
#define DOC_SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DOC_DATE    "20130524T000000Z"
#define DOC_SCOPE   "20130524/us-east-1/s3/aws4_request"
#define DOC_HOST    "examplebucket.s3.amazonaws.com"
#define EMPTY       MEDIA_SIGV4_EMPTY_SHA256


static void
hex32(const unsigned char *in, char *out)
{
    int  i;

    for (i = 0; i < 32; i++) {
        sprintf(out + 2 * i, "%02x", in[i]);
    }
}


static void
test_signing_key(void)
{
    char           hex[65];
    unsigned char  key[32];

    media_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                            "20150830", "us-east-1", "iam", key);
    hex32(key, hex);
    CHECK(strcmp(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e"
                      "86da6ed3c154a4b9") == 0);
}


typedef struct {
    const char                  *name;
    const char                  *method;
    const char                  *uri;
    const char                  *query;
    const media_sigv4_header_t  *headers;
    size_t                       n;
    const char                  *payload_hash;
    const char                  *creq;          /* as published */
    const char                  *creq_hash;     /* in the string to sign */
    const char                  *signature;
} doc_vector_t;


static const media_sigv4_header_t  get_object[] = {
    { "host", DOC_HOST, sizeof(DOC_HOST) - 1 },
    /* the example's headers have blanks around the value: trimmed */
    { "range", " bytes=0-9 ", 11 },
    { "x-amz-content-sha256", EMPTY, 64 },
    { "x-amz-date", DOC_DATE " ", 17 },
};

static const media_sigv4_header_t  put_object[] = {
    { "date", "Fri, 24 May 2013 00:00:00 GMT", 29 },
    { "host", DOC_HOST, sizeof(DOC_HOST) - 1 },
    { "x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e"
                              "99e42034a8b803f8b072", 64 },
    { "x-amz-date", DOC_DATE, 16 },
    { "x-amz-storage-class", "REDUCED_REDUNDANCY", 18 },
};

static const media_sigv4_header_t  get_bucket[] = {
    { "host", DOC_HOST, sizeof(DOC_HOST) - 1 },
    { "x-amz-content-sha256", EMPTY, 64 },
    { "x-amz-date", DOC_DATE, 16 },
};

static const media_sigv4_header_t  presigned_get[] = {
    { "host", DOC_HOST, sizeof(DOC_HOST) - 1 },
};


static const doc_vector_t  doc_vectors[] = {
    { "GET Object", "GET", "/test.txt", "", get_object, 4, EMPTY,
      "GET\n/test.txt\n\nhost:" DOC_HOST "\nrange:bytes=0-9\n"
      "x-amz-content-sha256:" EMPTY "\nx-amz-date:" DOC_DATE "\n\n"
      "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY,
      "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41" },

    { "PUT Object", "PUT", "/test%24file.text", "", put_object, 5,
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
      "host:" DOC_HOST "\nx-amz-content-sha256:44ce7dd67c959e0d3524ffac17"
      "71dfbba87d2b6b4b4e99e42034a8b803f8b072\nx-amz-date:" DOC_DATE "\n"
      "x-amz-storage-class:REDUCED_REDUNDANCY\n\ndate;host;"
      "x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd" },

    { "GET Bucket Lifecycle", "GET", "/", "lifecycle=", get_bucket, 3,
      EMPTY,
      "GET\n/\nlifecycle=\nhost:" DOC_HOST "\nx-amz-content-sha256:" EMPTY
      "\nx-amz-date:" DOC_DATE "\n\nhost;x-amz-content-sha256;x-amz-date\n"
      EMPTY,
      "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543" },

    { "GET Bucket (List Objects)", "GET", "/", "max-keys=2&prefix=J",
      get_bucket, 3, EMPTY,
      "GET\n/\nmax-keys=2&prefix=J\nhost:" DOC_HOST
      "\nx-amz-content-sha256:" EMPTY "\nx-amz-date:" DOC_DATE "\n\n"
      "host;x-amz-content-sha256;x-amz-date\n" EMPTY,
      "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
      "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7" },

    { "presigned GET", "GET", "/test.txt",
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" DOC_ID
      "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=" DOC_DATE
      "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host", presigned_get, 1,
      "UNSIGNED-PAYLOAD",
      "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      DOC_ID "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
      DOC_DATE "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:"
      DOC_HOST "\n\nhost\nUNSIGNED-PAYLOAD",
      "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404" },
};


static void
test_doc_vectors(void)
{
    char                 creq[2048], sts[512], sig[MEDIA_SIGV4_HEX_LEN];
    size_t               i;
    ssize_t              n, m;
    unsigned char        key[32];
    const doc_vector_t  *v;

    media_sigv4_signing_key(DOC_SECRET, "20130524", "us-east-1", "s3", key);

    for (i = 0; i < sizeof(doc_vectors) / sizeof(doc_vectors[0]); i++) {
        v = &doc_vectors[i];

        n = media_sigv4_canonical_request(creq, sizeof(creq), v->method,
                                          v->uri, v->query, v->headers,
                                          v->n, v->payload_hash);
        CHECK_IN(n == (ssize_t) strlen(v->creq)
              && memcmp(creq, v->creq, n) == 0, v->name);

        m = media_sigv4_string_to_sign(sts, sizeof(sts), DOC_DATE,
                                       DOC_SCOPE, creq, n);
        CHECK_IN(m == 16 + 1 + 16 + 1 + 34 + 1 + 64
              && memcmp(sts, "AWS4-HMAC-SHA256\n" DOC_DATE "\n" DOC_SCOPE
                        "\n", 69) == 0
              && memcmp(sts + 69, v->creq_hash, 64) == 0, v->name);

        media_sigv4_signature(key, sts, m, sig);
        CHECK_IN(memcmp(sig, v->signature, sizeof(sig)) == 0, v->name);
    }
}


typedef struct {
    const char  *kind;
    const char  *id;
    const char  *secret;
    const char  *region;
    const char  *scheme;
    const char  *endpoint;
    const char  *bucket;
    int          path_style;
    const char  *method;
    const char  *key;
    const char  *content_type;      /* NULL: none */
    long long    content_length;
    unsigned     expires;
    long long    now;
    const char  *url;
    const char  *authorization;     /* NULL: presign */
} sdk_vector_t;


/* generated by t/sdk/presign.js; see the top of this file */
static const sdk_vector_t  sdk_vectors[] = {
    { "presign", "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "us-east-1", "https", "s3.amazonaws.com", "examplebucket", 0, "GET",
      "test.txt",
      NULL, -1LL, 86400, 1369353600LL,
      "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algori"
      "thm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X"
      "-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%"
      "2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expire"
      "s=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=7c66ee2a8f3"
      "d418b10e74b41ba1e114ec349feb696f43a3dd136eed4fa1a2ac6",
      NULL },
    { "presign", "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "us-east-1", "https", "s3.amazonaws.com", "examplebucket", 0, "PUT",
      "1/abc_x.jpg",
      "image/jpeg", 245000LL, 1800, 1772368496LL,
      "https://examplebucket.s3.amazonaws.com/1/abc_x.jpg?X-Amz-Alg"
      "orithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOA"
      "D&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260301%2Fus-east"
      "-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T123456Z&X-Amz-Exp"
      "ires=1800&X-Amz-SignedHeaders=content-length%3Bcontent-type%"
      "3Bhost&X-Amz-Signature=2e302eee210eb932ba26b1950f2a6e3363b12"
      "cfcdf699b13849535eecea8bd1c",
      NULL },
    { "presign", "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "eu-west-1", "https", "s3.eu-west-1.amazonaws.com",
      "media-eu-1", 0, "PUT",
      "42/0f0f_living room (2).heic",
      "image/heic", 1LL, 604800, 1798761599LL,
      "https://media-eu-1.s3.eu-west-1.amazonaws.com/42/0f0f_living"
      "%20room%20%282%29.heic?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Am"
      "z-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=AKIAIOSFO"
      "DNN7EXAMPLE%2F20261231%2Feu-west-1%2Fs3%2Faws4_request&X-Amz"
      "-Date=20261231T235959Z&X-Amz-Expires=604800&X-Amz-SignedHead"
      "ers=content-length%3Bcontent-type%3Bhost&X-Amz-Signature=c47"
      "fddec7659a2a716ecb284e4beda363cd6f5ad47614a98db221f8aa1e32e4"
      "4",
      NULL },
    { "presign", "3f6c2b1a9e8d7c6b5a4f3e2d1c0b9a87",
      "9b1e4d0c7a5f2e8b3d6c1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29"
      "1807",
      "auto", "https",
      "3f6c2b1a9e8d7c6b5a4f.r2.cloudflarestorage.com", "rentals", 1, "PUT",
      "unicode/caf\303\251/\346\227\245\346\234\254\350\252\236.png",
      "image/png", 5368709120LL, 1, 951804428LL,
      "https://3f6c2b1a9e8d7c6b5a4f.r2.cloudflarestorage.com/rental"
      "s/unicode/caf%C3%A9/%E6%97%A5%E6%9C%AC%E8%AA%9E.png?X-Amz-Al"
      "gorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLO"
      "AD&X-Amz-Credential=3f6c2b1a9e8d7c6b5a4f3e2d1c0b9a87%2F20000"
      "229%2Fauto%2Fs3%2Faws4_request&X-Amz-Date=20000229T060708Z&X"
      "-Amz-Expires=1&X-Amz-SignedHeaders=content-length%3Bcontent-"
      "type%3Bhost&X-Amz-Signature=e7cb16e8848c41fe22444e686b820e44"
      "1ba9faf7c4601bca5785aeaabd6315b2",
      NULL },
    { "presign", "minioadmin",
      "minio+secret/with=odd&chars",
      "us-east-1", "http", "127.0.0.1:9000", "media", 1, "PUT",
      "special/a+b=c&d;e,f@g$h!'()*~%20?#[].txt",
      "image/webp", 0LL, 900, 1772368496LL,
      "http://127.0.0.1:9000/media/special/a%2Bb%3Dc%26d%3Be%2Cf%40"
      "g%24h%21%27%28%29%2A~%2520%3F%23%5B%5D.txt?X-Amz-Algorithm=A"
      "WS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-"
      "Credential=minioadmin%2F20260301%2Fus-east-1%2Fs3%2Faws4_req"
      "uest&X-Amz-Date=20260301T123456Z&X-Amz-Expires=900&X-Amz-Sig"
      "nedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Signat"
      "ure=0ddcf9921e19812ebc913684a18c184125326356a30f232c3dce7ddd"
      "212bdc29",
      NULL },
    { "presign", "minioadmin",
      "minio+secret/with=odd&chars",
      "us-east-1", "http", "localhost:9000", "media", 0, "PUT",
      "dir//double/.hidden/../x y",
      "text/plain; charset=utf-8", 12LL, 3600, 1772368496LL,
      "http://media.localhost:9000/dir//double/.hidden/../x%20y?X-A"
      "mz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-"
      "PAYLOAD&X-Amz-Credential=minioadmin%2F20260301%2Fus-east-1%2"
      "Fs3%2Faws4_request&X-Amz-Date=20260301T123456Z&X-Amz-Expires"
      "=3600&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bho"
      "st&X-Amz-Signature=0bf71a6398658f8ac32e2a929420b1d8a9d4c99ef"
      "38a1521105534286eace9a6",
      NULL },
    { "presign", "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "us-east-1", "http", "127.0.0.1:9000", "media", 1, "PUT",
      "7/emoji \360\237\217\240.avif",
      "image/avif", 99LL, 1800, 1772368496LL,
      "http://127.0.0.1:9000/media/7/emoji%20%F0%9F%8F%A0.avif?X-Am"
      "z-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-P"
      "AYLOAD&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260301%2Fus"
      "-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T123456Z&X-Am"
      "z-Expires=1800&X-Amz-SignedHeaders=content-length%3Bcontent-"
      "type%3Bhost&X-Amz-Signature=5e4064042451c73ca7e0f2462fd6c674"
      "64c311088a680ae05680a68c69e84e80",
      NULL },
    { "presign", "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "us-east-1", "https", "s3.amazonaws.com", "examplebucket", 0, "GET",
      "a/b c.jpg",
      NULL, -1LL, 60, 1772368496LL,
      "https://examplebucket.s3.amazonaws.com/a/b%20c.jpg?X-Amz-Alg"
      "orithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOA"
      "D&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260301%2Fus-east"
      "-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T123456Z&X-Amz-Exp"
      "ires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=4387edea5dd"
      "1ecce346a8461d56dfad6535c6219195ed22cbb4eb33440f4c8c8",
      NULL },
    { "authorize", "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "us-east-1", "https", "s3.amazonaws.com", "examplebucket", 0, "HEAD",
      "1/abc_x.jpg",
      NULL, -1LL, 0, 1772368496LL,
      "https://examplebucket.s3.amazonaws.com/1/abc_x.jpg",
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us"
      "-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sh"
      "a256;x-amz-date, Signature=286db176979ea0434ceb83af5857fa2a8"
      "6c63654cf13349c1037559f995378bf" },
    { "authorize", "minioadmin",
      "minio+secret/with=odd&chars",
      "us-east-1", "http", "127.0.0.1:9000", "media", 1, "DELETE",
      "unicode/caf\303\251 x+y.png",
      NULL, -1LL, 0, 1798761599LL,
      "http://127.0.0.1:9000/media/unicode/caf%C3%A9%20x%2By.png",
      "AWS4-HMAC-SHA256 Credential=minioadmin/20261231/us-east-1/s3"
      "/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz"
      "-date, Signature=6174c13e4ea21b61ce4396a44716d5fb6f37ffb2c27"
      "efdf816139874d0e0bac8" },
    { "authorize", "3f6c2b1a9e8d7c6b5a4f3e2d1c0b9a87",
      "9b1e4d0c7a5f2e8b3d6c1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29"
      "1807",
      "auto", "https",
      "3f6c2b1a9e8d7c6b5a4f.r2.cloudflarestorage.com", "rentals", 1, "GET",
      "a/b.jpg",
      NULL, -1LL, 0, 951804428LL,
      "https://3f6c2b1a9e8d7c6b5a4f.r2.cloudflarestorage.com/rental"
      "s/a/b.jpg",
      "AWS4-HMAC-SHA256 Credential=3f6c2b1a9e8d7c6b5a4f3e2d1c0b9a87"
      "/20000229/auto/s3/aws4_request, SignedHeaders=host;x-amz-con"
      "tent-sha256;x-amz-date, Signature=69aae61487d13dc256cb6e73a4"
      "929ca11a9e35a0900a69365039aeaabe875ade" },
};


static int
check_sdk_vector(const sdk_vector_t *v)
{
    int                    ok;
    char                   url[4096];
    ssize_t                n;
    media_sigv4_t         *s;
    media_sigv4_auth_t     auth;
    media_sigv4_conf_t     conf = { v->id, v->secret, v->region, NULL,
                                    v->endpoint, v->scheme, v->bucket,
                                    v->path_style };
    media_sigv4_request_t  r = { v->method, v->key, strlen(v->key),
                                 v->content_type,
                                 v->content_type ? strlen(v->content_type)
                                                 : 0,
                                 v->content_length, v->expires,
                                 (time_t) v->now };

    s = media_sigv4_new(&conf);
    if (s == NULL) {
        return 0;
    }

    if (strcmp(v->kind, "presign") == 0) {
        n = media_sigv4_presign(s, &r, url, sizeof(url));
        ok = n == (ssize_t) strlen(v->url) && strcmp(url, v->url) == 0
             && media_sigv4_url_size(s, r.key_len) > (size_t) n;

    } else {
        n = media_sigv4_authorize(s, &r, url, sizeof(url), &auth);
        ok = n == (ssize_t) strlen(v->url) && strcmp(url, v->url) == 0
             && strcmp(auth.authorization, v->authorization) == 0;
    }

    if (!ok) {
        fprintf(stderr, "  got      %s\n  expected %s\n",
                n < 0 ? "(error)" : url, v->url);
    }

    media_sigv4_free(s);

    return ok;
}


static void
test_sdk_vectors(void)
{
    size_t  i;

    for (i = 0; i < sizeof(sdk_vectors) / sizeof(sdk_vectors[0]); i++) {
        CHECK_IN(check_sdk_vector(&sdk_vectors[i]), sdk_vectors[i].key);
    }
}


/* the lines of t/sdk/presign.js, as sdk_vector_t */
static int
test_sdk_file(const char *path)
{
    int            count;
    char          *line, *f[16], *p;
    size_t         cap, i;
    FILE          *fp;
    sdk_vector_t   v;

    fp = fopen(path, "r");
    if (fp == NULL) {
        perror(path);
        return -1;
    }

    line = NULL;
    cap = 0;
    count = 0;

    while (getline(&line, &cap, fp) > 0) {
        line[strcspn(line, "\n")] = '\0';

        for (i = 0, p = line; i < 16 && p; i++) {
            f[i] = strsep(&p, "\t");
        }

        CHECK_IN(i == 16 && p == NULL, "a line of 16 fields");

        if (i != 16 || p != NULL) {
            continue;
        }

        v = (sdk_vector_t) { f[0], f[1], f[2], f[3], f[4], f[5], f[6],
                             atoi(f[7]), f[8], f[9],
                             strcmp(f[10], "-") ? f[10] : NULL,
                             atoll(f[11]), (unsigned) atol(f[12]),
                             atoll(f[13]), f[14],
                             strcmp(f[15], "-") ? f[15] : NULL };

        CHECK_IN(check_sdk_vector(&v), v.key);
        count++;
    }

    free(line);
    fclose(fp);

    CHECK(count > 0);

    return count;
}


static void
test_uri_encode(void)
{
    char        out[64];
    size_t      i;
    ssize_t     n;
    const char  *in[] = {
        "AZaz09-._~", "a b/c d", "\xc3\xa9/\xff", "+=&;,@$!'()*%?#[]",
        "", "/a//b/",
    };
    const char  *slash[] = {
        "AZaz09-._~", "a%20b/c%20d", "%C3%A9/%FF",
        "%2B%3D%26%3B%2C%40%24%21%27%28%29%2A%25%3F%23%5B%5D", "", "/a//b/",
    };

    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        n = media_sigv4_uri_encode(in[i], strlen(in[i]), 1, out,
                                   sizeof(out));
        CHECK_IN(n == (ssize_t) strlen(slash[i])
              && memcmp(out, slash[i], n) == 0, in[i]);
    }

    n = media_sigv4_uri_encode("a/b c", 5, 0, out, sizeof(out));
    CHECK(n == 9 && memcmp(out, "a%2Fb%20c", 9) == 0);

    /* too small by one, at an escape and in a run */
    CHECK(media_sigv4_uri_encode("a/b c", 5, 0, out, 8) == -1);
    CHECK(media_sigv4_uri_encode("abcdef", 6, 0, out, 5) == -1);
}


/* blanks around a value trimmed and runs of them collapsed */
static void
test_header_values(void)
{
    char                  buf[256];
    ssize_t               n;
    media_sigv4_header_t  h[] = {
        { "a", "  x   y\t\tz  ", 12 },
        { "b", " \t ", 3 },
        { "c", "text/plain;  charset=utf-8", 26 },
    };
    static const char     expected[] =
        "GET\n/\n\na:x y z\nb:\nc:text/plain; charset=utf-8\n\na;b;c\n-";

    n = media_sigv4_canonical_request(buf, sizeof(buf), "GET", "/", "", h,
                                      3, "-");
    CHECK(n == sizeof(expected) - 1 && memcmp(buf, expected, n) == 0);
}


static media_sigv4_conf_t  local_conf = {
    DOC_ID, DOC_SECRET, "us-east-1", "s3", "127.0.0.1:9000", "http", "media",
    1
};


static void
test_buffer_sizes(void)
{
    char                   url[1024], want[1024], *exact;
    size_t                 size;
    ssize_t                n;
    media_sigv4_t         *s;
    media_sigv4_auth_t     auth;
    media_sigv4_request_t  r = { "PUT", "a/b c.jpg", 9, "image/jpeg", 10,
                                 1000, 1800, 1772368496 };

    s = media_sigv4_new(&local_conf);
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }

    n = media_sigv4_presign(s, &r, want, sizeof(want));
    CHECK(n > 0 && (size_t) n < media_sigv4_url_size(s, r.key_len));

    /* every size short of length + NUL fails, and writes within it */
    for (size = 0; size <= (size_t) n; size++) {
        exact = malloc(size ? size : 1);
        CHECK(media_sigv4_presign(s, &r, exact, size) == -1);
        free(exact);
    }

    CHECK(media_sigv4_presign(s, &r, url, n + 1) == n
          && strcmp(url, want) == 0);

    r.content_length = 0;
    r.content_type = NULL;
    r.method = "HEAD";
    n = media_sigv4_authorize(s, &r, url, sizeof(url), &auth);
    CHECK(n == (ssize_t) strlen("http://127.0.0.1:9000/media/a/b%20c.jpg")
          && strcmp(url, "http://127.0.0.1:9000/media/a/b%20c.jpg") == 0);
    CHECK(strstr(auth.authorization, "SignedHeaders=content-length;host;"
                 "x-amz-content-sha256;x-amz-date, Signature=") != NULL);
    CHECK(media_sigv4_authorize(s, &r, url, (size_t) n, &auth) == -1);

    media_sigv4_free(s);
}


static void
test_invalid_request(void)
{
    char                   url[2048], key[MEDIA_SIGV4_MAX_KEY + 1];
    media_sigv4_t         *s;
    media_sigv4_request_t  ok = { "PUT", "k", 1, "image/png", 9, 1, 1800,
                                  1772368496 };
    media_sigv4_request_t  r;

    s = media_sigv4_new(&local_conf);
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }

    CHECK(media_sigv4_presign(s, &ok, url, sizeof(url)) > 0);

    r = ok; r.expires = 0;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);
    r = ok; r.expires = MEDIA_SIGV4_MAX_EXPIRES + 1;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);
    r = ok; r.expires = MEDIA_SIGV4_MAX_EXPIRES;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) > 0);
    r = ok; r.key_len = 0;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);
    r = ok; r.method = "POST";
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);
    r = ok; r.content_type = "image/png\r\nx-evil: 1"; r.content_type_len = 20;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);
    r = ok; r.content_length = -2;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);

    memset(key, 'k', sizeof(key));
    r = ok; r.key = key; r.key_len = MEDIA_SIGV4_MAX_KEY;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) > 0);
    r.key_len++;
    CHECK(media_sigv4_presign(s, &r, url, sizeof(url)) == -1);

    media_sigv4_free(s);
}


/* each field of the configuration, broken */
static void
test_invalid_conf(void)
{
    size_t               i;
    media_sigv4_t       *s;
    media_sigv4_conf_t   c;
    static const char   *broken[] = {
        "no id", "id with ','", "empty secret", "region with blanks",
        "endpoint with a path", "scheme ftp", "no bucket",
        "virtual host bucket not a DNS name", "empty service",
    };

    for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        c = local_conf;

        switch (i) {
        case 0: c.access_key_id = NULL; break;
        case 1: c.access_key_id = "AKIA,X"; break;
        case 2: c.secret_access_key = ""; break;
        case 3: c.region = "US East"; break;
        case 4: c.endpoint = "127.0.0.1:9000/path"; break;
        case 5: c.scheme = "ftp"; break;
        case 6: c.bucket = NULL; break;
        case 7: c.bucket = "Upper_Case"; c.path_style = 0; break;
        default: c.service = ""; break;
        }

        s = media_sigv4_new(&c);
        CHECK_IN(s == NULL, broken[i]);
        media_sigv4_free(s);
    }
}


/* what clients send as Host: lowercase, no default port */
static void
test_host(void)
{
    size_t               i;
    media_sigv4_t       *s;
    media_sigv4_conf_t   c;
    static const char   *cases[][4] = {
        { "https", "S3.Example.COM:443", "b", "b.s3.example.com" },
        { "http", "s3.example.com:80", "b", "b.s3.example.com" },
        { "http", "s3.example.com:443", "b", "b.s3.example.com:443" },
        { "https", "[::1]:9000", NULL, "[::1]:9000" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = local_conf;
        c.scheme = cases[i][0];
        c.endpoint = cases[i][1];
        c.path_style = cases[i][2] == NULL;
        c.bucket = cases[i][2] ? cases[i][2] : "media";

        s = media_sigv4_new(&c);
        CHECK_IN(s && strcmp(media_sigv4_host(s), cases[i][3]) == 0,
                 cases[i][3]);
        media_sigv4_free(s);
    }
}


/* the cached signing key follows the date, and back */
static void
test_key_cache(void)
{
    int                    i;
    char                   a[1024], b[1024];
    media_sigv4_t         *s, *fresh;
    media_sigv4_request_t  r = { "PUT", "k", 1, NULL, 0, -1, 60, 0 };
    static const time_t    times[] = {
        1798761599, 1798761600, 1798761599, 1369353600, 1798761600,
    };

    s = media_sigv4_new(&local_conf);

    for (i = 0; i < 5; i++) {
        r.now = times[i];
        fresh = media_sigv4_new(&local_conf);

        CHECK(s && fresh && media_sigv4_presign(s, &r, a, sizeof(a)) > 0
              && media_sigv4_presign(fresh, &r, b, sizeof(b)) > 0
              && strcmp(a, b) == 0);

        media_sigv4_free(fresh);
    }

    media_sigv4_free(s);
}


int
main(int argc, char **argv)
{
    if (argc > 1) {
        printf("test_sigv4: %d SDK vectors from %s\n", test_sdk_file(argv[1]),
               argv[1]);

    } else {
        test_signing_key();
        test_doc_vectors();
        test_sdk_vectors();
        test_uri_encode();
        test_header_values();
        test_buffer_sizes();
        test_invalid_request();
        test_invalid_conf();
        test_host();
        test_key_cache();
    }

    return unit_done("test_sigv4");
}
