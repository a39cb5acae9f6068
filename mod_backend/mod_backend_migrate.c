/*
 * mod_backend_migrate.c - BackendMigrations DIR: the files NNN_name.sql of
 * DIR, applied once each and in order to the server's database, each in
 * a transaction of its own and recorded in backend_migrations (version,
 * name, checksum, applied_at).
 *
 * They run in the parent at startup and at every restart, before the
 * schema is read and before any child serves.  Each file's transaction
 * first takes a lock that every node shares (SQLite's write lock through
 * BEGIN IMMEDIATE; a transaction-scoped advisory lock on PostgreSQL), then
 * looks whether the file is recorded: two nodes starting together apply it
 * once.  A recorded file whose content changed is refused.  apachectl -t
 * lists what is pending and applies nothing.  A PostgreSQL server that
 * does not answer at startup defers them to the child that first needs
 * the database (a request, or LOCATION/ready).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <unixd.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

typedef struct {
    apr_int64_t version;
    const char *name; /* the file's name */
    const char *path;
} mfile_t;

typedef struct {
    server_rec *server;
    const char *dir;
    const char *where;         /* file:line of the directive */
    apr_array_header_t *files; /* mfile_t, by version */
    atomic_int done;           /* every file is recorded in the database */
} migrations_t;

/* Of the configuration being read (rebuilt at each read). */
static apr_array_header_t *all; /* migrations_t */
#if APR_HAS_THREADS
static apr_thread_mutex_t *child_mutex;
#endif

/* An arbitrary number shared by every node's advisory lock. */
#define BE_MIGRATION_LOCK "7885080451186926443"

void be_migrate_pre_config(apr_pool_t *pconf)
{
    all = apr_array_make(pconf, 1, sizeof(migrations_t));
}

static int by_version(const void *a, const void *b)
{
    apr_int64_t x = ((const mfile_t *)a)->version,
                y = ((const mfile_t *)b)->version;
    return x < y ? -1 : x > y;
}

/* NNN_name.sql: digits, '_', then letters, digits, '_', '-' or '.' */
static int file_version(const char *name, apr_int64_t *version)
{
    const char *s = name;
    apr_size_t n = strlen(name);

    while (*s >= '0' && *s <= '9') {
        s++;
    }
    if (s == name || s - name > 18 || *s != '_' || n < 5
        || strcmp(name + n - 4, ".sql") != 0) {
        return 0;
    }
    for (s++; *s; s++) {
        if (!apr_isalnum(*s) && *s != '_' && *s != '-' && *s != '.') {
            return 0;
        }
    }
    *version = apr_atoi64(name);
    return 1;
}

