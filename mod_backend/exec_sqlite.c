/*
 * exec_sqlite.c - the SQLite executor, on the sqlite3 handle of a
 * connection opened by apr_dbd's sqlite3 driver.  Working on the handle
 * avoids that driver's process-wide mutex and its fixed 100 ms sleep on
 * SQLITE_BUSY, and gives typed columns.
 *
 * State of the process here: the writer lock and writer connections of a
 * child, the checkpointer thread, each thread's busy wait, and the
 * auto-extension with the list of our database files (set up per
 * configuration generation, undone with its pool).
 */
#include <stdatomic.h>
#include <string.h>

#include <sqlite3.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <apr_thread_proc.h>
#if APR_HAS_THREADS
#include <pthread.h>
#endif

#include "exec.h"
#include "be_turn.h"

/* How long a writer waits for another connection's lock before the
 * request is answered 503. */
#define BE_SQLITE_BUSY_MS 5000

/* Writers of one process take turns, one turn per database file, instead
 * of meeting in SQLite's busy handler, which sleeps (up to 100 ms a time)
 * while another connection holds the write lock; then, when the glue gives
 * one, on the file's lock of every child of the server
 * (be_exec_write_turn), so that a child's writers are not left polling
 * while another child's take the database lock from hand to hand.  Writes
 * to different files never wait for each other.  Other programs still
 * meet in the busy handler, within BE_SQLITE_BUSY_MS.
 *
 * The turns are first come, first served: the writer that gives the turn
 * back hands it to the longest waiting one.  With a plain mutex a thread
 * that is already running takes the lock again and again before a woken
 * waiter gets the CPU; under SCHED_BATCH, where a woken thread does not
 * preempt, a function's transaction (which holds the turn for several
 * statements) then waited 250-300 ms at p99 with 16 clients, against 7 ms
 * under SCHED_OTHER. */

/* The files of this configuration's resources (ours, below), numbered in
 * the order the schema was read from them: a file's number is its turn
 * and its writer connection.  Fixed before the children start. */
#define BE_SQLITE_OURS 64
static char *ours[BE_SQLITE_OURS]; /* malloc'd, as sqlite3_db_filename says */
static int nours;

/* db's file number, or BE_SQLITE_OURS: not one of ours (in memory) */
static int file_of(sqlite3 *db)
{
    const char *f = sqlite3_db_filename(db, "main");
    int i;

    for (i = 0; f && *f && i < nours; i++) {
        if (strcmp(ours[i], f) == 0) {
            return i;
        }
    }
    return BE_SQLITE_OURS;
}

#if APR_HAS_THREADS
/* the child's pool, from its child_init until its writers are closed:
 * writes take turns only then */
static apr_pool_t *writers_pool;
/* one per file of ours, and one for any other */
static be_turns_t turns[BE_SQLITE_OURS + 1];
#endif

/* A write's deadline: BE_SQLITE_BUSY_MS after it asked for its turn, for
 * the turns and then SQLite's lock together (0: none, SQLite's lock alone
 * has BE_SQLITE_BUSY_MS from when it is first met). */
static _Thread_local apr_time_t write_deadline;

/* Takes the turn for c's file: *f is the file's number (what writer_leave
 * and writer_conn take), or -1 when writes take no turns (the parent, a
 * transaction's statement).  0 when the turn did not come within
 * BE_SQLITE_BUSY_MS (another program holds the database, and the writers
 * before this one waited for it): the write answers as SQLite's busy
 * handler does then. */
static int writer_enter(be_conn_t *c, int *f)
{
    *f = -1;
#if APR_HAS_THREADS
    if (writers_pool && !c->in_tx) {
        int n = file_of(c->native);
        apr_time_t by = apr_time_now() + apr_time_from_msec(BE_SQLITE_BUSY_MS);
        struct timespec ts;

        ts.tv_sec = (time_t)apr_time_sec(by);
        ts.tv_nsec = (long)apr_time_usec(by) * 1000L;
        if (!be_turn_take_by(&turns[n], &ts)) {
            return 0;
        }
        if (be_exec_write_turn && n < BE_SQLITE_OURS
            && !be_exec_write_turn(n, 1, by)) {
            be_turn_give(&turns[n]);
            return 0;
        }
        write_deadline = by;
        *f = n;
    }
#else
    (void)c;
#endif
    return 1;
}

static void writer_leave(int f)
{
#if APR_HAS_THREADS
    write_deadline = 0;
    if (f >= 0) {
        if (be_exec_write_turn && f < BE_SQLITE_OURS) {
            be_exec_write_turn(f, 0, 0);
        }
        be_turn_give(&turns[f]);
    }
#else
    (void)f;
#endif
}

/* Another process's writer holds the lock for tens of microseconds, and
 * SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries:
 * this one tries again after 50 us, doubling up to 3.2 ms, until
 * BE_SQLITE_BUSY_MS have gone.  The thread notes when the wait began, so
 * that the statement can report a long one (busy_done). */
static _Thread_local apr_time_t busy_since;

static int on_busy(void *arg, int tries)
{
    apr_time_t now = apr_time_now();

    (void)arg;
    if (tries == 0 || !busy_since) {
        busy_since = now;
    }
    if (write_deadline
            ? now >= write_deadline
            : now - busy_since >= apr_time_from_msec(BE_SQLITE_BUSY_MS)) {
        return 0;
    }
    apr_sleep((apr_interval_time_t)50 << (tries < 6 ? tries : 6));
    return 1;
}

