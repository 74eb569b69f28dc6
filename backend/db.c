/*
 * db.c: libpq connections with reconnect, backoff and quiet logging.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

enum db_state { DB_UNKNOWN, DB_UP, DB_DOWN };

/*
 * Shared by all connections so that a restart logs two lines, not 2N.  An
 * era is one stretch of the database being up.  An idle connection opened
 * in an earlier era finds out that it is dead only when next used, after
 * the database is back: that is old news, not a new outage.
 */
static _Atomic int db_state = DB_UNKNOWN;
static _Atomic unsigned db_era;

static void
note_state(enum db_state state, const char *why)
{
    int old = atomic_exchange(&db_state, state);

    if (old == (int) state)
        return;
    if (state == DB_UP) {
        atomic_fetch_add(&db_era, 1);
        log_info(old == DB_DOWN ? "database connection restored"
                                : "connected to database");
    } else {
        log_warn("database unavailable, retrying with backoff: %s", why);
    }
}

void
db_init(struct db *db, const char *conninfo)
{
    db->conninfo = conninfo;
    db->conn = NULL;
    db->failures = 0;
}

void
db_close(struct db *db)
{
    if (db->conn != NULL)
        PQfinish(db->conn);
    db->conn = NULL;
}

void
db_lost(struct db *db, const char *why)
{
    if (db->conn == NULL || db->era == atomic_load(&db_era))
        note_state(DB_DOWN, why);
    else
        log_debug("database: connection from before the last outage "
                  "closed: %s", why);
    db_close(db);
}

/* Server notices (a restart's "terminating connection") into our log. */
static void
log_notice(void *arg, const char *message)
{
    (void) arg;
    log_debug("database: %s", message);
}

int
db_connect(struct db *db)
{
    /* The user's conninfo comes last so its values override ours. */
    static const char *const keys[] = {
        "connect_timeout", "application_name", "keepalives_idle",
        "dbname", NULL
    };
    const char *values[] = { "10", "media-worker", "30", db->conninfo, NULL };

    if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    db_close(db);
    db->conn = PQconnectdbParams(keys, values, 1);
    if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
        db->failures++;
        note_state(DB_DOWN, db->conn ? PQerrorMessage(db->conn)
                                     : "out of memory");
        db_close(db);
        return -1;
    }
    PQsetNoticeProcessor(db->conn, log_notice, NULL);
    db->failures = 0;
    note_state(DB_UP, NULL);
    db->era = atomic_load(&db_era);
    return 0;
}

long
db_backoff_ms(const struct db *db)
{
    long ms = 250;
    int i;

    for (i = 1; i < db->failures && ms < 10000; i++)
        ms *= 2;
    if (ms > 10000)
        ms = 10000;
    /* Jitter, so that N threads do not reconnect in lockstep. */
    return ms / 2 + random() % (ms / 2 + 1);
}

PGresult *
db_exec(struct db *db, const char *sql, int nparams,
        const char *const *params)
{
    PGresult *res;
    ExecStatusType st;

    if (db->conn == NULL)
        return NULL;
    res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;

    if (PQstatus(db->conn) == CONNECTION_BAD) {
        db_lost(db, PQerrorMessage(db->conn));
    } else {
        log_error("query failed: %s", res ? PQresultErrorMessage(res)
                                          : PQerrorMessage(db->conn));
    }
    PQclear(res);
    return NULL;
}
