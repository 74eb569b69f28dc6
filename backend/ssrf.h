/*
 * ssrf.h: which addresses a URL import may connect to.
 *
 * The check runs on the address a socket is about to connect to (libcurl's
 * open-socket callback, for every connection, redirects included), never on
 * a host name, so DNS answers and address spellings (decimal, octal, hex,
 * IPv4-mapped IPv6) cannot smuggle a forbidden address through.  Only
 * public unicast addresses pass, plus the networks of the configured
 * allow-list.
 */
#ifndef MEDIA_SSRF_H
#define MEDIA_SSRF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum ssrf_class {
    SSRF_PUBLIC,
    SSRF_UNSPECIFIED,       /* 0.0.0.0/8, :: */
    SSRF_LOOPBACK,          /* 127.0.0.0/8, ::1 */
    SSRF_PRIVATE,           /* RFC 1918, fec0::/10, NAT64 local use */
    SSRF_SHARED,            /* 100.64.0.0/10, carrier-grade NAT */
    SSRF_LINK_LOCAL,        /* 169.254.0.0/16 (cloud metadata), fe80::/10 */
    SSRF_UNIQUE_LOCAL,      /* fc00::/7 */
    SSRF_MULTICAST,         /* 224.0.0.0/4, ff00::/8 */
    SSRF_RESERVED,          /* documentation, benchmarking, 240/4, ... */
};

struct ssrf_net {
    int     family;         /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int     prefix;
};

struct ssrf_allow {
    struct ssrf_net *nets;
    int              n;
};

/* "127.0.0.1/32, ::1/128, 10.1.0.0/16"; a bare address is one host. */
int ssrf_allow_parse(const char *list, struct ssrf_allow *allow, char *err,
                     size_t errlen) __attribute__((warn_unused_result));
void ssrf_allow_free(struct ssrf_allow *allow);

enum ssrf_class ssrf_classify(const struct sockaddr *sa);
const char *ssrf_class_name(enum ssrf_class c);
void ssrf_format_addr(const struct sockaddr *sa, char *out, size_t len);

/* May we connect to sa?  *cls gets its class either way. */
bool ssrf_permitted(const struct ssrf_allow *allow, const struct sockaddr *sa,
                    enum ssrf_class *cls);

#endif