static void busy_done(const char *sql)
{
    apr_interval_time_t waited;

    if (!busy_since) {
        return;
    }
    waited = apr_time_now() - busy_since;
    busy_since = 0;
    if (be_exec_lock_waited) {
        be_exec_lock_waited(sql, waited);
    }
}

/* Checkpoints off the request path.  By default the writer whose commit
 * takes the WAL past 1000 pages copies it back into the database and
 * fsyncs, holding the write lock meanwhile: every other writer waits
 * behind a disk flush.  In a child, connections to a WAL database leave
 * that to a thread of the child which checkpoints each such database
 * every 100 ms (PASSIVE: it never blocks readers or writers). */
#define BE_CHECKPOINT_MS 100
#define BE_CHECKPOINT_FILES 16

#if APR_HAS_THREADS
static pthread_mutex_t files_mutex = PTHREAD_MUTEX_INITIALIZER;
static char *files[BE_CHECKPOINT_FILES]; /* malloc'd paths */
static int nfiles;
static apr_thread_t *checkpointer;
static atomic_int checkpointer_stop; /* set by the child's cleanup */
#endif

static void checkpoint_here(sqlite3 *db)
{
#if APR_HAS_THREADS
    const char *f = sqlite3_db_filename(db, "main");
    int i, known = 0;

    if (!checkpointer || !f || !*f) {
        return; /* the parent, or an in-memory database */
    }
    pthread_mutex_lock(&files_mutex);
    for (i = 0; i < nfiles && !known; i++) {
        known = strcmp(files[i], f) == 0;
    }
    if (!known && nfiles < BE_CHECKPOINT_FILES
        && (files[nfiles] = strdup(f))) {
        nfiles++;
        known = 1;
    }
    pthread_mutex_unlock(&files_mutex);
    if (known) {
        sqlite3_wal_autocheckpoint(db, 0);
    }
#else
    (void)db;
#endif
}