const char *be_set_migrations(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    apr_dir_t *d;
    apr_finfo_t fi;
    migrations_t *m;
    int i;

    (void)dummy;
    if (err) {
        return err;
    }
    for (i = 0; i < all->nelts; i++) {
        if (APR_ARRAY_IDX(all, i, migrations_t).server == cmd->server) {
            return "BackendMigrations: given twice for this server";
        }
    }
    m = apr_array_push(all);
    memset(m, 0, sizeof(*m));
    m->server = cmd->server;
    m->dir = ap_server_root_relative(cmd->pool, arg);
    m->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                            cmd->directive->line_num);
    m->files = apr_array_make(cmd->pool, 8, sizeof(mfile_t));
    if (!m->dir || apr_dir_open(&d, m->dir, cmd->temp_pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool,
                            "BackendMigrations %s: not a directory "
                            "httpd can read",
                            arg);
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        mfile_t *f;
        apr_int64_t v;
        apr_size_t n = strlen(fi.name);

        if (fi.name[0] == '.' || n < 4 || strcmp(fi.name + n - 4, ".sql")) {
            continue; /* a README, an editor's file */
        }
        if (!file_version(fi.name, &v)) {
            apr_dir_close(d);
            return apr_psprintf(cmd->pool,
                                "BackendMigrations %s: '%s' is not named "
                                "NNN_name.sql (digits, '_', then letters, "
                                "digits, '_', '-', '.')",
                                arg, fi.name);
        }
        f = apr_array_push(m->files);
        f->version = v;
        f->name = apr_pstrdup(cmd->pool, fi.name);
        f->path = apr_pstrcat(cmd->pool, m->dir, "/", fi.name, NULL);
    }
    apr_dir_close(d);
    qsort(m->files->elts, (size_t)m->files->nelts, sizeof(mfile_t),
          by_version);
    for (i = 1; i < m->files->nelts; i++) {
        const mfile_t *a = &APR_ARRAY_IDX(m->files, i - 1, mfile_t);
        const mfile_t *b = &APR_ARRAY_IDX(m->files, i, mfile_t);
        if (a->version == b->version) {
            return apr_psprintf(cmd->pool,
                                "BackendMigrations %s: '%s' and '%s' have "
                                "the same number",
                                arg, a->name, b->name);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Applying                                                                */

typedef struct {
    const migrations_t *m;
    const be_executor_t *ex;
    void *native;
    apr_pool_t *p;
    be_dberr_t err;
    apr_size_t at, len;
} run_t;

static const char *db_error(run_t *x, const char *what)
{
    const char *msg = x->err.message ? x->err.message : "error";
    apr_size_t n = strlen(msg);

    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        n--;
    }
    return apr_psprintf(x->p, "BackendMigrations %s (%s): %s: %.*s", x->m->dir,
                        x->m->where, what, (int)n, msg);
}

static be_dbrc_e run(run_t *x, const char *sql, int in_tx, const char **first)
{
    if (first) {
        *first = NULL;
    }
    return x->ex->script(x->native, x->p, sql, in_tx, first, &x->at, &x->len,
                         &x->err);
}

static const char *begin_locked(run_t *x)
{
    const char *sql = x->ex->dialect == BE_DIALECT_SQLITE
        ? "BEGIN IMMEDIATE"
        : "BEGIN; SELECT pg_advisory_xact_lock(" BE_MIGRATION_LOCK ")";
    return run(x, sql, 0, NULL) == BE_DB_OK
        ? NULL
        : db_error(x, "cannot take the migration lock");
}

static void rollback(run_t *x)
{
    be_dberr_t keep = x->err;
    run(x, "ROLLBACK", 0, NULL);
    x->err = keep;
}

static const char *create_table(run_t *x)
{
    const char *sql = x->ex->dialect == BE_DIALECT_SQLITE
        ? "CREATE TABLE IF NOT EXISTS backend_migrations (version INTEGER "
          "PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, "
          "applied_at TEXT NOT NULL DEFAULT "
          "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        : "CREATE TABLE IF NOT EXISTS backend_migrations (version bigint "
          "PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
          "applied_at timestamptz NOT NULL DEFAULT now())";
    const char *err;

    if ((err = begin_locked(x))) {
        return err;
    }
    if (run(x, sql, 0, NULL) != BE_DB_OK || run(x, "COMMIT", 0, NULL)) {
        rollback(x);
        return db_error(x, "cannot create the table backend_migrations");
    }
    return NULL;
}

/* The file's text and its SHA-256 in hex. */
static const char *read_file(run_t *x, const mfile_t *f, char **text,
                             const char **sum)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_size_t got;
    char *hex;

    if (apr_file_open(&fd, f->path, APR_FOPEN_READ, 0, x->p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, fd) != APR_SUCCESS) {
        return apr_psprintf(x->p, "BackendMigrations %s (%s): cannot read %s",
                            x->m->dir, x->m->where, f->name);
    }
    *text = apr_palloc(x->p, (apr_size_t)fi.size + 1);
    if (apr_file_read_full(fd, *text, (apr_size_t)fi.size, &got) != APR_SUCCESS
        || !EVP_Digest(*text, got, md, &n, EVP_sha256(), NULL)) {
        apr_file_close(fd);
        return apr_psprintf(x->p, "BackendMigrations %s (%s): cannot read %s",
                            x->m->dir, x->m->where, f->name);
    }
    apr_file_close(fd);
    (*text)[got] = '\0';
    if (memchr(*text, '\0', got)) {
        return apr_psprintf(x->p,
                            "BackendMigrations %s (%s): %s is not text (it "
                            "holds a NUL byte)",
                            x->m->dir, x->m->where, f->name);
    }
    hex = apr_palloc(x->p, 2 * n + 1);
    ap_bin2hex(md, n, hex);
    *sum = hex;
    return NULL;
}

static const char *recorded_sql(run_t *x, const mfile_t *f)
{
    return apr_psprintf(x->p,
                        "SELECT checksum FROM backend_migrations WHERE "
                        "version = %" APR_INT64_T_FMT,
                        f->version);
}

static const char *changed(run_t *x, const mfile_t *f, const char *was,
                           const char *now)
{
    return apr_psprintf(x->p,
                        "BackendMigrations %s (%s): %s changed after it was "
                        "applied (checksum %s, now %s): an applied migration "
                        "is never edited; undo it in a new file",
                        x->m->dir, x->m->where, f->name, was, now);
}

/* Where the failing statement starts (its line) and its first words. */
static const char *failed_statement(run_t *x, const char *text)
{
    apr_size_t pos = x->at, a = x->at, b = x->at + x->len, i;
    int line = 1;

    if (be_script_next(text, x->at + x->len, &pos, &a, &b)) {
        /* without the blanks and comments before it */
    }
    for (i = 0; i < a; i++) {
        line += text[i] == '\n';
    }
    return apr_psprintf(x->p, "line %d: %.*s%s", line,
                        (int)(b - a > 200 ? 200 : b - a), text + a,
                        b - a > 200 ? "..." : "");
}

/* One file: skipped when recorded (its checksum compared), else applied
 * and recorded in the same transaction. */
static const char *apply_file(run_t *x, const mfile_t *f, server_rec *s)
{
    const char *err, *sum, *was;
    char *text;

    if ((err = read_file(x, f, &text, &sum)) || (err = begin_locked(x))) {
        return err;
    }
    if (run(x, recorded_sql(x, f), 0, &was) != BE_DB_OK) {
        rollback(x);
        return db_error(x, "cannot read backend_migrations");
    }
    if (was) {
        run(x, "COMMIT", 0, NULL);
        return strcmp(was, sum) ? changed(x, f, was, sum) : NULL;
    }
    if (run(x, text, 1, NULL) != BE_DB_OK) {
        err = failed_statement(x, text);
        rollback(x);
        return db_error(x, apr_pstrcat(x->p, f->name, " ", err, NULL));
    }
    if (run(x,
            apr_psprintf(x->p,
                         "INSERT INTO backend_migrations (version, name, "
                         "checksum) VALUES (%" APR_INT64_T_FMT ", '%s', '%s')",
                         f->version, f->name, sum),
            0, NULL)
            != BE_DB_OK
        || run(x, "COMMIT", 0, NULL) != BE_DB_OK) {
        rollback(x);
        return db_error(x, apr_pstrcat(x->p, "cannot record ", f->name, NULL));
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "BE00077: BackendMigrations %s: applied %s", x->m->dir,
                 f->name);
    return NULL;
}

/* A SQLite file created here by root: the children's, as mod_unixd's User
 * and Group say, or they could not write it. */
static void give_to_children(const char *path, int existed)
{
    if (!existed && geteuid() == 0 && path && *path
        && strncmp(path, "file:", 5) != 0
        && chown(path, ap_unixd_config.user_id, ap_unixd_config.group_id)
            != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, NULL,
                     "BE00078: cannot give %s to User/Group", path);
    }
}

