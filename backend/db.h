/*
 * db.h: one PostgreSQL connection that reconnects by itself.
 *
 * Every thread of the worker owns one struct db.  A lost connection is
 * dropped and opened again on the next db_connect(), after a backoff the
 * caller waits out.  The process logs one line when the database goes away
 * and one when it is back, however many connections notice.
 */
#ifndef MEDIA_DB_H
#define MEDIA_DB_H

#include <stdbool.h>
#include <libpq-fe.h>

struct db {
    const char *conninfo;
    PGconn     *conn;
    int         failures;       /* consecutive failed connects */
    unsigned    era;            /* of the connection, see db.c */
};

void db_init(struct db *db, const char *conninfo);

/* Open the connection if it is not; 0 when usable. */
int db_connect(struct db *db) __attribute__((warn_unused_result));

void db_close(struct db *db);

/* How long to wait before the next db_connect() after a failure. */
long db_backoff_ms(const struct db *db);

/*
 * Run one statement with text parameters.  Returns the result when it
 * succeeded, else NULL: the error is logged, and a broken connection is
 * closed so that the next db_connect() opens a fresh one.
 */
PGresult *db_exec(struct db *db, const char *sql, int nparams,
                  const char *const *params)
    __attribute__((warn_unused_result));

/* Record a broken connection noticed outside db_exec (LISTEN socket). */
void db_lost(struct db *db, const char *why);

#endif
