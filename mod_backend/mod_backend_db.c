/*
 * mod_backend_db.c - the database side of the glue: which database each
 * server uses (mod_dbd's DBDriver/DBDParams), the schema read once at
 * startup, and the pooled connection of a request.
 */
#include <stdlib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <util_cfgtree.h>
#include <util_mutex.h>
#include <apr_thread_mutex.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * be_dbd_acquire_fn;

#define BE_CONN_KEY "mod_backend:conn"

/* Lazy schema loads in a child: the plan memory and the lock. */
static apr_pool_t *child_pool;
#if APR_HAS_THREADS
static apr_thread_mutex_t *child_mutex;
#endif

/* ---------------------------------------------------------------------- */
/* Which database a server uses                                            */

static void scan_dbd(apr_pool_t *p, const ap_directive_t *d,
                     be_dbd_target_t *t)
{
    for (; d; d = d->next) {
        const char *args = d->args;
        if (strcasecmp(d->directive, "DBDriver") == 0) {
            t->driver = ap_getword_conf(p, &args);
        }
        else if (strcasecmp(d->directive, "DBDParams") == 0) {
            t->params = ap_getword_conf(p, &args);
        }
    }
}

/* mod_dbd keeps its configuration private, so the configuration tree is
 * read instead: the main server's lines, then those of the <VirtualHost>
 * that defined s (sections like <IfModule> are already spliced in). */
be_dbd_target_t be_find_dbd(apr_pool_t *p, server_rec *s)
{
    be_dbd_target_t t = {NULL, NULL};
    const ap_directive_t *d;

    scan_dbd(p, ap_conftree, &t);
    if (!s->is_virtual) {
        return t;
    }
    for (d = ap_conftree; d; d = d->next) {
        if (strcasecmp(d->directive, "<VirtualHost") == 0
            && d->line_num == (int)s->defn_line_number && s->defn_name
            && strcmp(d->filename, s->defn_name) == 0) {
            scan_dbd(p, d->first_child, &t);
            break;
        }
    }
    return t;
}

/* ---------------------------------------------------------------------- */
/* Schema at startup                                                       */

#define DIRECTIVE(res)                   \
    ((res)->route    ? "BackendRoute"    \
         : (res)->fn ? "BackendFunction" \
                     : "BackendResource")

/* pg=SCHEMA.FUNCTION: the function as the catalog describes it, its
 * BackendValidate fields among its arguments.  NULL, or why not. */
static const char *routine_function(apr_pool_t *p, be_resource_t *res,
                                    void *native, int *deferred,
                                    const be_function_t **out)
{
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    const char *dot = strchr(res->fn->pg, '.'), *msg;
    const char *schema = dot
        ? apr_pstrmemdup(p, res->fn->pg, (apr_size_t)(dot - res->fn->pg))
        : "public";
    be_routine_t *rt;
    be_function_t *fn;
    int i, j;

    if (!res->ex->routine) {
        return "pg= needs a PostgreSQL database (DBDriver pgsql)";
    }
    if (res->ex->routine(native, p, schema, dot ? dot + 1 : res->fn->pg, &rt,
                         &err)
        != BE_DB_OK) {
        *deferred = err.rc == BE_DB_UNAVAILABLE;
        return apr_psprintf(p, "pg=%s: %s", res->fn->pg,
                            err.message ? err.message : "error");
    }
    if ((msg = be_routine_function(p, rt, &fn))) {
        return apr_psprintf(p, "pg=%s: %s", res->fn->pg, msg);
    }
    for (i = 0; res->validate && i < res->validate->nelts; i++) {
        const char *name = APR_ARRAY_IDX(res->validate, i, be_rules_t).field;
        for (j = 0; j < fn->args->nelts
             && strcmp(APR_ARRAY_IDX(fn->args, j, be_arg_t).name, name);
             j++) {
        }
        if (j == fn->args->nelts) {
            return apr_psprintf(p,
                                "BackendValidate %s %s: pg=%s has no "
                                "argument '%s'",
                                res->name, name, res->fn->pg, name);
        }
    }
    *out = fn;
    return NULL;
}

