/*
 * mod_backend_private.h - what the httpd glue files share.
 */
#ifndef MOD_BACKEND_PRIVATE_H
#define MOD_BACKEND_PRIVATE_H

#include <stdatomic.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_dbd.h>
#include <mod_dbd.h>
#include <mod_auth.h>
#include <util_filter.h>
#include <ap_socache.h>
#include <apr_global_mutex.h>
#include <openssl/types.h> /* EVP_MD */
#include <http_core.h>

#include "be_core.h"
#include "exec.h"
#include "be_query.h"
#include "be_fn.h"

extern module AP_MODULE_DECLARE_DATA backend_module;

#define BE_JSON_MAX_DEPTH 32

/* One BackendResource line.  Declared in a <Location>; the schema and the
 * SQL are filled in at startup, before children fork, or by the first
 * request when the database was unreachable at startup. */
/* BackendSet NAME COLUMN on=insert|update|both :user|:claim.NAME|now */
typedef enum { BE_SET_USER, BE_SET_CLAIM, BE_SET_NOW } be_set_e;
typedef struct {
    const char *column;     /* as configured */
    const be_column_t *col; /* when the schema is read */
    unsigned on;            /* BE_W_INSERT and/or BE_W_UPDATE */
    be_set_e kind;
    const char *claim; /* BE_SET_CLAIM: its name */
} be_set_t;

/* BackendRoute METHOD /path/{param}/...: a function at a path */
typedef struct {
    int method;                   /* M_GET, M_POST... */
    const char *method_name;      /* as written, upper case */
    apr_array_header_t *segments; /* const char*: a literal, or NULL for
                                     the next {param} */
    int status;                   /* status=NNN, or 0: the usual */
} be_route_t;

/* BackendRule NAME read|insert|update|delete "SQL" */
typedef enum {
    BE_RULE_READ = 0,
    BE_RULE_INSERT,
    BE_RULE_UPDATE,
    BE_RULE_DELETE,
    BE_RULE_ACTIONS
} be_rule_action_e;

/* BackendRelation RES.COLUMN TARGET.COLUMN: RES.COLUMN refers to
 * TARGET.COLUMN, as a foreign key would (kept on RES). */
typedef struct be_relation_s {
    const char *column;
    struct be_resource_s *target;
    const char *target_column;
    const char *where; /* "file:line" */
} be_relation_t;

/* BackendRateLimit, BackendLoginLimit: N per PERIOD, bursts of M */
typedef enum { BE_BY_IP = 0, BE_BY_USER, BE_BY_CLAIM } be_by_e;
typedef struct {
    long n;
    apr_interval_time_t period;
    long burst;
    be_by_e by;
    const char *claim;  /* by=claim.NAME */
    const char *policy; /* its name in RateLimit-Policy */
    const char *key;    /* the counters' prefix: the same on every node */
    const char *spec;   /* N/PERIOD as written */
} be_limit_t;

typedef struct be_resource_s {
    const char *name; /* URL segment */
    const char *table;
    const char *key;              /* key=, or NULL for the primary key */
    int bulk_all;                 /* bulk=all: PATCH/DELETE without a filter */
    const char *owner;            /* owner=COLUMN: rows belong to r->user */
    apr_array_header_t *hide;     /* BackendHide columns (const char*) */
    apr_array_header_t *readonly; /* BackendReadOnly columns (const char*) */
    apr_array_header_t *sets;     /* BackendSet (be_set_t) */
    apr_array_header_t *validate; /* BackendValidate (be_rules_t) */
    apr_array_header_t *relations; /* BackendRelation (be_relation_t) */
    apr_array_header_t *rules[BE_RULE_ACTIONS]; /* BackendRule, per action
                                                   (be_sqltext_t*) */
    const char *rules_used[BE_RULE_ACTIONS];    /* the "file:line" of the
                                                first :rule.NAME.ACTION
                                                that took them, or NULL */
    const be_function_t *fn; /* BackendFunction: this is LOCATION/rpc/NAME */
    const be_route_t *route; /* BackendRoute: fn is called at this path */
    const char *path;        /* <Location> + "/" + name: the collection URL */
    server_rec *server;      /* whose DBDriver/DBDParams apply */
    const char *where;       /* "file:line", for messages */
    const char *cache_control; /* BackendCacheControl NAME VALUE, or NULL */
    const be_limit_t *limit;   /* BackendRateLimit NAME ..., or NULL */
    void *metrics;             /* its counters in shared memory, or NULL */
    /* BackendResponseCache: what changes at every commit to its database
     * (be_executor_t.watch), mapped by the child on first use; NULL: not
     * yet, be_rcache_off: never */
    _Atomic(const volatile unsigned char *) watched;
    const be_executor_t *ex;
    _Atomic(be_plan_t *) plan;
} be_resource_t;

