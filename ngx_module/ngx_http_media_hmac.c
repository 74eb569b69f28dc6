/*
 * HMAC-SHA256 signatures of upload URLs (RFC 2104).
 *
 * OpenSSL 3 deprecates the SHA256_* functions in favour of EVP, but EVP
 * fetches and allocates per call, which is most of the cost of a presign
 * at tens of thousands a second.  The low-level state is a plain struct
 * that copies with memcpy, which is exactly what precomputed HMAC needs.
 */

#define OPENSSL_SUPPRESS_DEPRECATED  1

#include "ngx_http_media_hmac.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>


#define MEDIA_SIG_MAX_MESSAGE  2048


struct media_rng_s {
    SHA256_CTX  seeded;     /* after the seed */
    uint64_t    counter;
};


struct media_signer_s {
    SHA256_CTX  inner;      /* after (key ^ ipad) */
    SHA256_CTX  outer;      /* after (key ^ opad) */
};


media_signer_t *
media_signer_new(const unsigned char *secret, size_t secret_len)
{
    size_t           i;
    unsigned char    block[SHA256_CBLOCK], pad[SHA256_CBLOCK];
    media_signer_t  *s;

    s = calloc(1, sizeof(media_signer_t));
    if (s == NULL) {
        return NULL;
    }

    memset(block, 0, sizeof(block));

    if (secret_len > SHA256_CBLOCK) {
        SHA256(secret, secret_len, block);

    } else {
        memcpy(block, secret, secret_len);
    }

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = block[i] ^ 0x36;
    }

    SHA256_Init(&s->inner);
    SHA256_Update(&s->inner, pad, sizeof(pad));

    for (i = 0; i < SHA256_CBLOCK; i++) {
        pad[i] = block[i] ^ 0x5c;
    }

    SHA256_Init(&s->outer);
    SHA256_Update(&s->outer, pad, sizeof(pad));

    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));

    return s;
}


void
media_signer_free(media_signer_t *signer)
{
    if (signer) {
        OPENSSL_cleanse(signer, sizeof(media_signer_t));
        free(signer);
    }
}


static void
media_hex(const unsigned char *in, size_t len, char *out)
{
    static const char  digits[] = "0123456789abcdef";

    size_t  i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
}


void
media_sha256(const void *data, size_t len, unsigned char out[32])
{
    SHA256_CTX  ctx;

    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data, len);
    SHA256_Final(out, &ctx);
}


typedef char  media_sha256_fits[sizeof(media_sha256_t) >= sizeof(SHA256_CTX)
                                ? 1 : -1];


void
media_sha256_init(media_sha256_t *ctx)
{
    SHA256_Init((SHA256_CTX *) ctx->state);
}


void
media_sha256_update(media_sha256_t *ctx, const void *data, size_t len)
{
    SHA256_Update((SHA256_CTX *) ctx->state, data, len);
}


void
media_sha256_final(media_sha256_t *ctx, unsigned char out[32])
{
    SHA256_Final(out, (SHA256_CTX *) ctx->state);
}


media_rng_t *
media_rng_new(const unsigned char *seed, size_t seed_len)
{
    media_rng_t  *rng;

    rng = calloc(1, sizeof(media_rng_t));
    if (rng == NULL) {
        return NULL;
    }

    SHA256_Init(&rng->seeded);
    SHA256_Update(&rng->seeded, seed, seed_len);

    return rng;
}


void
media_rng_free(media_rng_t *rng)
{
    if (rng) {
        OPENSSL_cleanse(rng, sizeof(media_rng_t));
        free(rng);
    }
}


/* hex_len (even, at most 64) hex digits of SHA-256(seed || counter) */
int
media_rng_hex(media_rng_t *rng, char *out, size_t hex_len)
{
    SHA256_CTX     ctx;
    unsigned char  block[SHA256_DIGEST_LENGTH];

    if (hex_len > 2 * sizeof(block) || hex_len % 2) {
        return -1;
    }

    ctx = rng->seeded;
    rng->counter++;
    SHA256_Update(&ctx, &rng->counter, sizeof(rng->counter));
    SHA256_Final(block, &ctx);

    media_hex(block, hex_len / 2, out);

    OPENSSL_cleanse(&ctx, sizeof(ctx));

    return 0;
}


static char *
media_put_u64(char *p, uint64_t v)
{
    char   digits[20];
    int    n;

    n = 0;
    do {
        digits[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    while (n) {
        *p++ = digits[--n];
    }

    return p;
}


int
media_sign_upload(const media_signer_t *signer, const char *key,
    size_t key_len, const char *ctype, size_t ctype_len, uint64_t size,
    uint64_t expires, char hex[MEDIA_SIG_HEX_LEN])
{
    char           msg[MEDIA_SIG_MAX_MESSAGE], *p;
    SHA256_CTX     ctx;
    unsigned char  mac[SHA256_DIGEST_LENGTH];

    /* "PUT\n" key "\n" ctype "\n" 20 digits "\n" 20 digits */
    if (key_len + ctype_len + 4 + 3 + 40 > sizeof(msg)) {
        return -1;
    }

    p = memcpy(msg, "PUT\n", 4);
    p += 4;
    p = (char *) memcpy(p, key, key_len) + key_len;
    *p++ = '\n';
    p = (char *) memcpy(p, ctype, ctype_len) + ctype_len;
    *p++ = '\n';
    p = media_put_u64(p, size);
    *p++ = '\n';
    p = media_put_u64(p, expires);

    ctx = signer->inner;
    SHA256_Update(&ctx, msg, (size_t) (p - msg));
    SHA256_Final(mac, &ctx);

    ctx = signer->outer;
    SHA256_Update(&ctx, mac, sizeof(mac));
    SHA256_Final(mac, &ctx);

    media_hex(mac, sizeof(mac), hex);

    OPENSSL_cleanse(&ctx, sizeof(ctx));

    return 0;
}


/* 0 when sig is the signature of these fields; compared in constant time */
int
media_verify_upload(const media_signer_t *signer, const char *key,
    size_t key_len, const char *ctype, size_t ctype_len, uint64_t size,
    uint64_t expires, const char *sig, size_t sig_len)
{
    char  expected[MEDIA_SIG_HEX_LEN];

    if (sig_len != MEDIA_SIG_HEX_LEN) {
        return -1;
    }

    if (media_sign_upload(signer, key, key_len, ctype, ctype_len, size,
                          expires, expected) != 0)
    {
        return -1;
    }

    return CRYPTO_memcmp(expected, sig, MEDIA_SIG_HEX_LEN) == 0 ? 0 : -1;
}
