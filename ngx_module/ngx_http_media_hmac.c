/*
 * HMAC-SHA256 signatures of upload URLs.
 */

#include "ngx_http_media_hmac.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


#define MEDIA_SIG_MAX_MESSAGE  2048


static int
media_upload_message(char *buf, size_t cap, const char *key, size_t key_len,
    const char *ctype, size_t ctype_len, uint64_t size, uint64_t expires)
{
    int  n;

    n = snprintf(buf, cap, "PUT\n%.*s\n%.*s\n%llu\n%llu",
                 (int) key_len, key, (int) ctype_len, ctype,
                 (unsigned long long) size, (unsigned long long) expires);

    return (n < 0 || (size_t) n >= cap) ? -1 : n;
}


int
media_sign_upload(const unsigned char *secret, size_t secret_len,
    const char *key, size_t key_len, const char *ctype, size_t ctype_len,
    uint64_t size, uint64_t expires, char hex[MEDIA_SIG_HEX_LEN])
{
    static const char  digits[] = "0123456789abcdef";

    int            n;
    char           msg[MEDIA_SIG_MAX_MESSAGE];
    unsigned int   mac_len, i;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    n = media_upload_message(msg, sizeof(msg), key, key_len, ctype,
                             ctype_len, size, expires);
    if (n < 0) {
        return -1;
    }

    if (HMAC(EVP_sha256(), secret, (int) secret_len, (unsigned char *) msg,
             (size_t) n, mac, &mac_len) == NULL || mac_len != 32)
    {
        return -1;
    }

    for (i = 0; i < mac_len; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 0x0f];
    }

    return 0;
}


/* 0 when sig is the signature of these fields; compared in constant time */
int
media_verify_upload(const unsigned char *secret, size_t secret_len,
    const char *key, size_t key_len, const char *ctype, size_t ctype_len,
    uint64_t size, uint64_t expires, const char *sig, size_t sig_len)
{
    char  expected[MEDIA_SIG_HEX_LEN];

    if (sig_len != MEDIA_SIG_HEX_LEN) {
        return -1;
    }

    if (media_sign_upload(secret, secret_len, key, key_len, ctype, ctype_len,
                          size, expires, expected) != 0)
    {
        return -1;
    }

    return CRYPTO_memcmp(expected, sig, MEDIA_SIG_HEX_LEN) == 0 ? 0 : -1;
}