#if APR_HAS_THREADS
static void *APR_THREAD_FUNC checkpoint_loop(apr_thread_t *t, void *data)
{
    sqlite3 *conns[BE_CHECKPOINT_FILES] = {NULL};
    int i, n;

    (void)data;
    while (!atomic_load(&checkpointer_stop)) {
        apr_sleep(apr_time_from_msec(BE_CHECKPOINT_MS));
        pthread_mutex_lock(&files_mutex);
        n = nfiles;
        pthread_mutex_unlock(&files_mutex);
        for (i = 0; i < n && !atomic_load(&checkpointer_stop); i++) {
            if (!conns[i]
                && sqlite3_open_v2(files[i], &conns[i], SQLITE_OPEN_READWRITE,
                                   NULL)) {
                sqlite3_close(conns[i]);
                conns[i] = NULL;
                continue;
            }
            sqlite3_wal_checkpoint_v2(conns[i], NULL,
                                      SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        }
    }
    for (i = 0; i < BE_CHECKPOINT_FILES; i++) {
        sqlite3_close(conns[i]);
    }
    /* Returning lets APR end the thread.  apr_thread_exit() here, after
     * the child's pool had destroyed the thread's pool (the join was a
     * plain cleanup, run after subpools go), made the child abort as it
     * exited now and then (AH00052 at a graceful restart; under valgrind
     * with httpd -X, a read of freed memory in apr_pool_terminate). */
    (void)t;
    return NULL;
}

static apr_status_t checkpointer_end(void *data)
{
    apr_status_t rv;
    int i;

    (void)data;
    atomic_store(&checkpointer_stop, 1);
    apr_thread_join(&rv, checkpointer);
    checkpointer = NULL;
    for (i = 0; i < nfiles; i++) {
        free(files[i]);
    }
    nfiles = 0;
    return APR_SUCCESS;
}
#endif

/* One connection per database file does the single-statement writes of
 * the whole process, under the writer lock.  A connection's page cache
 * is thrown away whenever it finds that another connection has written,
 * so a write on the request's own pooled connection read its B-tree pages
 * again with pread (3.6 a write under load); this one only ever sees its
 * own changes and keeps its pages.  A transaction runs there too, every
 * statement of it, under the writer lock from BEGIN to its end. */
#if APR_HAS_THREADS
typedef struct {
    apr_pool_t *pool; /* NULL: not made yet */
    be_conn_t conn;   /* conn.native NULL: could not be opened */
} writer_t;

/* by file number */
static writer_t writers[BE_SQLITE_OURS];

static void finalize_stmts(be_conn_t *c);

/* The writer connection for c's database, file f (writer_enter's), or c
 * itself (an in-memory database, or one that could not be opened now).
 * Called holding f's turn. */
static be_conn_t *writer_conn(be_conn_t *c, int f)
{
    writer_t *w;
    sqlite3 *db = NULL;

    if (!writers_pool || f < 0 || f >= BE_SQLITE_OURS) {
        return c;
    }
    w = &writers[f];
    if (!w->pool) {
        if (apr_pool_create(&w->pool, writers_pool) != APR_SUCCESS) {
            w->pool = NULL;
            return c;
        }
        w->conn.ex = c->ex;
    }
    if (w->conn.native) {
        return &w->conn;
    }
    /* (a fresh cache each time it opens, not one more per failed try) */
    apr_pool_clear(w->pool);
    w->conn.pool = w->pool;
    w->conn.stmts = apr_hash_make(w->pool);
    /* (on_open gives it the same settings as every pooled connection) */
    if (sqlite3_open_v2(ours[f], &db, SQLITE_OPEN_READWRITE, NULL)
        != SQLITE_OK) {
        sqlite3_close(db);
        return c;
    }
    w->conn.native = db;
    return &w->conn;
}

/* After a failure that is not the statement's (the disk, the file), the
 * writer connection is closed; the next write opens a new one. */
static void writer_check(be_conn_t *w, be_dbrc_e kind)
{
    int rc = sqlite3_errcode(w->native) & 0xff;

    if (kind == BE_DB_UNAVAILABLE && rc != SQLITE_BUSY
        && rc != SQLITE_LOCKED) {
        finalize_stmts(w);
        sqlite3_close(w->native);
        w->native = NULL;
    }
}

/* A pre-cleanup of the child's pool: it runs before the writers' pools
 * (its subpools) are destroyed. */
static apr_status_t writers_end(void *data)
{
    int i;

    (void)data;
    for (i = 0; i < BE_SQLITE_OURS; i++) {
        if (writers[i].conn.native) {
            finalize_stmts(&writers[i].conn);
            sqlite3_close(writers[i].conn.native);
        }
    }
    memset(writers, 0, sizeof(writers));
    writers_pool = NULL;
    return APR_SUCCESS;
}
#endif

/* SQLite connections to the databases of mod_backend's resources get
 * foreign keys (off by default in SQLite) as they open, through an
 * auto-extension: turning them on later would expire the statements other
 * modules (mod_authn_dbd) prepared on the connection through apr_dbd,
 * whose legacy sqlite3_prepare cannot re-prepare them.  The auto-extension
 * is process-wide, so it leaves every other database of the process (other
 * modules' own) as SQLite opened it.  Ours are the files the schema was
 * read from in this generation of the configuration (sq_open). */
static int is_ours(sqlite3 *db)
{
    return file_of(db) < BE_SQLITE_OURS;
}

static void remember_ours(sqlite3 *db)
{
    const char *f = sqlite3_db_filename(db, "main");

    if (f && *f && !is_ours(db) && nours < BE_SQLITE_OURS
        && (ours[nours] = strdup(f))) {
        nours++;
    }
}

static int is_wal(void *flag, int n, char **vals, char **names)
{
    (void)n;
    (void)names;
    *(int *)flag = vals[0] && strcasecmp(vals[0], "wal") == 0;
    return 0;
}

static int on_open(sqlite3 *db, char **err, const void *api)
{
    int wal = 0;

    (void)err;
    (void)api;
    if (!is_ours(db)) {
        return SQLITE_OK;
    }
    /* "name" is only ever a column: with SQLite's default, a column that
     * is gone (ALTER TABLE ... DROP COLUMN under a running server) would
     * be read as the string 'name' */
    sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    /* reads share the operating system's page cache through mmap */
    sqlite3_exec(db, "PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456",
                 NULL, NULL, NULL);
    sqlite3_busy_handler(db, on_busy, NULL);
    /* In WAL mode, synchronous=NORMAL is SQLite's advice (and
     * better-sqlite3's default): a commit survives a crash of httpd and
     * never corrupts the file; only a power cut may undo the last ones.
     * A rollback-journal database keeps SQLite's FULL. */
    sqlite3_exec(db, "PRAGMA journal_mode", is_wal, &wal, NULL);
    if (wal) {
        sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        checkpoint_here(db);
    }
    return SQLITE_OK;
}

/* The auto-extension points into this mapping of mod_backend.so, which
 * httpd unloads when it reads its configuration again (a graceful
 * restart): it is taken back with the configuration's pool, before the
 * module goes (cleanups run in the reverse order of LoadModule's). */
static apr_status_t process_end(void *data)
{
    (void)data;
    sqlite3_cancel_auto_extension((void (*)(void))on_open);
    while (nours > 0) {
        free(ours[--nours]);
    }
    return APR_SUCCESS;
}

/* Before SQLite starts in this process: a connection is only ever used by
 * one thread at a time (mod_dbd hands it to one request), so SQLite needs
 * no per-connection mutex, and no global one around every allocation for
 * memory statistics.  Once SQLite is running (a restart) the calls are
 * refused and the settings stay. */
static void sq_library_init(void)
{
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void sq_process_init(apr_pool_t *pconf)
{
    sqlite3_auto_extension((void (*)(void))on_open);
    apr_pool_cleanup_register(pconf, NULL, process_end, apr_pool_cleanup_null);
}

int be_exec_sqlite_files(void)
{
    return nours;
}

static void sq_child_init(apr_pool_t *pchild)
{
#if APR_HAS_THREADS
    be_turns_t idle = BE_TURNS_INIT;
    int i;

    for (i = 0; i <= BE_SQLITE_OURS; i++) {
        turns[i] = idle;
    }
    writers_pool = pchild;
    apr_pool_pre_cleanup_register(pchild, NULL, writers_end);
    atomic_store(&checkpointer_stop, 0);
    if (apr_thread_create(&checkpointer, NULL, checkpoint_loop, NULL, pchild)
        == APR_SUCCESS) {
        /* joined before the child's subpools (the thread's) go */
        apr_pool_pre_cleanup_register(pchild, NULL, checkpointer_end);
    }
    else {
        checkpointer = NULL;
    }
#endif
}

static be_dbrc_e fail(be_dberr_t *err, apr_pool_t *p, sqlite3 *db, int rc)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    be_dbrc_e kind;

    err->detail = NULL;
    err->constraint = NULL;
    if (ext == SQLITE_CONSTRAINT_TRIGGER && db) {
        /* RAISE(ABORT|FAIL|ROLLBACK, 'message') in the site's trigger */
        be_exec_raised(err, p, sqlite3_errmsg(db), 400);
        err->message = err->detail;
        err->sqlstate = "SQLITE_CONSTRAINT_TRIGGER";
        return BE_DB_RAISED;
    }
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        kind = BE_DB_CONFLICT;
        err->detail = BE_DETAIL_UNIQUE;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        kind = BE_DB_CONFLICT;
        err->detail = BE_DETAIL_FOREIGN;
        break;
    case SQLITE_CONSTRAINT_NOTNULL:
        kind = BE_DB_INVALID;
        err->detail = BE_DETAIL_NOTNULL;
        break;
    case SQLITE_CONSTRAINT_CHECK: {
        static const char pre[] = "CHECK constraint failed: ";
        const char *m = db ? sqlite3_errmsg(db) : NULL;
        kind = BE_DB_INVALID;
        err->detail = BE_DETAIL_CHECK;
        if (m && strncmp(m, pre, sizeof(pre) - 1) == 0) {
            err->constraint = apr_pstrdup(p, m + sizeof(pre) - 1);
        }
        break;
    }
    default:
        switch (ext & 0xff) {
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_TOOBIG:
        case SQLITE_RANGE:
            kind = BE_DB_INVALID;
            err->detail = BE_DETAIL_DATA;
            break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_FULL:
        case SQLITE_PROTOCOL:
        case SQLITE_NOTADB:
            kind = BE_DB_UNAVAILABLE;
            err->detail = BE_DETAIL_UNAVAILABLE;
            break;
        default:
            kind = BE_DB_ERROR;
            break;
        }
    }
    if (kind == BE_DB_ERROR && db && (ext & 0xff) == SQLITE_ERROR) {
        /* SQLite says these only in words */
        const char *m = sqlite3_errmsg(db);
        if (strncmp(m, "no such column", 14) == 0
            || strncmp(m, "no such table", 13) == 0) {
            kind = BE_DB_SCHEMA;
            err->detail = BE_DETAIL_SCHEMA;
        }
        else if (strstr(m, "ON CONFLICT clause does not match")) {
            kind = BE_DB_NO_UNIQUE;
        }
    }
    err->rc = kind;
    err->message =
        apr_pstrdup(p, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    err->sqlstate = apr_psprintf(p, "SQLITE %d", ext);
    return kind;
}

static void *sq_open(apr_pool_t *p, const char *params, const char **err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(params, &db, SQLITE_OPEN_READONLY, NULL);

    if (rc != SQLITE_OK) {
        *err = apr_psprintf(p, "cannot open SQLite database '%s': %s", params,
                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, BE_SQLITE_BUSY_MS);
    remember_ours(db);
    return db;
}

static void *sq_open_rw(apr_pool_t *p, const char *params, const char **err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(params, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

    if (rc != SQLITE_OK) {
        *err = apr_psprintf(p, "cannot open SQLite database '%s': %s", params,
                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, BE_SQLITE_BUSY_MS);
    return db;
}

/* SQLite splits the script itself (each prepare's tail). */
static be_dbrc_e sq_script(void *native, apr_pool_t *p, const char *sql,
                           int in_tx, const char **first, apr_size_t *at,
                           apr_size_t *len, be_dberr_t *err)
{
    sqlite3 *db = native;
    const char *s = sql, *tail = NULL;
    sqlite3_stmt *st;
    int rc;

    while (*s) {
        st = NULL;
        tail = NULL;
        rc = sqlite3_prepare_v2(db, s, -1, &st, &tail);
        if (rc == SQLITE_OK && !st) {
            s = tail; /* blanks and comments */
            continue;
        }
        *at = (apr_size_t)(s - sql);
        *len = tail && tail > s ? (apr_size_t)(tail - s) : strlen(s);
        if (rc == SQLITE_OK && in_tx && be_exec_refuse_tx(p, s, *len, err)) {
            sqlite3_finalize(st);
            return BE_DB_ERROR;
        }
        while (rc == SQLITE_OK) {
            if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
                break;
            }
            if (first && !*first) {
                const char *v = (const char *)sqlite3_column_text(st, 0);
                *first = apr_pstrdup(p, v ? v : "");
            }
            rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
            fail(err, p, db, rc);
            sqlite3_finalize(st);
            return err->rc;
        }
        sqlite3_finalize(st);
        s = tail;
    }
    return BE_DB_OK;
}

static void sq_close(void *native)
{
    sqlite3_close(native);
}

static void finalize_stmts(be_conn_t *c)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, c->stmts); hi; hi = apr_hash_next(hi)) {
        void *stmt;
        apr_hash_this(hi, NULL, NULL, &stmt);
        sqlite3_finalize(stmt);
    }
    apr_hash_clear(c->stmts);
}