/* A function: each statement prepared (not run) as the dialect writes
 * it, and the last one's result columns. */
static const char *plan_function(apr_pool_t *p, be_resource_t *res,
                                 void *native, int *deferred)
{
    const be_function_t *fn = res->fn;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    const char **sql;
    const be_sqltext_t *st = NULL;
    be_table_t *t = NULL;
    be_plan_t *plan;
    const char *msg;
    int i, n;

    *deferred = 0;
    if (fn->pg && (msg = routine_function(p, res, native, deferred, &fn))) {
        return apr_psprintf(p, "%s %s (%s): %s", DIRECTIVE(res), res->name,
                            res->where, msg);
    }
    n = fn->stmts->nelts;
    sql = apr_palloc(p, sizeof(*sql) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        st = APR_ARRAY_IDX(fn->stmts, i, const be_sqltext_t *);
        sql[i] = be_sqltext_render(p, st, fn->args, res->ex->dialect);
        if (res->ex->describe(native, p, sql[i], st->params->nelts, &t, &err)
            != BE_DB_OK) {
            *deferred = err.rc == BE_DB_UNAVAILABLE;
            return apr_psprintf(p, "%s %s (%s): statement %d: %s",
                                DIRECTIVE(res), res->name, res->where, i + 1,
                                err.message ? err.message : "error");
        }
    }
    t->name = t->resource = res->name;
    if ((msg = be_table_index(t, p))) {
        return apr_psprintf(p, "%s %s (%s): %s", DIRECTIVE(res), res->name,
                            res->where, msg);
    }
    plan = st->reads && t->cols->nelts
        ? be_plan_subquery(p, t, res->ex->dialect, sql[n - 1])
        : be_plan_make(p, t, res->ex->dialect);
    plan->fn_sql = sql;
    plan->fn_nsql = n;
    plan->fn_subquery = st->reads && t->cols->nelts;
    plan->fn = fn;
    atomic_store(&res->plan, plan);
    return NULL;
}

/* BackendRule: each condition prepares against the table; a table whose
 * triggers change the rows written cannot have its writes checked. */
static const char *check_rules(apr_pool_t *p, be_resource_t *res,
                               const be_plan_t *plan, void *native,
                               int *deferred)
{
    static const char *const names[BE_RULE_ACTIONS] = {"read", "insert",
                                                       "update", "delete"};
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    be_table_t *t;
    int a, i;

    for (a = 0; a < BE_RULE_ACTIONS; a++) {
        for (i = 0; res->rules[a] && i < res->rules[a]->nelts; i++) {
            const be_sqltext_t *st =
                APR_ARRAY_IDX(res->rules[a], i, const be_sqltext_t *);
            const char *sql =
                apr_psprintf(p, "SELECT 1 FROM %s WHERE (%s)", plan->qtable,
                             be_sqltext_render(p, st, NULL, res->ex->dialect));
            if (res->ex->describe(native, p, sql, st->params->nelts, &t, &err)
                != BE_DB_OK) {
                *deferred = err.rc == BE_DB_UNAVAILABLE;
                return apr_psprintf(p, "BackendRule %s %s: %s", res->name,
                                    names[a],
                                    err.message ? err.message : "error");
            }
        }
        if (res->rules[a] && (a == BE_RULE_INSERT || a == BE_RULE_UPDATE)
            && (plan->table->readback
                & (a == BE_RULE_INSERT ? BE_W_INSERT : BE_W_UPDATE))) {
            return apr_psprintf(p,
                                "BackendRule %s %s: '%s' has triggers that "
                                "change the rows written, which a rule cannot "
                                "check",
                                res->name, names[a], res->table);
        }
    }
    return NULL;
}

