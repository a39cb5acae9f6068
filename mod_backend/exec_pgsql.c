/*
 * exec_pgsql.c - the PostgreSQL executor, on the PGconn of a connection
 * opened by apr_dbd's pgsql driver.  Statements are prepared once per
 * server session and reused; results come back as text and are rendered
 * by the type oid of each column.
 *
 * State of the process here: the batches (one per database, a mutex and
 * a leader per batch) that send concurrent statements on one connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "exec.h"

static be_dbrc_e kind_of_state(const char *st, PGconn *conn)
{
    if (!st || !*st) {
        return PQstatus(conn) == CONNECTION_OK ? BE_DB_ERROR
                                               : BE_DB_UNAVAILABLE;
    }
    if (strcmp(st, "23505") == 0 || strcmp(st, "23503") == 0) {
        return BE_DB_CONFLICT;
    }
    if (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0) {
        return BE_DB_INVALID; /* not null, check, bad input, range */
    }
    /* undefined column or table, or a cached plan whose result type
     * changed: the schema is not the one read at startup */
    if (strcmp(st, "42703") == 0 || strcmp(st, "42P01") == 0
        || strcmp(st, "0A000") == 0) {
        return BE_DB_SCHEMA;
    }
    if (strcmp(st, "42P10") == 0) {
        return BE_DB_NO_UNIQUE; /* no constraint matches ON CONFLICT */
    }
    if (strcmp(st, "42501") == 0) {
        return BE_DB_FORBIDDEN; /* a grant or an RLS policy refused it */
    }
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57", 2) == 0
        || strncmp(st, "53", 2) == 0 || strcmp(st, "40001") == 0
        || strcmp(st, "40P01") == 0) {
        return BE_DB_UNAVAILABLE; /* connection, shutdown, resources */
    }
    return BE_DB_ERROR;
}

static be_dbrc_e fail(be_dberr_t *err, apr_pool_t *p, PGconn *conn,
                      PGresult *res)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);

    err->rc = kind_of_state(st, conn);
    err->detail = NULL;
    err->status = 0;
    err->constraint = NULL;
    if (st
        && (strcmp(st, "P0001") == 0
            || (st[0] == 'P' && st[1] == 'T' && st[2] == '4'))) {
        /* RAISE EXCEPTION in the site's SQL; ERRCODE 'PT4xx' chooses the
         * status, as PostgREST has it */
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        int status = st[1] == 'T' ? atoi(st + 2) : 400;
        be_exec_raised(err, p, primary, status);
        err->sqlstate = apr_pstrdup(p, st);
        err->message = err->detail;
        PQclear(res);
        return BE_DB_RAISED;
    }
    if (st && strcmp(st, "23505") == 0) {
        err->detail = BE_DETAIL_UNIQUE;
    }
    else if (st && strcmp(st, "23503") == 0) {
        err->detail = BE_DETAIL_FOREIGN;
    }
    else if (st && strcmp(st, "23502") == 0) {
        err->detail = BE_DETAIL_NOTNULL;
    }
    else if (st && strcmp(st, "23514") == 0) {
        const char *name = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        err->detail = BE_DETAIL_CHECK;
        err->constraint = name ? apr_pstrdup(p, name) : NULL;
    }
    else if (err->rc == BE_DB_INVALID) {
        err->detail = BE_DETAIL_DATA;
    }
    else if (err->rc == BE_DB_UNAVAILABLE) {
        err->detail = BE_DETAIL_UNAVAILABLE;
    }
    else if (err->rc == BE_DB_SCHEMA) {
        err->detail = BE_DETAIL_SCHEMA;
    }
    err->sqlstate = apr_pstrdup(p, st ? st : "");
    err->message = apr_pstrdup(p, msg && *msg ? msg : PQerrorMessage(conn));
    if (res) {
        PQclear(res);
    }
    return err->rc;
}