/* Runs before mod_dbd closes the handle (cleanups run in reverse order),
 * so sqlite3_close finds no statement left open. */
static apr_status_t finalize_all(void *data)
{
    finalize_stmts(data);
    return APR_SUCCESS;
}

static void sq_conn_init(be_conn_t *c)
{
    /* (timeouts and pragmas were set by on_open as the connection opened) */
    apr_pool_cleanup_register(c->pool, c, finalize_all, apr_pool_cleanup_null);
}

static void bind_all(sqlite3_stmt *s, const be_stmt_t *st)
{
    int i;

    for (i = 0; i < st->nargs; i++) {
        const be_value_t *v = st->args[i];
        switch (v->kind) {
        case BE_V_INT:
        case BE_V_BOOL:
            sqlite3_bind_int64(s, i + 1, v->i);
            break;
        case BE_V_REAL:
            sqlite3_bind_double(s, i + 1, v->d);
            break;
        case BE_V_TEXT:
        case BE_V_JSON:
            sqlite3_bind_text(s, i + 1, v->s, (int)v->len, SQLITE_STATIC);
            break;
        default:
            sqlite3_bind_null(s, i + 1);
            break;
        }
    }
}

static void emit_row(sqlite3_stmt *s, be_sink_t *sink)
{
    int i, n = sqlite3_column_count(s);

    if (n > sink->ncols) {
        n = sink->ncols;
    }
    be_sink_row_begin(sink);
    for (i = 0; i < n; i++) {
        switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
            be_sink_int(sink, i, sqlite3_column_int64(s, i));
            break;
        case SQLITE_FLOAT:
            be_sink_real(sink, i, sqlite3_column_double(s, i));
            break;
        case SQLITE_TEXT:
            be_sink_text(sink, i, (const char *)sqlite3_column_text(s, i),
                         (apr_size_t)sqlite3_column_bytes(s, i));
            break;
        case SQLITE_BLOB:
            be_sink_blob(sink, i, sqlite3_column_blob(s, i),
                         (apr_size_t)sqlite3_column_bytes(s, i));
            break;
        default:
            be_sink_null(sink, i);
            break;
        }
    }
    be_sink_row_end(sink);
}

