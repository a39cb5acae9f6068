/*
 * mod_backend_metrics.c - SetHandler backend-metrics: the Prometheus text
 * exposition of what every child of the server counted, and the same
 * counters in mod_status's server-status page.
 *
 * The counters live in shared memory from httpd's slotmem provider
 * (mod_slotmem_shm): one slot per resource, function or route (requests
 * by method and status class, a latency histogram, database time) and one
 * for the server (pool acquisitions, SQLite lock waits, the token and
 * password caches, log lines by tag).  Children add to them with atomic
 * operations, no lock, each thread to the copy of the CPU it runs on
 * (a stripe; the exposition sums them): counters every CPU adds to
 * would make their cache lines travel between cores on every request
 * (E1 on two cores lost 15% to that).  They are kept only when some location has
 * SetHandler backend-metrics (read from the configuration tree), and keep
 * counting across graceful restarts while the resources stay the same.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu */
#endif
#include <sched.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_provider.h>
#include <ap_slotmem.h>
#include <mod_status.h>
#include <util_cfgtree.h>
#include <apr_lib.h>
#include <apr_optional_hooks.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

typedef apr_uint64_t counter_t;

#define N_METHODS 8 /* GET HEAD POST PUT PATCH DELETE OPTIONS other */
#define N_CLASSES 5 /* 1xx .. 5xx */
#define N_TAGS 100  /* BE00000 .. BE00099 */
static const char *const method_names[N_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
/* the histogram's upper bounds, in microseconds, and as Prometheus
 * writes them */
static const apr_int64_t bounds[] = {500,    1000,   2500,    5000,
                                     10000,  25000,  50000,   100000,
                                     250000, 500000, 1000000, 2500000};
static const char *const bound_names[] = {"0.0005", "0.001", "0.0025", "0.005",
                                          "0.01",   "0.025", "0.05",   "0.1",
                                          "0.25",   "0.5",   "1",      "2.5"};
#define N_BUCKETS (sizeof(bounds) / sizeof(bounds[0]))

typedef struct {
    counter_t requests[N_METHODS][N_CLASSES];
    counter_t buckets[N_BUCKETS]; /* not cumulative: each its own range */
    counter_t count, usec;        /* latency */
    counter_t db_usec;
} res_slot_t;

typedef struct {
    counter_t acquires, acquire_usec, acquire_waits;
    counter_t busy, lock_waits, lock_usec;
    /* by be_cache_kind_e: hits, misses */
    counter_t cache[3][2];
    counter_t tags[N_TAGS];
} server_slot_t;

/* a stripe of each kind, whole cache lines */
#define STRIDE(t) ((sizeof(t) + 63) / 64 * 64)
#define N_COUNTERS(t) (sizeof(t) / sizeof(counter_t))

static const ap_slotmem_provider_t *slotmem;
static unsigned stripes = 1; /* the CPUs configured, at most 256 */
static int wanted;           /* a location has SetHandler backend-metrics */
static apr_array_header_t *slots; /* res_slot_t*, as be_all_resources() */
static server_slot_t *totals;     /* stripe 0 of the server's slot */

#define ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* This thread's stripe of a slot (its CPU's; a thread moved between this
 * and its additions only shares a line it did not need to). */
static void *stripe(void *slot, apr_size_t stride)
{
    int cpu = stripes > 1 ? sched_getcpu() : 0;
    return (char *)slot + stride * (cpu > 0 ? (unsigned)cpu % stripes : 0);
}

#define MY_TOTALS() ((server_slot_t *)stripe(totals, STRIDE(server_slot_t)))

/* The sum of every stripe of a slot of n counters. */
static void gather(counter_t *into, const void *slot, apr_size_t n,
                   apr_size_t stride)
{
    unsigned k;
    apr_size_t i;

    memset(into, 0, n * sizeof(counter_t));
    for (k = 0; k < stripes; k++) {
        const counter_t *c =
            (const counter_t *)((const char *)slot + stride * k);
        for (i = 0; i < n; i++) {
            into[i] += GET(c[i]);
        }
    }
}

int be_metrics_on(void)
{
    return totals != NULL;
}