static void *pg_open(apr_pool_t *p, const char *params, const char **err)
{
    PGconn *conn = PQconnectdb(params);

    if (PQstatus(conn) != CONNECTION_OK) {
        *err = apr_psprintf(p, "cannot connect to PostgreSQL: %s",
                            PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static void pg_close(void *native)
{
    PQfinish(native);
}

/* NOTICEs (CREATE ... IF NOT EXISTS, a migration's RAISE NOTICE) are not
 * for httpd's console. */
static void no_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void *pg_open_rw(apr_pool_t *p, const char *params, const char **err)
{
    PGconn *conn = pg_open(p, params, err);

    if (conn) {
        PQsetNoticeProcessor(conn, no_notices, NULL);
    }
    return conn;
}

/* The script split as PostgreSQL would split it (be_script_next), each
 * statement sent alone so that a failure names its own. */
static be_dbrc_e pg_script(void *native, apr_pool_t *p, const char *sql,
                           int in_tx, const char **first, apr_size_t *at,
                           apr_size_t *len, be_dberr_t *err)
{
    PGconn *conn = native;
    apr_size_t pos = 0, n = strlen(sql), a, b;

    while (be_script_next(sql, n, &pos, &a, &b)) {
        const char *one = apr_pstrmemdup(p, sql + a, b - a);
        PGresult *res;
        ExecStatusType t;

        *at = a;
        *len = b - a;
        if (in_tx && be_exec_refuse_tx(p, one, b - a, err)) {
            return BE_DB_ERROR;
        }
        res = PQexec(conn, one);
        t = PQresultStatus(res);
        if (t == PGRES_COPY_IN || t == PGRES_COPY_OUT
            || t == PGRES_COPY_BOTH) {
            PQclear(res);
            err->rc = BE_DB_ERROR;
            err->detail = err->sqlstate = NULL;
            err->message = "COPY to or from the client cannot run here";
            return BE_DB_ERROR;
        }
        if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
            return fail(err, p, conn, res);
        }
        if (first && !*first && t == PGRES_TUPLES_OK && PQntuples(res) > 0) {
            *first = apr_pstrdup(p, PQgetvalue(res, 0, 0));
        }
        PQclear(res);
    }
    return BE_DB_OK;
}

/* ---------------------------------------------------------------------- */
/* Batches                                                                 */

/* A thread that waits for PostgreSQL's answer blocks, and the backend
 * wakes for that one query: on a busy core the two context switches cost
 * more than the query.  So the statements that run outside a transaction
 * are queued per database: the first thread to find no batch under way
 * sends every statement queued so far on its own connection, in libpq's
 * pipeline mode with a sync after each (each its own implicit
 * transaction, as before), reads the answers, and hands each to the
 * thread that queued it, which renders it.  A failed statement fails
 * alone.  Measured with bench/probe/pg_batch.c on one core: 21.5k
 * queries/s from 32 threads on 32 connections, 56k batched. */
#define BE_BATCH_MAX 64
#define BE_BATCH_DBS 16

typedef struct be_job {
    struct be_job *next;
    apr_pool_t *pool; /* the queuing request's: written by the
                                 * leader only while its owner waits */
    const be_stmt_t *st;
    const char *const *vals;
    const char *name; /* prepared on the leader's connection */
    PGresult *res;    /* the answer, for the owner to clear */
    be_dberr_t *err;  /* or why there is none */
    be_dbrc_e rc;
    int sent;  /* reached the server */
    int retry; /* never did: the owner runs it alone */
    int done;
    pthread_cond_t cond;
} be_job_t;

typedef struct {
    char *key; /* host, port, database, user, options */
    pthread_mutex_t lock;
    be_job_t *head, *tail;
    int busy; /* a leader is sending or reading */
} be_batch_t;

static be_batch_t batches[BE_BATCH_DBS];
static int nbatches;
static pthread_mutex_t batches_lock = PTHREAD_MUTEX_INITIALIZER;

static be_batch_t *batch_for(be_conn_t *c)
{
#define NZ(s) ((s) ? (s) : "")
    PGconn *conn = c->native;
    const char *key =
        apr_pstrcat(c->pool, NZ(PQhost(conn)), "\n", NZ(PQport(conn)), "\n",
                    NZ(PQdb(conn)), "\n", NZ(PQuser(conn)), "\n",
                    NZ(PQoptions(conn)), NULL);
#undef NZ
    be_batch_t *b = NULL;
    int i;

    pthread_mutex_lock(&batches_lock);
    for (i = 0; i < nbatches && !b; i++) {
        if (strcmp(batches[i].key, key) == 0) {
            b = &batches[i];
        }
    }
    if (!b && nbatches < BE_BATCH_DBS
        && (batches[nbatches].key = strdup(key)) != NULL) {
        b = &batches[nbatches++];
        pthread_mutex_init(&b->lock, NULL);
    }
    pthread_mutex_unlock(&batches_lock);
    return b; /* NULL: more databases than slots, queries run alone */
}

static void pg_conn_init(be_conn_t *c)
{
    c->session = PQbackendPID(c->native);
    c->batch = batch_for(c);
}

/* Text for one bound value; PostgreSQL infers the type from the SQL. */
static const char *param_text(apr_pool_t *p, const be_value_t *v)
{
    switch (v->kind) {
    case BE_V_NULL:
    case BE_V_DEFAULT:
        return NULL;
    case BE_V_INT:
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v->i);
    case BE_V_BOOL:
        return v->i ? "true" : "false";
    case BE_V_REAL:
        if (v->s) {
            return v->s;
        }
        return apr_psprintf(p, "%.17g", v->d);
    default:
        return v->s;
    }
}

static void emit_rows(PGresult *res, be_sink_t *sink)
{
    int r, i, nr = PQntuples(res), nf = PQnfields(res);

    if (nf > sink->ncols) {
        nf = sink->ncols;
    }
    for (r = 0; r < nr; r++) {
        be_sink_row_begin(sink);
        for (i = 0; i < nf; i++) {
            if (PQgetisnull(res, r, i)) {
                be_sink_null(sink, i);
            }
            else {
                be_sink_text(sink, i, PQgetvalue(res, r, i),
                             (apr_size_t)PQgetlength(res, r, i));
            }
        }
        be_sink_row_end(sink);
    }
}

static const char *prepared_name(be_conn_t *c, apr_pool_t *p,
                                 const be_stmt_t *st, be_dberr_t *err)
{
    PGconn *conn = c->native;
    const char *name;
    PGresult *res;
    int pid = PQbackendPID(conn);

    /* apr_dbd's check_conn may have reset the session in place: what was
     * prepared on the old one is gone. */
    if (pid != c->session) {
        apr_hash_clear(c->stmts);
        c->session = pid;
    }
    name = apr_hash_get(c->stmts, st->sql, APR_HASH_KEY_STRING);
    if (name) {
        return name;
    }
    if (apr_hash_count(c->stmts) >= BE_STMT_CACHE_MAX) {
        return ""; /* the unnamed statement: run once, not kept */
    }
    name = apr_psprintf(c->pool, "be_%lu", ++c->next_id);
    res = PQprepare(conn, name, st->sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fail(err, p, conn, res);
        return NULL;
    }
    PQclear(res);
    apr_hash_set(c->stmts, apr_pstrdup(c->pool, st->sql), APR_HASH_KEY_STRING,
                 name);
    return name;
}

/* The leader: sends the batch on c (its own connection), then reads an
 * answer, an end and a sync for each statement sent.  A statement that
 * could not be sent because the leader's connection is broken is run
 * again by its own thread on its own connection (it never reached the
 * server); one sent before the connection broke fails, as it would have
 * alone (it may have run). */
static void run_batch(be_conn_t *c, be_job_t *batch)
{
    PGconn *conn = c->native;
    be_job_t *j;
    int ok;

    for (j = batch; j; j = j->next) {
        j->rc = BE_DB_OK;
        j->res = NULL;
        j->sent = j->retry = 0;
        /* prepared (synchronously) before the pipeline starts */
        if ((j->name = prepared_name(c, j->pool, j->st, j->err)) == NULL) {
            j->rc = j->err->rc;
        }
    }
    ok = PQenterPipelineMode(conn);
    for (j = batch; j && ok; j = j->next) {
        if (j->rc != BE_DB_OK) {
            continue;
        }
        ok = (*j->name ? PQsendQueryPrepared(conn, j->name, j->st->nargs,
                                             j->vals, NULL, NULL, 0)
                       : PQsendQueryParams(conn, j->st->sql, j->st->nargs,
                                           NULL, j->vals, NULL, NULL, 0))
            && PQpipelineSync(conn);
        j->sent = ok;
    }
    if (PQflush(conn) != 0) {
        ok = 0;
    }
    for (j = batch; j; j = j->next) {
        PGresult *r;
        if (j->rc != BE_DB_OK) {
            /* not prepared because the connection broke: not sent */
            j->retry = PQstatus(conn) != CONNECTION_OK;
            continue;
        }
        if (!j->sent) {
            j->retry = 1;
            continue;
        }
        j->res = ok ? PQgetResult(conn) : NULL;
        if (!j->res) {
            j->rc = fail(j->err, j->pool, conn, NULL);
            ok = 0; /* out of step: what follows fails */
            continue;
        }
        /* the end of this statement's results, then its sync */
        while ((r = PQgetResult(conn)) != NULL) {
            PQclear(r);
        }
        r = PQgetResult(conn);
        if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
            ok = 0;
        }
        PQclear(r);
        if (PQresultStatus(j->res) != PGRES_TUPLES_OK
            && PQresultStatus(j->res) != PGRES_COMMAND_OK) {
            /* judged here, where the connection that ran it is known */
            j->rc = fail(j->err, j->pool, conn, j->res);
            j->res = NULL;
        }
    }
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF
        && !PQexitPipelineMode(conn)) {
        /* answers left unread: this session cannot be used again */
        PQreset(conn);
    }
}

