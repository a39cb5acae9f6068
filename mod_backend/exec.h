/*
 * exec.h - executors: one per database driver, working on the native
 * handle of a connection that mod_dbd pools.  No httpd header here, but
 * unlike the be_*.c core, the exec*.c files own state of the process:
 * threads (the SQLite checkpointer), locks (the SQLite writer lock, the
 * PostgreSQL batches), per-child connections and the SQLite
 * auto-extension.
 */
#ifndef BE_EXEC_H
#define BE_EXEC_H

#include "be_core.h"
#include "be_fn.h"

/* What a database error means for the client. */
typedef enum {
    BE_DB_OK = 0,
    BE_DB_CONFLICT,    /* unique or foreign-key violation: 409 */
    BE_DB_INVALID,     /* value rejected by a constraint or type: 422 */
    BE_DB_UNAVAILABLE, /* cannot reach, busy, shutting down: 503 */
    BE_DB_NOT_FOUND,   /* introspection: no such table */
    BE_DB_SCHEMA,      /* a table or column read at startup is gone: 503 */
    BE_DB_NO_UNIQUE,   /* on_conflict names no unique key: 400 */
    BE_DB_RAISED,      /* the site's SQL raised a message: 4xx, detail */
    BE_DB_FORBIDDEN,   /* a privilege or a row-level policy refused: 403 */
    BE_DB_ERROR        /* anything else: 500 */
} be_dbrc_e;

typedef struct {
    be_dbrc_e rc;
    const char *message;    /* the database's own words, for the log */
    const char *sqlstate;   /* PostgreSQL SQLSTATE, or SQLite's code */
    const char *detail;     /* what the client is told, the same per driver */
    int status;             /* BE_DB_RAISED: the status the site chose */
    const char *constraint; /* a failed CHECK: its name as the database
                               reports it (SQLite: or its expression) */
} be_dberr_t;

/* A message the site's own SQL raised (a trigger's RAISE on SQLite,
 * RAISE EXCEPTION on PostgreSQL) becomes the answer: 400 with the message,
 * or the 4xx status the message starts with ("409: title taken"). */
void be_exec_raised(be_dberr_t *err, apr_pool_t *p, const char *message,
                    int status);

/* A statement of a migration that would end its transaction: its first
 * word, with err filled; or NULL. */
const char *be_exec_refuse_tx(apr_pool_t *p, const char *stmt, apr_size_t n,
                              be_dberr_t *err);

/* Client-facing words for each kind of constraint failure. */
#define BE_DETAIL_UNIQUE "a row with the same unique value already exists"
#define BE_DETAIL_FOREIGN                             \
    "a referenced row does not exist, or other rows " \
    "still refer to this one"
#define BE_DETAIL_NOTNULL "a required value is missing"
#define BE_DETAIL_CHECK "a value breaks a check constraint"
#define BE_DETAIL_DATA "a value is not valid for its column"
#define BE_DETAIL_UNAVAILABLE "the database is unavailable; retry later"
#define BE_DETAIL_SCHEMA                              \
    "the database's schema changed since the server " \
    "read it; retry later"

typedef struct be_executor_t be_executor_t;

/* Statements cached per connection.  INSERT and UPDATE text depends on the
 * columns a body names, so clients could otherwise grow the cache without
 * end; past this many, statements run uncached. */
#define BE_STMT_CACHE_MAX 256
/* Parameters an executor binds to SQL a site writes (BackendRoleQuery):
 * a directive asking for more is refused when it is read. */
#define BE_SITE_SQL_MAX_ARGS 16

/* A pooled connection as mod_backend sees it: the driver's native handle
 * plus the statements prepared on it, living as long as it does. */
typedef struct {
    void *native;
    const be_executor_t *ex;
    apr_pool_t *pool;      /* the connection's own pool */
    apr_hash_t *stmts;     /* SQL text -> prepared statement */
    unsigned long next_id; /* PostgreSQL statement names */
    int in_tx;             /* inside BEGIN ... COMMIT/ROLLBACK */
    int session;           /* PostgreSQL backend pid the cache belongs to */
    void *batch;           /* PostgreSQL: queries shared with the other
                             * connections to the same database */
    void *txc; /* SQLite: the writer connection (be_conn_t*) this one's
                  transaction runs on, or NULL: its own */
} be_conn_t;

typedef enum { BE_TX_BEGIN = 0, BE_TX_COMMIT, BE_TX_ROLLBACK } be_tx_e;

