/*
 * Unit tests of the upload URL signer (ngx_module/ngx_http_media_hmac.c).
 * Expected values were computed independently (Python's hmac module) from
 * the string-to-sign documented in the README.
 */

#include "ngx_http_media_hmac.h"

#include <stdio.h>
#include <string.h>


static int              failures;
static media_signer_t  *signer_a;

#define CHECK(cond, what)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);   \
            failures++;                                                      \
        }                                                                    \
    } while (0)


typedef struct {
    const unsigned char  *secret;
    size_t                secret_len;
    const char           *key;
    const char           *ctype;
    unsigned long long    size;
    unsigned long long    expires;
    const char           *expected;
} vector_t;


static const unsigned char  secret_a[] = "0123456789abcdef0123456789abcdef";
static unsigned char        secret_b[32];
static unsigned char        secret_c[100];


static void
test_known_answers(void)
{
    char             hex[MEDIA_SIG_HEX_LEN];
    size_t           i;
    media_signer_t  *signer;
    vector_t         v[] = {
        { secret_a, 32, "1/abc_x.jpg", "image/jpeg", 245000, 1795400957,
          "1640ed8a222a191756342b7e6777057da30770574712656108692c98d1d237af" },
        { secret_b, 32, "42/0f0f_living_room.heic", "image/heic", 1, 0,
          "7ed85c235a678a363a01368a012e0ac0a690bf3207433bf4400d266bad921d40" },
        /* a secret longer than the SHA-256 block is hashed first */
        { secret_c, 100, "7/ff_a.png", "image/png", 18446744073709551615ULL,
          4102444800ULL,
          "714697eccb10393a7102a607c116d8551fec07388e10c55b2fcc33103238f9d1" },
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        signer = media_signer_new(v[i].secret, v[i].secret_len);
        CHECK(signer != NULL, "signer");
        CHECK(media_sign_upload(signer, v[i].key,
                                strlen(v[i].key), v[i].ctype,
                                strlen(v[i].ctype), v[i].size, v[i].expires,
                                hex) == 0, "sign");
        CHECK(memcmp(hex, v[i].expected, MEDIA_SIG_HEX_LEN) == 0,
              "known answer");
        CHECK(media_verify_upload(signer, v[i].key,
                                  strlen(v[i].key), v[i].ctype,
                                  strlen(v[i].ctype), v[i].size,
                                  v[i].expires, v[i].expected,
                                  MEDIA_SIG_HEX_LEN) == 0, "verify");
        media_signer_free(signer);
    }
}


/* every signed field, changed, makes the signature invalid */
static void
test_tampering(void)
{
    const char  *key = "1/abc_x.jpg", *ct = "image/jpeg";
    const char  *good =
        "1640ed8a222a191756342b7e6777057da30770574712656108692c98d1d237af";
    char         bad[MEDIA_SIG_HEX_LEN + 1];
    media_signer_t  *other;

#define VERIFY(k, c, s, e, sig, len)                                         \
    media_verify_upload(signer_a, k, strlen(k), c, strlen(c), s, e, sig, len)

    CHECK(VERIFY("2/abc_x.jpg", ct, 245000, 1795400957, good, 64) != 0,
          "other tenant");
    CHECK(VERIFY(key, "image/png", 245000, 1795400957, good, 64) != 0,
          "other type");
    CHECK(VERIFY(key, ct, 245001, 1795400957, good, 64) != 0, "other size");
    CHECK(VERIFY(key, ct, 245000, 1795400958, good, 64) != 0,
          "other expiry");
    CHECK(VERIFY(key, ct, 245000, 1795400957, good, 63) != 0, "short sig");
    CHECK(VERIFY(key, ct, 245000, 1795400957, "", 0) != 0, "empty sig");

    memcpy(bad, good, sizeof(bad));
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    CHECK(VERIFY(key, ct, 245000, 1795400957, bad, 64) != 0, "one digit");

    memcpy(bad, good, sizeof(bad));
    bad[5] = 'A';   /* "8" -> "A": hex is lowercase only */
    CHECK(VERIFY(key, ct, 245000, 1795400957, bad, 64) != 0, "uppercase");

    other = media_signer_new((const unsigned char *) "another secret of "
                             "thirty-two bytes", 32);
    CHECK(media_verify_upload(other, key, strlen(key), ct, strlen(ct),
                              245000, 1795400957, good, 64) != 0,
          "other secret");
    media_signer_free(other);
#undef VERIFY
}


static void
test_oversized_input(void)
{
    char  key[4096], hex[MEDIA_SIG_HEX_LEN];

    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';

    CHECK(media_sign_upload(signer_a, key, strlen(key), "image/jpeg", 10,
                            1, 1, hex) != 0, "refuses a message too long");
}


int
main(void)
{
    size_t  i;

    for (i = 0; i < sizeof(secret_b); i++) {
        secret_b[i] = (unsigned char) i;
    }

    for (i = 0; i < sizeof(secret_c); i++) {
        secret_c[i] = (unsigned char) (i * 7);
    }

    signer_a = media_signer_new(secret_a, 32);

    test_known_answers();
    test_tampering();
    test_oversized_input();

    media_signer_free(signer_a);

    if (failures) {
        fprintf(stderr, "test_sign: %d failure(s)\n", failures);
        return 1;
    }

    printf("test_sign: ok\n");
    return 0;
}
