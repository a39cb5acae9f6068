/*
 * mod_backend_ratelimit.c - BackendRateLimit and BackendLoginLimit.
 *
 * A limit of N requests per PERIOD, with a burst of M (default N), is
 * kept as the generic cell rate algorithm keeps it: one time per client
 * (the "theoretical arrival time" of its next request), in the shared
 * cache of BackendRateLimitSOCache, so every child and, with memcache or
 * redis, every node counts against the same number.  A request moves the
 * client's time on by PERIOD/N; it is refused while that time would be
 * more than M*PERIOD/N ahead of now.  A client's entry expires when its
 * time has passed, so the cache holds only clients that are limited now.
 *
 * Answers under a BackendRateLimit carry the RateLimit-Policy and
 * RateLimit fields of draft-ietf-httpapi-ratelimit-headers (-10):
 *   RateLimit-Policy: "NAME";q=N;w=SECONDS
 *   RateLimit: "NAME";r=REMAINING;t=SECONDS-UNTIL-FULL
 * and a refused one is 429 problem+json with Retry-After.
 *
 * BackendLoginLimit counts only failed logins (401) of a location, per
 * user name and per client address: past N, that user (from anywhere) and
 * that address (as anyone) are refused with 429 before any password is
 * checked, one more try coming back every PERIOD/N.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_mutex.h>
#include <apr_lib.h>
#include <apr_shm.h>
#include <openssl/evp.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

APLOG_USE_MODULE(backend);

#define LIMIT_MUTEX "backend-ratelimit"

static int wanted; /* some location limits */
be_socache_t be_limit_socache;
static be_socache_t *const cache = &be_limit_socache;

/* Without BackendRateLimitSOCache: the clients' times in a table of this
 * machine's shared memory, updated by compare-and-swap, with no lock (the
 * one socache provider of a single machine, shmcb, is not safe across
 * processes and needs a global mutex, on which every thread queued while
 * one client was busy: bench E11).  A slot is one 64-bit word: 20 bits of
 * the client's hash (never 0: 0 is an empty slot), then its time in units
 * of 16 us since the table was made (44 bits: 8.9 years).  A client's
 * slot is one of the 4 its hash picks; one that finds none of them its
 * own or free takes the one whose time is oldest. */
#define SLOTS 65536
#define WAYS 4
#define UNIT 16
#define TIME_BITS 44
#define TIME_MASK ((APR_UINT64_C(1) << TIME_BITS) - 1)
static apr_uint64_t *table;
static apr_time_t base;

int be_limit_pre_config(apr_pool_t *pconf)
{
    wanted = 0;
    table = NULL;
    return be_socache_pre_config(cache, pconf, LIMIT_MUTEX);
}

/* PERIOD: second|minute|hour|day, or [K]s|m|h|d (30s, 15m). */
static apr_interval_time_t parse_period(const char *s)
{
    static const struct {
        const char *word;
        char unit;
        long secs;
    } units[] = {{"second", 's', 1},
                 {"minute", 'm', 60},
                 {"hour", 'h', 3600},
                 {"day", 'd', 86400}};
    char *end;
    long k = 1;
    unsigned i;

    if (apr_isdigit(*s)) {
        k = strtol(s, &end, 10);
        s = end;
        if (k < 1 || k > 1000000) {
            return 0;
        }
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if ((s[0] == units[i].unit && s[1] == '\0')
            || (k == 1 && strcmp(s, units[i].word) == 0)) {
            return apr_time_from_sec((apr_time_t)k * units[i].secs);
        }
    }
    return 0;
}