/* BackendCORS */
typedef struct {
    apr_array_header_t *origins; /* const char*, as written */
    int any;                     /* * */
    int credentials;
    int max_age;         /* -1: unset */
    const char *headers; /* Access-Control-Allow-Headers */
} be_cors_t;

#define BE_EXPLORER_FILES 3

/* A location's OpenAPI document and explorer: where, and what a child
 * keeps once built or read (be_kept_t*) */
typedef struct {
    const char *location;
    volatile void *built;
    volatile void *files[BE_EXPLORER_FILES];
} be_openapi_t;

typedef struct {
    apr_hash_t *resources;      /* collection path -> be_resource_t* */
    apr_array_header_t *routes; /* BackendRoute (be_resource_t*), or NULL */
    int max_rows;               /* -1: unset */
    apr_off_t max_body;         /* -1: unset */
    /* tokens */
    apr_array_header_t *keys; /* be_jwt_key_t*, or NULL: unset */
    const char *issuer;
    const char *audience;
    const char *user_claim;
    int leeway;                     /* -1: unset */
    int lifetime;                   /* -1: unset */
    const be_sqltext_t *role_query; /* one statement: :user, :claim.NAME */
    apr_array_header_t *bypass;     /* BackendOwnerBypass roles, or NULL */
    apr_array_header_t *cache_providers; /* BackendAuthnCache, or NULL */
    const char *cache_where;   /* its section's file:line, for the scope */
    int cache_ttl;             /* BackendAuthnCacheTTL, -1: unset */
    int db_identity;           /* BackendDBIdentity: 1 on, 0 off, -1 unset */
    const char *db_role;       /* BackendDBRole: a role, or the default of */
    const char *db_role_claim; /* claim=NAME (NULL: the role itself) */
    int db_role_set;           /* BackendDBRole was given here */
    const char *cache_control; /* BackendCacheControl VALUE, or NULL */
    const be_cors_t *cors;     /* BackendCORS, or NULL */
    be_openapi_t *openapi;     /* where resources are declared */
    const char *explorer;      /* BackendExplorer: its files' directory,
                                  "" off, NULL the default */
    const be_limit_t *limit;   /* BackendRateLimit, or NULL */
    const be_limit_t *login_limit; /* BackendLoginLimit, or NULL */
    int response_cache;            /* BackendResponseCache, -1: unset */
} be_dir_conf_t;

/* Per request: what the auth phases learned. */
typedef struct {
    int api;                       /* the path is a resource of ours */
    be_resource_t *res;            /* routed in translate_name: */
    const char *id;                /* the handler does not route again */
    apr_array_header_t *path_args; /* a route's {param} values (char*) */
    const char *allow;             /* a route's path, not its method: Allow */
    /* BackendDBIdentity: the answer waits for the transaction's end */
    int hold, held, held_status;
    be_buf_t *held_body;
    const char *held_type;
    int problems;                /* 401/403 bodies are problems */
    void *claims;                /* be_claims_t* of a verified token */
    apr_array_header_t *roles;   /* the user's roles, once looked up */
    int roles_failed;            /* 503 (no database) or 500 (the query) */
    apr_interval_time_t db_time; /* in the database's calls */
    long db_rows;                /* rows they returned or changed */
    int acquired;                /* a pooled connection was counted */
    /* BackendResponseCache: the database as it was when the request was
     * routed, before anything of it read the database */
    int rcache_marked;
    unsigned char rcache_mark[BE_WATCH_BYTES];
} be_rctx_t;

/* mod_backend_cors.c: BackendCORS, and the header_parser hook that
 * answers preflights and marks answers for other origins */
const char *be_set_cors(cmd_parms *cmd, void *dconf, int argc,
                        char *const argv[]);
int be_cors(request_rec *r);