/* Applies what is pending (apply) or lists it (apachectl -t).  NULL, or
 * why startup must stop; *unreachable when the database did not answer. */
static const char *migrate(apr_pool_t *p, migrations_t *m, int apply,
                           int *unreachable, apr_array_header_t *pending)
{
    be_dbd_target_t t = be_find_dbd(p, m->server);
    run_t x;
    apr_finfo_t fi;
    const char *err = NULL, *has, *sum, *was;
    int i, existed;

    memset(&x, 0, sizeof(x));
    x.m = m;
    x.p = p;
    *unreachable = 0;
    if (!t.driver || !t.params) {
        return apr_psprintf(p,
                            "BackendMigrations %s (%s): no database: set "
                            "DBDriver and DBDParams for this server",
                            m->dir, m->where);
    }
    if (!(x.ex = be_executor_for(t.driver))) {
        return apr_psprintf(p,
                            "BackendMigrations %s (%s): DBDriver '%s' is not "
                            "supported; use sqlite3 or pgsql",
                            m->dir, m->where, t.driver);
    }
    existed = x.ex->dialect != BE_DIALECT_SQLITE
        || apr_stat(&fi, t.params, APR_FINFO_TYPE, p) == APR_SUCCESS;
    x.native = apply ? x.ex->open_rw(p, t.params, &err)
                     : x.ex->open(p, t.params, &err);
    if (!x.native) {
        *unreachable = x.ex->dialect == BE_DIALECT_PGSQL || !apply;
        return apr_psprintf(p, "BackendMigrations %s (%s): %s", m->dir,
                            m->where, err);
    }
    if (apply) {
        err = create_table(&x);
        for (i = 0; !err && i < m->files->nelts; i++) {
            err = apply_file(&x, &APR_ARRAY_IDX(m->files, i, mfile_t),
                             m->server);
        }
        atomic_store(&m->done, !err);
    }
    else if (run(&x,
                 x.ex->dialect == BE_DIALECT_SQLITE
                     ? "SELECT count(*) FROM sqlite_master WHERE name = "
                       "'backend_migrations'"
                     : "SELECT count(*) FROM pg_class WHERE oid = "
                       "to_regclass('backend_migrations')",
                 0, &has)
             != BE_DB_OK) {
        err = db_error(&x, "cannot read backend_migrations");
    }
    for (i = 0; !apply && !err && i < m->files->nelts; i++) {
        const mfile_t *f = &APR_ARRAY_IDX(m->files, i, mfile_t);
        char *text;
        if ((err = read_file(&x, f, &text, &sum))) {
            break;
        }
        was = NULL;
        if (has && strcmp(has, "0") != 0
            && run(&x, recorded_sql(&x, f), 0, &was) != BE_DB_OK) {
            err = db_error(&x, "cannot read backend_migrations");
        }
        else if (was && strcmp(was, sum) != 0) {
            err = changed(&x, f, was, sum);
        }
        else if (!was) {
            APR_ARRAY_PUSH(pending, const char *) = f->name;
        }
    }
    x.ex->close(x.native);
    if (apply && x.ex->dialect == BE_DIALECT_SQLITE) {
        give_to_children(t.params, existed);
    }
    return err;
}

