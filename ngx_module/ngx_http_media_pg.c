/*
 * PostgreSQL on an nginx thread pool.
 *
 * Why threads rather than libpq's non-blocking mode on the event loop: the
 * module's queries are single calls of SQL functions, and a thread per
 * connection keeps each one a straight line (connect, prepare, execute,
 * reconnect) while the event loop only posts a task and takes its result.
 * The event loop never waits: a query stuck behind a row lock holds one
 * pool thread, not the nginx worker.
 *
 * Each pool thread owns one connection (thread-local), so the pool's
 * "threads=" is the per-worker connection count.  Statements are prepared
 * once per connection.  After a failed connect every thread and the event
 * loop see the database as down for a second, so a dead database costs a
 * fast 503 rather than a connect attempt per request.
 */

#include "ngx_http_media_pg.h"
#include "ngx_http_media_json.h"
#include "ngx_http_media_s3.h"

#include <libpq-fe.h>


#define NGX_HTTP_MEDIA_PG_STMTS         32
#define NGX_HTTP_MEDIA_PG_DOWN_SECONDS  1


typedef struct {
    PGconn       *conn;
    const char   *stmts[NGX_HTTP_MEDIA_PG_STMTS];
    ngx_uint_t    nstmts;
} ngx_http_media_pg_thread_t;


static void ngx_http_media_pg_thread_handler(void *data, ngx_log_t *log);
static PGconn *ngx_http_media_pg_connection(ngx_http_media_pg_query_t *q,
    ngx_log_t *log);
static void ngx_http_media_pg_disconnect(void);
static ngx_int_t ngx_http_media_pg_dead(PGconn *conn, PGresult *res);
static ngx_int_t ngx_http_media_pg_run_plain(ngx_http_media_pg_query_t *q,
    PGconn *conn, ngx_log_t *log);
static ngx_int_t ngx_http_media_pg_run_idempotent(
    ngx_http_media_pg_query_t *q, PGconn *conn, ngx_log_t *log);
static PGresult *ngx_http_media_pg_exec(PGconn *conn, const char *sql,
    int nparams, const char *const *params);
static void ngx_http_media_pg_take_result(ngx_http_media_pg_query_t *q,
    PGresult *res, ngx_log_t *log);
static char *ngx_http_media_pg_strdup(const char *s, ngx_str_t *out);
static void ngx_http_media_pg_event_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_media_pg_adopt(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q);


static __thread ngx_http_media_pg_thread_t  ngx_http_media_pg_thread;

/* the time until which the database is considered down */
static ngx_atomic_t  ngx_http_media_pg_down_until;