/* mod_backend_config.c */
/* The request's context (created on first use) and its configuration. */
be_rctx_t *be_rctx(request_rec *r);
const be_dir_conf_t *be_dconf(request_rec *r);
extern const command_rec be_cmds[];
void *be_create_dir_conf(apr_pool_t *p, char *dir);
void *be_merge_dir_conf(apr_pool_t *p, void *base, void *add);
/* A setting, or its default where the configuration left it unset (the
 * defaults are written once, in mod_backend_config.c). */
int be_conf_max_rows(const be_dir_conf_t *c);
apr_off_t be_conf_max_body(const be_dir_conf_t *c);
const char *be_conf_user_claim(const be_dir_conf_t *c);
int be_conf_leeway(const be_dir_conf_t *c);
int be_conf_lifetime(const be_dir_conf_t *c);
int be_conf_cache_ttl(const be_dir_conf_t *c);
/* BackendAuthnCacheSOCache's PROVIDER[:ARGS] (spec), or the default. */
const char *be_conf_socache(const char *spec);
/* Every resource of this configuration generation, in declaration order. */
apr_array_header_t *be_all_resources(void);
/* Directives only PostgreSQL can follow (BackendDBIdentity, BackendDBRole),
 * as be_pg_only_t: refused at startup where the server's database is not
 * PostgreSQL. */
typedef struct {
    server_rec *server;
    const char *what; /* "BackendDBRole (file:line)" */
} be_pg_only_t;
apr_array_header_t *be_all_pg_only(void);
/* The locations with BackendResponseCache On: be_rcache_conf_t */
typedef struct {
    const be_dir_conf_t *conf;
    const char *path;   /* the <Location>'s, or NULL (a regex) */
    server_rec *server; /* whose it is */
    const char *where;  /* "file:line" */
} be_rcache_conf_t;
apr_array_header_t *be_all_rcache(void);
int be_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* mod_backend_db.c */
/* The database of a server, as its DBDriver and DBDParams say (NULL when
 * not set). */
typedef struct {
    const char *driver;
    const char *params;
} be_dbd_target_t;
be_dbd_target_t be_find_dbd(apr_pool_t *p, server_rec *s);
int be_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                   server_rec *s);
void be_test_config(apr_pool_t *pconf, server_rec *s);
void be_child_init(apr_pool_t *pchild, server_rec *s);
int be_write_turn_pre_config(apr_pool_t *pconf);
/* The pooled connection of this request, or NULL (503). */
be_conn_t *be_db_acquire(request_rec *r, const be_resource_t *res);
/* The resource's plan, loading the schema now if startup could not. */
const be_plan_t *be_db_plan(request_rec *r, be_resource_t *res, be_conn_t *c,
                            be_dberr_t *err);
extern APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * be_dbd_acquire_fn;

/* mod_backend_socache.c: a shared cache on an ap_socache provider */
typedef struct {
    const char *spec; /* PROVIDER[:ARGS] as its directive says, or NULL */
    const ap_socache_provider_t *provider;
    const char *args; /* PROVIDER:ARGS */
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex; /* when the provider is not MP-safe */
} be_socache_t;
/* The password cache's and the rate limits' */
extern be_socache_t be_authn_socache, be_limit_socache;
/* Empties c and registers its mutex type. */
int be_socache_pre_config(be_socache_t *c, apr_pool_t *pconf,
                          const char *mutex_type);
/* BackendAuthnCacheSOCache, BackendRateLimitSOCache: cmd->info is the
 * cache. */
const char *be_socache_set(cmd_parms *cmd, void *d, const char *arg);
/* Finds the provider of spec (PROVIDER[:ARGS]); NULL, or why not (the
 * message starts with directive). */
const char *be_socache_find(apr_pool_t *p, be_socache_t *c, const char *spec,
                            const char *directive);
/* Creates and initialises the cache (and its mutex, of mutex_type, which
 * pre_config registered); NULL, or why not. */
const char *be_socache_start(be_socache_t *c, const char *name,
                             const char *mutex_type, apr_pool_t *pconf,
                             apr_pool_t *ptemp, server_rec *s);
void be_socache_child_init(be_socache_t *c, apr_pool_t *pchild);
void be_socache_lock(be_socache_t *c);
void be_socache_unlock(be_socache_t *c);

