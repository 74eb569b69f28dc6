/*
 * Signatures of local-store upload URLs, in plain C over OpenSSL so the
 * C unit tests can check them without nginx.
 *
 * sig = hex(HMAC-SHA256(secret,
 *           "PUT\n" key "\n" content_type "\n" size "\n" expires))
 *
 * A signer holds the HMAC key schedule (the inner and outer SHA-256 states
 * after the padded key), computed once per secret, so that signing a URL
 * is two short hash updates and no allocation.
 */

#ifndef _NGX_HTTP_MEDIA_HMAC_H_INCLUDED_
#define _NGX_HTTP_MEDIA_HMAC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define MEDIA_SIG_HEX_LEN  64


typedef struct media_signer_s  media_signer_t;


media_signer_t *media_signer_new(const unsigned char *secret,
    size_t secret_len);
void media_signer_free(media_signer_t *signer);

int media_sign_upload(const media_signer_t *signer, const char *key,
    size_t key_len, const char *ctype, size_t ctype_len, uint64_t size,
    uint64_t expires, char hex[MEDIA_SIG_HEX_LEN]);

int media_verify_upload(const media_signer_t *signer, const char *key,
    size_t key_len, const char *ctype, size_t ctype_len, uint64_t size,
    uint64_t expires, const char *sig, size_t sig_len);


/*
 * SHA-256 for API keys, and unpredictable ids (SHA-256 of a secret seed
 * and a counter): both without the per-call provider lookups of OpenSSL 3's
 * one-shot functions, and the id generator without RAND_bytes' getpid()
 * system call per call.  The generator is per process; seed it after fork.
 */
typedef struct media_rng_s  media_rng_t;

void media_sha256(const void *data, size_t len, unsigned char out[32]);

/* incremental, for data in pieces */
typedef struct {
    uint64_t  state[16];   /* holds a SHA256_CTX (112 bytes), aligned */
} media_sha256_t;

void media_sha256_init(media_sha256_t *ctx);
void media_sha256_update(media_sha256_t *ctx, const void *data, size_t len);
void media_sha256_final(media_sha256_t *ctx, unsigned char out[32]);
media_rng_t *media_rng_new(const unsigned char *seed, size_t seed_len);
void media_rng_free(media_rng_t *rng);
int media_rng_hex(media_rng_t *rng, char *out, size_t hex_len);


#endif /* _NGX_HTTP_MEDIA_HMAC_H_INCLUDED_ */