struct be_executor_t {
    const char *driver; /* apr_dbd driver name */
    be_dialect_e dialect;
    /* Startup only: a short-lived read-only connection for the schema. */
    void *(*open)(apr_pool_t *p, const char *params, const char **err);
    void (*close)(void *native);
    /* At every configuration read, before any database is opened (may be
     * NULL). */
    void (*library_init)(void);
    /* At every configuration read in the parent, before the schema is
     * read; what it sets up process-wide is undone with pconf (may be
     * NULL). */
    void (*process_init)(apr_pool_t *pconf);
    /* Once per child process, before any request. */
    void (*child_init)(apr_pool_t *pchild);
    /* Once per pooled connection: timeouts, pragmas, statement cache. */
    void (*conn_init)(be_conn_t *c);
    /* Runs st; rows (if any) go to sink, which may be NULL.  *affected is
     * the number of rows returned, or changed when none are returned. */
    be_dbrc_e (*query)(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                       be_sink_t *sink, long *affected, be_dberr_t *err);
    /* Runs st and appends the first column of every row, as text, to out
     * (const char*): BackendRoleQuery. */
    be_dbrc_e (*strings)(be_conn_t *c, apr_pool_t *p, const be_stmt_t *st,
                         apr_array_header_t *out, be_dberr_t *err);
    /* Transactions around a write of several statements.  BEGIN takes
     * the write lock at once on SQLite (no lock upgrade can deadlock). */
    be_dbrc_e (*tx)(be_conn_t *c, apr_pool_t *p, be_tx_e op, be_dberr_t *err);
    /* Reads a table's columns, types, nullability, defaults and key. */
    be_dbrc_e (*introspect)(void *native, apr_pool_t *p, const char *table,
                            be_table_t **out, be_dberr_t *err);
    /* Prepares a statement of the site's SQL (BackendFunction) without
     * running it: an error when it does not prepare or binds other than
     * nparams parameters; its result columns (none when it returns no
     * rows) as a table without a key. */
    be_dbrc_e (*describe)(void *native, apr_pool_t *p, const char *sql,
                          int nparams, be_table_t **out, be_dberr_t *err);
    /* Reads a function of the database (BackendFunction pg=): NULL where
     * the database has none that a request can call. */
    be_dbrc_e (*routine)(void *native, apr_pool_t *p, const char *schema,
                         const char *name, be_routine_t **out,
                         be_dberr_t *err);
    /* BackendMigrations, in the parent at startup (or in a child whose
     * database did not answer then): a connection that writes, creating a
     * SQLite file that is not there yet. */
    void *(*open_rw)(apr_pool_t *p, const char *params, const char **err);
    /* Runs the statements of a script one after another, as the database
     * splits them.  *first (when first is not NULL) gets the first column
     * of the first row a statement returns, or stays NULL.  With in_tx, a
     * statement that would end the transaction (COMMIT, ROLLBACK, END,
     * BEGIN) is refused before it runs.  On failure, [*at, *at + *len) is
     * the failing statement in sql. */
    be_dbrc_e (*script)(void *native, apr_pool_t *p, const char *sql,
                        int in_tx, const char **first, apr_size_t *at,
                        apr_size_t *len, be_dberr_t *err);
    /* BackendResponseCache: BE_WATCH_BYTES that change with every commit
     * to the database, by any process, and that can be read without a
     * lock or a call; their mapping stays until p goes.  With native (a
     * startup connection), only checks that the database can be watched
     * and returns a non-NULL pointer to nothing.  NULL and *err: it cannot
     * (NULL for a driver that never can). */
    const volatile unsigned char *(*watch)(apr_pool_t *p, const char *params,
                                           void *native, const char **err);
};

/* SQLite's wal-index header, two copies of 48 bytes (its file format) */
#define BE_WATCH_BYTES 48

const be_executor_t *be_executor_for(const char *driver);

/* When set (the glue sets it per child): told of every statement that met
 * another connection's lock, and how long it waited; a wait longer than
 * BE_STALL_MS is a stall. */
#define BE_STALL_MS 10
extern void (*be_exec_lock_waited)(const char *sql,
                                   apr_interval_time_t waited);

/* When set (the glue sets it per child, when it serves SQLite): the
 * writers of every child of the server take turns on a lock per database
 * file shared by the processes (file: the file's number, as
 * be_exec_sqlite_files counts them), after the process's own turn for
 * the file and before SQLite's lock.  take 1: waits for the turn until
 * by, and returns 0 only when by came first; take 0: gives it back.
 * Without it, writers of different children meet in SQLite's busy
 * handler, which polls. */
extern int (*be_exec_write_turn)(int file, int take, apr_time_t by);

/* How many SQLite files the schema was read from in this configuration
 * (numbered from 0 in that order), once the schema is read: every file a
 * resource lives in.  The numbers stay while the configuration does. */
int be_exec_sqlite_files(void);

extern const be_executor_t be_exec_sqlite;
extern const be_executor_t be_exec_pgsql;

#endif /* BE_EXEC_H */
