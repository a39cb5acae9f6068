/*
 * mod_backend_rcache.c - BackendResponseCache: the answer of a read kept
 * in the child's memory and sent again, with no SQL and no pooled
 * connection, until the next commit to its database.
 *
 * Which commit does not matter: this child's, another child's, another
 * program's.  SQLite in WAL mode writes the header of its wal-index at
 * the end of every commit, in memory every process that has the database
 * open shares (be_executor_t.watch).  The header is read when the request
 * is routed (translate_name), before anything of it reads the database
 * (a password, roles, the query); an answer is kept with that header and
 * sent again only while the header is still the same.  A header read
 * while a commit writes it is not trusted: that request neither uses the
 * cache nor fills it.
 *
 * An answer is found again by its resource, the URI and query string the
 * handler reads (after rewriting), the user, the request headers an
 * answer can depend on (Authorization, Accept, Prefer, Range, Host) and
 * those BackendRule conditions read.  Authentication and authorization
 * run for every request as before: the cache is in the handler.  It holds
 * 200 answers to GET only; HEAD is answered from them.  Each child has
 * BackendResponseCacheSize of it, in 64 parts with a lock each; a part
 * that is full is emptied.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_core.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

#define SHARDS 64
#define BUCKETS 256
#define DEFAULT_MB 32
/* (the header's isInit byte: 0 until the database's first reader) */
#define IS_INIT 12

const volatile unsigned char be_rcache_off[1];

typedef struct entry_t {
    struct entry_t *next; /* in its bucket */
    apr_uint64_t hash;
    unsigned char mark[BE_WATCH_BYTES]; /* the database when it was read */
    const char *type;                   /* a static string */
    apr_size_t klen, len, hlen, size;
    char *key, *body;
    char *headers; /* name\0value\0... */
} entry_t;

typedef struct {
    pthread_mutex_t lock;
    entry_t *buckets[BUCKETS];
    apr_size_t bytes;
} shard_t;

struct be_rcache_ticket_t {
    const char *key;
    apr_size_t klen;
    apr_uint64_t hash;
    unsigned char mark[BE_WATCH_BYTES];
};

static int megabytes = -1; /* BackendResponseCacheSize; -1: the default */
static apr_size_t part;    /* bytes per shard, in this child */
static shard_t *shards;    /* this child's, or NULL */
static apr_pool_t *child_pool;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
/* the databases this child watches: their DBDParams and mapping */
#define WATCHED_MAX 16
static struct {
    const char *params;
    const volatile unsigned char *map;
} watching[WATCHED_MAX];
static int nwatching;
/* the request headers BackendRule conditions read (:header.NAME): a part
 * of the key too; found once per child */
static apr_array_header_t *rule_headers;
static atomic_int rule_headers_ready;

/* what an answer carries that it is kept with (and nothing the hooks
 * before the handler set: RateLimit, CORS) */
static const char *const kept_headers[] = {"ETag",
                                           "Cache-Control",
                                           "Vary",
                                           "Content-Range",
                                           "Preference-Applied",
                                           "Link",
                                           NULL};
/* what a request says that an answer may depend on, besides its URI */
static const char *const key_headers[] = {"Authorization", "Accept", "Prefer",
                                          "Range",         "Host",   NULL};

const char *be_rcache_set_size(cmd_parms *cmd, void *d, const char *arg)
{
    char *end;
    long mb = strtol(arg, &end, 10);

    (void)cmd;
    (void)d;
    if (*end || end == arg || mb < 1 || mb > 65536) {
        return "BackendResponseCacheSize: a number of megabytes from 1 to "
               "65536";
    }
    megabytes = (int)mb;
    return NULL;
}

void be_rcache_pre_config(void)
{
    megabytes = -1;
}

void be_rcache_child_init(apr_pool_t *pchild)
{
    int i;

    shards = NULL;
    nwatching = 0;
    rule_headers = NULL;
    atomic_store(&rule_headers_ready, 0);
    child_pool = pchild;
    if (!be_all_rcache() || be_all_rcache()->nelts == 0
        || !(shards = calloc(SHARDS, sizeof(*shards)))) {
        return;
    }
    part = (apr_size_t)(megabytes > 0 ? megabytes : DEFAULT_MB) * 1024 * 1024
        / SHARDS;
    for (i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
    }
}

