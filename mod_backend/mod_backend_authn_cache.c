/*
 * mod_backend_authn_cache.c - AuthBasicProvider backend-cache: remembers
 * successful password checks of the providers it wraps (dbd, file, ldap,
 * ...), so that a slow hash such as bcrypt is paid once per TTL, not on
 * every request.  Shared by every child through ap_socache (the provider
 * BackendAuthnCacheSOCache names, or the default of mod_backend_config.c),
 * and each child keeps a copy of the successes it has seen (near_*).
 *
 * An entry's key is the user and an HMAC of scope, user and password
 * under a secret drawn at startup: the password itself is never stored, a
 * wrong password never finds an entry, and only successes are stored.  The
 * scope is the virtual host, the realm, the providers asked and the
 * configuration sections (as mod_authn_socache scopes by context), so a
 * success behind one password file or table never opens another.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_request.h>
#include <mod_auth.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>
#include <apr_global_mutex.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

#define CACHE_MUTEX "backend-authn-cache"

static unsigned char *secret; /* BackendAuthnCacheSecret's bytes */
static apr_size_t secret_len;
static int cache_wanted; /* some location uses it */
be_socache_t be_authn_socache;
static be_socache_t *const cache = &be_authn_socache;
/* HMAC-SHA256 keyed with a secret drawn at startup.  Each request works
 * on a copy of this keyed context: OpenSSL 3's one-shot HMAC() looks the
 * algorithms up again on every call, under a process-wide lock that every
 * thread of the child then queues on. */
static EVP_MAC_CTX *keyed;

int be_cache_pre_config(apr_pool_t *pconf)
{
    secret = NULL;
    secret_len = 0;
    cache_wanted = 0;
    keyed = NULL;
    return be_socache_pre_config(cache, pconf, CACHE_MUTEX);
}

/* BackendAuthnCacheSecret FILE: the HMAC key, the same on every node that
 * shares the cache (else each start draws its own). */
const char *be_cache_set_secret(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *path = ap_server_root_relative(cmd->temp_pool, arg);
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t got;

    (void)d;
    if (err) {
        return err;
    }
    if (!path
        || apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool)
            != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool,
                            "BackendAuthnCacheSecret %s: cannot read it", arg);
    }
    if (fi.size < 32 || fi.size > 4096) {
        apr_file_close(f);
        return apr_psprintf(cmd->pool,
                            "BackendAuthnCacheSecret %s: needs 32 to 4096 "
                            "bytes (openssl rand -out FILE 32)",
                            arg);
    }
    secret = apr_palloc(cmd->pool, (apr_size_t)fi.size);
    if (apr_file_read_full(f, secret, (apr_size_t)fi.size, &got)
        != APR_SUCCESS) {
        apr_file_close(f);
        return apr_psprintf(cmd->pool,
                            "BackendAuthnCacheSecret %s: cannot read it", arg);
    }
    apr_file_close(f);
    secret_len = got;
    return NULL;
}

void be_cache_wanted(void)
{
    cache_wanted = 1;
}

static apr_status_t destroy_key(void *data)
{
    (void)data;
    EVP_MAC_CTX_free(keyed);
    keyed = NULL;
    return APR_SUCCESS;
}

const char *be_cache_test_config(apr_pool_t *p)
{
    return cache_wanted
        ? be_socache_find(p, cache, be_conf_socache(cache->spec),
                          "BE00050: BackendAuthnCache")
        : NULL;
}

/* A context for HMAC-SHA256 under BackendAuthnCacheSecret's bytes, or a
 * new random secret; NULL on failure. */