ngx_int_t
ngx_http_media_pg_init_conf(ngx_conf_t *cf, ngx_http_media_main_conf_t *mcf)
{
    u_char  *data, *last;
    size_t   len;

    if (mcf->pg_conninfo.len == 0) {
        return NGX_OK;
    }

    /*
     * A NUL-terminated copy for libpq; and libpq must not wait forever for
     * a server that does not answer.
     */
    len = mcf->pg_conninfo.len + sizeof(" connect_timeout=2");
    data = ngx_pnalloc(cf->pool, len);
    if (data == NULL) {
        return NGX_ERROR;
    }

    if (ngx_strlcasestrn(mcf->pg_conninfo.data,
                         mcf->pg_conninfo.data + mcf->pg_conninfo.len,
                         (u_char *) "connect_timeout", 15 - 1)
        == NULL)
    {
        last = ngx_sprintf(data, "%V connect_timeout=2%Z", &mcf->pg_conninfo);

    } else {
        last = ngx_sprintf(data, "%V%Z", &mcf->pg_conninfo);
    }

    mcf->pg_conninfo.data = data;
    mcf->pg_conninfo.len = last - 1 - data;

    mcf->pg_pool = ngx_thread_pool_add(cf, &mcf->pg_pool_name);
    if (mcf->pg_pool == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_http_media_pg_query_t *
ngx_http_media_pg_query(ngx_http_request_t *r, const char *sql,
    ngx_http_media_pg_done_pt done)
{
    ngx_http_media_pg_query_t  *q;

    q = ngx_pcalloc(r->pool, sizeof(ngx_http_media_pg_query_t));
    if (q == NULL) {
        return NULL;
    }

    q->sql = sql;
    q->done = done;
    q->request = r;
    q->mcf = ngx_http_get_module_main_conf(r, ngx_http_media_module);

    return q;
}


/*
 * Posts the query.  On NGX_OK the request is held (r->main->blocked) until
 * q->done() runs on the event loop; otherwise the caller answers now.
 */
ngx_int_t
ngx_http_media_pg_run(ngx_http_request_t *r, ngx_http_media_pg_query_t *q)
{
    ngx_thread_task_t  *task;

    if (q->mcf->pg_pool == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "media: no media_pg configured");
        q->status = NGX_HTTP_MEDIA_PG_FAILED;
        return NGX_DECLINED;
    }

    if ((ngx_atomic_uint_t) ngx_time() < ngx_http_media_pg_down_until) {
        q->status = NGX_HTTP_MEDIA_PG_UNAVAILABLE;
        return NGX_DECLINED;
    }

    task = ngx_thread_task_alloc(r->pool, 0);
    if (task == NULL) {
        q->status = NGX_HTTP_MEDIA_PG_FAILED;
        return NGX_DECLINED;
    }

    task->ctx = q;
    task->handler = ngx_http_media_pg_thread_handler;
    task->event.data = q;
    task->event.handler = ngx_http_media_pg_event_handler;

    if (ngx_thread_task_post(q->mcf->pg_pool, task) != NGX_OK) {
        /* the pool's queue is full: shed load rather than queue forever */
        q->status = NGX_HTTP_MEDIA_PG_UNAVAILABLE;
        return NGX_DECLINED;
    }

    r->main->blocked++;

    return NGX_OK;
}


/* Runs on a pool thread: no nginx pools, no request memory, only q. */
static void
ngx_http_media_pg_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_media_pg_query_t  *q = data;

    PGconn      *conn;
    ngx_int_t    rc;
    ngx_uint_t   attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        conn = ngx_http_media_pg_connection(q, log);
        if (conn == NULL) {
            q->status = NGX_HTTP_MEDIA_PG_UNAVAILABLE;
            return;
        }

        if (q->nheads && ngx_http_media_s3_record(q, conn, log) != NGX_OK) {
            if (PQstatus(conn) != CONNECTION_OK) {
                ngx_http_media_pg_disconnect();
                continue;
            }

            q->status = NGX_HTTP_MEDIA_PG_STORAGE;
            return;
        }

        rc = q->idem_key ? ngx_http_media_pg_run_idempotent(q, conn, log)
                         : ngx_http_media_pg_run_plain(q, conn, log);

        if (rc != NGX_AGAIN) {
            return;
        }

        /*
         * The connection was found dead (a restarted server) before the
         * statement reached a live backend: try once more on a fresh one.
         */
        ngx_http_media_pg_disconnect();
    }

    q->status = NGX_HTTP_MEDIA_PG_UNAVAILABLE;
}


