/*
 * ssrf.c: address classification (RFC 6890 special-purpose registries) and
 * the allow-list.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssrf.h"

struct range {
    uint32_t        net;
    int             prefix;
    enum ssrf_class cls;
};

/* IPv4 special-purpose blocks.  Everything else is public. */
static const struct range v4_ranges[] = {
    { 0x00000000,  8, SSRF_UNSPECIFIED },   /* "this network" */
    { 0x0a000000,  8, SSRF_PRIVATE },
    { 0x64400000, 10, SSRF_SHARED },
    { 0x7f000000,  8, SSRF_LOOPBACK },
    { 0xa9fe0000, 16, SSRF_LINK_LOCAL },    /* 169.254.169.254 metadata */
    { 0xac100000, 12, SSRF_PRIVATE },
    { 0xc0000000, 24, SSRF_RESERVED },      /* IETF protocol assignments */
    { 0xc0000200, 24, SSRF_RESERVED },      /* TEST-NET-1 */
    { 0xc0586300, 24, SSRF_RESERVED },      /* 6to4 relay anycast */
    { 0xc0a80000, 16, SSRF_PRIVATE },
    { 0xc6120000, 15, SSRF_RESERVED },      /* benchmarking */
    { 0xc6336400, 24, SSRF_RESERVED },      /* TEST-NET-2 */
    { 0xcb007100, 24, SSRF_RESERVED },      /* TEST-NET-3 */
    { 0xe0000000,  4, SSRF_MULTICAST },
    { 0xf0000000,  4, SSRF_RESERVED },      /* incl. 255.255.255.255 */
};

static const char *const class_names[] = {
    [SSRF_PUBLIC] = "public", [SSRF_UNSPECIFIED] = "unspecified",
    [SSRF_LOOPBACK] = "loopback", [SSRF_PRIVATE] = "private",
    [SSRF_SHARED] = "shared (carrier-grade NAT)",
    [SSRF_LINK_LOCAL] = "link-local", [SSRF_UNIQUE_LOCAL] = "unique-local",
    [SSRF_MULTICAST] = "multicast", [SSRF_RESERVED] = "reserved",
};

const char *
ssrf_class_name(enum ssrf_class c)
{
    return class_names[c];
}

static enum ssrf_class
classify_v4(uint32_t a)
{
    size_t i;
    uint32_t mask;

    for (i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
        mask = 0xffffffffu << (32 - v4_ranges[i].prefix);
        if ((a & mask) == v4_ranges[i].net)
            return v4_ranges[i].cls;
    }
    return SSRF_PUBLIC;
}

static uint32_t
v4_at(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
         | (uint32_t) p[2] << 8 | p[3];
}

static bool
has_prefix(const uint8_t *a, const uint8_t *p, int bits)
{
    int bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, p, (size_t) bytes) != 0)
        return false;
    return rest == 0
        || ((a[bytes] ^ p[bytes]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/*
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64 well
 * known prefix, 6to4) are judged by that address: the packet may well end
 * up there.
 */
static enum ssrf_class
classify_v6(const uint8_t *a)
{
    static const uint8_t zero[16] = { 0 };
    static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
    static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
    static const uint8_t nat64_local[6] = { 0x00, 0x64, 0xff, 0x9b, 0, 1 };
    static const uint8_t teredo[4] = { 0x20, 0x01, 0, 0 };
    static const uint8_t doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };
    static const uint8_t discard[8] = { 0x01, 0x00 };

    if (memcmp(a, zero, 15) == 0)
        return a[15] == 1 ? SSRF_LOOPBACK
             : a[15] == 0 ? SSRF_UNSPECIFIED : SSRF_RESERVED;
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0
        || memcmp(a, nat64, 12) == 0)
        return classify_v4(v4_at(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02)                   /* 2002::/16 */
        return classify_v4(v4_at(a + 2));
    if (has_prefix(a, nat64_local, 48))
        return SSRF_PRIVATE;
    if ((a[0] & 0xfe) == 0xfc)                          /* fc00::/7 */
        return SSRF_UNIQUE_LOCAL;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)          /* fe80::/10 */
        return SSRF_LINK_LOCAL;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)          /* fec0::/10 */
        return SSRF_PRIVATE;
    if (a[0] == 0xff)
        return SSRF_MULTICAST;
    if (has_prefix(a, teredo, 32) || has_prefix(a, doc, 32)
        || has_prefix(a, discard, 64))
        return SSRF_RESERVED;
    /* Only global unicast (2000::/3) is routed on the internet. */
    return (a[0] & 0xe0) == 0x20 ? SSRF_PUBLIC : SSRF_RESERVED;
}