static int handler_named(const ap_directive_t *d, apr_pool_t *p)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "SetHandler") && d->args) {
            const char *args = d->args;
            if (!strcasecmp(ap_getword_conf(p, &args), "backend-metrics")) {
                return 1;
            }
        }
        if (d->first_child && handler_named(d->first_child, p)) {
            return 1;
        }
    }
    return 0;
}

const char *be_metrics_test_config(apr_pool_t *p)
{
    wanted = handler_named(ap_conftree, p);
    slotmem = wanted ? ap_lookup_provider(AP_SLOTMEM_PROVIDER_GROUP, "shm",
                                          AP_SLOTMEM_PROVIDER_VERSION)
                     : NULL;
    return wanted && !slotmem
        ? "SetHandler backend-metrics needs httpd's shared memory slots: "
          "LoadModule slotmem_shm_module (a2enmod slotmem_shm)"
        : NULL;
}

int be_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    apr_array_header_t *all = be_all_resources();
    ap_slotmem_instance_t *inst;
    apr_size_t size;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    apr_uint32_t layout = 2166136261u;
    const char *err, *name;
    apr_status_t rv;
    void *mem;
    int i;

    (void)plog;
    totals = NULL;
    slots = NULL;
    for (i = 0; all && i < all->nelts; i++) {
        APR_ARRAY_IDX(all, i, be_resource_t *)->metrics = NULL;
    }
    if ((err = be_metrics_test_config(ptemp))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "BE00083: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!wanted) {
        return OK;
    }
    stripes = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (unsigned)ncpu;
    size = stripes
        * (STRIDE(res_slot_t) > STRIDE(server_slot_t) ? STRIDE(res_slot_t)
                                                      : STRIDE(server_slot_t));
    /* the same resources in the same order find the same slots again */
    for (i = 0; all && i < all->nelts; i++) {
        const char *path = APR_ARRAY_IDX(all, i, be_resource_t *)->path;
        for (; path && *path; path++) {
            layout = (layout ^ (unsigned char)*path) * 16777619u;
        }
        layout = (layout ^ '\n') * 16777619u;
    }
    name = apr_psprintf(ptemp, "mod_backend_metrics_%d_%08x_%u",
                        all ? all->nelts : 0, layout, stripes);
    rv = slotmem->create(&inst, name, size,
                         (unsigned int)(all ? all->nelts : 0) + 1,
                         AP_SLOTMEM_TYPE_PREGRAB, pconf);
    if (rv != APR_SUCCESS || slotmem->dptr(inst, 0, &mem) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "BE00083: cannot create the shared memory of "
                     "backend-metrics");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    totals = mem;
    slots = apr_array_make(pconf, all ? all->nelts : 1, sizeof(res_slot_t *));
    for (i = 0; all && i < all->nelts; i++) {
        if (slotmem->dptr(inst, (unsigned int)i + 1, &mem) != APR_SUCCESS) {
            totals = NULL;
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        APR_ARRAY_PUSH(slots, res_slot_t *) = mem;
        APR_ARRAY_IDX(all, i, be_resource_t *)->metrics = mem;
    }
    return OK;
}

/* ---------------------------------------------------------------------- */
/* Counting                                                                */

static int method_index(const request_rec *r)
{
    switch (r->method_number) {
    case M_GET:
        return r->header_only ? 1 : 0;
    case M_POST:
        return 2;
    case M_PUT:
        return 3;
    case M_PATCH:
        return 4;
    case M_DELETE:
        return 5;
    case M_OPTIONS:
        return 6;
    default:
        return 7;
    }
}

/* log_transaction, before mod_log_config: notes a LogFormat can show with
 * %{backend-resource}n, %{backend-db-us}n and %{backend-rows}n. */
int be_log_notes(request_rec *r)
{
    const be_rctx_t *rc =
        ap_get_module_config(r->request_config, &backend_module);

    if (rc && rc->res) {
        apr_table_setn(r->notes, "backend-resource", rc->res->path);
        apr_table_setn(r->notes, "backend-db-us",
                       apr_ltoa(r->pool, (long)rc->db_time));
        apr_table_setn(r->notes, "backend-rows",
                       apr_ltoa(r->pool, rc->db_rows));
    }
    return DECLINED;
}

