/*
 * mod_backend_socache.c - the shared caches of mod_backend (the password
 * cache of backend-cache, the counters of BackendRateLimit) on httpd's
 * ap_socache providers: shmcb on one machine, memcache or redis across
 * machines.  A provider that is not safe across processes gets a global
 * mutex of its own (Mutex directive name: its mutex_type).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_main.h>
#include <ap_provider.h>
#include <util_mutex.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

int be_socache_pre_config(be_socache_t *c, apr_pool_t *pconf,
                          const char *mutex_type)
{
    memset(c, 0, sizeof(*c));
    return ap_mutex_register(pconf, mutex_type, NULL, APR_LOCK_DEFAULT, 0)
            == APR_SUCCESS
        ? OK
        : HTTP_INTERNAL_SERVER_ERROR;
}

const char *be_socache_set(cmd_parms *cmd, void *d, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)d;
    if (!err) {
        ((be_socache_t *)cmd->info)->spec = arg;
    }
    return err;
}

const char *be_socache_find(apr_pool_t *p, be_socache_t *c, const char *spec,
                            const char *directive)
{
    const char *colon = strchr(spec, ':');
    const char *name =
        colon ? apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec)) : spec;

    c->args = colon ? colon + 1 : NULL;
    c->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                     AP_SOCACHE_PROVIDER_VERSION);
    return c->provider
        ? NULL
        : apr_psprintf(p,
                       "%s needs the socache provider '%s' (LoadModule "
                       "socache_%s_module; a2enmod socache_%s)",
                       directive, name, name, name);
}

static apr_status_t destroy(void *data)
{
    be_socache_t *c = data;

    if (c->provider && c->instance) {
        c->provider->destroy(c->instance, ap_server_conf);
    }
    c->instance = NULL;
    return APR_SUCCESS;
}

const char *be_socache_start(be_socache_t *c, const char *name,
                             const char *mutex_type, apr_pool_t *pconf,
                             apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = {64, 32, 600};
    const char *err;
    apr_status_t rv;

    if ((err = c->provider->create(&c->instance, c->args, ptemp, pconf))) {
        return err;
    }
    if ((rv = c->provider->init(c->instance, name, &hints, s, pconf))
        != APR_SUCCESS) {
        return apr_psprintf(ptemp, "cannot initialise the cache (%pm)", &rv);
    }
    apr_pool_cleanup_register(pconf, c, destroy, apr_pool_cleanup_null);
    if ((c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)
        && (rv = ap_global_mutex_create(&c->mutex, NULL, mutex_type, NULL, s,
                                        pconf, 0))
            != APR_SUCCESS) {
        return apr_psprintf(ptemp, "cannot create its mutex (%pm)", &rv);
    }
    return NULL;
}

void be_socache_child_init(be_socache_t *c, apr_pool_t *pchild)
{
    if (c->mutex) {
        apr_global_mutex_child_init(
            &c->mutex, apr_global_mutex_lockfile(c->mutex), pchild);
    }
}

void be_socache_lock(be_socache_t *c)
{
    if (c->mutex) {
        apr_global_mutex_lock(c->mutex);
    }
}

void be_socache_unlock(be_socache_t *c)
{
    if (c->mutex) {
        apr_global_mutex_unlock(c->mutex);
    }
}