enum ssrf_class
ssrf_classify(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return classify_v4(ntohl(((const struct sockaddr_in *) sa)
                                 ->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return classify_v6(((const struct sockaddr_in6 *) sa)
                           ->sin6_addr.s6_addr);
    return SSRF_RESERVED;
}

static int
parse_net(char *s, struct ssrf_net *net)
{
    char *slash = strchr(s, '/'), *end;
    long prefix;

    if (slash != NULL)
        *slash = '\0';
    if (inet_pton(AF_INET, s, net->addr) == 1)
        net->family = AF_INET, net->prefix = 32;
    else if (inet_pton(AF_INET6, s, net->addr) == 1)
        net->family = AF_INET6, net->prefix = 128;
    else
        return -1;
    if (slash == NULL)
        return 0;
    prefix = strtol(slash + 1, &end, 10);
    if (slash[1] == '\0' || *end != '\0' || prefix < 0
        || prefix > net->prefix)
        return -1;
    net->prefix = (int) prefix;
    return 0;
}

int
ssrf_allow_parse(const char *list, struct ssrf_allow *allow, char *err,
                 size_t errlen)
{
    char *copy = strdup(list), *tok, *save = NULL;
    struct ssrf_net *nets;

    allow->nets = NULL;
    allow->n = 0;
    snprintf(err, errlen, "out of memory");
    if (copy == NULL)
        goto failed;
    for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t", &save)) {
        nets = realloc(allow->nets, sizeof(*nets) * (size_t) (allow->n + 1));
        if (nets == NULL)
            goto failed;
        allow->nets = nets;
        if (parse_net(tok, &allow->nets[allow->n]) != 0) {
            snprintf(err, errlen, "import_allow: \"%s\" is not an address "
                     "or a network (address/prefix)", tok);
            goto failed;
        }
        allow->n++;
    }
    free(copy);
    *err = '\0';
    return 0;

failed:
    free(copy);
    ssrf_allow_free(allow);
    return -1;
}

void
ssrf_allow_free(struct ssrf_allow *allow)
{
    free(allow->nets);
    allow->nets = NULL;
    allow->n = 0;
}

/* An IPv4-mapped IPv6 address is matched as the IPv4 address it is. */
static bool
in_allow_list(const struct ssrf_allow *allow, const struct sockaddr *sa)
{
    static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
    const uint8_t *a;
    int family = sa->sa_family, i;

    if (family == AF_INET) {
        a = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
    } else {
        a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
        if (memcmp(a, mapped, 12) == 0)
            family = AF_INET, a += 12;
    }
    for (i = 0; i < allow->n; i++)
        if (allow->nets[i].family == family
            && has_prefix(a, allow->nets[i].addr, allow->nets[i].prefix))
            return true;
    return false;
}

bool
ssrf_permitted(const struct ssrf_allow *allow, const struct sockaddr *sa,
               enum ssrf_class *cls)
{
    *cls = ssrf_classify(sa);
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return false;
    return *cls == SSRF_PUBLIC || in_allow_list(allow, sa);
}

/* The address as text, for logs and error messages. */
void
ssrf_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    const void *a = sa->sa_family == AF_INET
        ? (const void *) &((const struct sockaddr_in *) sa)->sin_addr
        : (const void *) &((const struct sockaddr_in6 *) sa)->sin6_addr;

    if (inet_ntop(sa->sa_family, a, out, (socklen_t) len) == NULL)
        snprintf(out, len, "(address family %d)", sa->sa_family);
}
