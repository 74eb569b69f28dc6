/*
 * admin.c: media-admin, the operator's command line.
 *
 *   media-admin [-d conninfo] tenant create <name>
 *   media-admin [-d conninfo] tenant list
 *   media-admin [-d conninfo] key create <tenant_id>
 *   media-admin [-d conninfo] key revoke <prefix | key id | key>
 *   media-admin [-d conninfo] key list [tenant_id]
 *   media-admin [-d conninfo] jobs list [queued|running|done|failed]
 *   media-admin [-d conninfo] jobs show <job id>
 *   media-admin [-d conninfo] jobs retry <job id>
 *   media-admin [-d conninfo] plan show <tenant_id>
 *   media-admin [-d conninfo] plan set <tenant_id> images_per_property=<n>
 *                                      import_budget_monthly=<n>
 *   media-admin [-d conninfo] webhook add <tenant_id> <url> [--secret <s>]
 *   media-admin [-d conninfo] webhook list [tenant_id]
 *   media-admin [-d conninfo] webhook remove <endpoint id>
 *   media-admin [-d conninfo] webhook events [pending|delivered|failed]
 *
 * The connection comes from -d or MEDIA_DATABASE_URL.  Exit status: 0 done,
 * 1 error (with a message on stderr), 2 usage.  Plain blocking libpq is
 * right here: one short command, nothing else to serve.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define KEY_RANDOM_BYTES 32
#define KEY_PREFIX_LEN   11     /* "mk_" and 8 characters */
#define URL_MAX          2048
#define SECRET_MIN       16     /* webhook_endpoints.secret */
#define SECRET_MAX       200

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

struct command {
    const char *noun, *verb;
    int         min_args, max_args;
    int       (*run)(PGconn *conn, char **args, int nargs);
};

static void
usage(FILE *out)
{
    fputs("usage: media-admin [-d conninfo] <command>\n"
          "  tenant create <name>\n"
          "  tenant list\n"
          "  key create <tenant_id>\n"
          "  key revoke <prefix | key id | key>\n"
          "  key list [tenant_id]\n"
          "  jobs list [queued|running|done|failed]\n"
          "  jobs show <job id>\n"
          "  jobs retry <job id>\n"
          "  plan show <tenant_id>\n"
          "  plan set <tenant_id> [images_per_property=<n>] "
          "[import_budget_monthly=<n>]\n"
          "  webhook add <tenant_id> <url> [--secret <secret>]\n"
          "  webhook list [tenant_id]\n"
          "  webhook remove <endpoint id>\n"
          "  webhook events [pending|delivered|failed]\n"
          "The connection string comes from -d or MEDIA_DATABASE_URL.\n",
          out);
}

static bool
is_id(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 18)
        return false;
    for (i = 0; i < n; i++)
        if (!isdigit((unsigned char) s[i]))
            return false;
    return true;
}

/* A numeric id argument, or a message saying what it should have been. */
static bool
check_id(const char *arg, const char *what)
{
    if (is_id(arg))
        return true;
    fprintf(stderr, "media-admin: %s id must be a number\n", what);
    return false;
}

/* Run a statement; on failure print the server's message and return NULL. */
static PGresult *
query(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    fprintf(stderr, "media-admin: %s", PQresultErrorMessage(res));
    PQclear(res);
    return NULL;
}

/* Columns aligned under their names; NULL prints as "-". */
static void
print_table(PGresult *res)
{
    int rows = PQntuples(res), cols = PQnfields(res), r, c, w, width[32];
    const char *v;

    for (c = 0; c < cols && c < 32; c++) {
        width[c] = (int) strlen(PQfname(res, c));
        for (r = 0; r < rows; r++)
            if ((w = PQgetlength(res, r, c)) > width[c])
                width[c] = w;
    }
    for (r = -1; r < rows; r++) {
        for (c = 0; c < cols && c < 32; c++) {
            v = r < 0 ? PQfname(res, c)
                : PQgetisnull(res, r, c) ? "-" : PQgetvalue(res, r, c);
            if (c + 1 < cols)
                printf("%-*s  ", width[c], v);
            else
                printf("%s\n", v);
        }
    }
}

static int
print_query(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = query(conn, sql, n, params);

    if (res == NULL)
        return EXIT_ERROR;
    print_table(res);
    PQclear(res);
    return EXIT_OK;
}

/* One row as "name: value" lines. */
static void
print_record(PGresult *res)
{
    int c;

    for (c = 0; c < PQnfields(res); c++)
        printf("%-15s %s\n", PQfname(res, c),
               PQgetisnull(res, 0, c) ? "-" : PQgetvalue(res, 0, c));
}