/* mod_backend_ratelimit.c: BackendRateLimit, BackendLoginLimit */
int be_limit_pre_config(apr_pool_t *pconf);
/* N/PERIOD [options] of cmd's directive, for resource name (NULL: the
 * location); login: BackendLoginLimit, which has no options. */
const char *be_limit_parse(cmd_parms *cmd, int argc, char *const argv[],
                           const char *name, int login, be_limit_t **out);
const char *be_limit_test_config(apr_pool_t *p);
int be_limit_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s);
void be_limit_child_init(apr_pool_t *pchild, server_rec *s);
int be_limit_fixups(request_rec *r);
int be_limit_login(request_rec *r);
void be_limit_failed(request_rec *r);

/* mod_backend_metrics.c: SetHandler backend-metrics */
int be_metrics_on(void);
const char *be_metrics_test_config(apr_pool_t *p);
int be_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s);
int be_metrics_log(request_rec *r);
int be_log_notes(request_rec *r);
int be_metrics_handler(request_rec *r);
void be_metrics_register(apr_pool_t *p);
void be_metrics_error_log(const ap_errorlog_info *info, const char *errstr);
void be_metrics_acquired(apr_interval_time_t waited);
void be_metrics_lock_wait(apr_interval_time_t waited, int stalled);
/* authn: the password cache, else the token cache */
/* a cache's hit or miss */
typedef enum {
    BE_CACHE_TOKEN = 0,
    BE_CACHE_AUTHN,
    BE_CACHE_RESPONSE
} be_cache_kind_e;
void be_metrics_cache(be_cache_kind_e kind, int hit);

/* mod_backend_migrate.c: BackendMigrations */
void be_migrate_pre_config(apr_pool_t *pconf);
const char *be_set_migrations(cmd_parms *cmd, void *dummy, const char *arg);
/* At startup: applies what is pending (pending_servers NULL), or lists it
 * (apachectl -t: the servers with files pending go into
 * pending_servers).  NULL, or why startup must stop. */
const char *be_migrate_startup(apr_pool_t *ptemp, server_rec *main_s,
                               apr_hash_t *pending_servers);
void be_migrate_child_init(apr_pool_t *pchild);
/* NULL when the migrations of r's server are applied (now, if startup
 * could not), else why not. */
const char *be_migrate_ensure(request_rec *r);

/* What the client asked for in Prefer (RFC 7240, PostgREST's names). */
typedef enum {
    BE_RET_DEFAULT = 0,
    BE_RET_MINIMAL,
    BE_RET_HEADERS,
    BE_RET_REPR
} be_return_e;

/* One request to a resource, as the handler and the operations see it:
 * filled by the handler's parse step (no database), then its bind step
 * (connection, plan, key, owner scope), then handed to an operation. */
typedef struct {
    request_rec *r;
    const be_dir_conf_t *dc;
    be_resource_t *res;
    const char *id; /* item route: the id from the URL */
    be_value_t key; /* item route: the id as a key value */
    be_conn_t *conn;
    const be_plan_t *plan;
    be_query_t *q;
    be_jdoc_t *doc;   /* POST, PUT, PATCH: the parsed body */
    be_where_t where; /* key, filters and owner scope */
    be_value_t owner; /* r->user, when the resource is owned */
    int has_owner;    /* owner is set; where.owner when scoped */
    be_return_e ret;
    int count_exact;
    int missing_default; /* Prefer: missing=default (what we do) */
    be_upsert_e upsert;
    int want_object;                 /* Accept: application/vnd.pgrst.object */
    long long range_from;            /* Range: items, or -1 */
    long long range_to;              /* -1: open */
    const char *applied;             /* Preference-Applied */
    const apr_array_header_t *check; /* BackendRule conditions the rows
                                        a write produces must meet
                                        (be_rule_sql_t), or NULL */
    const apr_array_header_t *conflict; /* those the row an upsert meets
                                           must meet to be updated */
    const be_function_t *fn;       /* the function called (a pg= function's as
                                the schema has it), or NULL */
    be_value_t *call_vals;         /* its arguments, in declared order */
    apr_array_header_t *path_args; /* a route's {param} values (char*) */
    int identity; /* in the transaction BackendDBIdentity opened */
    int cond_tx;  /* in the transaction a write's If-Match opened */
    struct be_rcache_ticket_t *rcache; /* a read to keep once answered */
} be_req_t;

