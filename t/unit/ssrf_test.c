/*
 * ssrf_test.c: the import address classifier and allow-list.  Addresses are
 * only parsed and classified here; no socket is opened.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ssrf.h"
#include "unit.h"

/* A sockaddr for a literal, v4 or v6. */
static const struct sockaddr *
addr(const char *text)
{
    static struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *) &ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *) &ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        fprintf(stderr, "bad literal in test: %s\n", text);
        unit_failures++;
    }
    return (const struct sockaddr *) &ss;
}

static const struct { const char *addr; enum ssrf_class cls; } cases[] = {
    { "0.0.0.0", SSRF_UNSPECIFIED },    { "0.1.2.3", SSRF_UNSPECIFIED },
    { "10.0.0.1", SSRF_PRIVATE },       { "10.255.255.255", SSRF_PRIVATE },
    { "172.16.0.1", SSRF_PRIVATE },     { "172.31.255.255", SSRF_PRIVATE },
    { "172.32.0.1", SSRF_PUBLIC },      { "172.15.255.255", SSRF_PUBLIC },
    { "192.168.1.1", SSRF_PRIVATE },    { "100.64.0.1", SSRF_SHARED },
    { "100.127.255.255", SSRF_SHARED }, { "100.128.0.1", SSRF_PUBLIC },
    { "100.63.255.255", SSRF_PUBLIC },  { "127.0.0.1", SSRF_LOOPBACK },
    { "127.0.0.2", SSRF_LOOPBACK },     { "127.255.255.254", SSRF_LOOPBACK },
    { "169.254.169.254", SSRF_LINK_LOCAL },
    { "169.254.0.1", SSRF_LINK_LOCAL }, { "224.0.0.1", SSRF_MULTICAST },
    { "239.255.255.250", SSRF_MULTICAST },
    { "240.0.0.1", SSRF_RESERVED },     { "255.255.255.255", SSRF_RESERVED },
    { "192.0.0.170", SSRF_RESERVED },   { "192.0.2.1", SSRF_RESERVED },
    { "198.18.0.1", SSRF_RESERVED },    { "198.19.255.255", SSRF_RESERVED },
    { "198.51.100.7", SSRF_RESERVED },  { "203.0.113.9", SSRF_RESERVED },
    { "192.88.99.1", SSRF_RESERVED },
    { "8.8.8.8", SSRF_PUBLIC },         { "1.1.1.1", SSRF_PUBLIC },
    { "93.184.216.34", SSRF_PUBLIC },   { "223.255.255.255", SSRF_PUBLIC },

    { "::", SSRF_UNSPECIFIED },         { "::1", SSRF_LOOPBACK },
    { "::2", SSRF_RESERVED },
    { "::ffff:127.0.0.1", SSRF_LOOPBACK },
    { "::ffff:127.0.0.2", SSRF_LOOPBACK },
    { "::ffff:0.0.0.0", SSRF_UNSPECIFIED },
    { "::ffff:10.0.0.1", SSRF_PRIVATE },
    { "::ffff:169.254.169.254", SSRF_LINK_LOCAL },
    { "::ffff:8.8.8.8", SSRF_PUBLIC },
    { "::127.0.0.1", SSRF_LOOPBACK },   /* IPv4-compatible */
    { "::192.168.0.1", SSRF_PRIVATE },
    { "64:ff9b::a9fe:a9fe", SSRF_LINK_LOCAL },  /* NAT64 of metadata */
    { "64:ff9b::7f00:1", SSRF_LOOPBACK },
    { "64:ff9b::808:808", SSRF_PUBLIC },
    { "64:ff9b:1::1", SSRF_PRIVATE },
    { "2002:7f00:1::", SSRF_LOOPBACK },         /* 6to4 of 127.0.0.1 */
    { "2002:a00:1::1", SSRF_PRIVATE },
    { "2002:808:808::1", SSRF_PUBLIC },
    { "fc00::1", SSRF_UNIQUE_LOCAL },   { "fd00:ec2::254", SSRF_UNIQUE_LOCAL },
    { "fdff:ffff::1", SSRF_UNIQUE_LOCAL },
    { "fe80::1", SSRF_LINK_LOCAL },     { "febf:ffff::1", SSRF_LINK_LOCAL },
    { "fec0::1", SSRF_PRIVATE },        { "ff02::1", SSRF_MULTICAST },
    { "ff05::1:3", SSRF_MULTICAST },    { "2001:db8::1", SSRF_RESERVED },
    { "2001::1", SSRF_RESERVED },       { "100::1", SSRF_RESERVED },
    { "4000::1", SSRF_RESERVED },       { "fb00::1", SSRF_RESERVED },
    { "2606:4700:4700::1111", SSRF_PUBLIC },
    { "2a00:1450:4001:800::200e", SSRF_PUBLIC },
};