/* Queues the statement and waits for its answer; whoever finds no batch
 * under way leads the next one on its own connection.  1: answered, in
 * *res or, when that is NULL, in err; 0: never sent, to be run alone. */
static int batched(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                   const char *const *vals, be_dberr_t *err, PGresult **res)
{
    be_batch_t *b = c->batch;
    be_job_t me;

    memset(&me, 0, sizeof(me));
    me.pool = p;
    me.st = st;
    me.vals = vals;
    me.err = err;
    pthread_cond_init(&me.cond, NULL);
    pthread_mutex_lock(&b->lock);
    if (b->tail) {
        b->tail->next = &me;
    }
    else {
        b->head = &me;
    }
    b->tail = &me;
    while (!me.done) {
        if (!b->busy) {
            be_job_t *batch = b->head, *j, *next, *last = batch;
            int n = 1;
            while (last->next && n < BE_BATCH_MAX) {
                last = last->next;
                n++;
            }
            b->head = last->next;
            if (!b->head) {
                b->tail = NULL;
            }
            last->next = NULL;
            b->busy = 1;
            pthread_mutex_unlock(&b->lock);
            run_batch(c, batch);
            pthread_mutex_lock(&b->lock);
            b->busy = 0;
            for (j = batch; j; j = next) {
                next = j->next;
                j->done = 1;
                if (j != &me) {
                    pthread_cond_signal(&j->cond);
                }
            }
            if (b->head) {
                /* the first still queued leads the next batch */
                pthread_cond_signal(&b->head->cond);
            }
        }
        else {
            pthread_cond_wait(&me.cond, &b->lock);
        }
    }
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&me.cond);
    *res = me.res;
    return !me.retry;
}