const char *be_limit_parse(cmd_parms *cmd, int argc, char *const argv[],
                           const char *name, int login, be_limit_t **out)
{
    const char *dir = cmd->cmd->name, *slash;
    be_limit_t *l = apr_pcalloc(cmd->pool, sizeof(*l));
    char *end;
    int i;

    if (argc < 1 || !(slash = strchr(argv[0], '/'))) {
        return apr_psprintf(cmd->pool, "%s needs N/PERIOD, e.g. 100/minute",
                            dir);
    }
    l->n = strtol(argv[0], &end, 10);
    if (end != slash || l->n < 1 || l->n > 1000000000L
        || !(l->period = parse_period(slash + 1))) {
        return apr_psprintf(cmd->pool,
                            "%s %s: not N/PERIOD (N from 1, PERIOD second, "
                            "minute, hour, day, or a number of them: 30s, "
                            "15m, 12h, 7d)",
                            dir, argv[0]);
    }
    l->burst = l->n;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!login && strcmp(a, "by=ip") == 0) {
            l->by = BE_BY_IP;
        }
        else if (!login && strcmp(a, "by=user") == 0) {
            l->by = BE_BY_USER;
        }
        else if (!login && strncmp(a, "by=claim.", 9) == 0 && a[9]) {
            l->by = BE_BY_CLAIM;
            l->claim = a + 9;
        }
        else if (!login && strncmp(a, "burst=", 6) == 0) {
            l->burst = strtol(a + 6, &end, 10);
            if (*end || end == a + 6 || l->burst < 1
                || l->burst > 1000000000L) {
                return apr_psprintf(cmd->pool, "%s %s: burst=M needs M >= 1",
                                    dir, argv[0]);
            }
        }
        else {
            return apr_psprintf(cmd->pool,
                                login ? "%s: unknown option '%s'"
                                      : "%s: unknown option '%s' (by=ip, "
                                        "by=user, by=claim.NAME, burst=M)",
                                dir, a);
        }
    }
    if (l->period / l->n < 1) {
        return apr_psprintf(cmd->pool, "%s %s: more than one per microsecond",
                            dir, argv[0]);
    }
    l->policy = name ? name : "default";
    /* the same on every node with the same configuration */
    l->key =
        apr_psprintf(cmd->pool, "%s|%s|%s|%ld", cmd->path ? cmd->path : "",
                     l->policy, argv[0], l->burst);
    l->spec = argv[0];
    wanted = 1;
    *out = l;
    return NULL;
}

const char *be_limit_test_config(apr_pool_t *p)
{
    return wanted && cache->spec
        ? be_socache_find(p, cache, cache->spec, "BE00050: BackendRateLimit")
        : NULL;
}

int be_limit_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s)
{
    const char *err;

    (void)plog;
    if (!wanted) {
        return OK;
    }
    if (!cache->spec) {
        apr_shm_t *shm;
        apr_status_t rv =
            apr_shm_create(&shm, SLOTS * sizeof(apr_uint64_t), NULL, pconf);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "BE00051: BackendRateLimit: no shared memory for "
                         "its table");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        table = apr_shm_baseaddr_get(shm);
        memset(table, 0, SLOTS * sizeof(apr_uint64_t));
        base = apr_time_now();
        return OK;
    }
    if ((err = be_limit_test_config(ptemp))
        || ((err = be_socache_start(cache, "mod_backend-rl", LIMIT_MUTEX,
                                    pconf, ptemp, s))
            && (err = apr_pstrcat(ptemp, "BE00051: BackendRateLimitSOCache: ",
                                  err, NULL)))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void be_limit_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    be_socache_child_init(cache, pchild);
}

/* ---------------------------------------------------------------------- */
/* Counting                                                                */

typedef struct {
    long remaining; /* requests left now */
    long full;      /* seconds until every one is back */
    long wait;      /* refused: seconds until the next one passes */
} take_t;

static long ceil_secs(apr_interval_time_t t)
{
    return t <= 0 ? 0 : (long)((t + APR_USEC_PER_SEC - 1) / APR_USEC_PER_SEC);
}

/* What the answer says of a client whose time was tat (at least now). */
static int answer(int refused, int take, apr_interval_time_t t,
                  apr_interval_time_t tau, apr_time_t now, apr_time_t tat,
                  apr_time_t next, take_t *out)
{
    if (refused) {
        out->remaining = 0;
        out->full = ceil_secs(tat - now);
        out->wait = ceil_secs(next - tau - now);
        if (out->wait < 1) {
            out->wait = 1;
        }
        return 1;
    }
    if (!take) {
        next = tat; /* (what the answer says is as before) */
    }
    out->remaining = (long)((tau - (next - now)) / t);
    out->full = ceil_secs(next - now);
    out->wait = 0;
    return 0;
}

/* The table's side of take(): the client's time (at least now) into
 * *tat, and moved on by t when take and it passes; 1 when refused. */