/* mod_backend_rcache.c: BackendResponseCache */
typedef struct be_rcache_ticket_t be_rcache_ticket_t;
extern const volatile unsigned char be_rcache_off[];
/* A GET or HEAD of a resource under BackendResponseCache On: DONE when
 * answered from the cache; else OK, and *ticket (NULL: not to keep)
 * says what to keep once the answer is made (be_rcache_keep). */
int be_rcache_serve(request_rec *r, be_resource_t *res,
                    be_rcache_ticket_t **ticket);
/* translate_name, once routed to res: the database's state now */
void be_rcache_mark(request_rec *r, be_rctx_t *x);
void be_rcache_keep(request_rec *r, const be_rcache_ticket_t *ticket,
                    const be_buf_t *body, const char *type);
/* load_schemas: NULL, or why res cannot be cached (its database) */
const char *be_rcache_check(apr_pool_t *p, const be_resource_t *res,
                            const char *params, void *native);
const char *be_rcache_set_size(cmd_parms *cmd, void *d, const char *arg);
void be_rcache_pre_config(void);
void be_rcache_child_init(apr_pool_t *pchild);

/* mod_backend_affinity.c: BackendCPUAffinity */
const char *be_affinity_set(cmd_parms *cmd, void *d, int on);
const char *be_batch_workers_set(cmd_parms *cmd, void *d, int on);
int be_batch_create_request(request_rec *r);
void be_affinity_pre_config(void);
void be_affinity_child_init(apr_pool_t *pchild, server_rec *s);
void be_affinity_check(apr_pool_t *ptemp, server_rec *s);

/* mod_backend_ops.c: each sends its answer and returns DONE (or an
 * httpd error). */
int be_op_read(be_req_t *q);
int be_op_insert(be_req_t *q, be_jdoc_t *doc);
int be_op_update(be_req_t *q, be_jobject_t *obj, be_write_e mode);
int be_op_delete(be_req_t *q);
/* select= with embedded resources: each bound to its resource and its
 * relation (mod_backend_embed.c).  OK, or the answer is sent. */
int be_embed_bind(be_req_t *q);
/* BackendValidate on the arguments of a call (bound in q->call_vals;
 * those errs names already are not checked again). */
void be_call_rules(be_req_t *q, apr_array_header_t *errs);
/* BackendFunction: the call of q->fn with q->call_vals. */
int be_op_call(be_req_t *q);
/* the cost of :NAME!bcrypt hashes */
#define BE_BCRYPT_COST 10
int be_send_json(request_rec *r, int status, be_buf_t *body);
/* The entity tag of a body (its SHA-1), weak or strong. */
const char *be_etag(request_rec *r, const be_buf_t *body, int weak);
/* SHA-1, fetched once per process (NULL if OpenSSL has none) */
const EVP_MD *be_sha1(void);
/* A body a child keeps for its life, with its ETag: the copy in *slot,
 * made of data by the first thread to get there (NULL: out of memory);
 * and its answer, 200 or 304 for If-None-Match. */
typedef struct {
    const char *data;
    apr_size_t len;
    const char *etag;
} be_kept_t;
const be_kept_t *be_keep(request_rec *r, volatile void **slot,
                         const char *data, apr_size_t len);
int be_send_kept(request_rec *r, const be_kept_t *k, const char *type);
/* mod_backend_openapi.c: LOCATION/openapi.json, or DECLINED when the
 * request is not for it */
int be_openapi(be_req_t *q);
/* mod_backend_explorer.c: BackendExplorer, and LOCATION/ for a browser
 * with Swagger UI's files (DECLINED: not asked for) */
const char *be_set_explorer(cmd_parms *cmd, void *dconf, const char *arg);
int be_explorer(be_req_t *q);
/* BackendDBIdentity on PostgreSQL: BEGIN and the request's identity
 * (request.jwt.claims, request.user, BackendDBRole).  OK, or the problem
 * is sent. */
int be_db_identity(be_req_t *q);
/* ... and its end once the operation answered (rc): COMMIT, then the
 * answer it held; ROLLBACK when it failed. */
int be_db_identity_end(be_req_t *q, int rc);
int be_send_typed(request_rec *r, int status, be_buf_t *body,
                  const char *type);
int be_db_problem(be_req_t *q, const be_dberr_t *err, int reading);