static be_dbrc_e pg_query(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                          be_sink_t *sink, long *affected, be_dberr_t *err)
{
    PGconn *conn = c->native;
    const char *values[64], **vals = values;
    int i;
    const char *name;
    PGresult *res;
    ExecStatusType status;

    if (st->nargs > 64) {
        vals = apr_palloc(p, sizeof(*vals) * (apr_size_t)st->nargs);
    }
    for (i = 0; i < st->nargs; i++) {
        vals[i] = param_text(p, st->args[i]);
    }
    if (c->batch && !c->in_tx && batched(c, p, st, vals, err, &res)) {
        if (!res) {
            return err->rc;
        }
    }
    else if ((name = prepared_name(c, p, st, err)) == NULL) {
        return err->rc;
    }
    else if (*name) {
        res = PQexecPrepared(conn, name, st->nargs, vals, NULL, NULL, 0);
    }
    else {
        res =
            PQexecParams(conn, st->sql, st->nargs, NULL, vals, NULL, NULL, 0);
    }
    status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK) {
        if (sink) {
            emit_rows(res, sink);
        }
        *affected = PQntuples(res);
    }
    else if (status == PGRES_COMMAND_OK) {
        *affected = atol(PQcmdTuples(res));
    }
    else {
        return fail(err, p, conn, res);
    }
    PQclear(res);
    return BE_DB_OK;
}

static be_dbrc_e pg_strings(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                            apr_array_header_t *out, be_dberr_t *err)
{
    const char *values[BE_SITE_SQL_MAX_ARGS];
    int i;
    int n =
        st->nargs < BE_SITE_SQL_MAX_ARGS ? st->nargs : BE_SITE_SQL_MAX_ARGS;
    PGresult *res;

    for (i = 0; i < n; i++) {
        values[i] = param_text(p, st->args[i]);
    }
    res = PQexecParams(c->native, st->sql, n, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, c->native, res);
    }
    for (i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, 0)) {
            APR_ARRAY_PUSH(out, const char *) =
                apr_pstrdup(p, PQgetvalue(res, i, 0));
        }
    }
    PQclear(res);
    return BE_DB_OK;
}