static int table_take(apr_uint64_t h, apr_interval_time_t t,
                      apr_interval_time_t tau, int take, apr_time_t now,
                      apr_time_t *tat)
{
    apr_uint64_t fp = ((h >> TIME_BITS) | 1) << TIME_BITS;
    apr_uint64_t now_u = (apr_uint64_t)(now - base) / UNIT, tat_u, next_u;
    apr_uint64_t *set = table + (h % (SLOTS / WAYS)) * WAYS;
    int attempt, i;

    for (attempt = 0; attempt < 8; attempt++) {
        apr_uint64_t *slot = NULL, old = 0, v;
        for (i = 0; i < WAYS && !slot; i++) {
            v = __atomic_load_n(&set[i], __ATOMIC_ACQUIRE);
            if ((v & ~TIME_MASK) == fp) {
                slot = &set[i];
                old = v;
            }
        }
        tat_u = slot ? old & TIME_MASK : now_u;
        if (!slot) {
            /* a free slot, or one whose client has nothing left to count,
             * else the oldest */
            slot = &set[0];
            old = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
            for (i = 0; i < WAYS; i++) {
                v = __atomic_load_n(&set[i], __ATOMIC_ACQUIRE);
                if ((v & TIME_MASK) <= now_u) {
                    slot = &set[i];
                    old = v;
                    break;
                }
                if ((v & TIME_MASK) < (old & TIME_MASK)) {
                    slot = &set[i];
                    old = v;
                }
            }
        }
        if (tat_u < now_u) {
            tat_u = now_u;
        }
        next_u = tat_u + (apr_uint64_t)(t / UNIT);
        *tat = base + (apr_time_t)tat_u * UNIT;
        *tat = *tat < now ? now : *tat;
        if ((apr_interval_time_t)(next_u - now_u) * UNIT > tau) {
            return 1;
        }
        if (!take || next_u > TIME_MASK
            || __atomic_compare_exchange_n(slot, &old, fp | next_u, 0,
                                           __ATOMIC_ACQ_REL,
                                           __ATOMIC_ACQUIRE)) {
            return 0;
        }
    }
    return 0; /* (eight other writers in between: let this one pass) */
}

/* One request of the client key against l: counted when take, else only
 * looked at.  0 when it passes. */
static int take(request_rec *r, const be_limit_t *l, const char *key, int take,
                take_t *out)
{
    apr_interval_time_t t = l->period / l->n, tau = t * l->burst;
    apr_time_t now = apr_time_now(), tat = 0, next;
    unsigned char val[sizeof(apr_time_t)], id[EVP_MAX_MD_SIZE];
    unsigned int vlen = sizeof(val), idlen = 0;
    int refused;

    /* a short id of fixed length, whatever the user name (memcache keys
     * have a bound) */
    if ((!table && !cache->instance) || !be_sha1()
        || !EVP_Digest(key, strlen(key), id, &idlen, be_sha1(), NULL)) {
        out->remaining = l->burst;
        out->full = out->wait = 0;
        return 0;
    }
    if (table) {
        apr_uint64_t h;
        memcpy(&h, id, sizeof(h));
        t = t < UNIT ? UNIT : t / UNIT * UNIT;
        tau = t * l->burst;
        refused = table_take(h, t, tau, take, now, &tat);
        next = tat + t;
        return answer(refused, take, t, tau, now, tat, next, out);
    }
    be_socache_lock(cache);
    if (cache->provider->retrieve(cache->instance, r->server, id, idlen, val,
                                  &vlen, r->pool)
            == APR_SUCCESS
        && vlen == sizeof(val)) {
        memcpy(&tat, val, sizeof(tat));
    }
    if (tat < now) {
        tat = now;
    }
    next = tat + t;
    refused = next - now > tau;
    if (!refused && take) {
        memcpy(val, &next, sizeof(next));
        /* memcache and redis keep whole seconds and refuse an entry that
         * would live under one: it stays until a whole second after its
         * time (a later expiry changes nothing: a time that has passed
         * reads as now) */
        cache->provider->store(cache->instance, r->server, id, idlen,
                               apr_time_from_sec(apr_time_sec(next) + 2), val,
                               sizeof(val), r->pool);
    }
    be_socache_unlock(cache);
    return answer(refused, take, t, tau, now, tat, next, out);
}

static int too_many(request_rec *r, const take_t *tk, const char *detail)
{
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_ltoa(r->pool, tk->wait));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00082: %s", detail);
    return be_problem(r, HTTP_TOO_MANY_REQUESTS, detail, NULL);
}