/* mod_backend_bearer.c: AuthType Bearer */
int be_is_bearer(request_rec *r);
int be_check_bearer(request_rec *r);
int be_note_auth_failure(request_rec *r, const char *type);
/* the child's cache of verified tokens */
void be_bearer_child_init(apr_pool_t *pchild, server_rec *s);

/* mod_backend_token.c: SetHandler backend-token */
int be_token_handler(request_rec *r);
/* mod_backend_health.c: SetHandler backend-health (live, ready) */
int be_health_handler(request_rec *r);
/* header_parser: POST {"username","password"} to backend-token becomes
 * Basic credentials for the authn providers */
int be_token_login(request_rec *r);
/* r->notes: a JSON login; its 401 has no Basic challenge */
#define BE_NOTE_JSON_LOGIN "backend-json-login"

/* mod_backend_authz.c: Require backend-role / backend-claim, roles, owners,
 * the SQL of BackendRoleQuery */
extern const authz_provider be_role_provider;  /* Require backend-role */
extern const authz_provider be_claim_provider; /* Require backend-claim */
const char *be_sqltpl_parse(apr_pool_t *p, const char *sql,
                            const be_sqltext_t **out);
/* The request's value of a context parameter (:user, :claim.NAME,
 * :roles, :header.NAME); NULL when the roles could not be read (the
 * status is be_rctx(r)->roles_failed). */
const be_value_t *be_context_value(request_rec *r, const be_param_t *prm);
/* The user's roles: the token's, or BackendRoleQuery's (looked up once per
 * request); NULL when the lookup failed (logged). */
apr_array_header_t *be_user_roles(request_rec *r);
/* The owner scope of a request on res: 0 none, 1 scoped to r->user. */
/* The BackendRule conditions of res for action, bound for this request:
 * NULL when it has none or the user has a BackendOwnerBypass role.  *rc
 * is OK, or the status of a problem (the user's roles could not be
 * read). */
const apr_array_header_t *be_rules_bound(request_rec *r,
                                         const be_dir_conf_t *dc,
                                         const be_resource_t *res,
                                         be_rule_action_e action, int *rc);
int be_owner_scoped(request_rec *r, const be_dir_conf_t *dc,
                    const be_resource_t *res);

/* mod_backend_authn_cache.c */
int be_cache_pre_config(apr_pool_t *pconf);
int be_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp, server_rec *s);
void be_cache_child_init(apr_pool_t *pchild, server_rec *s);
extern const authn_provider be_cache_provider; /* AuthBasicProvider */
/* apachectl -t: why BackendAuthnCache cannot work, or NULL. */
const char *be_cache_test_config(apr_pool_t *p);
void be_cache_wanted(void);
const char *be_cache_set_secret(cmd_parms *cmd, void *d, const char *arg);

/* mod_backend_check.c: access-control lines that cannot work together */
int be_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s);

/* mod_backend_handler.c */
int be_handler(request_rec *r);
int be_translate_name(request_rec *r);
int be_map_to_storage(request_rec *r);
/* An encoded slash under a resource: httpd's 404 comes back to it. */
/* r->notes: the detail of httpd's 404 for an encoded slash under a
 * resource */
#define BE_NOTE_SLASH "backend-slash"
int be_post_read_request(request_rec *r);
/* Finds the resource and item id for r->uri; NULL when none. */
be_resource_t *be_route(request_rec *r, const be_dir_conf_t *dc,
                        const char **id);

/* mod_backend_problem.c: sends the problem and returns DONE.  Inside the
 * handler, OK means "nothing sent yet, go on"; DONE means "answered". */
int be_problem(request_rec *r, int status, const char *detail,
               const apr_array_header_t *errs);
/* 405 for the method of r, with Allow: allow; returns be_problem's. */
int be_not_allowed(request_rec *r, const char *allow);
/* A problem body as text, for ap_custom_response. */
const char *be_problem_text(request_rec *r, int status, const char *detail);
/* The output filter that types httpd's own 401/403 pages as problems, and
 * the insert_error_filter hook that chooses their bodies. */
#define BE_PROBLEM_FILTER "BACKEND_PROBLEM"
apr_status_t be_problem_filter(ap_filter_t *f, apr_bucket_brigade *bb);
void be_insert_error_filter(request_rec *r);

#endif /* MOD_BACKEND_PRIVATE_H */