static be_dbrc_e pg_tx(be_conn_t *c, apr_pool_t *p, be_tx_e op,
                       be_dberr_t *err)
{
    static const char *const sql[] = {"BEGIN", "COMMIT", "ROLLBACK"};
    PGresult *res = PQexec(c->native, sql[op]);

    /* inside a transaction, statements run on this connection alone */
    c->in_tx =
        op == BE_TX_BEGIN && PQtransactionStatus(c->native) != PQTRANS_IDLE;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return fail(err, p, c->native, res);
    }
    PQclear(res);
    return BE_DB_OK;
}

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */

/* A view (or foreign table) takes the writes PostgreSQL says it can: an
 * updatable view, or INSTEAD OF triggers or rules. */
static be_dbrc_e view_writes(PGconn *conn, apr_pool_t *p,
                             const char *const *params, be_table_t *t,
                             be_dberr_t *err)
{
    static const char wq[] = "SELECT c.relkind IN ('r', 'p'), "
                             "pg_relation_is_updatable(c.oid::regclass, true) "
                             "FROM pg_class c WHERE c.oid = to_regclass($1)";
    PGresult *res = PQexecParams(conn, wq, 1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, conn, res);
    }
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] != 't') {
        int bits = atoi(PQgetvalue(res, 0, 1));
        t->is_view = 1;
        /* bits are 1 << CmdType: UPDATE 2, INSERT 3, DELETE 4 */
        t->writes = ((bits & 8) ? BE_W_INSERT : 0)
            | ((bits & 4) ? BE_W_UPDATE : 0) | ((bits & 16) ? BE_W_DELETE : 0);
    }
    PQclear(res);
    return BE_DB_OK;
}

/* The CHECK constraints of a table and the columns each covers. */
static be_dbrc_e checks(PGconn *conn, apr_pool_t *p, const char **params,
                        be_table_t *t, be_dberr_t *err)
{
    static const char sql[] =
        "SELECT c.conname, a.attname FROM pg_constraint c JOIN pg_attribute "
        "a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) WHERE "
        "c.conrelid = to_regclass($1) AND c.contype = 'c' ORDER BY "
        "c.conname, array_position(c.conkey, a.attnum)";
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    int r;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, conn, res);
    }
    t->checks = apr_hash_make(p);
    for (r = 0; r < PQntuples(res); r++) {
        const char *name = PQgetvalue(res, r, 0);
        apr_array_header_t *cols =
            apr_hash_get(t->checks, name, APR_HASH_KEY_STRING);
        if (!cols) {
            cols = apr_array_make(p, 2, sizeof(const char *));
            apr_hash_set(t->checks, apr_pstrdup(p, name), APR_HASH_KEY_STRING,
                         cols);
        }
        APR_ARRAY_PUSH(cols, const char *) =
            apr_pstrdup(p, PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return BE_DB_OK;
}

/* The table's foreign keys, a row per column pair in key order. */
static be_dbrc_e foreign_keys(PGconn *conn, apr_pool_t *p, const char **params,
                              be_table_t *t, be_dberr_t *err)
{
    static const char sql[] =
        "SELECT c.conname, c.confrelid::regclass::text, a.attname, "
        "fa.attname FROM pg_constraint c, unnest(c.conkey, c.confkey) WITH "
        "ORDINALITY AS k(a, f, n), pg_attribute a, pg_attribute fa WHERE "
        "c.conrelid = to_regclass($1) AND c.contype = 'f' AND a.attrelid = "
        "c.conrelid AND a.attnum = k.a AND fa.attrelid = c.confrelid AND "
        "fa.attnum = k.f ORDER BY c.conname, k.n";
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    int r;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, conn, res);
    }
    for (r = 0; r < PQntuples(res); r++) {
        be_table_fk(t, p, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                    PQgetvalue(res, r, 2), PQgetvalue(res, r, 3));
    }
    PQclear(res);
    return BE_DB_OK;
}