/* Print the single value of a one-row result (or the whole row, with
 * record), or complain with missing. */
static int
print_one(PGconn *conn, const char *sql, int n, const char *const *params,
          const char *missing, bool record)
{
    PGresult *res = query(conn, sql, n, params);
    int rc = EXIT_ERROR;

    if (res == NULL)
        return EXIT_ERROR;
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        if (record)
            print_record(res);
        else
            printf("%s\n", PQgetvalue(res, 0, 0));
        rc = EXIT_OK;
    } else {
        fprintf(stderr, "media-admin: %s\n", missing);
    }
    PQclear(res);
    return rc;
}

static int
tenant_create(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { args[0] };

    (void) nargs;
    return print_one(conn, "INSERT INTO tenants (name) VALUES ($1) "
                           "RETURNING id", 1, params, "no tenant created",
                     false);
}

static int
tenant_list(PGconn *conn, char **args, int nargs)
{
    (void) args, (void) nargs;
    return print_query(conn, "SELECT t.id, t.name, t.created_at, "
                             "(SELECT count(*) FROM api_keys k WHERE "
                             "k.tenant_id = t.id AND k.revoked_at IS NULL) "
                             "AS active_keys FROM tenants t ORDER BY t.id",
                       0, NULL);
}

/* SHA-256 of the key as a bytea literal in hex: \x + 64 digits. */
static int
key_hash_hex(const char *key, char out[2 + 64 + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len, i;

    if (EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL) != 1
        || len != 32)
        return -1;
    strcpy(out, "\\x");
    for (i = 0; i < len; i++)
        sprintf(out + 2 + 2 * i, "%02x", md[i]);
    return 0;
}

/* prefix + 43 characters: 32 random bytes in unpadded base64url.  out
 * has room for the prefix and 44 characters. */