static const char *plan_resource(apr_pool_t *p, be_resource_t *res,
                                 void *native, int *deferred)
{
    be_table_t *t = NULL;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    const char *msg;
    const be_column_t *owner = NULL;
    be_plan_t *plan;
    int i;

    if (res->fn) {
        return plan_function(p, res, native, deferred);
    }
    *deferred = 0;
    if (res->ex->introspect(native, p, res->table, &t, &err) != BE_DB_OK) {
        *deferred = err.rc == BE_DB_UNAVAILABLE;
        return apr_psprintf(p, "BackendResource %s (%s): table '%s': %s",
                            res->name, res->where, res->table, err.message);
    }
    t->resource = res->name;
    if ((msg = be_table_set_key(t, p, res->key)) != NULL) {
        return apr_psprintf(p, "BackendResource %s (%s): %s", res->name,
                            res->where, msg);
    }
    if (t->readback && t->key < 0) {
        /* its answers are read back by key, after its triggers ran */
        return apr_psprintf(p,
                            "BackendResource %s (%s): '%s' has triggers "
                            "that change its rows: name a one-column key "
                            "with key=COLUMN",
                            res->name, res->where, res->table);
    }
    for (i = 0; res->hide && i < res->hide->nelts; i++) {
        const char *name = APR_ARRAY_IDX(res->hide, i, const char *);
        be_column_t *c = apr_hash_get(t->by_name, name, APR_HASH_KEY_STRING);
        if (!c) {
            return apr_psprintf(
                p, "BackendHide %s: table '%s' has no column '%s'", res->name,
                res->table, name);
        }
        if (be_table_is_key(t, c)) {
            return apr_psprintf(
                p, "BackendHide %s: '%s' is the key and cannot be hidden",
                res->name, name);
        }
        c->hidden = 1;
    }
    for (i = 0; res->readonly && i < res->readonly->nelts; i++) {
        const char *name = APR_ARRAY_IDX(res->readonly, i, const char *);
        be_column_t *c = apr_hash_get(t->by_name, name, APR_HASH_KEY_STRING);
        if (!c) {
            return apr_psprintf(
                p, "BackendReadOnly %s: table '%s' has no column '%s'",
                res->name, res->table, name);
        }
        if (res->owner && strcmp(res->owner, name) == 0) {
            return apr_psprintf(p,
                                "BackendReadOnly %s: '%s' is the owner= "
                                "column, which the server sets",
                                res->name, name);
        }
        c->readonly = 1;
    }
    for (i = 0; res->validate && i < res->validate->nelts; i++) {
        const char *name = APR_ARRAY_IDX(res->validate, i, be_rules_t).field;
        be_column_t *c = apr_hash_get(t->by_name, name, APR_HASH_KEY_STRING);
        if (!c || c->hidden) {
            return apr_psprintf(
                p, "BackendValidate %s: table '%s' has no column '%s'",
                res->name, res->table, name);
        }
    }
    for (i = 0; res->sets && i < res->sets->nelts; i++) {
        be_set_t *set = &APR_ARRAY_IDX(res->sets, i, be_set_t);
        be_column_t *c =
            apr_hash_get(t->by_name, set->column, APR_HASH_KEY_STRING);
        if (!c) {
            return apr_psprintf(p,
                                "BackendSet %s: table '%s' has no column '%s'",
                                res->name, res->table, set->column);
        }
        if ((res->owner && strcmp(res->owner, set->column) == 0)
            || be_table_is_key(t, c)) {
            return apr_psprintf(p,
                                "BackendSet %s: '%s' is the key or the owner= "
                                "column",
                                res->name, set->column);
        }
        if (set->kind != BE_SET_USER && set->kind != BE_SET_CLAIM
            && c->type != BE_T_TEXT) {
            return apr_psprintf(p,
                                "BackendSet %s: now needs a text or "
                                "timestamp column, not '%s'",
                                res->name, set->column);
        }
        set->col = c;
        c->set_on_insert |= (set->on & BE_W_INSERT) != 0;
    }
    if (res->owner
        && !(owner =
                 apr_hash_get(t->by_name, res->owner, APR_HASH_KEY_STRING))) {
        return apr_psprintf(
            p,
            "BackendResource %s (%s): owner=%s: table '%s' has no such column",
            res->name, res->where, res->owner, res->table);
    }
    plan = be_plan_make(p, t, res->ex->dialect);
    plan->owner = owner;
    if ((msg = check_rules(p, res, plan, native, deferred))) {
        return msg;
    }
    atomic_store(&res->plan, plan);
    return NULL;
}