/* log_transaction: a request routed to a resource, once answered. */
int be_metrics_log(request_rec *r)
{
    const be_rctx_t *rc;
    res_slot_t *m;
    apr_int64_t usec;
    unsigned b;
    int cls;

    if (!totals || r->main
        || !(rc = ap_get_module_config(r->request_config, &backend_module))
        || !rc->res || !(m = rc->res->metrics)) {
        return DECLINED;
    }
    usec = apr_time_now() - r->request_time;
    usec = usec < 0 ? 0 : usec;
    cls = r->status / 100 - 1;
    m = stripe(m, STRIDE(res_slot_t));
    ADD(m->requests[method_index(r)][cls < 0 ? 0 : cls > 4 ? 4 : cls], 1);
    for (b = 0; b < N_BUCKETS && usec > bounds[b]; b++) {
    }
    if (b < N_BUCKETS) {
        ADD(m->buckets[b], 1);
    }
    ADD(m->count, 1);
    ADD(m->usec, (counter_t)usec);
    ADD(m->db_usec, (counter_t)rc->db_time);
    return DECLINED;
}

void be_metrics_acquired(apr_interval_time_t waited)
{
    if (totals) {
        server_slot_t *t = MY_TOTALS();
        ADD(t->acquires, 1);
        ADD(t->acquire_usec, (counter_t)(waited < 0 ? 0 : waited));
        if (waited > 1000) {
            ADD(t->acquire_waits, 1);
        }
    }
}

void be_metrics_lock_wait(apr_interval_time_t waited, int stalled)
{
    if (totals) {
        server_slot_t *t = MY_TOTALS();
        ADD(t->busy, 1);
        if (!stalled) {
            return;
        }
        ADD(t->lock_waits, 1);
        ADD(t->lock_usec, (counter_t)(waited < 0 ? 0 : waited));
    }
}

void be_metrics_cache(be_cache_kind_e kind, int hit)
{
    if (totals) {
        ADD(MY_TOTALS()->cache[kind][hit ? 0 : 1], 1);
    }
}

/* error_log: every line of ours at warn or worse, by its tag */
void be_metrics_error_log(const ap_errorlog_info *info, const char *errstr)
{
    int n;

    if (!totals || info->level > APLOG_WARNING || !errstr
        || strncmp(errstr, "BE000", 5) != 0 || !apr_isdigit(errstr[5])
        || !apr_isdigit(errstr[6]) || errstr[7] != ':') {
        return;
    }
    n = (errstr[5] - '0') * 10 + (errstr[6] - '0');
    ADD(MY_TOTALS()->tags[n], 1);
}

/* ---------------------------------------------------------------------- */
/* The exposition                                                          */

static void help(be_buf_t *b, const char *name, const char *type,
                 const char *text)
{
    be_buf_adds(b, "# HELP ");
    be_buf_adds(b, name);
    be_buf_addc(b, ' ');
    be_buf_adds(b, text);
    be_buf_adds(b, "\n# TYPE ");
    be_buf_adds(b, name);
    be_buf_addc(b, ' ');
    be_buf_adds(b, type);
    be_buf_addc(b, '\n');
}

/* A label value: backslash, double quote and newline escaped. */
static const char *label(apr_pool_t *p, const char *v)
{
    be_buf_t b;

    be_buf_init(&b, p, 32);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            be_buf_addc(&b, '\\');
            be_buf_addc(&b, *v);
        }
        else if (*v == '\n') {
            be_buf_adds(&b, "\\n");
        }
        else {
            be_buf_addc(&b, *v);
        }
    }
    return be_buf_cstr(&b);
}

/* name{labels}, before a sample's value */
static void series(be_buf_t *b, const char *name, const char *labels)
{
    be_buf_adds(b, name);
    if (labels) {
        be_buf_addc(b, '{');
        be_buf_adds(b, labels);
        be_buf_addc(b, '}');
    }
}

static void sample(be_buf_t *b, apr_pool_t *p, const char *name,
                   const char *labels, counter_t v)
{
    series(b, name, labels);
    be_buf_adds(b, apr_psprintf(p, " %" APR_UINT64_T_FMT "\n", v));
}

static void seconds(be_buf_t *b, apr_pool_t *p, const char *name,
                    const char *labels, counter_t usec)
{
    series(b, name, labels);
    be_buf_adds(
        b,
        apr_psprintf(p, " %" APR_UINT64_T_FMT ".%06" APR_UINT64_T_FMT "\n",
                     usec / 1000000, usec % 1000000));
}