const char *be_migrate_startup(apr_pool_t *ptemp, server_rec *main_s,
                               apr_hash_t *pending_servers)
{
    int i, j, unreachable, apply = pending_servers == NULL;
    const char *err;

    for (i = 0; i < all->nelts; i++) {
        migrations_t *m = &APR_ARRAY_IDX(all, i, migrations_t);
        apr_array_header_t *pending =
            apr_array_make(ptemp, 4, sizeof(const char *));

        if ((err = migrate(ptemp, m, apply, &unreachable, pending))
            && !unreachable) {
            return err;
        }
        if (err && apply) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s,
                         "BE00079: %s; the migrations wait for the first "
                         "request that reaches the database",
                         err);
            continue;
        }
        if (err) {
            /* apachectl -t: a database not there yet has every file to
             * come */
            ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL, "%s", err);
            for (j = 0; j < m->files->nelts; j++) {
                APR_ARRAY_PUSH(pending, const char *) =
                    APR_ARRAY_IDX(m->files, j, mfile_t).name;
            }
        }
        if (!apply) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL,
                         "BackendMigrations %s: %d pending%s%s", m->dir,
                         pending->nelts, pending->nelts ? ": " : "",
                         apr_array_pstrcat(ptemp, pending, ' '));
        }
        if (!apply && pending->nelts) {
            apr_hash_set(pending_servers, &m->server, sizeof(m->server), m);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* In a child                                                              */

void be_migrate_child_init(apr_pool_t *pchild)
{
#if APR_HAS_THREADS
    apr_thread_mutex_create(&child_mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
#else
    (void)pchild;
#endif
}

/* The migrations of r's server (or of the main server, whose database a
 * virtual host without its own shares), applied now if startup could not
 * reach the database.  NULL when they are applied, else why not. */
const char *be_migrate_ensure(request_rec *r)
{
    migrations_t *m = NULL, *main_m = NULL;
    const char *err = NULL;
    int i, unreachable;

    for (i = 0; i < all->nelts; i++) {
        migrations_t *e = &APR_ARRAY_IDX(all, i, migrations_t);
        if (e->server == r->server) {
            m = e;
        }
        if (!e->server->is_virtual) {
            main_m = e;
        }
    }
    if (!(m = m ? m : main_m) || atomic_load(&m->done)) {
        return NULL;
    }
#if APR_HAS_THREADS
    apr_thread_mutex_lock(child_mutex);
#endif
    if (!atomic_load(&m->done)) {
        apr_pool_t *p;
        apr_pool_create(&p, r->pool);
        err = migrate(p, m, 1, &unreachable, NULL);
        if (err) {
            err = apr_pstrdup(r->pool, err);
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00081: %s", err);
        }
        apr_pool_destroy(p);
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(child_mutex);
#endif
    return err;
}