static int
random_token(const char *prefix, char *out, size_t outlen)
{
    unsigned char raw[KEY_RANDOM_BYTES];
    char b64[45];
    int i, n;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    n = EVP_EncodeBlock((unsigned char *) b64, raw, sizeof(raw));
    while (n > 0 && b64[n - 1] == '=')
        n--;
    for (i = 0; i < n; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    b64[n] = '\0';
    snprintf(out, outlen, "%s%s", prefix, b64);
    return 0;
}

/* mk_ + 43 characters. */
static int
key_generate(char key[3 + 44 + 1])
{
    return random_token("mk_", key, 3 + 44 + 1);
}

static int
key_create(PGconn *conn, char **args, int nargs)
{
    char key[48], hash[67], prefix[KEY_PREFIX_LEN + 1];
    const char *params[3] = { args[0], hash, prefix };
    PGresult *res;
    int rc = EXIT_ERROR;

    (void) nargs;
    if (!check_id(args[0], "tenant"))
        return EXIT_USAGE;
    if (key_generate(key) != 0 || key_hash_hex(key, hash) != 0) {
        fprintf(stderr, "media-admin: cannot generate a key (OpenSSL)\n");
        return EXIT_ERROR;
    }
    memcpy(prefix, key, KEY_PREFIX_LEN);
    prefix[KEY_PREFIX_LEN] = '\0';
    res = query(conn, "INSERT INTO api_keys (tenant_id, key_hash, prefix) "
                      "SELECT id, $2::bytea, $3 FROM tenants WHERE id = $1 "
                      "RETURNING id", 3, params);
    if (res == NULL)
        return EXIT_ERROR;
    if (PQntuples(res) == 1) {
        /* The key alone on stdout, for scripts; the rest on stderr. */
        printf("%s\n", key);
        fprintf(stderr, "media-admin: key %s (prefix %s) for tenant %s; "
                "it is shown only this once\n", PQgetvalue(res, 0, 0),
                prefix, args[0]);
        rc = EXIT_OK;
    } else {
        fprintf(stderr, "media-admin: no tenant %s\n", args[0]);
    }
    PQclear(res);
    return rc;
}

/* The one key meant by an id, a whole key or a prefix. */
static int
key_find(PGconn *conn, const char *arg, char *id, size_t idlen)
{
    char hash[67];
    const char *params[1] = { arg };
    const char *sql = "SELECT id FROM api_keys WHERE prefix = $1";
    PGresult *res;
    int rc = EXIT_ERROR;

    if (is_id(arg)) {
        sql = "SELECT id FROM api_keys WHERE id = $1";
    } else if (strncmp(arg, "mk_", 3) == 0 && strlen(arg) > KEY_PREFIX_LEN) {
        if (key_hash_hex(arg, hash) != 0)
            return EXIT_ERROR;
        params[0] = hash;
        sql = "SELECT id FROM api_keys WHERE key_hash = $1::bytea";
    }
    res = query(conn, sql, 1, params);
    if (res == NULL)
        return EXIT_ERROR;
    if (PQntuples(res) == 1) {
        snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
        rc = EXIT_OK;
    } else if (PQntuples(res) == 0) {
        fprintf(stderr, "media-admin: no such key\n");
    } else {
        fprintf(stderr, "media-admin: prefix %s matches %d keys; give the "
                "key id (media-admin key list)\n", arg, PQntuples(res));
    }
    PQclear(res);
    return rc;
}

static int
key_revoke(PGconn *conn, char **args, int nargs)
{
    char id[24];
    const char *params[1] = { id };

    (void) nargs;
    if (key_find(conn, args[0], id, sizeof(id)) != EXIT_OK)
        return EXIT_ERROR;
    /* Revoking twice keeps the first time. */
    return print_query(conn, "UPDATE api_keys SET revoked_at = "
                             "COALESCE(revoked_at, now()) WHERE id = $1 "
                             "RETURNING id, tenant_id, prefix, revoked_at",
                       1, params);
}

static int
key_list(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { nargs > 0 ? args[0] : NULL };

    if (nargs > 0 && !check_id(args[0], "tenant"))
        return EXIT_USAGE;
    return print_query(conn, "SELECT id, tenant_id, prefix, created_at, "
                             "revoked_at FROM api_keys WHERE $1::bigint IS "
                             "NULL OR tenant_id = $1 ORDER BY id", 1, params);
}

/* Is s one of the NULL-terminated list? */
static bool
one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static int
jobs_list(PGconn *conn, char **args, int nargs)
{
    static const char *const states[] = {
        "queued", "running", "done", "failed", NULL
    };
    const char *params[1] = { nargs > 0 ? args[0] : NULL };

    if (nargs > 0 && !one_of(args[0], states)) {
        fprintf(stderr, "media-admin: state must be queued, running, done "
                "or failed\n");
        return EXIT_USAGE;
    }
    return print_query(conn,
        "SELECT id, kind, state, tenant_id AS tenant, media_id AS media, "
        "attempts || '/' || max_attempts AS attempts, "
        "to_char(run_at, 'YYYY-MM-DD HH24:MI:SS') AS run_at, locked_by, "
        "left(last_error, 60) AS last_error FROM jobs "
        "WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC LIMIT 500",
        1, params);
}

static int
jobs_show(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { args[0] };
    PGresult *res;

    (void) nargs;
    if (!check_id(args[0], "job"))
        return EXIT_USAGE;
    res = query(conn, "SELECT j.id, j.kind, j.state, j.tenant_id, "
                      "j.media_id, j.payload, j.attempts, j.max_attempts, "
                      "j.run_at, j.locked_by, j.locked_until, j.last_error, "
                      "j.created_at, j.finished_at, m.optimization, "
                      "m.failure_code, m.failure_reason FROM jobs j "
                      "LEFT JOIN media m ON m.id = j.media_id "
                      "WHERE j.id = $1", 1, params);
    if (res == NULL)
        return EXIT_ERROR;
    if (PQntuples(res) == 0) {
        fprintf(stderr, "media-admin: no job %s\n", args[0]);
        PQclear(res);
        return EXIT_ERROR;
    }
    print_record(res);
    PQclear(res);
    printf("\n");
    return print_query(conn, "SELECT attempt, worker, started_at, "
                             "finished_at, outcome, error FROM job_attempts "
                             "WHERE job_id = $1 ORDER BY attempt", 1, params);
}

static int
jobs_retry(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { args[0] };
    PGresult *res;
    int rc = EXIT_ERROR;

    (void) nargs;
    if (!check_id(args[0], "job"))
        return EXIT_USAGE;
    res = query(conn, "SELECT media_job_requeue($1), "
                      "(SELECT state FROM jobs WHERE id = $1)", 1, params);
    if (res == NULL)
        return EXIT_ERROR;
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        printf("job %s queued again\n", args[0]);
        rc = EXIT_OK;
    } else if (PQgetisnull(res, 0, 1)) {
        fprintf(stderr, "media-admin: no job %s\n", args[0]);
    } else {
        fprintf(stderr, "media-admin: job %s is %s; only a failed job can "
                "be retried\n", args[0], PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

/* Plans ---------------------------------------------------------------- */

static int
plan_show(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { args[0] };

    (void) nargs;
    if (!check_id(args[0], "tenant"))
        return EXIT_USAGE;
    return print_one(conn,
        "SELECT t.id AS tenant, t.name, t.images_per_property, "
        "t.import_budget_monthly, (SELECT count(*) FROM media m "
        "WHERE m.tenant_id = t.id AND m.source_url IS NOT NULL "
        "AND m.created_at >= date_trunc('month', now())) "
        "AS imports_this_month FROM tenants t WHERE t.id = $1",
        1, params, "no such tenant", true);
}

/* "name=<n>" with n in [min, max] into value; false with a message. */
static bool
plan_limit(const char *arg, const char *name, long min, long max,
           char *value, size_t len)
{
    size_t n = strlen(name);
    const char *v = arg + n + 1;
    long x;

    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return false;
    x = is_id(v) ? strtol(v, NULL, 10) : -1;
    if (x < min || x > max) {
        fprintf(stderr, "media-admin: %s must be a number from %ld to %ld\n",
                name, min, max);
        return false;
    }
    snprintf(value, len, "%ld", x);
    return true;
}

static int
plan_set(PGconn *conn, char **args, int nargs)
{
    char images[24], budget[24];
    const char *params[3] = { args[0], NULL, NULL };
    int i;

    if (!check_id(args[0], "tenant"))
        return EXIT_USAGE;
    for (i = 1; i < nargs; i++) {
        if (plan_limit(args[i], "images_per_property", 1, 1000, images,
                       sizeof(images)))
            params[1] = images;
        else if (plan_limit(args[i], "import_budget_monthly", 0, 2147483647,
                            budget, sizeof(budget)))
            params[2] = budget;
        else {
            fprintf(stderr, "media-admin: expected images_per_property=<n> "
                    "or import_budget_monthly=<n>, not \"%s\"\n", args[i]);
            return EXIT_USAGE;
        }
    }
    return print_one(conn,
        "UPDATE tenants SET "
        "images_per_property = COALESCE($2::int, images_per_property), "
        "import_budget_monthly = COALESCE($3::int, import_budget_monthly) "
        "WHERE id = $1 RETURNING id AS tenant, name, images_per_property, "
        "import_budget_monthly", 3, params, "no such tenant", true);
}

/* Webhooks ------------------------------------------------------------- */

/* http(s)://, printable ASCII without spaces; the worker checks the rest
 * (the address) on every delivery. */
static bool
check_url(const char *url)
{
    size_t i, n = strlen(url);

    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        || n > URL_MAX)
        goto failed;
    for (i = 0; i < n; i++)
        if (url[i] <= ' ' || url[i] >= 0x7f)
            goto failed;
    return true;

failed:
    fprintf(stderr, "media-admin: the URL must be http:// or https://, at "
            "most %d characters, without spaces\n", URL_MAX);
    return false;
}

static bool
check_secret(const char *secret)
{
    size_t i, n = strlen(secret);

    for (i = 0; i < n; i++)
        if (secret[i] <= ' ' || secret[i] >= 0x7f)
            break;
    if (n >= SECRET_MIN && n <= SECRET_MAX && i == n)
        return true;
    fprintf(stderr, "media-admin: a secret has %d to %d printable ASCII "
            "characters, without spaces\n", SECRET_MIN, SECRET_MAX);
    return false;
}

/* webhook add <tenant> <url> [--secret <s>]: the secret is generated
 * (whsec_ + 43 characters) unless given, and printed. */
static int
webhook_add(PGconn *conn, char **args, int nargs)
{
    char secret[6 + 44 + 1];
    const char *params[3] = { args[0], args[1], secret };

    if (nargs == 3 || (nargs == 4 && strcmp(args[2], "--secret") != 0)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!check_id(args[0], "tenant") || !check_url(args[1])
        || (nargs == 4 && !check_secret(args[3])))
        return EXIT_USAGE;
    if (nargs == 4) {
        params[2] = args[3];
    } else if (random_token("whsec_", secret, sizeof(secret)) != 0) {
        fprintf(stderr, "media-admin: cannot generate a secret (OpenSSL)\n");
        return EXIT_ERROR;
    }
    return print_one(conn,
        "INSERT INTO webhook_endpoints (tenant_id, url, secret) "
        "SELECT id, $2, $3 FROM tenants WHERE id = $1 "
        "RETURNING id, tenant_id AS tenant, url, secret",
        3, params, "no such tenant", true);
}

static int
webhook_list(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { nargs > 0 ? args[0] : NULL };

    if (nargs > 0 && !check_id(args[0], "tenant"))
        return EXIT_USAGE;
    return print_query(conn,
        "SELECT e.id, e.tenant_id AS tenant, e.url, "
        "to_char(e.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created_at, "
        "to_char(e.disabled_at, 'YYYY-MM-DD HH24:MI:SS') AS removed_at, "
        "count(v.id) FILTER (WHERE v.state = 'pending') AS pending, "
        "count(v.id) FILTER (WHERE v.state = 'delivered') AS delivered, "
        "count(v.id) FILTER (WHERE v.state = 'failed') AS failed "
        "FROM webhook_endpoints e "
        "LEFT JOIN webhook_events v ON v.endpoint_id = e.id "
        "WHERE $1::bigint IS NULL OR e.tenant_id = $1 "
        "GROUP BY e.id ORDER BY e.id", 1, params);
}

static int
webhook_remove(PGconn *conn, char **args, int nargs)
{
    const char *params[1] = { args[0] };
    PGresult *res;
    int rc = EXIT_ERROR;

    (void) nargs;
    if (!check_id(args[0], "endpoint"))
        return EXIT_USAGE;
    res = query(conn, "SELECT media_webhook_remove($1)", 1, params);
    if (res == NULL)
        return EXIT_ERROR;
    if (PQgetisnull(res, 0, 0)) {
        fprintf(stderr, "media-admin: no endpoint %s\n", args[0]);
    } else {
        printf("endpoint %s removed; %s pending event(s) dropped\n", args[0],
               PQgetvalue(res, 0, 0));
        rc = EXIT_OK;
    }
    PQclear(res);
    return rc;
}

static int
webhook_events(PGconn *conn, char **args, int nargs)
{
    static const char *const states[] = {
        "pending", "delivered", "failed", NULL
    };
    const char *params[1] = { nargs > 0 ? args[0] : NULL };

    if (nargs > 0 && !one_of(args[0], states)) {
        fprintf(stderr, "media-admin: state must be pending, delivered or "
                "failed\n");
        return EXIT_USAGE;
    }
    return print_query(conn,
        "SELECT id, tenant_id AS tenant, endpoint_id AS endpoint, event, "
        "state, attempts, "
        "to_char(next_at, 'YYYY-MM-DD HH24:MI:SS') AS next_at, "
        "to_char(delivered_at, 'YYYY-MM-DD HH24:MI:SS') AS delivered_at, "
        "left(last_error, 60) AS last_error FROM webhook_events "
        "WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC LIMIT 500",
        1, params);
}

static const struct command commands[] = {
    { "tenant", "create", 1, 1, tenant_create },
    { "tenant", "list",   0, 0, tenant_list },
    { "key",    "create", 1, 1, key_create },
    { "key",    "revoke", 1, 1, key_revoke },
    { "key",    "list",   0, 1, key_list },
    { "jobs",   "list",   0, 1, jobs_list },
    { "jobs",   "show",   1, 1, jobs_show },
    { "jobs",   "retry",  1, 1, jobs_retry },
    { "plan",   "show",   1, 1, plan_show },
    { "plan",   "set",    2, 3, plan_set },
    { "webhook", "add",   2, 4, webhook_add },
    { "webhook", "list",  0, 1, webhook_list },
    { "webhook", "remove", 1, 1, webhook_remove },
    { "webhook", "events", 0, 1, webhook_events },
};

static const struct command *
find_command(int argc, char **argv)
{
    size_t i;
    int nargs = argc - 2;

    if (argc < 2)
        return NULL;
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[0], commands[i].noun) == 0
            && strcmp(argv[1], commands[i].verb) == 0
            && nargs >= commands[i].min_args
            && nargs <= commands[i].max_args)
            return &commands[i];
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *conninfo = getenv("MEDIA_DATABASE_URL");
    const struct command *cmd;
    PGconn *conn;
    int c, rc;

    while ((c = getopt(argc, argv, "+d:h")) != -1) {
        switch (c) {
        case 'd':
            conninfo = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    cmd = find_command(argc - optind, argv + optind);
    if (cmd == NULL || conninfo == NULL || *conninfo == '\0') {
        if (cmd != NULL)
            fprintf(stderr, "media-admin: no database: use -d or "
                    "MEDIA_DATABASE_URL\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "media-admin: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return EXIT_ERROR;
    }
    rc = cmd->run(conn, argv + optind + 2, argc - optind - 2);
    PQfinish(conn);
    return rc;
}