/* A cache's family: its hits and misses. */
static void hits(be_buf_t *b, apr_pool_t *p, const char *name,
                 const char *text, counter_t hit, counter_t miss)
{
    help(b, name, "counter", text);
    sample(b, p, name, "result=\"hit\"", hit);
    sample(b, p, name, "result=\"miss\"", miss);
}

/* Every slot's stripes summed: (resource slots, the server's) */
static res_slot_t *summed(apr_pool_t *p, server_slot_t *server)
{
    res_slot_t *res =
        apr_palloc(p, sizeof(res_slot_t) * (apr_size_t)(slots->nelts + 1));
    int i;

    for (i = 0; i < slots->nelts; i++) {
        gather((counter_t *)&res[i], APR_ARRAY_IDX(slots, i, res_slot_t *),
               N_COUNTERS(res_slot_t), STRIDE(res_slot_t));
    }
    gather((counter_t *)server, totals, N_COUNTERS(server_slot_t),
           STRIDE(server_slot_t));
    return res;
}

static void exposition(be_buf_t *b, apr_pool_t *p)
{
    apr_array_header_t *all = be_all_resources();
    server_slot_t tot;
    const res_slot_t *res = summed(p, &tot);
    int i, m, c, t;
    unsigned k;

    help(b, "backend_requests_total", "counter",
         "Requests to a resource, function or route, by method and status "
         "class.");
    for (i = 0; i < slots->nelts; i++) {
        const res_slot_t *s = &res[i];
        const char *path =
            label(p, APR_ARRAY_IDX(all, i, be_resource_t *)->path);
        for (m = 0; m < N_METHODS; m++) {
            for (c = 0; c < N_CLASSES; c++) {
                counter_t v = s->requests[m][c];
                if (v) {
                    sample(b, p, "backend_requests_total",
                           apr_psprintf(p,
                                        "resource=\"%s\",method=\"%s\","
                                        "code=\"%dxx\"",
                                        path, method_names[m], c + 1),
                           v);
                }
            }
        }
    }
    help(b, "backend_request_duration_seconds", "histogram",
         "Time from the request's arrival to its logging, per resource.");
    for (i = 0; i < slots->nelts; i++) {
        const res_slot_t *s = &res[i];
        const char *path =
            label(p, APR_ARRAY_IDX(all, i, be_resource_t *)->path);
        counter_t sum = 0, count = s->count;
        for (k = 0; k < N_BUCKETS; k++) {
            sum += s->buckets[k];
            sample(b, p, "backend_request_duration_seconds_bucket",
                   apr_psprintf(p, "resource=\"%s\",le=\"%s\"", path,
                                bound_names[k]),
                   sum > count ? count : sum);
        }
        sample(b, p, "backend_request_duration_seconds_bucket",
               apr_psprintf(p, "resource=\"%s\",le=\"+Inf\"", path), count);
        seconds(b, p, "backend_request_duration_seconds_sum",
                apr_psprintf(p, "resource=\"%s\"", path), s->usec);
        sample(b, p, "backend_request_duration_seconds_count",
               apr_psprintf(p, "resource=\"%s\"", path), count);
    }
    help(b, "backend_db_seconds_total", "counter",
         "Time in the database's calls (rows read included), per resource.");
    for (i = 0; i < slots->nelts; i++) {
        const res_slot_t *s = &res[i];
        seconds(b, p, "backend_db_seconds_total",
                apr_psprintf(
                    p, "resource=\"%s\"",
                    label(p, APR_ARRAY_IDX(all, i, be_resource_t *)->path)),
                s->db_usec);
    }
    help(b, "backend_pool_acquires_total", "counter",
         "Connections taken from mod_dbd's pool.");
    sample(b, p, "backend_pool_acquires_total", NULL, tot.acquires);
    help(b, "backend_pool_acquire_seconds_total", "counter",
         "Time spent taking connections from the pool.");
    seconds(b, p, "backend_pool_acquire_seconds_total", NULL,
            tot.acquire_usec);
    help(b, "backend_pool_waits_total", "counter",
         "Connections from the pool that took over 1 ms to come.");
    sample(b, p, "backend_pool_waits_total", NULL, tot.acquire_waits);
    help(b, "backend_sqlite_busy_total", "counter",
         "SQLite statements that met another connection's lock (another "
         "program writing; without WAL, readers too), however long they "
         "waited.");
    sample(b, p, "backend_sqlite_busy_total", NULL, tot.busy);
    help(b, "backend_sqlite_lock_waits_total", "counter",
         "SQLite statements that waited over 10 ms for another "
         "connection's lock.");
    sample(b, p, "backend_sqlite_lock_waits_total", NULL, tot.lock_waits);
    help(b, "backend_sqlite_lock_wait_seconds_total", "counter",
         "Time those statements waited.");
    seconds(b, p, "backend_sqlite_lock_wait_seconds_total", NULL,
            tot.lock_usec);
    hits(b, p, "backend_token_cache_total",
         "Bearer tokens whose signature check the cache answered (hit) or "
         "not (miss).",
         tot.cache[BE_CACHE_TOKEN][0], tot.cache[BE_CACHE_TOKEN][1]);
    hits(b, p, "backend_authn_cache_total",
         "Password checks of AuthBasicProvider backend-cache the cache "
         "answered (hit) or not (miss).",
         tot.cache[BE_CACHE_AUTHN][0], tot.cache[BE_CACHE_AUTHN][1]);
    hits(b, p, "backend_response_cache_total",
         "Reads under BackendResponseCache answered from memory (hit) or "
         "by the database (miss).",
         tot.cache[BE_CACHE_RESPONSE][0], tot.cache[BE_CACHE_RESPONSE][1]);
    help(b, "backend_log_messages_total", "counter",
         "mod_backend's log lines at warn level or worse, by tag.");
    for (t = 0; t < N_TAGS; t++) {
        counter_t v = tot.tags[t];
        if (v) {
            sample(b, p, "backend_log_messages_total",
                   apr_psprintf(p, "tag=\"BE%05d\"", t), v);
        }
    }
}