static be_dbrc_e pg_introspect(void *native, apr_pool_t *p, const char *table,
                               be_table_t **out, be_dberr_t *err)
{
    /* Domains are seen through to their base type; varchar(n) keeps n. */
    static const char sql[] =
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN "
        "t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, "
        "a.attnotnull, (a.atthasdef OR a.attidentity <> '' OR a.attgenerated "
        "<> ''), EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid    "
        "     AND i.indisprimary AND a.attnum = ANY (i.indkey)), "
        "a.attgenerated <> '', pg_get_expr(d.adbin, d.adrelid) FROM "
        "pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type t "
        "ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = c.oid "
        "AND d.adnum = a.attnum WHERE c.oid = to_regclass($1) AND a.attnum > "
        "0 AND NOT a.attisdropped ORDER BY a.attnum";
    PGconn *conn = native;
    const char *params[1] = {table};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    be_table_t *t;
    int r, n;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, conn, res);
    }
    n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        err->rc = BE_DB_NOT_FOUND;
        err->message = apr_psprintf(p, "no table or view named '%s'", table);
        err->sqlstate = "";
        return BE_DB_NOT_FOUND;
    }
    t = be_table_make(p, table);
    for (r = 0; r < n; r++) {
        be_column_t *c = be_table_add(t);
        c->name = apr_pstrdup(p, PQgetvalue(res, r, 0));
        c->decl = apr_pstrdup(p, PQgetvalue(res, r, 1));
        c->oid = (unsigned int)strtoul(PQgetvalue(res, r, 2), NULL, 10);
        c->type = be_type_from_pg_oid(c->oid);
        c->notnull = PQgetvalue(res, r, 3)[0] == 't';
        c->has_default = PQgetvalue(res, r, 4)[0] == 't';
        c->pk = PQgetvalue(res, r, 5)[0] == 't';
        c->readonly = PQgetvalue(res, r, 6)[0] == 't';
        /* (described, never written: an INSERT says DEFAULT) */
        c->dflt_sql = PQgetisnull(res, r, 7)
            ? NULL
            : apr_pstrdup(p, PQgetvalue(res, r, 7));
        c->max_len = be_max_len_from_decl(c->decl);
        if (c->oid == 21) {
            c->int_min = -32768;
            c->int_max = 32767;
        }
        else if (c->oid == 23) {
            c->int_min = -2147483647LL - 1;
            c->int_max = 2147483647LL;
        }
    }
    PQclear(res);
    if (view_writes(conn, p, params, t, err) != BE_DB_OK
        || checks(conn, p, params, t, err) != BE_DB_OK
        || foreign_keys(conn, p, params, t, err) != BE_DB_OK) {
        return err->rc;
    }
    *out = t;
    return BE_DB_OK;
}

static be_dbrc_e describe(PGconn *conn, apr_pool_t *p, const char *sql,
                          int nparams, be_table_t **out, be_dberr_t *err)
{
    PGresult *res = PQprepare(conn, "", sql, 0, NULL);
    be_table_t *t = be_table_make(p, "");
    int i;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return fail(err, p, conn, res);
    }
    PQclear(res);
    res = PQdescribePrepared(conn, "");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return fail(err, p, conn, res);
    }
    if (PQnparams(res) != nparams) {
        PQclear(res);
        err->rc = BE_DB_ERROR;
        err->message = "parameters are written :name";
        err->sqlstate = "";
        return BE_DB_ERROR;
    }
    for (i = 0; i < PQnfields(res); i++) {
        be_column_t *c = be_table_add(t);
        c->name = apr_pstrdup(p, PQfname(res, i));
        c->oid = (unsigned int)PQftype(res, i);
        c->decl = "";
        c->type = be_type_from_pg_oid(c->oid);
    }
    PQclear(res);
    *out = t;
    return BE_DB_OK;
}

/* Inside a transaction: a pooler in transaction mode (PgBouncer) keeps
 * the unnamed statement's preparation and its description on one server
 * connection. */
static be_dbrc_e pg_describe(void *native, apr_pool_t *p, const char *sql,
                             int nparams, be_table_t **out, be_dberr_t *err)
{
    PGconn *conn = native;
    PGresult *res = PQexec(conn, "BEGIN");
    be_dbrc_e rc;

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        return fail(err, p, conn, res);
    }
    PQclear(res);
    rc = describe(conn, p, sql, nparams, out, err);
    PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