/* A resource under BackendResponseCache On, at startup: its database can
 * be watched (SQLite in WAL mode) or the configuration is refused. */
const char *be_rcache_check(apr_pool_t *p, const be_resource_t *res,
                            const char *params, void *native)
{
    apr_array_header_t *all = be_all_rcache();
    const char *err = NULL, *where = NULL;
    int i;

    for (i = 0; all && i < all->nelts && !where; i++) {
        const be_rcache_conf_t *c = &APR_ARRAY_IDX(all, i, be_rcache_conf_t);
        apr_size_t n = c->path ? strlen(c->path) : 0;
        /* declared there, or in a <Location> under it */
        if (apr_hash_get(c->conf->resources, res->path, APR_HASH_KEY_STRING)
                == res
            || (n && c->server == res->server
                && strncmp(res->path, c->path, n) == 0
                && (c->path[n - 1] == '/' || res->path[n] == '/'))) {
            where = c->where;
        }
    }
    if (!where || res->fn || res->route) {
        return NULL;
    }
    if (!res->ex->watch) {
        return apr_psprintf(p,
                            "BackendResponseCache (%s): %s is on PostgreSQL, "
                            "whose commits by other programs and nodes this "
                            "server cannot see; the cache needs SQLite",
                            where, res->name);
    }
    if (native && !res->ex->watch(p, params, native, &err)) {
        return apr_psprintf(p, "BackendResponseCache (%s): %s: %s", where,
                            res->name, err);
    }
    return NULL;
}

/* The database of res as this child watches it, or NULL. */
static const volatile unsigned char *watched(request_rec *r,
                                             be_resource_t *res)
{
    const volatile unsigned char *w = atomic_load(&res->watched);
    const char *err = NULL;
    be_dbd_target_t t;
    int i;

    if (w) {
        return w == be_rcache_off ? NULL : w;
    }
    pthread_mutex_lock(&watch_lock);
    if (!(w = atomic_load(&res->watched))) {
        t = be_find_dbd(r->pool, res->server);
        w = be_rcache_off;
        for (i = 0; t.params && i < nwatching; i++) {
            if (strcmp(watching[i].params, t.params) == 0) {
                w = watching[i].map;
            }
        }
        if (w == be_rcache_off && res->ex && res->ex->watch && t.params
            && nwatching < WATCHED_MAX) {
            if ((w = res->ex->watch(child_pool, t.params, NULL, &err))) {
                watching[nwatching].params = apr_pstrdup(child_pool, t.params);
                watching[nwatching++].map = w;
            }
            else {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                              "BE00085: BackendResponseCache: %s; %s is "
                              "answered without the cache",
                              err, res->name);
                w = be_rcache_off;
            }
        }
        atomic_store(&res->watched, w);
    }
    pthread_mutex_unlock(&watch_lock);
    return w == be_rcache_off ? NULL : w;
}

/* The database's state now, as SQLite's readers read it: the first copy,
 * then the second; 0 when they differ (a commit is writing them). */
