/*
 * Signatures of local-store upload URLs, in plain C over OpenSSL so the
 * C unit tests can check them without nginx.
 *
 * sig = hex(HMAC-SHA256(secret,
 *           "PUT\n" key "\n" content_type "\n" size "\n" expires))
 */

#ifndef _NGX_HTTP_MEDIA_HMAC_H_INCLUDED_
#define _NGX_HTTP_MEDIA_HMAC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define MEDIA_SIG_HEX_LEN  64


int media_sign_upload(const unsigned char *secret, size_t secret_len,
    const char *key, size_t key_len, const char *ctype, size_t ctype_len,
    uint64_t size, uint64_t expires, char hex[MEDIA_SIG_HEX_LEN]);

int media_verify_upload(const unsigned char *secret, size_t secret_len,
    const char *key, size_t key_len, const char *ctype, size_t ctype_len,
    uint64_t size, uint64_t expires, const char *sig, size_t sig_len);


#endif /* _NGX_HTTP_MEDIA_HMAC_H_INCLUDED_ */