/* owner= on a column no user name fits (an INTEGER, when users log in by
 * name): only users whose name parses as its type can own rows, others
 * are refused.  A warning, not a refusal: users may log in by number. */
static const char *owner_mismatch(apr_pool_t *p, const be_resource_t *res)
{
    const be_plan_t *plan = atomic_load(&res->plan);
    const be_column_t *c = plan ? plan->owner : NULL;

    if (!c
        || (c->type != BE_T_INT && c->type != BE_T_REAL && c->type != BE_T_BOOL
            && !(c->type == BE_T_NUMERIC && c->oid != 0))) {
        return NULL;
    }
    return apr_psprintf(p,
                        "BackendResource %s (%s): owner=%s is a %s column: "
                        "only users whose name is such a value can own rows, "
                        "requests of other users are refused",
                        res->name, res->where, c->name,
                        c->decl && *c->decl ? c->decl : "non-text");
}

typedef struct {
    const be_executor_t *ex;
    void *native; /* NULL: unreachable */
} startup_conn_t;

static apr_status_t close_startup_conn(void *data)
{
    startup_conn_t *sc = data;

    if (sc->native) {
        sc->ex->close(sc->native);
        sc->native = NULL;
    }
    return APR_SUCCESS;
}

/* BackendRelation: both columns are there (when both schemas are read). */
static const char *check_relations(apr_pool_t *p, apr_array_header_t *all)
{
    int i, j;

    for (i = 0; i < all->nelts; i++) {
        const be_resource_t *res = APR_ARRAY_IDX(all, i, be_resource_t *);
        const be_plan_t *a = atomic_load(&res->plan), *b;
        for (j = 0; a && res->relations && j < res->relations->nelts; j++) {
            const be_relation_t *rel =
                &APR_ARRAY_IDX(res->relations, j, be_relation_t);
            if (!(b = atomic_load(&rel->target->plan))) {
                continue;
            }
            if (!apr_hash_get(a->table->by_name, rel->column,
                              APR_HASH_KEY_STRING)
                || !apr_hash_get(b->table->by_name, rel->target_column,
                                 APR_HASH_KEY_STRING)) {
                return apr_psprintf(p,
                                    "BackendRelation %s.%s %s.%s (%s): no "
                                    "such column",
                                    res->name, rel->column, rel->target->name,
                                    rel->target_column, rel->where);
            }
        }
    }
    return NULL;
}

/* Reads every resource's table.  Returns the first error that must stop
 * startup, or NULL.  An unreachable PostgreSQL only defers the schema to
 * the first request: a database may come up after the web tier. */