/* NGX_AGAIN when the connection turned out dead before anything ran */
static ngx_int_t
ngx_http_media_pg_dead(PGconn *conn, PGresult *res)
{
    if (PQstatus(conn) != CONNECTION_OK
        && (res == NULL || PQresultErrorField(res, PG_DIAG_SQLSTATE) == NULL))
    {
        PQclear(res);
        return NGX_AGAIN;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_media_pg_run_plain(ngx_http_media_pg_query_t *q, PGconn *conn,
    ngx_log_t *log)
{
    PGresult  *res;

    res = ngx_http_media_pg_exec(conn, q->sql, q->nparams, q->params);
    if (ngx_http_media_pg_dead(conn, res) == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    ngx_http_media_pg_take_result(q, res, log);
    PQclear(res);

    return NGX_OK;
}


static const char  ngx_http_media_pg_idem_lock_sql[] =
    "SELECT pg_try_advisory_xact_lock("
    "hashtextextended($1 || ':' || $2, 0))";

static const char  ngx_http_media_pg_idem_lookup_sql[] =
    "SELECT status, body FROM media_idem_lookup($1::bigint, $2, $3::bytea)";

static const char  ngx_http_media_pg_idem_store_sql[] =
    "SELECT media_idem_store($1::bigint, $2, $3::bytea, $4::int, $5)";


/*
 * One transaction: hold the key (a second request with the same key while
 * this one runs gets 409, it never runs twice), replay a stored answer,
 * or run the query and store its answer.  An error answer is not stored:
 * it rolled back, and a retry may run again.
 */
static ngx_int_t
ngx_http_media_pg_run_idempotent(ngx_http_media_pg_query_t *q, PGconn *conn,
    ngx_log_t *log)
{
    u_char       status[NGX_INT_T_LEN + 1];
    PGresult    *res;
    const char  *params[5];

    res = PQexec(conn, "BEGIN");
    if (ngx_http_media_pg_dead(conn, res) == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        goto failed;
    }

    PQclear(res);

    params[0] = q->idem_tenant;
    params[1] = q->idem_key;
    params[2] = q->idem_hash;

    res = ngx_http_media_pg_exec(conn, ngx_http_media_pg_idem_lock_sql, 2,
                                 params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        goto failed;
    }

    if (PQgetvalue(res, 0, 0)[0] != 't') {
        q->status = NGX_HTTP_MEDIA_PG_APP_ERROR;
        q->http_status = NGX_HTTP_CONFLICT;
        (void) ngx_http_media_pg_strdup("A request with this "
                                        "Idempotency-Key is in progress",
                                        &q->message);
        (void) ngx_http_media_pg_strdup("IDEMPOTENCY_KEY_IN_PROGRESS",
                                        &q->code);
        goto rollback;
    }

    PQclear(res);

    res = ngx_http_media_pg_exec(conn, ngx_http_media_pg_idem_lookup_sql, 3,
                                 params);
    ngx_http_media_pg_take_result(q, res, log);

    if (q->status == NGX_HTTP_MEDIA_PG_OK) {
        /* a stored answer: status in value[0], body in value[1] */
        q->replay_status = ngx_atoi(q->value[0].data, q->value[0].len);
        free(q->value[0].data);
        q->value[0] = q->value[1];
        ngx_str_null(&q->value[1]);
        goto rollback;
    }

    if (q->status != NGX_HTTP_MEDIA_PG_NO_ROWS) {
        goto rollback;
    }

    PQclear(res);

    res = ngx_http_media_pg_exec(conn, q->sql, q->nparams, q->params);
    ngx_http_media_pg_take_result(q, res, log);

    if (q->status != NGX_HTTP_MEDIA_PG_OK || q->value[0].data == NULL) {
        goto rollback;
    }

    PQclear(res);

    *ngx_sprintf(status, "%ui", q->ok_status) = '\0';
    params[3] = (char *) status;
    params[4] = (char *) q->value[0].data;

    res = ngx_http_media_pg_exec(conn, ngx_http_media_pg_idem_store_sql, 5,
                                 params);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        goto failed;
    }

    PQclear(res);

    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        goto failed;
    }

    PQclear(res);

    return NGX_OK;

failed:

    ngx_http_media_pg_take_result(q, res, log);
    if (q->status == NGX_HTTP_MEDIA_PG_OK) {
        q->status = NGX_HTTP_MEDIA_PG_FAILED;
    }

rollback:

    PQclear(res);

    if (PQstatus(conn) == CONNECTION_OK) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }

    return NGX_OK;
}


