/*
 * config_test.c: the worker's configuration file parser.
 */
#include <stdlib.h>

#include "config.h"
#include "unit.h"

static int
parse(const char *text, struct config *cfg, char *err, size_t errlen)
{
    return config_parse(cfg, text, "test.conf", err, errlen);
}

static void
check_defaults(void)
{
    struct config cfg;
    char err[256];

    CHECK(parse("database = dbname=media\nstore_root = /srv/store\n", &cfg,
                err, sizeof(err)) == 0);
    CHECK_STR(cfg.database, "dbname=media");
    CHECK_STR(cfg.store_root, "/srv/store");
    CHECK(cfg.concurrency == 2);
    CHECK(cfg.lease_seconds == 60);
    CHECK(cfg.poll_seconds == 5);
    CHECK(cfg.max_pixels == 100000000);
    CHECK(cfg.max_file_size == 104857600);
    CHECK(cfg.max_video_seconds == 180);
    CHECK(cfg.optimize_timeout == 120);
    CHECK(cfg.webp_quality == 80);
    CHECK_STR(cfg.import_allow, "");
    CHECK(cfg.worker_id != NULL && strchr(cfg.worker_id, ':') != NULL);
    config_free(&cfg);
}

static void
check_values(void)
{
    struct config cfg;
    char err[256];
    const char *text =
        "# a comment line\n"
        "\n"
        "   database   =  host=127.0.0.1 port=5 dbname=media   \n"
        "store_root=/tmp/x # trailing comment\n"
        "concurrency = 8\n"
        "lease_seconds = 9\n"
        "worker_id = host-a:1\n"
        "import_allow = 127.0.0.1/32, 10.0.0.0/8\n"
        "webp_quality = 75\n"
        "optimize_timeout = 30\n";

    CHECK(parse(text, &cfg, err, sizeof(err)) == 0);
    CHECK_STR(cfg.database, "host=127.0.0.1 port=5 dbname=media");
    CHECK_STR(cfg.store_root, "/tmp/x");
    CHECK(cfg.concurrency == 8);
    CHECK(cfg.lease_seconds == 9);
    CHECK_STR(cfg.worker_id, "host-a:1");
    CHECK_STR(cfg.import_allow, "127.0.0.1/32, 10.0.0.0/8");
    CHECK(cfg.webp_quality == 75);
    CHECK(cfg.optimize_timeout == 30);
    config_free(&cfg);
}

/* Each bad file fails with a message naming the line and the problem. */
static void
check_errors(void)
{
    static const struct { const char *text, *want; } bad[] = {
        { "database = x\nstore_root = y\nbogus = 1\n",
          "test.conf:3: unknown key \"bogus\"" },
        { "database = x\nconcurrency = 0\n",
          "test.conf:2: concurrency must be an integer from 1 to 64" },
        { "concurrency = 2x\n",
          "test.conf:1: concurrency must be an integer from 1 to 64" },
        { "max_pixels = 0x10\n",
          "test.conf:1: max_pixels must be an integer from 1 to "
          "1099511627776" },
        { "webp_quality = 101\n",
          "test.conf:1: webp_quality must be an integer from 1 to 100" },
        { "optimize_timeout = 0\n",
          "test.conf:1: optimize_timeout must be an integer from 1 to 3600" },
        { "lease_seconds =\n",
          "test.conf:1: lease_seconds must be an integer from 1 to 86400" },
        { "just words\n", "test.conf:1: expected \"key = value\"" },
        { "log_level = loud\n", "test.conf:1: bad value for log_level: "
          "\"loud\"" },
        { "store_root = /x\n", "test.conf: database is required" },
        { "database = x\n", "test.conf: store_root is required" },
    };
    struct config cfg;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(parse(bad[i].text, &cfg, err, sizeof(err)) == -1);
        CHECK_STR(err, bad[i].want);
    }
}

static void
check_missing_file(void)
{
    struct config cfg;
    char err[256];

    CHECK(config_load(&cfg, "/nonexistent/worker.conf", err,
                      sizeof(err)) == -1);
    CHECK_STR(err, "/nonexistent/worker.conf: No such file or directory");
}

int
main(void)
{
    check_defaults();
    check_values();
    check_errors();
    check_missing_file();
    return unit_done("config");
}