static const char *load_schemas(apr_pool_t *pconf, apr_pool_t *ptemp,
                                server_rec *main_s, apr_hash_t *skip)
{
    apr_array_header_t *all = be_all_resources();
    apr_hash_t *conns = apr_hash_make(ptemp);
    apr_hash_t *targets = apr_hash_make(ptemp); /* server -> be_dbd_target_t */
    apr_array_header_t *pg_only = be_all_pg_only();
    int i;

    for (i = 0; i < pg_only->nelts; i++) {
        const be_pg_only_t *o = &APR_ARRAY_IDX(pg_only, i, be_pg_only_t);
        be_dbd_target_t t = be_find_dbd(ptemp, o->server);
        if (t.driver && strcmp(t.driver, "pgsql")) {
            return apr_psprintf(ptemp,
                                "%s: needs a PostgreSQL database, and this "
                                "server's DBDriver is %s",
                                o->what, t.driver);
        }
    }

    for (i = 0; all && i < all->nelts; i++) {
        be_resource_t *res = APR_ARRAY_IDX(all, i, be_resource_t *);
        be_dbd_target_t *tp = apr_hash_get(targets, &res->server,
                                           sizeof(res->server)),
                        t;
        const char *key, *err = NULL;
        startup_conn_t *sc;
        int deferred;

        if (!tp) {
            /* the configuration tree is read once per server */
            tp = apr_palloc(ptemp, sizeof(*tp));
            *tp = be_find_dbd(ptemp, res->server);
            apr_hash_set(targets, &res->server, sizeof(res->server), tp);
        }
        t = *tp;
        atomic_store(&res->plan, NULL);
        if (skip && apr_hash_get(skip, &res->server, sizeof(res->server))) {
            continue; /* apachectl -t: its tables may come with them */
        }
        if (!t.driver || !t.params) {
            return apr_psprintf(ptemp,
                                "%s %s (%s): no database: set "
                                "DBDriver and DBDParams for this server",
                                DIRECTIVE(res), res->name, res->where);
        }
        if (!(res->ex = be_executor_for(t.driver))) {
            return apr_psprintf(ptemp,
                                "%s %s (%s): DBDriver '%s' is "
                                "not supported; use sqlite3 or pgsql",
                                DIRECTIVE(res), res->name, res->where,
                                t.driver);
        }
        key = apr_pstrcat(ptemp, t.driver, "\n", t.params, NULL);
        if (!(sc = apr_hash_get(conns, key, APR_HASH_KEY_STRING))) {
            sc = apr_pcalloc(ptemp, sizeof(*sc));
            sc->ex = res->ex;
            sc->native = res->ex->open(ptemp, t.params, &err);
            apr_hash_set(conns, key, APR_HASH_KEY_STRING, sc);
            apr_pool_cleanup_register(ptemp, sc, close_startup_conn,
                                      apr_pool_cleanup_null);
            if (!sc->native && res->ex->dialect == BE_DIALECT_SQLITE) {
                return apr_psprintf(ptemp, "%s %s (%s): %s", DIRECTIVE(res),
                                    res->name, res->where, err);
            }
            if (!sc->native) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s,
                             "BE00002: %s; the schema will be read by the "
                             "first request that reaches the database",
                             err);
            }
        }
        if ((err = be_rcache_check(ptemp, res, t.params, sc->native))) {
            return err;
        }
        if (!sc->native) {
            continue;
        }
        if ((err = plan_resource(pconf, res, sc->native, &deferred))) {
            if (!deferred) {
                return err;
            }
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s, "BE00003: %s",
                         err);
        }
        else if ((err = owner_mismatch(ptemp, res))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s, "BE00073: %s",
                         err);
        }
    }
    return check_relations(ptemp, all);
}

/* ---------------------------------------------------------------------- */
/* The writers' turn, across the children                                  */

#define BE_WRITE_MUTEX "backend-sqlite-write"

/* one per SQLite file (be_exec_sqlite_files), made in post_config; a
 * child's entry is NULL when it could not be attached there */
static apr_global_mutex_t **write_mutex;
static int nwrite_mutex;

int be_write_turn_pre_config(apr_pool_t *pconf)
{
    write_mutex = NULL;
    nwrite_mutex = 0;
    return ap_mutex_register(pconf, BE_WRITE_MUTEX, NULL, APR_LOCK_DEFAULT, 0)
            == APR_SUCCESS
        ? OK
        : HTTP_INTERNAL_SERVER_ERROR;
}

/* be_exec_write_turn: a turn that could not be taken for another reason
 * than the time is not given back (SQLite's own lock still orders the
 * writes; its busy handler waits).  One thread of the process at a time
 * holds a file's turn (the process's own turn for the file comes first),
 * so its flag is the process's. */
static int *holding_turn;

static int write_turn(int file, int take, apr_time_t by)
{
    apr_status_t rv;

    if (file < 0 || file >= nwrite_mutex || !write_mutex[file]) {
        return 1;
    }
    if (take) {
        apr_interval_time_t left = by - apr_time_now();

        rv =
            apr_global_mutex_timedlock(write_mutex[file], left > 0 ? left : 0);
        if (rv == APR_ENOTIMPL) { /* (a mechanism that cannot) */
            rv = apr_global_mutex_lock(write_mutex[file]);
        }
        holding_turn[file] = rv == APR_SUCCESS;
        return !APR_STATUS_IS_TIMEUP(rv);
    }
    if (holding_turn[file]) {
        holding_turn[file] = 0;
        apr_global_mutex_unlock(write_mutex[file]);
    }
    return 1;
}