static void
check_classes(void)
{
    size_t i;
    enum ssrf_class got;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = ssrf_classify(addr(cases[i].addr));
        CHECK(got == cases[i].cls);
        if (got != cases[i].cls)
            fprintf(stderr, "  %s: got %s, want %s\n", cases[i].addr,
                    ssrf_class_name(got), ssrf_class_name(cases[i].cls));
    }
}

/*
 * Host names like "2130706433" or "0x7f.1" reach the classifier only as
 * the address the resolver made of them; inet_aton parses numbers the way
 * getaddrinfo does.
 */
static void
check_spellings(void)
{
    static const char *const loopback[] = {
        "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1",
        "0177.1", "017700000001", "127.0.1",
    };
    struct sockaddr_in sin = { .sin_family = AF_INET };
    size_t i;

    for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        CHECK(inet_aton(loopback[i], &sin.sin_addr) == 1);
        CHECK(ssrf_classify((struct sockaddr *) &sin) == SSRF_LOOPBACK);
    }
    CHECK(inet_aton("0", &sin.sin_addr) == 1);
    CHECK(ssrf_classify((struct sockaddr *) &sin) == SSRF_UNSPECIFIED);
    CHECK(inet_aton("0xa9fea9fe", &sin.sin_addr) == 1);
    CHECK(ssrf_classify((struct sockaddr *) &sin) == SSRF_LINK_LOCAL);
}

static bool
permitted(const struct ssrf_allow *allow, const char *text)
{
    enum ssrf_class cls;

    return ssrf_permitted(allow, addr(text), &cls);
}

static void
check_allow_list(void)
{
    static const char *const bad[] = {
        "127.0.0.1/33", "foo", "1.2.3.4/", "::1/129", "1.2.3.4/-1",
        "10.0.0.0/8,nonsense", "1.2.3.4/8x",
    };
    struct ssrf_allow allow;
    char err[200];
    size_t i;

    CHECK(ssrf_allow_parse("", &allow, err, sizeof(err)) == 0);
    CHECK(allow.n == 0);
    CHECK(!permitted(&allow, "127.0.0.1"));
    CHECK(permitted(&allow, "8.8.8.8"));
    CHECK(permitted(&allow, "2606:4700:4700::1111"));
    ssrf_allow_free(&allow);

    CHECK(ssrf_allow_parse("127.0.0.1/32, ::1 10.1.0.0/16", &allow, err,
                           sizeof(err)) == 0);
    CHECK(allow.n == 3);
    CHECK(permitted(&allow, "127.0.0.1"));
    CHECK(permitted(&allow, "::ffff:127.0.0.1"));
    CHECK(permitted(&allow, "::1"));
    CHECK(permitted(&allow, "10.1.200.3"));
    CHECK(!permitted(&allow, "127.0.0.2"));
    CHECK(!permitted(&allow, "127.0.0.3"));
    CHECK(!permitted(&allow, "::ffff:127.0.0.2"));
    CHECK(!permitted(&allow, "0.0.0.0"));
    CHECK(!permitted(&allow, "::"));
    CHECK(!permitted(&allow, "10.2.0.1"));
    CHECK(!permitted(&allow, "169.254.169.254"));
    CHECK(!permitted(&allow, "fd00:ec2::254"));
    CHECK(!permitted(&allow, "::127.0.0.1"));
    ssrf_allow_free(&allow);

    CHECK(ssrf_allow_parse("0.0.0.0/0", &allow, err, sizeof(err)) == 0);
    CHECK(permitted(&allow, "10.0.0.1"));
    CHECK(!permitted(&allow, "::1"));
    ssrf_allow_free(&allow);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(ssrf_allow_parse(bad[i], &allow, err, sizeof(err)) == -1);
        CHECK(strstr(err, "import_allow") != NULL);
        CHECK(allow.nets == NULL && allow.n == 0);
    }
}

int
main(void)
{
    check_classes();
    check_spellings();
    check_allow_list();
    return unit_done("ssrf");
}