static EVP_MAC_CTX *keyed_hmac(void)
{
    unsigned char drawn[32];
    char digest[] = "SHA256";
    OSSL_PARAM params[2];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

    EVP_MAC_free(mac); /* (the context keeps its own reference) */
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!ctx || (!secret && RAND_bytes(drawn, sizeof(drawn)) != 1)
        || !EVP_MAC_init(ctx, secret ? secret : drawn,
                         secret ? secret_len : sizeof(drawn), params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    OPENSSL_cleanse(drawn, sizeof(drawn));
    return ctx;
}

int be_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s)
{
    const char *err;

    (void)plog;
    if (!cache_wanted) {
        return OK;
    }
    if ((err = be_cache_test_config(ptemp))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((err = be_socache_start(cache, "mod_backend-auth", CACHE_MUTEX, pconf,
                                ptemp, s))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "BE00051: BackendAuthnCacheSOCache: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, destroy_key, apr_pool_cleanup_null);
    if (!secret && cache->provider && strcmp(cache->provider->name, "shmcb")
        && strcmp(cache->provider->name, "dbm")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "BE00084: BackendAuthnCacheSOCache %s without "
                     "BackendAuthnCacheSecret: each node and each restart "
                     "keys its entries with its own secret, so they are "
                     "not shared",
                     cache->provider->name);
    }
    if (!(keyed = keyed_hmac())) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "BE00054: no random bytes or no HMAC-SHA256 for the "
                     "authn cache key");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* Each child also keeps the successes it has seen, until the time the
 * shared entry ends: a hit then takes no lock shared with the other
 * children (a thread of another child that holds it and is preempted
 * stops every child's logins) and, with memcache, no round trip.  The
 * same entries for the same time as the shared cache, so nothing is
 * remembered longer than BackendAuthnCacheTTL says.  Keys are HMACs:
 * their first bytes pick a slot; a slot keeps the last key put there. */
#define NEAR_SLOTS 1024
#define NEAR_LOCKS 16

typedef struct {
    unsigned char key[32];
    apr_time_t until; /* 0: empty */
} near_t;

static near_t *near;
static pthread_mutex_t near_locks[NEAR_LOCKS];

static void near_init(apr_pool_t *pchild)
{
    int i;

    for (i = 0; i < NEAR_LOCKS; i++) {
        pthread_mutex_init(&near_locks[i], NULL);
    }
    near = apr_pcalloc(pchild, NEAR_SLOTS * sizeof(*near));
}

static unsigned near_slot(const unsigned char *key)
{
    return ((unsigned)key[0] | (unsigned)key[1] << 8) % NEAR_SLOTS;
}

static int near_hit(const unsigned char *key, apr_time_t now)
{
    unsigned slot = near_slot(key);
    int hit;

    if (!near) {
        return 0;
    }
    pthread_mutex_lock(&near_locks[slot % NEAR_LOCKS]);
    hit = near[slot].until > now && memcmp(near[slot].key, key, 32) == 0;
    pthread_mutex_unlock(&near_locks[slot % NEAR_LOCKS]);
    return hit;
}

static void near_put(const unsigned char *key, apr_time_t until)
{
    unsigned slot = near_slot(key);

    if (!near) {
        return;
    }
    pthread_mutex_lock(&near_locks[slot % NEAR_LOCKS]);
    memcpy(near[slot].key, key, 32);
    near[slot].until = until;
    pthread_mutex_unlock(&near_locks[slot % NEAR_LOCKS]);
}

void be_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    be_socache_child_init(cache, pchild);
    near_init(pchild);
    (void)s;
}

/* Where a remembered success counts: the virtual host, the realm, the
 * providers asked, the section BackendAuthnCache came from and the
 * innermost section of the request (another AuthUserFile, say). */
static const char *cache_scope(request_rec *r, const be_dir_conf_t *dc)
{
    const server_rec *s = r->server;
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *realm = ap_auth_name(r);

    /* (the same on every node with the same configuration: line numbers,
     * names and ports, no file name) */
    return apr_pstrcat(
        r->pool,
        s->is_virtual ? apr_psprintf(r->pool, "vhost %u:%u",
                                     s->defn_line_number, (unsigned)s->port)
                      : "main",
        "\n", s->server_hostname ? s->server_hostname : "", "\n",
        realm ? realm : "", "\n",
        apr_array_pstrcat(r->pool, dc->cache_providers, ','), "\n",
        dc->cache_where ? dc->cache_where : "", "\n", cd && cd->d ? cd->d : "",
        cd && cd->r ? " (regex)" : "", NULL);
}

/* the HMAC-SHA256 of scope NUL user NUL password: 32 bytes, whatever the
 * user's name (memcache's keys have a bound) */
static const unsigned char *cache_key(request_rec *r, const char *scope,
                                      const char *user, const char *password,
                                      unsigned int *len)
{
    unsigned char *mac = apr_palloc(r->pool, 32);
    size_t n = 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed);

    if (!ctx
        || !EVP_MAC_update(ctx, (const unsigned char *)scope,
                           strlen(scope) + 1)
        || !EVP_MAC_update(ctx, (const unsigned char *)user, strlen(user) + 1)
        || !EVP_MAC_update(ctx, (const unsigned char *)password,
                           strlen(password))
        || !EVP_MAC_final(ctx, mac, &n, 32) || n != 32) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    EVP_MAC_CTX_free(ctx);
    *len = 32;
    return mac;
}