/* The statement for st on c, from c's cache or prepared (and cached while
 * the cache has room: *cached says whether it must be finalized). */
static sqlite3_stmt *stmt_for(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                              int *cached, be_dberr_t *err)
{
    sqlite3_stmt *s = apr_hash_get(c->stmts, st->sql, APR_HASH_KEY_STRING);
    int rc, keep;

    *cached = s != NULL;
    if (s) {
        return s;
    }
    keep = apr_hash_count(c->stmts) < BE_STMT_CACHE_MAX;
    rc = sqlite3_prepare_v3(c->native, st->sql, -1,
                            keep ? SQLITE_PREPARE_PERSISTENT : 0, &s, NULL);
    if (rc != SQLITE_OK) {
        fail(err, p, c->native, rc);
        return NULL;
    }
    if (keep) {
        apr_hash_set(c->stmts, apr_pstrdup(c->pool, st->sql),
                     APR_HASH_KEY_STRING, s);
        *cached = 1;
    }
    return s;
}

static void stmt_done(sqlite3_stmt *s, int cached)
{
    if (cached) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    else {
        sqlite3_finalize(s);
    }
}

static be_dbrc_e run(sqlite3 *db, sqlite3_stmt *s, apr_pool_t *p,
                     const be_stmt_t *st, be_sink_t *sink, long *affected,
                     be_dberr_t *err)
{
    long rows = 0;
    int rc;

    bind_all(s, st);
    busy_since = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sink) {
            emit_row(s, sink);
        }
        rows++;
    }
    busy_done(st->sql);
    if (rc != SQLITE_DONE) {
        return fail(err, p, db, rc);
    }
    *affected = sqlite3_column_count(s) > 0 ? rows : sqlite3_changes(db);
    return BE_DB_OK;
}

static be_dbrc_e sq_query(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                          be_sink_t *sink, long *affected, be_dberr_t *err)
{
    sqlite3_stmt *s;
    be_dbrc_e kind;
    int cached;

#if APR_HAS_THREADS
    if (c->in_tx && c->txc) {
        /* inside a transaction on the writer connection */
        be_conn_t *w = c->txc;
        if (!(s = stmt_for(w, p, st, &cached, err))) {
            return err->rc;
        }
        kind = run(w->native, s, p, st, sink, affected, err);
        stmt_done(s, cached);
        return kind;
    }
#endif
    if (!(s = stmt_for(c, p, st, &cached, err))) {
        return err->rc;
    }
#if APR_HAS_THREADS
    if (writers_pool && !c->in_tx && !sqlite3_stmt_readonly(s)) {
        be_conn_t *w;
        sqlite3_stmt *ws;
        int wcached, f;

        if (!writer_enter(c, &f)) {
            stmt_done(s, cached);
            return fail(err, p, NULL, SQLITE_BUSY);
        }
        w = writer_conn(c, f);
        if (w == c) {
            kind = run(c->native, s, p, st, sink, affected, err);
        }
        else if ((ws = stmt_for(w, p, st, &wcached, err))) {
            kind = run(w->native, ws, p, st, sink, affected, err);
            stmt_done(ws, wcached);
            writer_check(w, kind);
        }
        else {
            kind = err->rc;
            writer_check(w, kind);
        }
        writer_leave(f);
        stmt_done(s, cached);
        return kind;
    }
#endif
    kind = run(c->native, s, p, st, sink, affected, err);
    stmt_done(s, cached);
    return kind;
}