/* The writers' mutexes of this configuration: one per SQLite file, so
 * that writes to different files never wait for each other. */
static apr_status_t make_write_mutexes(apr_pool_t *pconf, server_rec *s)
{
    int i, n = be_exec_sqlite_files();
    apr_status_t rv;

    write_mutex = apr_pcalloc(pconf, sizeof(*write_mutex) * (n ? n : 1));
    holding_turn = apr_pcalloc(pconf, sizeof(*holding_turn) * (n ? n : 1));
    for (i = 0; i < n; i++) {
        rv = ap_global_mutex_create(&write_mutex[i], NULL, BE_WRITE_MUTEX,
                                    apr_itoa(pconf, i), s, pconf, 0);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        nwrite_mutex = i + 1;
    }
    return APR_SUCCESS;
}

static int serves_sqlite(void);

int be_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s)
{
    const char *err;
    apr_status_t rv;

    (void)plog;
    /* every connection to a SQLite database of ours opened from now on
     * (mod_dbd's, in the children) gets its pragmas as it opens */
    be_exec_sqlite.process_init(pconf);
    be_affinity_check(ptemp, s);
    /* the schema is read after the migrations changed it */
    if ((err = be_migrate_startup(ptemp, s, NULL)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL, "%s", err);
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "BE00001: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (be_all_resources()->nelts == 0) {
        return OK;
    }
    if (!be_dbd_acquire_fn) {
        be_dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    }
    if (!be_dbd_acquire_fn) {
        ap_log_error(
            APLOG_MARK, APLOG_EMERG, 0, s,
            "BE00004: BackendResource needs mod_dbd, which is not loaded");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((err = load_schemas(pconf, ptemp, s, NULL)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL, "%s", err);
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "BE00001: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (serves_sqlite()
        && (rv = make_write_mutexes(pconf, s)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "BE00089: cannot create the SQLite writers' mutex "
                     "(Mutex " BE_WRITE_MUTEX ")");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* apachectl -t runs no post_config, so the schema is checked here too;
 * the hook cannot fail, so a broken configuration exits as httpd would. */
void be_test_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *ptemp;
    apr_hash_t *pending;
    const char *err;

    if ((err = be_cache_test_config(pconf))
        || (err = be_limit_test_config(pconf))
        || (err = be_metrics_test_config(pconf))) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL, "%s", err);
        exit(1);
    }
    apr_pool_create(&ptemp, pconf);
    pending = apr_hash_make(ptemp);
    if ((err = be_migrate_startup(ptemp, s, pending)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL, "%s", err);
        exit(1);
    }
    if (!be_all_resources() || be_all_resources()->nelts == 0) {
        apr_pool_destroy(ptemp);
        return;
    }
    if ((err = load_schemas(ptemp, ptemp, s, pending)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP, 0, NULL, "%s", err);
        exit(1);
    }
    apr_pool_destroy(ptemp);
}

static server_rec *main_server;

/* A statement met another connection's lock; a stall (over BE_STALL_MS)
 * is logged. */
static void lock_waited(const char *sql, apr_interval_time_t waited)
{
    int stalled = waited > apr_time_from_msec(BE_STALL_MS);

    be_metrics_lock_wait(waited, stalled);
    if (!stalled) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_server,
                 "BE00058: waited %" APR_TIME_T_FMT
                 " ms for another connection's lock: %s",
                 apr_time_as_msec(waited), sql);
}

/* Whether a resource of this configuration lives in SQLite. */
static int serves_sqlite(void)
{
    apr_array_header_t *all = be_all_resources();
    int i;

    for (i = 0; all && i < all->nelts; i++) {
        if (APR_ARRAY_IDX(all, i, be_resource_t *)->ex == &be_exec_sqlite) {
            return 1;
        }
    }
    return 0;
}