static PGconn *
ngx_http_media_pg_connection(ngx_http_media_pg_query_t *q, ngx_log_t *log)
{
    char                         timeout[64];
    PGconn                      *conn;
    PGresult                    *res;
    ngx_http_media_pg_thread_t  *t = &ngx_http_media_pg_thread;

    if (t->conn && PQstatus(t->conn) == CONNECTION_OK) {
        return t->conn;
    }

    ngx_http_media_pg_disconnect();

    conn = PQconnectdb((char *) q->mcf->pg_conninfo.data);
    if (PQstatus(conn) != CONNECTION_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "media: database connect: %s",
                      PQerrorMessage(conn));
        PQfinish(conn);
        ngx_http_media_pg_down_until = time(NULL)
                                       + NGX_HTTP_MEDIA_PG_DOWN_SECONDS;
        return NULL;
    }

    ngx_snprintf((u_char *) timeout, sizeof(timeout),
                 "SET statement_timeout = %M%Z", q->mcf->pg_timeout);

    res = PQexec(conn, timeout);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "media: database setup: %s",
                      PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return NULL;
    }

    PQclear(res);

    ngx_http_media_pg_down_until = 0;
    t->conn = conn;

    return conn;
}


static void
ngx_http_media_pg_disconnect(void)
{
    ngx_http_media_pg_thread_t  *t = &ngx_http_media_pg_thread;

    if (t->conn) {
        PQfinish(t->conn);
        t->conn = NULL;
    }

    t->nstmts = 0;
}


/* Statements are prepared once per connection; sql strings are static. */
static PGresult *
ngx_http_media_pg_exec(PGconn *conn, const char *sql, int nparams,
    const char *const *params)
{
    char                         name[32];
    PGresult                    *res;
    ngx_uint_t                   i;
    ngx_http_media_pg_thread_t  *t = &ngx_http_media_pg_thread;

    for (i = 0; i < t->nstmts; i++) {
        if (t->stmts[i] == sql) {
            break;
        }
    }

    ngx_snprintf((u_char *) name, sizeof(name), "media_%ui%Z", i);

    if (i == t->nstmts) {
        if (i == NGX_HTTP_MEDIA_PG_STMTS) {
            return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL,
                                0);
        }

        res = PQprepare(conn, name, sql, nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            return res;
        }

        PQclear(res);
        t->stmts[t->nstmts++] = sql;
    }

    return PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
}


static void
ngx_http_media_pg_take_result(ngx_http_media_pg_query_t *q, PGresult *res,
    ngx_log_t *log)
{
    int          i, ncols;
    const char  *state;

    switch (PQresultStatus(res)) {

    case PGRES_TUPLES_OK:
        if (PQntuples(res) == 0) {
            q->status = NGX_HTTP_MEDIA_PG_NO_ROWS;
            return;
        }

        ncols = ngx_min(PQnfields(res), NGX_HTTP_MEDIA_PG_MAX_COLS);
        for (i = 0; i < ncols; i++) {
            if (!PQgetisnull(res, 0, i)
                && ngx_http_media_pg_strdup(PQgetvalue(res, 0, i),
                                            &q->value[i]) == NULL)
            {
                q->status = NGX_HTTP_MEDIA_PG_FAILED;
                return;
            }
        }

        q->status = NGX_HTTP_MEDIA_PG_OK;
        return;

    case PGRES_COMMAND_OK:
        q->status = NGX_HTTP_MEDIA_PG_OK;
        return;

    default:
        break;
    }

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (state && state[0] == 'M' && state[1] == 'D') {
        q->status = NGX_HTTP_MEDIA_PG_APP_ERROR;
        q->http_status = ngx_atoi((u_char *) state + 2, 3);
        (void) ngx_http_media_pg_strdup(
            PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), &q->message);
        (void) ngx_http_media_pg_strdup(
            PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), &q->code);
        return;
    }

    if (state && ngx_strcmp(state, "57014") == 0) {
        q->status = NGX_HTTP_MEDIA_PG_TIMEOUT;
        return;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0, "media: query failed: %s %s",
                  state ? state : "-", PQresultErrorMessage(res));

    /* class 08 (connection) and 57P0x (shutdown) mean the server went away */
    if (state && (ngx_strncmp(state, "08", 2) == 0
                  || ngx_strncmp(state, "57P0", 4) == 0))
    {
        ngx_http_media_pg_disconnect();
        q->status = NGX_HTTP_MEDIA_PG_UNAVAILABLE;
        return;
    }

    q->status = NGX_HTTP_MEDIA_PG_FAILED;
}