static be_dbrc_e sq_strings(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                            apr_array_header_t *out, be_dberr_t *err)
{
    sqlite3 *db = c->native;
    sqlite3_stmt *s;
    int rc;

    if ((rc = sqlite3_prepare_v2(db, st->sql, -1, &s, NULL)) != SQLITE_OK) {
        return fail(err, p, db, rc);
    }
    bind_all(s, st);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        if (v) {
            APR_ARRAY_PUSH(out, const char *) =
                apr_pstrdup(p, (const char *)v);
        }
    }
    if (rc != SQLITE_DONE) {
        fail(err, p, db, rc);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BE_DB_OK : err->rc;
}

static be_dbrc_e sq_tx(be_conn_t *c, apr_pool_t *p, be_tx_e op,
                       be_dberr_t *err);

/* A transaction still open when its request ends (a path that forgot to
 * finish it) is rolled back, so that the process's writer turn is never
 * kept. */
static apr_status_t tx_guard(void *data)
{
    be_conn_t *c = data;
    be_dberr_t err;

    if (c->in_tx) {
        sq_tx(c, NULL, BE_TX_ROLLBACK, &err);
    }
    return APR_SUCCESS;
}

/* BEGIN, COMMIT or ROLLBACK on w, prepared once per connection (p NULL:
 * at a request's end, parsed again). */
static int tx_exec(be_conn_t *w, apr_pool_t *p, const char *sql)
{
    be_stmt_t st = {sql, 0, NULL};
    be_dberr_t e;
    sqlite3_stmt *s;
    int cached, rc;

    if (!p || !(s = stmt_for(w, p, &st, &cached, &e))) {
        return sqlite3_exec(w->native, sql, NULL, NULL, NULL);
    }
    rc = sqlite3_step(s);
    stmt_done(s, cached);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A transaction's end, however it ended: the writer connection checked
 * (kind is how it ended), the writer turn given back. */
static be_dbrc_e tx_end(be_conn_t *c, be_conn_t *w, be_dbrc_e kind)
{
    c->in_tx = 0;
    c->txc = NULL;
#if APR_HAS_THREADS
    if (w != c) {
        writer_check(w, kind);
    }
    /* (the turn its BEGIN took) */
    writer_leave(writers_pool ? file_of(c->native) : -1);
#endif
    return kind;
}

static be_dbrc_e sq_tx(be_conn_t *c, apr_pool_t *p, be_tx_e op,
                       be_dberr_t *err)
{
    static const char *const sql[] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    be_conn_t *w = c;
    sqlite3 *db;
    be_dbrc_e kind;
    int rc;

    if (op == BE_TX_BEGIN) {
        /* the whole transaction holds this process's writer turn, on the
         * writer connection */
        int f;

        if (!writer_enter(c, &f)) {
            return fail(err, p, NULL, SQLITE_BUSY);
        }
#if APR_HAS_THREADS
        w = writer_conn(c, f);
#endif
        db = w->native;
        c->in_tx = 1;
        c->txc = w != c ? w : NULL;
        busy_since = 0;
        rc = tx_exec(w, p, sql[op]);
        busy_done(sql[op]);
        /* the statements after BEGIN (which took SQLite's lock) wait for
         * SQLite's lock, if at all, as other statements do */
        write_deadline = 0;
        if (rc != SQLITE_OK) {
            return tx_end(c, w, fail(err, p, db, rc));
        }
        apr_pool_cleanup_register(p, c, tx_guard, apr_pool_cleanup_null);
        return BE_DB_OK;
    }
    if (!c->in_tx) {
        return BE_DB_OK;
    }
    if (p) {
        apr_pool_cleanup_kill(p, c, tx_guard);
    }
    w = c->txc ? c->txc : c;
    db = w->native;
    rc = SQLITE_OK;
    if (!sqlite3_get_autocommit(db)) {
        /* (after some errors SQLite has already rolled back itself) */
        busy_since = 0;
        rc = tx_exec(w, p, sql[op]);
        busy_done(sql[op]);
    }
    kind = BE_DB_OK;
    if (rc != SQLITE_OK) {
        kind = p ? fail(err, p, db, rc) : BE_DB_ERROR;
        if (op == BE_TX_COMMIT) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    return tx_end(c, w, kind);
}

/* ---------------------------------------------------------------------- */
/* Introspection                                                           */

/* What a trigger of the table does, from its text up to BEGIN:
 * "CREATE TRIGGER [IF NOT EXISTS] name [BEFORE|AFTER|INSTEAD OF]
 * DELETE|INSERT|UPDATE [OF cols] ON table ...". */
static void trigger_writes(apr_pool_t *p, const char *sql, unsigned *instead,
                           unsigned *after)
{
    char *s = apr_pstrdup(p, sql), *w = s, *end;
    const char *r;
    unsigned what = 0;

    /* upper case, every run of white space one space */
    for (r = s; *r; r++) {
        if (apr_isspace(*r)) {
            if (w > s && w[-1] != ' ') {
                *w++ = ' ';
            }
        }
        else {
            *w++ = apr_toupper(*r);
        }
    }
    *w = '\0';
    if ((end = strstr(s, " BEGIN"))) {
        *end = '\0';
    }
    if (strstr(s, " INSERT ON")) {
        what = BE_W_INSERT;
    }
    else if (strstr(s, " DELETE ON")) {
        what = BE_W_DELETE;
    }
    else if (strstr(s, " UPDATE ")) {
        what = BE_W_UPDATE;
    }
    if (strstr(s, " INSTEAD OF ")) {
        *instead |= what;
    }
    else if (strstr(s, " AFTER ")) {
        *after |= what;
    }
}

/* A view takes the writes its INSTEAD OF triggers do (SQLite answers a
 * write to a view without one, with RETURNING, as if it had happened),
 * and what RETURNING shows of them is not what is stored: it is read
 * back.  So is a table's row after an AFTER trigger. */
static void table_writes(sqlite3 *db, apr_pool_t *p, be_table_t *t,
                         const char *table)
{
    static const char q[] = "SELECT type, sql FROM sqlite_schema WHERE "
                            "tbl_name = ?1 COLLATE NOCASE AND type IN "
                            "('table', 'view', 'trigger')";
    sqlite3_stmt *s;
    unsigned instead = 0, after = 0;

    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK) {
        return;
    }
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(s, 0);
        const char *sql = (const char *)sqlite3_column_text(s, 1);
        if (type && strcmp(type, "view") == 0) {
            t->is_view = 1;
        }
        else if (type && sql && strcmp(type, "trigger") == 0) {
            trigger_writes(p, sql, &instead, &after);
        }
        else if (type && sql && strcmp(type, "table") == 0) {
            be_sqlite_checks(p, t, sql);
        }
    }
    sqlite3_finalize(s);
    if (t->is_view) {
        t->writes = t->readback = instead;
    }
    else {
        t->readback = after & (BE_W_INSERT | BE_W_UPDATE);
    }
}