void be_child_init(apr_pool_t *pchild, server_rec *s)
{
    int i;

    main_server = s;
    be_exec_lock_waited = lock_waited;
    /* the writer lock and the checkpoint thread: only where they serve */
    if (be_exec_sqlite.child_init && serves_sqlite()) {
        be_exec_sqlite.child_init(pchild);
    }
    be_exec_write_turn = NULL;
    for (i = 0; i < nwrite_mutex; i++) {
        apr_status_t rv = apr_global_mutex_child_init(
            &write_mutex[i], apr_global_mutex_lockfile(write_mutex[i]),
            pchild);
        if (rv != APR_SUCCESS) {
            write_mutex[i] = NULL;
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         "BE00089: this child cannot take the SQLite "
                         "writers' mutex (Mutex " BE_WRITE_MUTEX "); its "
                         "writers meet the other children's in SQLite's "
                         "busy handler");
        }
        else {
            be_exec_write_turn = write_turn;
        }
    }
    be_migrate_child_init(pchild);
    be_rcache_child_init(pchild);
    apr_pool_create(&child_pool, pchild);
#if APR_HAS_THREADS
    apr_thread_mutex_create(&child_mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
#endif
}

/* ---------------------------------------------------------------------- */
/* Per request                                                             */

be_conn_t *be_db_acquire(request_rec *r, const be_resource_t *res)
{
    apr_time_t t0 = be_metrics_on() ? apr_time_now() : 0;
    ap_dbd_t *dbd = be_dbd_acquire_fn ? be_dbd_acquire_fn(r) : NULL;
    const be_executor_t *ex;
    be_conn_t *c = NULL;

    if (t0 && dbd && !be_rctx(r)->acquired) {
        /* (mod_dbd hands the same connection to the request again) */
        be_rctx(r)->acquired = 1;
        be_metrics_acquired(apr_time_now() - t0);
    }
    if (!dbd) {
        return NULL;
    }
    apr_pool_userdata_get((void **)&c, BE_CONN_KEY, dbd->pool);
    if (c) {
        return c;
    }
    ex = res ? res->ex : be_executor_for(apr_dbd_name(dbd->driver));
    if (!ex || strcmp(apr_dbd_name(dbd->driver), ex->driver) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00010: the pooled connection is %s, which "
                      "mod_backend cannot use here",
                      apr_dbd_name(dbd->driver));
        return NULL;
    }
    c = apr_pcalloc(dbd->pool, sizeof(*c));
    c->native = apr_dbd_native_handle(dbd->driver, dbd->handle);
    c->ex = ex;
    c->pool = dbd->pool;
    c->stmts = apr_hash_make(dbd->pool);
    ex->conn_init(c);
    apr_pool_userdata_setn(c, BE_CONN_KEY, NULL, dbd->pool);
    return c;
}

const be_plan_t *be_db_plan(request_rec *r, be_resource_t *res, be_conn_t *c,
                            be_dberr_t *err)
{
    be_plan_t *plan = atomic_load(&res->plan);
    const char *msg = NULL;
    int deferred = 0;

    if (plan) {
        return plan;
    }
    if ((msg = be_migrate_ensure(r)) != NULL) {
        err->rc = BE_DB_UNAVAILABLE;
        err->message = msg;
        return NULL;
    }
#if APR_HAS_THREADS
    apr_thread_mutex_lock(child_mutex);
#endif
    if (!(plan = atomic_load(&res->plan))) {
        /* a failed attempt must not grow the child's memory */
        apr_pool_t *sub;
        apr_pool_create(&sub, child_pool);
        msg = plan_resource(sub, res, c->native, &deferred);
        if (msg) {
            msg = apr_pstrdup(r->pool, msg);
            apr_pool_destroy(sub);
        }
        else if ((msg = owner_mismatch(r->pool, res))) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "BE00073: %s", msg);
            msg = NULL;
        }
        plan = atomic_load(&res->plan);
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(child_mutex);
#endif
    if (!plan) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00011: %s", msg);
        err->rc = deferred ? BE_DB_UNAVAILABLE : BE_DB_ERROR;
        err->message = msg;
    }
    return plan;
}