static int mark_now(const volatile unsigned char *w,
                    unsigned char out[BE_WATCH_BYTES])
{
    unsigned char second[BE_WATCH_BYTES];
    int i;

    for (i = 0; i < BE_WATCH_BYTES; i++) {
        out[i] = w[i];
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    for (i = 0; i < BE_WATCH_BYTES; i++) {
        second[i] = w[BE_WATCH_BYTES + i];
    }
    return out[IS_INIT] && memcmp(out, second, BE_WATCH_BYTES) == 0;
}

/* resource, URI, user and key_headers, each with its length first */
static void key_field(be_buf_t *b, const char *v)
{
    if (!v) {
        be_buf_adds(b, "-;");
        return;
    }
    be_buf_printf(b, "%" APR_SIZE_T_FMT ":", strlen(v));
    be_buf_adds(b, v);
}

static apr_uint64_t fnv1a(const char *s, apr_size_t n)
{
    apr_uint64_t h = 14695981039346656037ULL;

    while (n--) {
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    }
    return h;
}

static void drop_all(shard_t *sh)
{
    int b;

    for (b = 0; b < BUCKETS; b++) {
        while (sh->buckets[b]) {
            entry_t *e = sh->buckets[b];
            sh->buckets[b] = e->next;
            free(e);
        }
    }
    sh->bytes = 0;
}

/* The entry of t's key in sh (locked), unlinked when stale. */
static entry_t **find(shard_t *sh, const be_rcache_ticket_t *t)
{
    entry_t **at = &sh->buckets[(t->hash / SHARDS) % BUCKETS], *e;

    for (; (e = *at); at = &e->next) {
        if (e->hash == t->hash && e->klen == t->klen
            && memcmp(e->key, t->key, t->klen) == 0) {
            return at;
        }
    }
    return NULL;
}

/* Every :header.NAME of every BackendRule (embedding reads other
 * resources' rows under their rules). */
static const apr_array_header_t *headers_of_rules(void)
{
    apr_array_header_t *all = be_all_resources(), *names;
    int i, a, k, j;

    if (atomic_load(&rule_headers_ready)) {
        return rule_headers;
    }
    pthread_mutex_lock(&watch_lock);
    if (!atomic_load(&rule_headers_ready)) {
        names = apr_array_make(child_pool, 4, sizeof(const char *));
        for (i = 0; all && i < all->nelts; i++) {
            const be_resource_t *res = APR_ARRAY_IDX(all, i, be_resource_t *);
            for (a = 0; a < BE_RULE_ACTIONS; a++) {
                for (k = 0; res->rules[a] && k < res->rules[a]->nelts; k++) {
                    const be_sqltext_t *t =
                        APR_ARRAY_IDX(res->rules[a], k, const be_sqltext_t *);
                    for (j = 0; j < t->params->nelts; j++) {
                        const be_param_t *p =
                            &APR_ARRAY_IDX(t->params, j, be_param_t);
                        if (p->kind == BE_P_HEADER) {
                            APR_ARRAY_PUSH(names, const char *) = p->name;
                        }
                    }
                }
            }
        }
        rule_headers = names;
        atomic_store(&rule_headers_ready, 1);
    }
    pthread_mutex_unlock(&watch_lock);
    return rule_headers;
}

void be_rcache_mark(request_rec *r, be_rctx_t *x)
{
    const volatile unsigned char *w;

    if (shards && r->method_number == M_GET
        && (w = atomic_load(&x->res->watched)) && w != be_rcache_off) {
        x->rcache_marked = mark_now(w, x->rcache_mark);
    }
}

/* What keeps a request away from the cache: not a GET; an internal
 * redirect (a write's error answered by a GET of the resource) or a
 * subrequest; a precondition other than If-None-Match; an <If> section
 * in scope, whose configuration may depend on anything of the request. */
static int uncacheable(request_rec *r, const be_resource_t *res)
{
    const core_dir_config *core = ap_get_core_module_config(r->per_dir_config);

    return !shards || r->method_number != M_GET || r->prev || r->main
        || res->fn || res->route || (core->sec_if && core->sec_if->nelts)
        || apr_table_get(r->headers_in, "If-Match")
        || apr_table_get(r->headers_in, "If-Unmodified-Since")
        || apr_table_get(r->headers_in, "If-Range");
}

int be_rcache_serve(request_rec *r, be_resource_t *res,
                    be_rcache_ticket_t **ticket)
{
    be_rctx_t *x = be_rctx(r);
    const apr_array_header_t *rules;
    be_rcache_ticket_t *t;
    const char *type = NULL, *h;
    be_buf_t key, body = {NULL, NULL, 0, 0};
    char *headers = NULL;
    apr_size_t hlen = 0;
    entry_t **at, *e;
    shard_t *sh;
    int i;

    *ticket = NULL;
    /* (the first request of a child only starts to watch the database:
     * it was routed before the mark could be read) */
    if (uncacheable(r, res) || !watched(r, res) || !x->rcache_marked) {
        return OK;
    }
    rules = headers_of_rules();
    t = apr_palloc(r->pool, sizeof(*t));
    memcpy(t->mark, x->rcache_mark, BE_WATCH_BYTES);
    /* the URI as the handler reads it, after any rewriting */
    be_buf_init(&key, r->pool, 256);
    be_buf_printf(&key, "%pp\n", (void *)res);
    key_field(&key, r->uri);
    key_field(&key, r->args);
    key_field(&key, r->user);
    for (i = 0; key_headers[i]; i++) {
        key_field(&key, apr_table_get(r->headers_in, key_headers[i]));
    }
    for (i = 0; rules && i < rules->nelts; i++) {
        key_field(&key,
                  apr_table_get(r->headers_in,
                                APR_ARRAY_IDX(rules, i, const char *)));
    }
    t->key = key.data;
    t->klen = key.len;
    t->hash = fnv1a(key.data, key.len);
    sh = &shards[t->hash % SHARDS];
    pthread_mutex_lock(&sh->lock);
    if ((at = find(sh, t)) && memcmp((*at)->mark, t->mark, BE_WATCH_BYTES)) {
        e = *at;
        *at = e->next;
        sh->bytes -= e->size;
        free(e);
        at = NULL;
    }
    if (at) {
        e = *at;
        type = e->type;
        body.data = apr_pmemdup(r->pool, e->body, e->len ? e->len : 1);
        body.len = e->len;
        headers = apr_pmemdup(r->pool, e->headers, e->hlen ? e->hlen : 1);
        hlen = e->hlen;
    }
    pthread_mutex_unlock(&sh->lock);
    be_metrics_cache(BE_CACHE_RESPONSE, type != NULL);
    /* %{backend-cache}n in a LogFormat */
    apr_table_setn(r->notes, "backend-cache", type ? "hit" : "miss");
    if (!type) {
        *ticket = t;
        return OK;
    }
    for (h = headers; h < headers + hlen; h += strlen(h) + 1) {
        const char *name = h;
        h += strlen(h) + 1;
        apr_table_setn(r->headers_out, name, h);
    }
    if (ap_meets_conditions(r) == HTTP_NOT_MODIFIED) {
        return be_send_typed(r, HTTP_NOT_MODIFIED, NULL, type);
    }
    return be_send_typed(r, HTTP_OK, &body, type);
}

void be_rcache_keep(request_rec *r, const be_rcache_ticket_t *t,
                    const be_buf_t *body, const char *type)
{
    apr_size_t hlen = 0, size;
    const char *v[sizeof(kept_headers) / sizeof(kept_headers[0])];
    shard_t *sh = &shards[t->hash % SHARDS];
    entry_t **at, *e;
    char *w;
    int i;

    for (i = 0; kept_headers[i]; i++) {
        if ((v[i] = apr_table_get(r->headers_out, kept_headers[i]))) {
            hlen += strlen(kept_headers[i]) + strlen(v[i]) + 2;
        }
    }
    size = sizeof(*e) + t->klen + body->len + hlen;
    /* an answer over a quarter of a part would empty it too often */
    if (size > part / 4 || !(e = malloc(size))) {
        return;
    }
    memcpy(e->mark, t->mark, BE_WATCH_BYTES);
    e->hash = t->hash;
    e->type = type;
    e->size = size;
    e->klen = t->klen;
    e->len = body->len;
    e->hlen = hlen;
    e->key = (char *)(e + 1);
    memcpy(e->key, t->key, t->klen);
    e->body = e->key + t->klen;
    memcpy(e->body, body->data, body->len);
    w = e->headers = e->body + body->len;
    for (i = 0; kept_headers[i]; i++) {
        if (v[i]) {
            apr_size_t n = strlen(kept_headers[i]) + 1, m = strlen(v[i]) + 1;
            memcpy(w, kept_headers[i], n);
            memcpy(w + n, v[i], m);
            w += n + m;
        }
    }
    pthread_mutex_lock(&sh->lock);
    if ((at = find(sh, t))) {
        entry_t *old = *at;
        *at = old->next;
        sh->bytes -= old->size;
        free(old);
    }
    if (sh->bytes + size > part) {
        drop_all(sh);
    }
    at = &sh->buckets[(t->hash / SHARDS) % BUCKETS];
    e->next = *at;
    *at = e;
    sh->bytes += size;
    pthread_mutex_unlock(&sh->lock);
}