/* A table without a declared key still has its rowid (a view has none,
 * and a WITHOUT ROWID table always declares a key): it becomes the first
 * column, read-only. */
static void add_rowid(sqlite3 *db, be_table_t *t, const char *table)
{
    static const char q[] =
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1";
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK) {
        return;
    }
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        be_column_t *c = be_table_add(t);
        c->name = "rowid";
        c->decl = "INTEGER";
        c->type = BE_T_INT;
        c->notnull = c->has_default = c->pk = 1;
        c->synthetic = c->readonly = 1;
    }
    sqlite3_finalize(s);
}

/* The table's foreign keys, named as PostgreSQL names them by default
 * (TABLE_COLUMN_fkey, the first column's) so that a client's !hint reads
 * the same on both drivers. */
static void foreign_keys(sqlite3 *db, apr_pool_t *p, be_table_t *t,
                         const char *table)
{
    static const char sql[] = "SELECT id, \"table\", \"from\", \"to\" FROM "
                              "pragma_foreign_key_list(?1) ORDER BY id, seq";
    sqlite3_stmt *s = NULL;
    const char *name = NULL;
    int id = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        return;
    }
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *from = (const char *)sqlite3_column_text(s, 2);
        const char *to = (const char *)sqlite3_column_text(s, 3);
        if (sqlite3_column_int(s, 0) != id) {
            id = sqlite3_column_int(s, 0);
            name = apr_psprintf(p, "%s_%s_fkey", table, from);
        }
        be_table_fk(t, p, name, (const char *)sqlite3_column_text(s, 1), from,
                    to);
    }
    sqlite3_finalize(s);
}