int be_metrics_handler(request_rec *r)
{
    be_buf_t b;

    if (!r->handler || strcmp(r->handler, "backend-metrics") != 0) {
        return DECLINED;
    }
    be_rctx(r)->problems = 1;
    if (r->method_number != M_GET) {
        return be_not_allowed(r, "GET, HEAD") == DONE
            ? OK
            : HTTP_INTERNAL_SERVER_ERROR;
    }
    be_buf_init(&b, r->pool, 8192);
    exposition(&b, r->pool);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)b.len);
    if (!r->header_only) {
        ap_rwrite(b.data, (int)b.len, r);
    }
    return OK;
}

/* mod_status: the same counters, as text in the HTML page; ?auto gets
 * the totals as Key: value lines. */
static int status_hook(request_rec *r, int flags)
{
    be_buf_t b;
    counter_t requests = 0, usec = 0, db = 0;
    server_slot_t tot;
    const res_slot_t *res;
    int i;

    if (!totals) {
        return OK;
    }
    res = summed(r->pool, &tot);
    for (i = 0; i < slots->nelts; i++) {
        requests += res[i].count;
        usec += res[i].usec;
        db += res[i].db_usec;
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(
            r,
            "BackendRequests: %" APR_UINT64_T_FMT
            "\nBackendRequestSeconds: %" APR_UINT64_T_FMT
            ".%06" APR_UINT64_T_FMT "\nBackendDBSeconds: %" APR_UINT64_T_FMT
            ".%06" APR_UINT64_T_FMT "\nBackendPoolWaits: %" APR_UINT64_T_FMT
            "\nBackendSQLiteLockWaits: %" APR_UINT64_T_FMT "\n",
            requests, usec / 1000000, usec % 1000000, db / 1000000,
            db % 1000000, tot.acquire_waits, tot.lock_waits);
        return OK;
    }
    be_buf_init(&b, r->pool, 8192);
    exposition(&b, r->pool);
    ap_rputs("<hr />\n<h2>mod_backend</h2>\n<pre>", r);
    ap_rputs(ap_escape_html(r->pool, be_buf_cstr(&b)), r);
    ap_rputs("</pre>\n", r);
    return OK;
}

void be_metrics_register(apr_pool_t *p)
{
    (void)p;
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