/* A shared entry's value: the apr_time_t it ends (as the rate limit's
 * entries keep theirs). */
static int cache_lookup(request_rec *r, const unsigned char *key,
                        unsigned int len, int ttl)
{
    apr_time_t until, by_ttl = r->request_time + apr_time_from_sec(ttl);
    unsigned char val[sizeof(until)];
    unsigned int vlen = sizeof(val);
    apr_status_t rv;

    if (!cache->instance) {
        return 0;
    }
    be_socache_lock(cache);
    rv = cache->provider->retrieve(cache->instance, r->server, key, len, val,
                                   &vlen, r->pool);
    be_socache_unlock(cache);
    if (rv != APR_SUCCESS || vlen != sizeof(val)) {
        return 0;
    }
    memcpy(&until, val, sizeof(until));
    if (until <= r->request_time) {
        return 0;
    }
    /* (never past this node's own TTL: another node's clock may be ahead) */
    near_put(key, until < by_ttl ? until : by_ttl);
    return 1;
}

static void cache_store(request_rec *r, const unsigned char *key,
                        unsigned int len, int ttl)
{
    apr_time_t until = r->request_time + apr_time_from_sec(ttl);
    unsigned char val[sizeof(until)];

    if (!cache->instance) {
        return;
    }
    memcpy(val, &until, sizeof(until));
    be_socache_lock(cache);
    cache->provider->store(cache->instance, r->server, key, len, until, val,
                           sizeof(val), r->pool);
    be_socache_unlock(cache);
    near_put(key, until);
}

static authn_status cache_check_password(request_rec *r, const char *user,
                                         const char *password)
{
    const be_dir_conf_t *dc =
        ap_get_module_config(r->per_dir_config, &backend_module);
    unsigned int len = 0;
    const unsigned char *key;
    int i, mine = 0;

    if (!dc->cache_providers) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00055: AuthBasicProvider backend-cache without "
                      "BackendAuthnCache naming the providers to ask");
        return AUTH_GENERAL_ERROR;
    }
    key = cache_key(r, cache_scope(r, dc), user, password, &len);
    if (key
        && ((mine = near_hit(key, r->request_time))
            || cache_lookup(r, key, len, be_conf_cache_ttl(dc)))) {
        be_metrics_cache(BE_CACHE_AUTHN, 1);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "BE00056: authn cache hit for %s%s", user,
                      mine ? " (this child's copy)" : "");
        return AUTH_GRANTED;
    }
    be_metrics_cache(BE_CACHE_AUTHN, 0);
    for (i = 0; i < dc->cache_providers->nelts; i++) {
        const char *name = APR_ARRAY_IDX(dc->cache_providers, i, const char *);
        const authn_provider *prov = ap_lookup_provider(
            AUTHN_PROVIDER_GROUP, name, AUTHN_PROVIDER_VERSION);
        authn_status st;

        if (!prov || !prov->check_password) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "BE00057: BackendAuthnCache: no authn provider '%s'",
                          name);
            return AUTH_GENERAL_ERROR;
        }
        apr_table_setn(r->notes, AUTHN_PROVIDER_NAME_NOTE, name);
        st = prov->check_password(r, user, password);
        apr_table_setn(r->notes, AUTHN_PROVIDER_NAME_NOTE, "backend-cache");
        if (st == AUTH_USER_NOT_FOUND) {
            continue;
        }
        if (st == AUTH_GRANTED && key) {
            cache_store(r, key, len, be_conf_cache_ttl(dc));
        }
        return st;
    }
    return AUTH_USER_NOT_FOUND;
}

const authn_provider be_cache_provider = {cache_check_password, NULL};
