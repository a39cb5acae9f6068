/*
 * mod_backend.c - the module record and its hooks: a table of contents.
 *
 * Where things are:
 *   mod_backend_config.c   directives, per-directory configuration and
 *                          its defaults, the per-request context
 *   mod_backend_db.c       mod_dbd, schema at startup, pooled connections
 *   mod_backend_handler.c  routing and the CRUD handler
 *   mod_backend_ops.c      read, insert, update, delete
 *   mod_backend_bearer.c   AuthType Bearer: token checks, 401 challenges
 *   mod_backend_token.c    SetHandler backend-token: issues tokens
 *   mod_backend_health.c   SetHandler backend-health: live and ready
 *   mod_backend_migrate.c  BackendMigrations: schema files at startup
 *   mod_backend_metrics.c  SetHandler backend-metrics, mod_status section
 *   mod_backend_openapi.c  LOCATION/openapi.json
 *   mod_backend_explorer.c LOCATION/ in a browser: Swagger UI
 *   mod_backend_authz.c    Require backend-role/backend-claim, roles,
 *                          row ownership, BackendRoleQuery's SQL
 *   mod_backend_authn_cache.c  AuthBasicProvider backend-cache
 *   mod_backend_check.c    access-control mistakes refused at startup
 *   mod_backend_cors.c     BackendCORS: preflights, Access-Control-*
 *   mod_backend_ratelimit.c  BackendRateLimit, BackendLoginLimit
 *   mod_backend_socache.c  the shared caches (ap_socache providers)
 *   mod_backend_problem.c  application/problem+json answers, and httpd's
 *                          own 401/403 pages turned into problems
 *   exec*.c                the executors, one per database driver (no
 *                          httpd header; threads, locks, connections)
 *   be_*.c                 the portable core: the query grammar (be_query,
 *                          be_where), SQL (be_sql), JSON bodies (be_json),
 *                          validation (be_schema), rendering (be_render),
 *                          tokens (be_jwt)
 */
#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <ap_provider.h>

#include "mod_backend_private.h"

static const char *const before_dbd[] = {"mod_dbd.c", NULL};

static void register_hooks(apr_pool_t *p)
{
    /* Configuration life cycle: reset the registry of resources, read
     * every table's schema once, before children start. */
    ap_hook_pre_config(be_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(be_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* access-control lines of other modules that cannot work with ours
     * (AuthType Bearer without a key...): refused by apachectl -t too */
    ap_hook_check_config(be_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(be_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* BackendCPUAffinity: before any module starts threads in the child */
    ap_hook_child_init(be_affinity_child_init, NULL, NULL,
                       APR_HOOK_REALLY_FIRST);
    /* before mod_dbd opens the pool's first connections in the child */
    ap_hook_child_init(be_child_init, NULL, before_dbd, APR_HOOK_MIDDLE);
    /* BackendBatchWorkers: each request thread, at its first request */
    ap_hook_create_request(be_batch_create_request, NULL, NULL,
                           APR_HOOK_REALLY_FIRST);
    /* the socache of AuthBasicProvider backend-cache (made before the
     * children, attached in each) and each child's cache of tokens */
    ap_hook_post_config(be_cache_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(be_cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(be_bearer_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(be_limit_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(be_limit_child_init, NULL, NULL, APR_HOOK_MIDDLE);

    /* Request mapping: API paths are not files, so they skip the
     * DocumentRoot mapping and the filesystem walk (mod_rewrite, at
     * FIRST, still sees them); authn/authz still run on the <Location>. */
    ap_hook_translate_name(be_translate_name, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(be_map_to_storage, NULL, NULL, APR_HOOK_FIRST);

    /* An encoded slash under a resource: httpd's 404 comes back to it. */
    ap_hook_post_read_request(be_post_read_request, NULL, NULL,
                              APR_HOOK_MIDDLE);

    /* Authentication: AuthType Bearer checks the token, and challenges
     * again when mod_authz_core refuses. */
    ap_hook_check_authn(be_check_bearer, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(be_note_auth_failure, NULL, NULL,
                              APR_HOOK_MIDDLE);
    /* BackendLoginLimit: refused before the password is checked, failures
     * counted before their 401 is sent; BackendRateLimit: after authentication (by
     * user), before the handler. */
    ap_hook_access_checker(be_limit_login, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_insert_error_filter(be_limit_failed, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(be_limit_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* SetHandler backend-metrics: counted once answered, in shared
     * memory; also in mod_status's page */
    ap_hook_post_config(be_metrics_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(be_metrics_log, NULL, NULL, APR_HOOK_MIDDLE);
    /* notes for LogFormat, set before mod_log_config writes the line */
    ap_hook_log_transaction(be_log_notes, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_error_log(be_metrics_error_log, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(be_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    be_metrics_register(p);
    /* AuthBasicProvider backend-cache: remembered password checks. */
    ap_register_auth_provider(p, AUTHN_PROVIDER_GROUP, "backend-cache",
                              AUTHN_PROVIDER_VERSION, &be_cache_provider,
                              AP_AUTH_INTERNAL_PER_CONF);

    /* Authorization: Require backend-role / backend-claim. */
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "backend-role",
                              AUTHZ_PROVIDER_VERSION, &be_role_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "backend-claim",
                              AUTHZ_PROVIDER_VERSION, &be_claim_provider,
                              AP_AUTH_INTERNAL_PER_CONF);

    /* Content: SetHandler backend, and SetHandler backend-token, which
     * issues tokens to a user another authn provider accepted. */
    ap_hook_handler(be_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(be_token_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* ...and SetHandler backend-health, what a balancer polls */
    ap_hook_handler(be_health_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* ...also to a JSON login, whose credentials the authn providers
     * check as Basic's */
    ap_hook_header_parser(be_token_login, NULL, NULL, APR_HOOK_MIDDLE);
    /* CORS: preflights answered before authentication, and every answer
     * to an allowed origin marked, errors too */
    ap_hook_header_parser(be_cors, NULL, NULL, APR_HOOK_FIRST);

    /* Errors: httpd's own 401/403 pages on an API location become
     * problem+json (a body chosen here, its type fixed by the filter). */
    ap_register_output_filter(BE_PROBLEM_FILTER, be_problem_filter, NULL,
                              AP_FTYPE_RESOURCE);
    ap_hook_insert_error_filter(be_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(backend) = {STANDARD20_MODULE_STUFF,
                              be_create_dir_conf,
                              be_merge_dir_conf,
                              NULL,
                              NULL,
                              be_cmds,
                              register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
                              AP_MODULE_FLAG_NONE
#endif
};