/* A routine's own words for why it cannot be called. */
static be_dbrc_e refuse(be_dberr_t *err, apr_pool_t *p, PGresult *res,
                        const char *why)
{
    PQclear(res);
    err->rc = BE_DB_NOT_FOUND;
    err->message = apr_pstrdup(p, why);
    err->sqlstate = "";
    return BE_DB_NOT_FOUND;
}

static be_dbrc_e pg_routine(void *native, apr_pool_t *p, const char *schema,
                            const char *name, be_routine_t **out,
                            be_dberr_t *err)
{
    /* rows of named columns: a composite type, or OUT/TABLE columns */
    static const char fsql[] =
        "SELECT p.oid, p.prokind, p.proretset, p.provolatile, p.prorettype "
        "= 'void'::regtype, t.typtype = 'c' OR (p.prorettype = "
        "'record'::regtype AND p.proargmodes && "
        "ARRAY['o','b','t']::\"char\"[]), "
        "p.prorettype = 'record'::regtype, p.provariadic <> 0 FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_type t ON "
        "t.oid = p.prorettype WHERE n.nspname = $1 AND p.proname = $2";
    static const char asql[] =
        "SELECT u.name, format_type(u.type, NULL), "
        "pg_get_function_arg_default(p.oid, u.n::int), coalesce(u.mode, 'i') "
        "FROM pg_proc p, unnest(coalesce(p.proallargtypes, "
        "p.proargtypes::oid[]), p.proargnames, p.proargmodes) WITH ORDINALITY "
        "AS u(type, name, mode, n) WHERE p.oid = $1::oid ORDER BY u.n";
    PGconn *conn = native;
    const char *params[2] = {schema, name};
    PGresult *res = PQexecParams(conn, fsql, 2, NULL, params, NULL, NULL, 0);
    be_routine_t *rt;
    int r;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, conn, res);
    }
    if (PQntuples(res) == 0) {
        return refuse(err, p, res, "no such function");
    }
    if (PQntuples(res) > 1) {
        return refuse(err, p, res,
                      "the name has several functions (overloads); one "
                      "can be called");
    }
    if (PQgetvalue(res, 0, 1)[0] != 'f') {
        return refuse(err, p, res,
                      "it is not a function (a procedure or an aggregate)");
    }
    if (PQgetvalue(res, 0, 7)[0] == 't') {
        return refuse(err, p, res, "a VARIADIC function cannot be called");
    }
    if (PQgetvalue(res, 0, 6)[0] == 't' && PQgetvalue(res, 0, 5)[0] != 't') {
        return refuse(err, p, res,
                      "it returns record without naming its columns");
    }
    rt = apr_pcalloc(p, sizeof(*rt));
    rt->schema = apr_pstrdup(p, schema);
    rt->name = apr_pstrdup(p, name);
    rt->retset = PQgetvalue(res, 0, 2)[0] == 't';
    rt->writes = PQgetvalue(res, 0, 3)[0] == 'v';
    rt->returns_void = PQgetvalue(res, 0, 4)[0] == 't';
    rt->composite = PQgetvalue(res, 0, 5)[0] == 't';
    rt->args = apr_array_make(p, 4, sizeof(be_routine_arg_t));
    params[0] = apr_pstrdup(p, PQgetvalue(res, 0, 0));
    PQclear(res);
    res = PQexecParams(conn, asql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return fail(err, p, conn, res);
    }
    for (r = 0; r < PQntuples(res); r++) {
        char mode = PQgetvalue(res, r, 3)[0];
        be_routine_arg_t *a;
        if (mode != 'i' && mode != 'b') {
            continue; /* OUT and TABLE columns are its result */
        }
        a = apr_array_push(rt->args);
        a->name = apr_pstrdup(p, PQgetvalue(res, r, 0));
        a->type = apr_pstrdup(p, PQgetvalue(res, r, 1));
        a->dflt = PQgetisnull(res, r, 2)
            ? NULL
            : apr_pstrdup(p, PQgetvalue(res, r, 2));
    }
    PQclear(res);
    *out = rt;
    return BE_DB_OK;
}

const be_executor_t be_exec_pgsql = {"pgsql",     BE_DIALECT_PGSQL,
                                     pg_open,     pg_close,
                                     NULL,        NULL,
                                     NULL,        pg_conn_init,
                                     pg_query,    pg_strings,
                                     pg_tx,       pg_introspect,
                                     pg_describe, pg_routine,
                                     pg_open_rw,  pg_script,
                                     NULL};