/* Whom a request counts for: by=user (the authenticated user) and
 * by=claim.NAME (a claim of its token) fall back to the address. */
static const char *client(request_rec *r, const be_limit_t *l)
{
    const be_rctx_t *rc = be_rctx(r);
    const char *v = NULL;

    if (l->by == BE_BY_USER && r->user) {
        return apr_pstrcat(r->pool, "u:", r->user, NULL);
    }
    if (l->by == BE_BY_CLAIM && rc->claims
        && (v = apr_table_get(((const be_claims_t *)rc->claims)->claims,
                              l->claim))) {
        return apr_pstrcat(r->pool, "c:", v, NULL);
    }
    return apr_pstrcat(r->pool, "a:", r->useragent_ip, NULL);
}

/* fixups: after authentication, before the handler. */
int be_limit_fixups(request_rec *r)
{
    const be_dir_conf_t *dc;
    const be_rctx_t *rc;
    const be_limit_t *l;
    take_t tk;
    int refused;

    if (!wanted || !ap_is_initial_req(r)) {
        return DECLINED;
    }
    dc = ap_get_module_config(r->per_dir_config, &backend_module);
    rc = be_rctx(r);
    if (!(l = rc->res && rc->res->limit ? rc->res->limit : dc->limit)) {
        return DECLINED;
    }
    refused = take(r, l, apr_pstrcat(r->pool, l->key, "|", client(r, l), NULL),
                   1, &tk);
    apr_table_setn(r->err_headers_out, "RateLimit-Policy",
                   apr_psprintf(r->pool, "\"%s\";q=%ld;w=%ld", l->policy, l->n,
                                ceil_secs(l->period)));
    apr_table_setn(r->err_headers_out, "RateLimit",
                   apr_psprintf(r->pool, "\"%s\";r=%ld;t=%ld", l->policy,
                                tk.remaining, tk.full));
    if (refused) {
        return too_many(r, &tk,
                        apr_psprintf(r->pool,
                                     "too many requests: the limit is %s; "
                                     "retry in %ld s",
                                     l->spec, tk.wait));
    }
    return DECLINED;
}

/* ---------------------------------------------------------------------- */
/* Failed logins                                                           */

static const char *login_key(request_rec *r, const be_limit_t *l,
                             const char *who, const char *what)
{
    return apr_pstrcat(r->pool, "login|", l->key, "|", who, ":", what, NULL);
}

/* access_checker: before the password is checked. */
int be_limit_login(request_rec *r)
{
    const be_dir_conf_t *dc;
    const char *user = NULL, *pw = NULL;
    take_t tk;

    if (!wanted || !ap_is_initial_req(r)) {
        return DECLINED;
    }
    dc = ap_get_module_config(r->per_dir_config, &backend_module);
    if (!dc->login_limit) {
        return DECLINED;
    }
    if (take(r, dc->login_limit,
             login_key(r, dc->login_limit, "a", r->useragent_ip), 0, &tk)
        || (ap_get_basic_auth_components(r, &user, &pw) == APR_SUCCESS
            && take(r, dc->login_limit,
                    login_key(r, dc->login_limit, "u", user), 0, &tk))) {
        be_rctx(r)->problems = 1;
        return too_many(r, &tk,
                        apr_psprintf(r->pool,
                                     "too many failed logins; retry in %ld s",
                                     tk.wait));
    }
    return DECLINED;
}

/* insert_error_filter: a failed login counts for its user and address
 * before its 401 is sent (counted once answered, a client could send the
 * next try before this one was counted).  An ErrorDocument redirect
 * counts for the request it replaces, once. */
void be_limit_failed(request_rec *r)
{
    const be_dir_conf_t *dc;
    take_t tk;

    if (!wanted) {
        return;
    }
    while (r->prev) {
        r = r->prev;
    }
    if (r->main || r->status != HTTP_UNAUTHORIZED
        || apr_table_get(r->notes, "backend-login-counted")) {
        return;
    }
    dc = ap_get_module_config(r->per_dir_config, &backend_module);
    if (!dc->login_limit) {
        return;
    }
    apr_table_setn(r->notes, "backend-login-counted", "1");
    take(r, dc->login_limit,
         login_key(r, dc->login_limit, "a", r->useragent_ip), 1, &tk);
    if (r->user) {
        take(r, dc->login_limit, login_key(r, dc->login_limit, "u", r->user),
             1, &tk);
    }
}