static be_dbrc_e sq_introspect(void *native, apr_pool_t *p, const char *table,
                               be_table_t **out, be_dberr_t *err)
{
    static const char sql[] =
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM "
        "pragma_table_xinfo(?1) ORDER BY cid";
    sqlite3 *db = native;
    sqlite3_stmt *s = NULL;
    be_table_t *t = be_table_make(p, table);
    apr_array_header_t *tmp = apr_array_make(p, 8, sizeof(be_column_t));
    int rc, npk = 0, i, int_pk = 0;

    if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK) {
        return fail(err, p, db, rc);
    }
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        be_column_t *c = apr_array_push(tmp);
        const char *decl = (const char *)sqlite3_column_text(s, 1);
        const char *dflt = (const char *)sqlite3_column_text(s, 3);
        int hidden = sqlite3_column_int(s, 5);

        memset(c, 0, sizeof(*c));
        c->name = apr_pstrdup(p, (const char *)sqlite3_column_text(s, 0));
        c->decl = apr_pstrdup(p, decl ? decl : "");
        c->type = be_type_from_sqlite_decl(c->decl);
        c->notnull = sqlite3_column_int(s, 2);
        c->dflt_sql = dflt ? apr_pstrdup(p, dflt) : NULL;
        c->has_default = dflt != NULL;
        c->pk = sqlite3_column_int(s, 4) > 0;
        c->max_len = be_max_len_from_decl(c->decl);
        c->int_min = -9223372036854775807LL - 1;
        c->int_max = 9223372036854775807LL;
        /* generated columns (hidden 2 and 3) are computed, not written */
        c->readonly = hidden == 2 || hidden == 3;
        c->has_default |= c->readonly;
        npk += c->pk;
        if (c->pk && strcasecmp(c->decl, "INTEGER") == 0) {
            int_pk = 1;
        }
    }
    if (rc != SQLITE_DONE) {
        fail(err, p, db, rc);
        sqlite3_finalize(s);
        return err->rc;
    }
    sqlite3_finalize(s);
    if (tmp->nelts == 0) {
        err->rc = BE_DB_NOT_FOUND;
        err->message = apr_psprintf(p, "no table or view named '%s'", table);
        err->sqlstate = "";
        return BE_DB_NOT_FOUND;
    }

    if (npk == 0) {
        add_rowid(db, t, table);
    }
    for (i = 0; i < tmp->nelts; i++) {
        be_column_t *c = be_table_add(t);
        *c = APR_ARRAY_IDX(tmp, i, be_column_t);
        if (c->pk && npk == 1 && int_pk) {
            /* INTEGER PRIMARY KEY aliases the rowid: SQLite assigns it */
            c->has_default = 1;
            c->notnull = 1;
        }
    }
    table_writes(db, p, t, table);
    foreign_keys(db, p, t, table);
    *out = t;
    return BE_DB_OK;
}

static be_dbrc_e sq_describe(void *native, apr_pool_t *p, const char *sql,
                             int nparams, be_table_t **out, be_dberr_t *err)
{
    sqlite3 *db = native;
    sqlite3_stmt *s;
    const char *tail;
    be_table_t *t = be_table_make(p, "");
    int rc, i;

    if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, &tail)) != SQLITE_OK) {
        return fail(err, p, db, rc);
    }
    if (!s || sqlite3_bind_parameter_count(s) != nparams) {
        sqlite3_finalize(s);
        err->rc = BE_DB_ERROR;
        err->message = "parameters are written :name";
        err->sqlstate = "";
        return BE_DB_ERROR;
    }
    for (i = 0; i < sqlite3_column_count(s); i++) {
        be_column_t *c = be_table_add(t);
        const char *decl = sqlite3_column_decltype(s, i);
        c->name = apr_pstrdup(p, sqlite3_column_name(s, i));
        c->decl = apr_pstrdup(p, decl ? decl : "");
        /* an expression has no declared type: its values say what they
         * are */
        c->type = decl ? be_type_from_sqlite_decl(decl) : BE_T_TEXT;
    }
    sqlite3_finalize(s);
    *out = t;
    return BE_DB_OK;
}

/* BackendResponseCache.  In WAL mode, every commit (of any connection, in
 * any process) ends by writing the header of the wal-index: its change
 * counter, last frame, salts and checksums.  SQLite keeps it in the
 * "-shm" file, mapped into every process that has the database open;
 * writers store its second copy, then the first, and readers read the
 * first, then the second, and trust them when they are equal (the
 * "WAL-index format" of SQLite's file format page).  A connection of our
 * own holds the mapping (and the file) for the child's life. */
static apr_status_t watch_close(void *data)
{
    sqlite3_close_v2(data);
    return APR_SUCCESS;
}

static const volatile unsigned char *sq_watch(apr_pool_t *p,
                                              const char *params, void *native,
                                              const char **err)
{
    static const unsigned char checked = 0;
    sqlite3 *db = native;
    sqlite3_file *f = NULL;
    void volatile *map = NULL;
    int wal = 0;

    if (!db
        && sqlite3_open_v2(params, &db, SQLITE_OPEN_READWRITE, NULL)
            != SQLITE_OK) {
        *err = apr_psprintf(p, "cannot open %s: %s", params,
                            db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    if (db != native) {
        apr_pool_cleanup_register(p, db, watch_close, apr_pool_cleanup_null);
    }
    sqlite3_exec(db, "PRAGMA journal_mode", is_wal, &wal, NULL);
    if (!wal) {
        *err = apr_psprintf(p,
                            "%s is not in WAL mode (PRAGMA journal_mode = "
                            "WAL, once): only a WAL database tells of "
                            "every commit",
                            params);
        return NULL;
    }
    if (db == native) {
        return &checked;
    }
    /* a read maps the wal-index */
    if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                     NULL)
            != SQLITE_OK
        || sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f)
            != SQLITE_OK
        || !f || !f->pMethods || f->pMethods->iVersion < 2
        || f->pMethods->xShmMap(f, 0, 32768, 0, &map) != SQLITE_OK || !map) {
        *err = apr_psprintf(p, "cannot map the wal-index of %s: %s", params,
                            sqlite3_errmsg(db));
        return NULL;
    }
    return (const volatile unsigned char *)map;
}

const be_executor_t be_exec_sqlite = {"sqlite3",       BE_DIALECT_SQLITE,
                                      sq_open,         sq_close,
                                      sq_library_init, sq_process_init,
                                      sq_child_init,   sq_conn_init,
                                      sq_query,        sq_strings,
                                      sq_tx,           sq_introspect,
                                      sq_describe,     NULL,
                                      sq_open_rw,      sq_script,
                                      sq_watch};