static char *
ngx_http_media_pg_strdup(const char *s, ngx_str_t *out)
{
    size_t  len;

    if (s == NULL) {
        return NULL;
    }

    len = ngx_strlen(s);

    out->data = malloc(len + 1);
    if (out->data == NULL) {
        return NULL;
    }

    ngx_memcpy(out->data, s, len + 1);
    out->len = len;

    return (char *) out->data;
}


/* Back on the event loop. */
static void
ngx_http_media_pg_event_handler(ngx_event_t *ev)
{
    ngx_http_media_pg_query_t  *q = ev->data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = q->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;

    if (ngx_http_media_pg_adopt(r, q) != NGX_OK) {
        q->status = NGX_HTTP_MEDIA_PG_FAILED;
    }

    q->done(r, q);

    ngx_http_run_posted_requests(c);
}


/* Moves the thread's malloc'ed strings into the request's pool. */
static ngx_int_t
ngx_http_media_pg_adopt(ngx_http_request_t *r, ngx_http_media_pg_query_t *q)
{
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t  *all[NGX_HTTP_MEDIA_PG_MAX_COLS + 2], *s;
    ngx_uint_t  i, n;

    n = 0;
    for (i = 0; i < NGX_HTTP_MEDIA_PG_MAX_COLS; i++) {
        all[n++] = &q->value[i];
    }
    all[n++] = &q->message;
    all[n++] = &q->code;

    rc = NGX_OK;

    for (i = 0; i < n; i++) {
        s = all[i];
        if (s->data == NULL) {
            continue;
        }

        p = ngx_pnalloc(r->pool, s->len + 1);
        if (p == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(p, s->data, s->len + 1);
        }

        free(s->data);
        s->data = p;
    }

    return rc;
}


/* The answer for a query that did not return what the caller needed. */
ngx_int_t
ngx_http_media_pg_send_failure(ngx_http_request_t *r,
    ngx_http_media_pg_query_t *q)
{
    ngx_table_elt_t  *h;

    switch (q->status) {

    case NGX_HTTP_MEDIA_PG_APP_ERROR:
        if (q->http_status < 400 || q->http_status > 599
            || q->message.data == NULL || q->code.data == NULL)
        {
            break;
        }

        return ngx_http_media_send_error(r, q->http_status,
                                         (char *) q->message.data,
                                         (char *) q->code.data);

    case NGX_HTTP_MEDIA_PG_UNAVAILABLE:
    case NGX_HTTP_MEDIA_PG_TIMEOUT:
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "2");

        if (q->status == NGX_HTTP_MEDIA_PG_TIMEOUT) {
            return ngx_http_media_send_error(r,
                       NGX_HTTP_SERVICE_UNAVAILABLE,
                       "Database query timed out", "DATABASE_TIMEOUT");
        }

        return ngx_http_media_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "Database unavailable",
                                         "DATABASE_UNAVAILABLE");

    case NGX_HTTP_MEDIA_PG_STORAGE:
        return ngx_http_media_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                         "Object store unavailable",
                                         "STORAGE_UNAVAILABLE");

    default:
        break;
    }

    return ngx_http_media_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "Internal error", "INTERNAL_ERROR");
}
