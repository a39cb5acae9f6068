/*
 * mod_backend_config.c - directives and per-directory configuration.
 *
 * Every default is written once, in the BE_DEF_* macros below: the table
 * defconf holds them, the accessors be_conf_*() apply them to what a
 * configuration leaves unset, and the directive help strings quote the
 * same macros.  Unset is NULL for pointers and -1 for numbers, and a
 * <Location> inside another inherits what it does not set itself.
 */
#include <ctype.h>

#include <apr_lib.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <ap_regex.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

/* ---------------------------------------------------------------------- */
/* Defaults                                                                */

#define BE_DEF_MAX_ROWS 1000
#define BE_DEF_MAX_BODY_MIB 1
#define BE_DEF_USER_CLAIM "sub"
#define BE_DEF_LEEWAY 30
#define BE_DEF_LIFETIME 3600
#define BE_DEF_CACHE_TTL 300
#define BE_DEF_SOCACHE "shmcb"

/* a number default as text, for the help strings */
#define BE_STR_(x) #x
#define BE_STR(x) BE_STR_(x)

/* What an unset field means (as mod_md's defconf): the only place the
 * request code learns a default from. */
static const struct {
    int max_rows;
    apr_off_t max_body;
    const char *user_claim;
    int leeway;
    int lifetime;
    int cache_ttl;
    const char *socache;
} defconf = {
    BE_DEF_MAX_ROWS,   (apr_off_t)BE_DEF_MAX_BODY_MIB * 1024 * 1024,
    BE_DEF_USER_CLAIM, BE_DEF_LEEWAY,
    BE_DEF_LIFETIME,   BE_DEF_CACHE_TTL,
    BE_DEF_SOCACHE,
};

int be_conf_max_rows(const be_dir_conf_t *c)
{
    return c->max_rows != -1 ? c->max_rows : defconf.max_rows;
}

apr_off_t be_conf_max_body(const be_dir_conf_t *c)
{
    return c->max_body != -1 ? c->max_body : defconf.max_body;
}

const char *be_conf_user_claim(const be_dir_conf_t *c)
{
    return c->user_claim ? c->user_claim : defconf.user_claim;
}

int be_conf_leeway(const be_dir_conf_t *c)
{
    return c->leeway != -1 ? c->leeway : defconf.leeway;
}

int be_conf_lifetime(const be_dir_conf_t *c)
{
    return c->lifetime != -1 ? c->lifetime : defconf.lifetime;
}

int be_conf_cache_ttl(const be_dir_conf_t *c)
{
    return c->cache_ttl != -1 ? c->cache_ttl : defconf.cache_ttl;
}

const char *be_conf_socache(const char *spec)
{
    return spec ? spec : defconf.socache;
}

be_rctx_t *be_rctx(request_rec *r)
{
    be_rctx_t *x = ap_get_module_config(r->request_config, &backend_module);

    if (!x) {
        x = apr_pcalloc(r->pool, sizeof(*x));
        ap_set_module_config(r->request_config, &backend_module, x);
    }
    return x;
}

const be_dir_conf_t *be_dconf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &backend_module);
}

/* ---------------------------------------------------------------------- */
/* The resources of the configuration being read, across all locations and
 * virtual hosts; rebuilt each time httpd reads its configuration. */
static apr_array_header_t *registry;
static apr_array_header_t *pg_only; /* be_pg_only_t */
static apr_array_header_t *rcache;  /* be_rcache_conf_t */

int be_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    registry = apr_array_make(pconf, 16, sizeof(be_resource_t *));
    pg_only = apr_array_make(pconf, 2, sizeof(be_pg_only_t));
    rcache = apr_array_make(pconf, 2, sizeof(be_rcache_conf_t));
    be_rcache_pre_config();
    be_affinity_pre_config();
    be_migrate_pre_config(pconf);
    be_exec_sqlite.library_init();
    return be_cache_pre_config(pconf) == OK
            && be_write_turn_pre_config(pconf) == OK
        ? be_limit_pre_config(pconf)
        : HTTP_INTERNAL_SERVER_ERROR;
}

apr_array_header_t *be_all_resources(void)
{
    return registry;
}

apr_array_header_t *be_all_rcache(void)
{
    return rcache;
}

apr_array_header_t *be_all_pg_only(void)
{
    return pg_only;
}

static void needs_pg(cmd_parms *cmd)
{
    be_pg_only_t *o = apr_array_push(pg_only);

    o->server = cmd->server;
    o->what = apr_psprintf(cmd->pool, "%s (%s:%d)", cmd->cmd->name,
                           cmd->directive->filename, cmd->directive->line_num);
}

void *be_create_dir_conf(apr_pool_t *p, char *dir)
{
    be_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)dir;
    c->resources = apr_hash_make(p);
    c->max_rows = -1;
    c->max_body = -1;
    c->leeway = -1;
    c->lifetime = -1;
    c->cache_ttl = -1;
    c->db_identity = -1;
    c->response_cache = -1;
    return c;
}

void *be_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    be_dir_conf_t *base = basev, *add = addv;
    be_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->resources = apr_hash_overlay(p, add->resources, base->resources);
    c->routes = !add->routes ? base->routes
        : !base->routes      ? add->routes
                             : apr_array_append(p, base->routes, add->routes);
    c->max_rows = add->max_rows != -1 ? add->max_rows : base->max_rows;
    c->max_body = add->max_body != -1 ? add->max_body : base->max_body;
    c->keys = add->keys ? add->keys : base->keys;
    c->issuer = add->issuer ? add->issuer : base->issuer;
    c->audience = add->audience ? add->audience : base->audience;
    c->user_claim = add->user_claim ? add->user_claim : base->user_claim;
    c->leeway = add->leeway != -1 ? add->leeway : base->leeway;
    c->lifetime = add->lifetime != -1 ? add->lifetime : base->lifetime;
    c->role_query = add->role_query ? add->role_query : base->role_query;
    c->bypass = add->bypass ? add->bypass : base->bypass;
    c->cache_providers =
        add->cache_providers ? add->cache_providers : base->cache_providers;
    c->cache_where =
        add->cache_providers ? add->cache_where : base->cache_where;
    c->cache_ttl = add->cache_ttl != -1 ? add->cache_ttl : base->cache_ttl;
    c->db_identity =
        add->db_identity != -1 ? add->db_identity : base->db_identity;
    c->response_cache =
        add->response_cache != -1 ? add->response_cache : base->response_cache;
    c->db_role_set = add->db_role_set || base->db_role_set;
    c->db_role = add->db_role_set ? add->db_role : base->db_role;
    c->db_role_claim =
        add->db_role_set ? add->db_role_claim : base->db_role_claim;
    c->cache_control =
        add->cache_control ? add->cache_control : base->cache_control;
    c->cors = add->cors ? add->cors : base->cors;
    c->limit = add->limit ? add->limit : base->limit;
    c->login_limit = add->login_limit ? add->login_limit : base->login_limit;
    c->openapi = add->openapi ? add->openapi : base->openapi;
    c->explorer = add->explorer ? add->explorer : base->explorer;
    return c;
}

/* ---------------------------------------------------------------------- */

static int valid_segment(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-'
              || *s == '.')) {
            return 0;
        }
    }
    return 1;
}

static const char *in_location(cmd_parms *cmd)
{
    const ap_directive_t *parent = cmd->directive->parent;

    if (!cmd->path || !parent || strcasecmp(parent->directive, "<Location")
        || cmd->path[0] != '/') {
        return apr_psprintf(cmd->pool,
                            "%s must be inside a <Location /path> section",
                            cmd->cmd->name);
    }
    return NULL;
}

/* The collection URL of NAME in this <Location>: its path without trailing
 * slashes, then /NAME. */
static const char *collection_path(cmd_parms *cmd, const char *name)
{
    apr_size_t n = strlen(cmd->path);

    while (n > 0 && cmd->path[n - 1] == '/') {
        n--;
    }
    return apr_pstrcat(cmd->pool, apr_pstrmemdup(cmd->pool, cmd->path, n), "/",
                       name, NULL);
}

static const char *add_resource(cmd_parms *cmd, be_dir_conf_t *c,
                                be_resource_t *res);
static int route_shadows(cmd_parms *cmd, const be_route_t *rt,
                         const be_resource_t *res);

/* A file of SQL (BackendFunction file=), or NULL. */
static const char *read_sql_file(apr_pool_t *p, const char *path)
{
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS) {
        return NULL;
    }
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
        || fi.size > 1024 * 1024) {
        apr_file_close(f);
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    if (apr_file_read_full(f, buf, n, NULL) != APR_SUCCESS) {
        apr_file_close(f);
        return NULL;
    }
    apr_file_close(f);
    buf[n] = '\0';
    return buf;
}

static const char *set_resource(cmd_parms *cmd, void *dconf, int argc,
                                char *const argv[])
{
    be_dir_conf_t *c = dconf;
    be_resource_t *res;
    const char *err;
    int i;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS)) != NULL) {
        return err;
    }
    if ((err = in_location(cmd)) != NULL) {
        return err;
    }
    /* Fetched here, where the directive needs it: mod_dbd registers its
     * optional functions when it is loaded, before this line is read. */
    if (!be_dbd_acquire_fn) {
        be_dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    }
    if (!be_dbd_acquire_fn) {
        return "BackendResource needs mod_dbd: load it first (LoadModule "
               "dbd_module .../mod_dbd.so; a2enmod dbd)";
    }
    if (argc < 1) {
        return "BackendResource needs a NAME";
    }
    if (!valid_segment(argv[0])) {
        return apr_psprintf(cmd->pool,
                            "BackendResource: '%s' is not a valid name "
                            "(letters, digits, _ - .)",
                            argv[0]);
    }

    res = apr_pcalloc(cmd->pool, sizeof(*res));
    res->name = argv[0];
    res->table = argv[0];
    res->server = cmd->server;
    res->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num);
    for (i = 1; i < argc; i++) {
        if (strncasecmp(argv[i], "table=", 6) == 0 && argv[i][6]) {
            res->table = argv[i] + 6;
        }
        else if (strncasecmp(argv[i], "key=", 4) == 0 && argv[i][4]) {
            res->key = argv[i] + 4;
        }
        else if (strncasecmp(argv[i], "owner=", 6) == 0 && argv[i][6]) {
            res->owner = argv[i] + 6;
        }
        else if (strcasecmp(argv[i], "bulk=all") == 0) {
            res->bulk_all = 1;
        }
        else if (strcasecmp(argv[i], "bulk=filtered") == 0) {
            res->bulk_all = 0;
        }
        else {
            return apr_psprintf(
                cmd->pool,
                "BackendResource %s: unknown option '%s' (expected "
                "table=TABLE, key=COLUMN, owner=COLUMN or bulk=all)",
                res->name, argv[i]);
        }
    }

    res->path = collection_path(cmd, res->name);
    return add_resource(cmd, c, res);
}

/* Whether a's path is b's, or one under it (a function under rpc/ and a
 * resource named rpc). */
static int shadows(const be_resource_t *a, const be_resource_t *b)
{
    apr_size_t n = strlen(b->path);

    return strncmp(a->path, b->path, n) == 0
        && (a->path[n] == '\0' || (a->fn && !b->fn && a->path[n] == '/'));
}

/* The location's OpenAPI document (mod_backend_openapi.c), built on
 * first use. */
static void location_doc(cmd_parms *cmd, be_dir_conf_t *c)
{
    if (!c->openapi) {
        be_openapi_t *d = apr_pcalloc(cmd->pool, sizeof(*d));
        d->location = cmd->path;
        c->openapi = d;
    }
}

/* A resource or a function joins the registry and its <Location>. */
static const char *add_resource(cmd_parms *cmd, be_dir_conf_t *c,
                                be_resource_t *res)
{
    int i;

    for (i = 0; i < registry->nelts; i++) {
        be_resource_t *seen = APR_ARRAY_IDX(registry, i, be_resource_t *);
        if (seen->route && seen->server == res->server
            && route_shadows(cmd, seen->route, res)) {
            return apr_psprintf(cmd->pool,
                                "%s %s: its path is that of BackendRoute %s "
                                "(at %s)",
                                cmd->cmd->name, res->name, seen->name,
                                seen->where);
        }
        if (!seen->route && seen->server == res->server
            && (shadows(seen, res) || shadows(res, seen))) {
            return strcmp(seen->path, res->path) == 0
                ? apr_psprintf(
                    cmd->pool, "%s %s: declared twice at %s (first at %s)",
                    cmd->cmd->name, res->name, res->path, seen->where)
                : apr_psprintf(cmd->pool,
                               "%s %s: functions live under <Location>/rpc/, "
                               "where a BackendResource rpc is (at %s)",
                               cmd->cmd->name, res->name,
                               seen->fn ? res->where : seen->where);
        }
    }
    APR_ARRAY_PUSH(registry, be_resource_t *) = res;
    apr_hash_set(c->resources, res->path, APR_HASH_KEY_STRING, res);
    location_doc(cmd, c);
    return NULL;
}

/* BackendFunction NAME [returns=many|one|none] [file=PATH] [ARG:TYPE...]
 * ["SQL; ..."]: POST (and GET when it only reads) LOCATION/rpc/NAME. */
/* A function (or a route) as an httpd resource, for messages. */
static be_resource_t *new_function(cmd_parms *cmd, const char *name)
{
    be_resource_t *res = apr_pcalloc(cmd->pool, sizeof(*res));
    be_function_t *fn = apr_pcalloc(cmd->pool, sizeof(*fn));

    res->name = name;
    res->table = name;
    res->fn = fn;
    res->server = cmd->server;
    res->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num);
    fn->args = apr_array_make(cmd->pool, 4, sizeof(be_arg_t));
    return res;
}

static const char *add_arg(cmd_parms *cmd, be_resource_t *res,
                           const be_arg_t *arg)
{
    apr_array_header_t *args = ((be_function_t *)res->fn)->args;
    int j;

    for (j = 0; j < args->nelts; j++) {
        if (!strcmp(APR_ARRAY_IDX(args, j, be_arg_t).name, arg->name)) {
            return apr_psprintf(cmd->pool,
                                "%s %s: argument '%s' is declared twice",
                                cmd->cmd->name, res->name, arg->name);
        }
    }
    if (args->nelts >= BE_FN_MAX_ARGS) {
        return apr_psprintf(cmd->pool, "%s %s: more than %d arguments",
                            cmd->cmd->name, res->name, BE_FN_MAX_ARGS);
    }
    *(be_arg_t *)apr_array_push(args) = *arg;
    return NULL;
}

/* What BackendFunction and BackendRoute share, argv[from..]: returns=,
 * status= (a route's, when status is not NULL), file=, the arguments and
 * the SQL. */
static const apr_array_header_t *rules_of(void *baton, const char *name,
                                          const char *action,
                                          const char **why);

static const char *function_body(cmd_parms *cmd, be_resource_t *res, int argc,
                                 char *const argv[], int from, int *status)
{
    be_function_t *fn = (be_function_t *)res->fn;
    const char *sql = NULL, *file, *what, *d = cmd->cmd->name;
    int i, j;

    for (i = from; i < argc; i++) {
        const char *a = argv[i];
        if (strncasecmp(a, "returns=", 8) == 0) {
            static const char *const names[] = {"many", "one", "none"};
            for (j = 0; j < 3 && strcasecmp(a + 8, names[j]); j++) {
            }
            if (j == 3) {
                return apr_psprintf(cmd->pool,
                                    "%s %s: returns= is many, one or none", d,
                                    res->name);
            }
            fn->returns = (be_returns_e)j;
        }
        else if (status && strncasecmp(a, "status=", 7) == 0) {
            char *end;
            long v = strtol(a + 7, &end, 10);
            if (*end || v < 200 || v > 299) {
                return apr_psprintf(
                    cmd->pool, "%s %s: status= is a 2xx status", d, res->name);
            }
            *status = (int)v;
        }
        else if (!status && strncasecmp(a, "pg=", 3) == 0 && a[3]) {
            fn->pg = a + 3;
        }
        else if (strncasecmp(a, "file=", 5) == 0 && a[5] && !sql) {
            file = ap_server_root_relative(cmd->pool, a + 5);
            if (!file || !(sql = read_sql_file(cmd->pool, file))) {
                return apr_psprintf(cmd->pool, "%s %s: cannot read %s", d,
                                    res->name, a + 5);
            }
        }
        else if (i == argc - 1 && !sql && strpbrk(a, " \t\r\n")) {
            /* an argument has no space; a statement does */
            sql = a;
        }
        else {
            be_arg_t arg;
            if ((what = be_arg_parse(cmd->pool, a, &arg))) {
                return apr_psprintf(cmd->pool, "%s %s: %s", d, res->name,
                                    what);
            }
            if ((what = add_arg(cmd, res, &arg))) {
                return what;
            }
        }
    }
    if (fn->pg) {
        /* its arguments and answer are the database's */
        if (sql || fn->args->nelts || fn->returns != BE_RETURNS_MANY) {
            return apr_psprintf(cmd->pool,
                                "%s %s: pg=%s takes no SQL, arguments or "
                                "returns=: they are the function's own",
                                d, res->name, fn->pg);
        }
        return NULL;
    }
    if (!sql) {
        return apr_psprintf(cmd->pool,
                            "%s %s: no SQL (the last argument, quoted, "
                            "file=PATH or pg=SCHEMA.FUNCTION)",
                            d, res->name);
    }
    if ((what = be_sql_cut_rules(cmd->pool, sql, fn->args, BE_CTX_ALL,
                                 rules_of, cmd, &fn->stmts))) {
        return apr_psprintf(cmd->pool, "%s %s: %s", d, res->name, what);
    }
    fn->reads = 1;
    for (j = 0; j < fn->stmts->nelts; j++) {
        fn->reads &= APR_ARRAY_IDX(fn->stmts, j, be_sqltext_t *)->reads;
    }
    return NULL;
}

/* BackendFunction NAME [returns=many|one|none] [file=PATH] [ARG:TYPE...]
 * ["SQL; ..."]: POST (and GET when it only reads) LOCATION/rpc/NAME. */
static const char *set_function(cmd_parms *cmd, void *dconf, int argc,
                                char *const argv[])
{
    be_resource_t *res;
    const char *err;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS)) != NULL
        || (err = in_location(cmd)) != NULL) {
        return err;
    }
    if (argc < 1 || !valid_segment(argv[0])) {
        return "BackendFunction needs a NAME (letters, digits, _ - .)";
    }
    res = new_function(cmd, argv[0]);
    if ((err = function_body(cmd, res, argc, argv, 1, NULL))) {
        return err;
    }
    res->path = apr_pstrcat(cmd->pool, collection_path(cmd, "rpc"), "/",
                            res->name, NULL);
    return add_resource(cmd, dconf, res);
}

/* Whether two routes' paths can match one URL: as many segments, each
 * equal or a {param} in either. */
static int overlap(const be_route_t *a, const be_route_t *b)
{
    int i;

    if (a->segments->nelts != b->segments->nelts) {
        return 0;
    }
    for (i = 0; i < a->segments->nelts; i++) {
        const char *x = APR_ARRAY_IDX(a->segments, i, const char *);
        const char *y = APR_ARRAY_IDX(b->segments, i, const char *);
        if (x && y && strcmp(x, y) != 0) {
            return 0;
        }
    }
    return 1;
}

/* A route's path against a resource's (or a function's): refused when a
 * URL of the resource could be one of the route's. */
static void split_path(apr_pool_t *p, const char *path,
                       apr_array_header_t *segments)
{
    char *copy = apr_pstrdup(p, path), *seg, *last;

    for (seg = apr_strtok(copy, "/", &last); seg;
         seg = apr_strtok(NULL, "/", &last)) {
        APR_ARRAY_PUSH(segments, const char *) = seg;
    }
}

static int route_shadows(cmd_parms *cmd, const be_route_t *rt,
                         const be_resource_t *res)
{
    be_route_t other;

    other.segments = apr_array_make(cmd->temp_pool, 4, sizeof(const char *));
    split_path(cmd->temp_pool, res->path, other.segments);
    if (overlap(rt, &other)) {
        return 1;
    }
    if (!res->fn) { /* the item path, /NAME/{key} */
        APR_ARRAY_PUSH(other.segments, const char *) = NULL;
        return overlap(rt, &other);
    }
    return 0;
}

/* BackendRoute METHOD /path/{param[:TYPE]}/... [returns=...] [status=NNN]
 * [ARG:TYPE...] "SQL; ..." | file=PATH */
static const char *set_route(cmd_parms *cmd, void *dconf, int argc,
                             char *const argv[])
{
    static const char *const methods[] = {"GET",   "POST",   "PUT",
                                          "PATCH", "DELETE", NULL};
    be_dir_conf_t *c = dconf;
    be_resource_t *res;
    be_route_t *rt;
    char *copy, *seg, *last;
    const char *err;
    int i;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS)) != NULL
        || (err = in_location(cmd)) != NULL) {
        return err;
    }
    if (argc < 3) {
        return "BackendRoute needs METHOD /PATH ... \"SQL\"";
    }
    for (i = 0; methods[i] && strcasecmp(argv[0], methods[i]); i++) {
    }
    if (!methods[i]) {
        return apr_psprintf(cmd->pool,
                            "BackendRoute: '%s' is not GET, POST, PUT, "
                            "PATCH or DELETE",
                            argv[0]);
    }
    res = new_function(cmd,
                       apr_pstrcat(cmd->pool, methods[i], " ", argv[1], NULL));
    rt = apr_pcalloc(cmd->pool, sizeof(*rt));
    rt->method_name = methods[i];
    rt->method = ap_method_number_of(methods[i]);
    /* the segments of the whole path: the <Location>'s, then the route's */
    rt->segments = apr_array_make(cmd->pool, 4, sizeof(const char *));
    split_path(cmd->pool, cmd->path, rt->segments);
    if (argv[1][0] != '/' || !argv[1][1]) {
        return apr_psprintf(cmd->pool,
                            "BackendRoute %s: the path starts with / and is "
                            "relative to the <Location>",
                            res->name);
    }
    copy = apr_pstrdup(cmd->pool, argv[1]);
    for (seg = apr_strtok(copy, "/", &last); seg;
         seg = apr_strtok(NULL, "/", &last)) {
        apr_size_t n = strlen(seg);
        if (seg[0] == '{' && seg[n - 1] == '}' && n > 2) {
            be_arg_t arg;
            seg[n - 1] = '\0';
            if ((err = be_arg_parse(
                     cmd->pool,
                     strchr(seg, ':')
                         ? seg + 1
                         : apr_pstrcat(cmd->pool, seg + 1, ":text", NULL),
                     &arg))
                || arg.optional || arg.dflt) {
                return apr_psprintf(cmd->pool, "BackendRoute %s: {%s}: %s",
                                    res->name, seg + 1,
                                    err ? err : "a path part is required");
            }
            arg.in_path = 1;
            if ((err = add_arg(cmd, res, &arg))) {
                return err;
            }
            APR_ARRAY_PUSH(rt->segments, const char *) = NULL;
        }
        else if (valid_segment(seg)) {
            APR_ARRAY_PUSH(rt->segments, const char *) = seg;
        }
        else {
            return apr_psprintf(cmd->pool,
                                "BackendRoute %s: '%s' is neither a name "
                                "(letters, digits, _ - .) nor a {param}",
                                res->name, seg);
        }
    }
    if ((err = function_body(cmd, res, argc, argv, 2, &rt->status))) {
        return err;
    }
    if (rt->method == M_GET && !res->fn->reads) {
        return apr_psprintf(cmd->pool,
                            "BackendRoute %s: a GET route only reads (its "
                            "statements are SELECT, VALUES or WITH)",
                            res->name);
    }
    res->route = rt;
    res->path = collection_path(cmd, argv[1] + 1);
    for (i = 0; i < registry->nelts; i++) {
        be_resource_t *seen = APR_ARRAY_IDX(registry, i, be_resource_t *);
        if (seen->server != cmd->server) {
            continue;
        }
        if (seen->route && seen->route->method == rt->method
            && overlap(seen->route, rt)) {
            return apr_psprintf(cmd->pool,
                                "BackendRoute %s: the same URLs as "
                                "BackendRoute %s (at %s)",
                                res->name, seen->name, seen->where);
        }
        if (!seen->route && route_shadows(cmd, rt, seen)) {
            return apr_psprintf(
                cmd->pool,
                "BackendRoute %s: its path is that of %s %s (at %s)",
                res->name, seen->fn ? "BackendFunction" : "BackendResource",
                seen->name, seen->where);
        }
    }
    APR_ARRAY_PUSH(registry, be_resource_t *) = res;
    if (!c->routes) {
        c->routes = apr_array_make(cmd->pool, 4, sizeof(be_resource_t *));
    }
    APR_ARRAY_PUSH(c->routes, be_resource_t *) = res;
    location_doc(cmd, c);
    return NULL;
}

static be_resource_t *declared(cmd_parms *cmd, const char *name,
                               int functions);
static const char *undeclared(cmd_parms *cmd, const char *name);

/* BackendCacheControl [NAME] VALUE: the Cache-Control of reads, for the
 * location or for one resource or function declared above. */
static const char *set_cache_control(cmd_parms *cmd, void *dconf,
                                     const char *a, const char *b)
{
    be_dir_conf_t *c = dconf;
    const char *value = b ? b : a, *s;
    be_resource_t *res = NULL;

    if (b && !(res = declared(cmd, a, 1))) {
        return undeclared(cmd, a);
    }
    for (s = value; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return "BackendCacheControl: the value holds a control character";
        }
    }
    if (!*value) {
        return "BackendCacheControl needs a value (none: no header)";
    }
    if (res) {
        res->cache_control = value;
    }
    else {
        c->cache_control = value;
    }
    return NULL;
}

/* A route's path without the :TYPE of its {param}s. */
static const char *untyped(apr_pool_t *p, const char *path)
{
    char *out = apr_pstrdup(p, path), *w = out;
    int inside = 0, skip = 0;

    for (; *path; path++) {
        if (*path == '{') {
            inside = 1;
        }
        else if (*path == '}') {
            inside = skip = 0;
        }
        else if (*path == ':' && inside) {
            skip = 1;
        }
        if (!skip) {
            *w++ = *path;
        }
    }
    *w = '\0';
    return out;
}

/* BackendRateLimit [NAME|/ROUTE] N/PERIOD [by=...] [burst=M]: for the
 * location, or for one resource, function or route (each of its methods)
 * declared above. */
static const char *set_rate_limit(cmd_parms *cmd, void *dconf, int argc,
                                  char *const argv[])
{
    be_dir_conf_t *c = dconf;
    const char *name = argc > 1 && !apr_isdigit(argv[0][0]) ? argv[0] : NULL;
    be_resource_t *res = NULL;
    be_limit_t *l;
    const char *err, *path;
    int i, routes = 0;

    if (name && *name != '/' && !(res = declared(cmd, name, 1))) {
        return undeclared(cmd, name);
    }
    if ((err = be_limit_parse(cmd, argc - !!name, argv + !!name,
                              res ? res->name : name, 0, &l))) {
        return err;
    }
    if (!name) {
        c->limit = l;
        return NULL;
    }
    if (res) {
        res->limit = l;
        return NULL;
    }
    path = untyped(cmd->temp_pool, collection_path(cmd, name + 1));
    for (i = 0; i < registry->nelts; i++) {
        be_resource_t *r = APR_ARRAY_IDX(registry, i, be_resource_t *);
        if (r->server == cmd->server && r->route
            && !strcmp(untyped(cmd->temp_pool, r->path), path)) {
            r->limit = l;
            routes++;
        }
    }
    return routes ? NULL
                  : apr_psprintf(cmd->pool,
                                 "BackendRateLimit %s: no BackendRoute at "
                                 "that path is declared above it in this "
                                 "<Location>",
                                 name);
}

static const char *set_login_limit(cmd_parms *cmd, void *dconf, int argc,
                                   char *const argv[])
{
    be_limit_t *l;
    const char *err = be_limit_parse(cmd, argc, argv, NULL, 1, &l);

    if (!err) {
        ((be_dir_conf_t *)dconf)->login_limit = l;
    }
    return err;
}

static const char *set_max_rows(cmd_parms *cmd, void *dconf, const char *arg)
{
    be_dir_conf_t *c = dconf;
    char *end;
    long v = strtol(arg, &end, 10);

    (void)cmd;
    if (*end || v < 1 || v > 1000000000L) {
        return "BackendMaxRows must be a positive number of rows";
    }
    c->max_rows = (int)v;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dconf, const char *arg)
{
    be_dir_conf_t *c = dconf;
    apr_off_t v;

    (void)cmd;
    if (apr_strtoff(&v, arg, NULL, 10) != APR_SUCCESS || v < 1) {
        return "BackendMaxBody must be a positive number of bytes";
    }
    c->max_body = v;
    return NULL;
}

/* The resource NAME declared above in this <Location> (with functions,
 * or the function NAME), or NULL. */
static be_resource_t *declared(cmd_parms *cmd, const char *name, int functions)
{
    const char *path = collection_path(cmd, name);
    const char *fn = functions
        ? apr_pstrcat(cmd->pool, collection_path(cmd, "rpc"), "/", name, NULL)
        : NULL;
    int i;

    for (i = 0; i < registry->nelts; i++) {
        be_resource_t *res = APR_ARRAY_IDX(registry, i, be_resource_t *);
        if (res->server == cmd->server
            && (strcmp(res->path, path) == 0
                || (fn && strcmp(res->path, fn) == 0))) {
            return res;
        }
    }
    return NULL;
}

static const char *undeclared(cmd_parms *cmd, const char *name)
{
    return apr_psprintf(cmd->pool,
                        "%s %s: no BackendResource %s is declared above it "
                        "in this <Location>",
                        cmd->cmd->name, name, name);
}

static const char *const rule_actions[BE_RULE_ACTIONS] = {"read", "insert",
                                                          "update", "delete"};

/* :rule.NAME.ACTION in a function's or route's SQL: the rules declared
 * above it (no BackendRule for it may come after). */
static const apr_array_header_t *rules_of(void *baton, const char *name,
                                          const char *action, const char **why)
{
    cmd_parms *cmd = baton;
    be_resource_t *res = declared(cmd, name, 0);
    int i;

    for (i = 0; i < BE_RULE_ACTIONS && strcmp(action, rule_actions[i]); i++) {
    }
    if (!res || res->fn) {
        *why = apr_psprintf(cmd->pool,
                            "no BackendResource %s is declared above it in "
                            "this <Location>",
                            name);
        return NULL;
    }
    if (i == BE_RULE_ACTIONS) {
        *why = "the actions are read, insert, update or delete";
        return NULL;
    }
    if (!res->rules[i]) {
        *why = apr_psprintf(cmd->pool,
                            "%s has no BackendRule for %s above this line",
                            name, action);
        return NULL;
    }
    if (!res->rules_used[i]) {
        res->rules_used[i] =
            apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                         cmd->directive->line_num);
    }
    return res->rules[i];
}

/* BackendRule NAME read|insert|update|delete|all[,...] "SQL condition" */
static const char *set_rule(cmd_parms *cmd, void *dconf, const char *name,
                            const char *actions, const char *sql)
{
    const char *const *names = rule_actions;
    be_resource_t *res;
    apr_array_header_t *stmts, *none;
    char *copy = apr_pstrdup(cmd->pool, actions), *a, *state = NULL;
    unsigned which = 0;
    const char *err;
    int i;

    (void)dconf;
    if (!(res = declared(cmd, name, 0))) {
        return undeclared(cmd, name);
    }
    for (a = apr_strtok(copy, ",", &state); a;
         a = apr_strtok(NULL, ",", &state)) {
        for (i = 0; i < BE_RULE_ACTIONS && strcasecmp(a, names[i]); i++) {
        }
        if (i == BE_RULE_ACTIONS && strcasecmp(a, "all")) {
            return apr_psprintf(cmd->pool,
                                "BackendRule %s: '%s': the actions are read, "
                                "insert, update, delete or all",
                                name, a);
        }
        which |= i == BE_RULE_ACTIONS ? 15u : 1u << i;
    }
    none = apr_array_make(cmd->pool, 1, sizeof(be_arg_t));
    if ((err = be_sql_cut(cmd->pool, sql, none, BE_CTX_ALL, &stmts))) {
        return apr_psprintf(cmd->pool, "BackendRule %s: %s", name, err);
    }
    if (stmts->nelts != 1) {
        return apr_psprintf(
            cmd->pool, "BackendRule %s: one condition, without ';'", name);
    }
    for (i = 0; i < BE_RULE_ACTIONS; i++) {
        if (!(which & (1u << i))) {
            continue;
        }
        if (res->rules_used[i]) {
            return apr_psprintf(cmd->pool,
                                "BackendRule %s %s: :rule.%s.%s at %s took "
                                "the rules above it; declare every rule "
                                "first",
                                name, names[i], name, names[i],
                                res->rules_used[i]);
        }
        if (!res->rules[i]) {
            res->rules[i] =
                apr_array_make(cmd->pool, 1, sizeof(be_sqltext_t *));
        }
        APR_ARRAY_PUSH(res->rules[i], be_sqltext_t *) =
            APR_ARRAY_IDX(stmts, 0, be_sqltext_t *);
    }
    return NULL;
}

/* BackendRelation RES.COLUMN TARGET.COLUMN: a relation the database does
 * not declare (a view, a table without a foreign key), for embedding. */
static const char *set_relation(cmd_parms *cmd, void *dconf, const char *a,
                                const char *b)
{
    const char *dot_a = strchr(a, '.'), *dot_b = strchr(b, '.');
    be_resource_t *from, *to;
    be_relation_t *rel;

    (void)dconf;
    if (!dot_a || !dot_b || dot_a == a || dot_b == b || !dot_a[1]
        || !dot_b[1]) {
        return "BackendRelation takes RESOURCE.COLUMN RESOURCE.COLUMN";
    }
    if (!(from = declared(
              cmd, apr_pstrmemdup(cmd->pool, a, (apr_size_t)(dot_a - a)), 0))
        || !(to = declared(
                 cmd, apr_pstrmemdup(cmd->pool, b, (apr_size_t)(dot_b - b)),
                 0))) {
        return apr_psprintf(cmd->pool,
                            "BackendRelation %s %s: both must be a "
                            "BackendResource declared above it in this "
                            "<Location>",
                            a, b);
    }
    if (!from->relations) {
        from->relations = apr_array_make(cmd->pool, 2, sizeof(be_relation_t));
    }
    rel = apr_array_push(from->relations);
    rel->column = dot_a + 1;
    rel->target = to;
    rel->target_column = dot_b + 1;
    rel->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num);
    return NULL;
}

/* BackendHide NAME COLUMN... and BackendReadOnly NAME COLUMN...: on a
 * resource declared above, in this <Location>. */
static const char *set_columns(cmd_parms *cmd, void *dconf, int argc,
                               char *const argv[])
{
    const char *name = cmd->cmd->name, *err;
    int hide = strcmp(name, "BackendHide") == 0, j;
    apr_array_header_t **list;
    be_resource_t *res;

    (void)dconf;
    if (argc < 2) {
        return apr_pstrcat(cmd->pool, name,
                           " needs a resource NAME and at least one COLUMN",
                           NULL);
    }
    if ((err = in_location(cmd)) != NULL) {
        return err;
    }
    if (!(res = declared(cmd, argv[0], 0))) {
        return undeclared(cmd, argv[0]);
    }
    list = hide ? &res->hide : &res->readonly;
    if (!*list) {
        *list = apr_array_make(cmd->pool, 4, sizeof(char *));
    }
    for (j = 1; j < argc; j++) {
        APR_ARRAY_PUSH(*list, const char *) = argv[j];
    }
    return NULL;
}

/* BackendValidate NAME FIELD RULE...: a column of a resource, or an
 * argument of a function, declared above in this <Location>. */
static const char *set_validate(cmd_parms *cmd, void *dconf, int argc,
                                char *const argv[])
{
    be_resource_t *res;
    be_rules_t *fr;
    const char *err;
    int i;

    if (argc < 3) {
        return "BackendValidate needs NAME FIELD RULE...";
    }
    if (!(res = declared(cmd, argv[0], 1))) {
        return apr_psprintf(cmd->pool,
                            "BackendValidate %s: no BackendResource or "
                            "BackendFunction %s is declared above it in this "
                            "<Location>",
                            argv[0], argv[0]);
    }
    if (res->fn && !res->fn->pg) { /* pg=: checked with the schema */
        for (i = 0; i < res->fn->args->nelts
             && strcmp(APR_ARRAY_IDX(res->fn->args, i, be_arg_t).name,
                       argv[1]);
             i++) {
        }
        if (i == res->fn->args->nelts) {
            return apr_psprintf(cmd->pool,
                                "BackendValidate %s: the function has no "
                                "argument '%s'",
                                argv[0], argv[1]);
        }
    }
    if (!res->validate) {
        res->validate = apr_array_make(cmd->pool, 4, sizeof(be_rules_t));
    }
    fr = apr_array_push(res->validate);
    fr->field = argv[1];
    fr->rules = apr_array_make(cmd->pool, argc - 2, sizeof(be_rule_t));
    for (i = 2; i < argc; i++) {
        be_rule_t *rule = apr_array_push(fr->rules);
        if ((err = be_rule_parse(cmd->pool, argv[i], rule))) {
            return apr_psprintf(cmd->pool, "BackendValidate %s %s: %s",
                                argv[0], argv[1], err);
        }
        if (rule->kind == BE_R_PATTERN
            && !(rule->re = ap_pregcomp(cmd->pool, rule->text,
                                        AP_REG_EXTENDED | AP_REG_NOSUB))) {
            return apr_psprintf(cmd->pool,
                                "BackendValidate %s %s: pattern=%s is not a "
                                "regular expression",
                                argv[0], argv[1], rule->text);
        }
    }
    return NULL;
}

/* BackendSet NAME COLUMN on=insert|update|both VALUE */
static const char *set_set(cmd_parms *cmd, void *dconf, int argc,
                           char *const argv[])
{
    const char *err;
    be_set_t set;
    be_resource_t *res;

    (void)dconf;
    if (argc != 4 || strncmp(argv[2], "on=", 3) != 0) {
        return "BackendSet needs NAME COLUMN on=insert|update|both VALUE";
    }
    if ((err = in_location(cmd)) != NULL) {
        return err;
    }
    memset(&set, 0, sizeof(set));
    set.column = argv[1];
    set.on = !strcmp(argv[2] + 3, "insert") ? BE_W_INSERT
        : !strcmp(argv[2] + 3, "update")    ? BE_W_UPDATE
        : !strcmp(argv[2] + 3, "both")      ? BE_W_INSERT | BE_W_UPDATE
                                            : 0;
    if (!set.on) {
        return apr_psprintf(cmd->pool,
                            "BackendSet %s %s: on= is insert, update or both, "
                            "not '%s'",
                            argv[0], argv[1], argv[2] + 3);
    }
    if (!strcmp(argv[3], ":user")) {
        set.kind = BE_SET_USER;
    }
    else if (!strncmp(argv[3], ":claim.", 7) && argv[3][7]) {
        set.kind = BE_SET_CLAIM;
        set.claim = argv[3] + 7;
    }
    else if (!strcmp(argv[3], "now")) {
        set.kind = BE_SET_NOW;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "BackendSet %s %s: the value is :user, "
                            ":claim.NAME or now, not '%s'",
                            argv[0], argv[1], argv[3]);
    }
    if (!(res = declared(cmd, argv[0], 0))) {
        return undeclared(cmd, argv[0]);
    }
    if (!res->sets) {
        res->sets = apr_array_make(cmd->pool, 2, sizeof(be_set_t));
    }
    *(be_set_t *)apr_array_push(res->sets) = set;
    return NULL;
}

static const char *set_token_key(cmd_parms *cmd, void *dconf, int argc,
                                 char *const argv[])
{
    be_dir_conf_t *c = dconf;
    const char *err, *kid = NULL, *file;
    be_jwt_key_t *key;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS)) != NULL) {
        return err;
    }
    if (argc < 2 || argc > 3
        || (argc == 3 && strncasecmp(argv[2], "kid=", 4) != 0)) {
        return "BackendTokenKey needs ALG FILE [kid=ID]";
    }
    if (argc == 3) {
        kid = argv[2] + 4;
    }
    file = ap_server_root_relative(cmd->pool, argv[1]);
    if ((err = be_jwt_load_key(cmd->pool, argv[0], file ? file : argv[1], kid,
                               &key))
        != NULL) {
        return apr_pstrcat(cmd->pool, "BackendTokenKey: ", err, NULL);
    }
    if (!c->keys) {
        c->keys = apr_array_make(cmd->pool, 2, sizeof(be_jwt_key_t *));
    }
    APR_ARRAY_PUSH(c->keys, be_jwt_key_t *) = key;
    return NULL;
}

/* BackendDBIdentity On|Off */
/* BackendResponseCache On: its location's resources are checked at
 * startup (a WAL SQLite database); nested locations inherit it. */
static const char *set_response_cache(cmd_parms *cmd, void *dconf, int on)
{
    const ap_directive_t *in = cmd->directive->parent;
    be_rcache_conf_t *rc;

    ((be_dir_conf_t *)dconf)->response_cache = on;
    if (on) {
        rc = apr_array_push(rcache);
        rc->conf = dconf;
        /* (a prefix: not <LocationMatch> nor <Location ~>) */
        rc->path = in && !strcasecmp(in->directive, "<Location") && in->args
                && in->args[0] != '~' && cmd->path && cmd->path[0] == '/'
            ? cmd->path
            : NULL;
        rc->server = cmd->server;
        rc->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                                 cmd->directive->line_num);
    }
    return NULL;
}

static const char *set_db_identity(cmd_parms *cmd, void *dconf, int on)
{
    ((be_dir_conf_t *)dconf)->db_identity = on;
    if (on) {
        needs_pg(cmd);
    }
    return NULL;
}

/* BackendDBRole claim=NAME [DEFAULT] | ROLE | none */
static const char *set_db_role(cmd_parms *cmd, void *dconf, const char *a1,
                               const char *a2)
{
    be_dir_conf_t *c = dconf;

    c->db_role_set = 1;
    if (strcasecmp(a1, "none")) {
        needs_pg(cmd);
    }
    if (strncasecmp(a1, "claim=", 6) == 0 && a1[6]) {
        c->db_role_claim = a1 + 6;
        c->db_role = a2;
        return NULL;
    }
    if (a2) {
        return "BackendDBRole takes claim=NAME [DEFAULT], a ROLE or none";
    }
    c->db_role = strcasecmp(a1, "none") ? a1 : NULL;
    c->db_role_claim = NULL;
    return NULL;
}

static const char *set_int(cmd_parms *cmd, void *dconf, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    int *field = (int *)((char *)dconf + (apr_size_t)cmd->info);

    if (*end || !*arg || v < 0 || v > 100000000L) {
        return apr_psprintf(cmd->pool, "%s needs a number of seconds",
                            cmd->cmd->name);
    }
    *field = (int)v;
    return NULL;
}

static const char *set_role_query(cmd_parms *cmd, void *dconf, const char *arg)
{
    be_dir_conf_t *c = dconf;
    const char *err;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS)) != NULL) {
        return err;
    }
    if ((err = be_sqltpl_parse(cmd->pool, arg, &c->role_query)) != NULL) {
        return apr_pstrcat(cmd->pool, "BackendRoleQuery: ", err, NULL);
    }
    if (c->role_query->params->nelts > BE_SITE_SQL_MAX_ARGS) {
        return apr_psprintf(cmd->pool,
                            "BackendRoleQuery: %d parameters (:user, "
                            ":claim.NAME); at most %d can be bound",
                            c->role_query->params->nelts,
                            BE_SITE_SQL_MAX_ARGS);
    }
    if (!be_dbd_acquire_fn) {
        be_dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    }
    if (!be_dbd_acquire_fn) {
        return "BackendRoleQuery needs mod_dbd: load it first";
    }
    return NULL;
}

static const char *set_bypass(cmd_parms *cmd, void *dconf, const char *arg)
{
    be_dir_conf_t *c = dconf;

    if (!c->bypass) {
        c->bypass = apr_array_make(cmd->pool, 2, sizeof(char *));
    }
    APR_ARRAY_PUSH(c->bypass, const char *) = arg;
    return NULL;
}

static const char *set_cache(cmd_parms *cmd, void *dconf, const char *arg)
{
    be_dir_conf_t *c = dconf;
    const ap_directive_t *sect =
        cmd->directive->parent ? cmd->directive->parent : cmd->directive;

    if (!strcmp(arg, "backend-cache")) {
        return "BackendAuthnCache cannot wrap itself";
    }
    if (!c->cache_providers) {
        c->cache_providers = apr_array_make(cmd->pool, 2, sizeof(char *));
        /* remembered successes count only where this section applies:
         * its line and path, not its file's name, which may differ between
         * nodes sharing the cache */
        c->cache_where = apr_psprintf(cmd->pool, "%d %s", sect->line_num,
                                      cmd->path ? cmd->path : "");
    }
    APR_ARRAY_PUSH(c->cache_providers, const char *) = arg;
    be_cache_wanted();
    return NULL;
}

const command_rec be_cmds[] = {
    AP_INIT_TAKE_ARGV("BackendResource", set_resource, NULL, ACCESS_CONF,
                      "NAME [table=TABLE] [key=COLUMN[,COLUMN]] [bulk=all]: "
                      "expose a "
                      "table at <Location>/NAME and <Location>/NAME/KEY"),
    AP_INIT_TAKE_ARGV(
        "BackendFunction", set_function, NULL, ACCESS_CONF,
        "NAME [returns=many|one|none] [ARG:TYPE[?|=DEFAULT]...] \"SQL; ...\" "
        "| file=PATH | pg=SCHEMA.FUNCTION: SQL the API calls at "
        "<Location>/rpc/NAME"),
    AP_INIT_TAKE_ARGV(
        "BackendRoute", set_route, NULL, ACCESS_CONF,
        "METHOD /path/{param[:TYPE]}/... [returns=many|one|none] "
        "[status=NNN] [ARG:TYPE...] \"SQL; ...\" | file=PATH: SQL the API "
        "runs for METHOD at <Location>/path"),
    AP_INIT_FLAG("BackendResponseCache", set_response_cache, NULL, ACCESS_CONF,
                 "On: reads are answered from memory until the next commit "
                 "to the database (SQLite in WAL mode)"),
    AP_INIT_TAKE1("BackendResponseCacheSize", be_rcache_set_size, NULL,
                  RSRC_CONF,
                  "MEGABYTES: the memory of each child's response cache "
                  "(default 32)"),
    AP_INIT_FLAG("BackendCPUAffinity", be_affinity_set, NULL, RSRC_CONF,
                 "On: each child process keeps to one CPU (use one child "
                 "per CPU)"),
    AP_INIT_FLAG("BackendBatchWorkers", be_batch_workers_set, NULL, RSRC_CONF,
                 "On: threads that answer requests run under SCHED_BATCH, "
                 "the MPM's listener under the default policy"),
    AP_INIT_FLAG("BackendDBIdentity", set_db_identity, NULL, ACCESS_CONF,
                 "On: on PostgreSQL, each request's statements see its "
                 "identity (request.jwt.claims, request.user) for RLS"),
    AP_INIT_TAKE12("BackendDBRole", set_db_role, NULL, ACCESS_CONF,
                   "claim=NAME [DEFAULT] | ROLE | none: on PostgreSQL, the "
                   "role each request's statements run as (SET LOCAL ROLE)"),
    AP_INIT_TAKE_ARGV("BackendCORS", be_set_cors, NULL, ACCESS_CONF,
                      "ORIGIN...|* [credentials] [max-age=SECONDS] "
                      "[headers=A,B]: browsers on these origins may call "
                      "the API"),
    AP_INIT_TAKE1("BackendExplorer", be_set_explorer, NULL, ACCESS_CONF,
                  "on|off|DIR: LOCATION/ shows the API in Swagger UI, whose "
                  "files are in DIR (default: where make install puts "
                  "them)"),
    AP_INIT_TAKE12("BackendCacheControl", set_cache_control, NULL, ACCESS_CONF,
                   "[NAME] VALUE: Cache-Control of reads (default private "
                   "for an authenticated user; none: no header)"),
    AP_INIT_TAKE1("BackendMaxRows", set_max_rows, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "N: most rows a collection GET returns (default " BE_STR(
                      BE_DEF_MAX_ROWS) ")"),
    AP_INIT_TAKE3("BackendRule", set_rule, NULL, ACCESS_CONF,
                  "NAME read|insert|update|delete|all[,...] \"SQL\": a "
                  "condition every statement on the resource obeys (rows "
                  "read, changed, deleted; rows written are checked)"),
    AP_INIT_TAKE2("BackendRelation", set_relation, NULL, ACCESS_CONF,
                  "RESOURCE.COLUMN RESOURCE.COLUMN: the first refers to the "
                  "second, for embedding (a view, no foreign key)"),
    AP_INIT_TAKE_ARGV("BackendHide", set_columns, NULL, ACCESS_CONF,
                      "NAME COLUMN...: columns of resource NAME that are "
                      "never read, filtered, ordered or written"),
    AP_INIT_TAKE_ARGV("BackendReadOnly", set_columns, NULL, ACCESS_CONF,
                      "NAME COLUMN...: columns of resource NAME that are "
                      "read but never written through the API"),
    AP_INIT_TAKE_ARGV(
        "BackendValidate", set_validate, NULL, ACCESS_CONF,
        "NAME FIELD RULE...: length=MIN..MAX, range=MIN..MAX, pattern=REGEX, "
        "format=email|uri|uuid|date|date-time, enum=A,B,C or required, on a "
        "column of resource NAME or an argument of function NAME"),
    AP_INIT_TAKE_ARGV("BackendSet", set_set, NULL, ACCESS_CONF,
                      "NAME COLUMN on=insert|update|both :user|:claim.NAME|"
                      "now: a column the server sets, whatever the body "
                      "says"),
    AP_INIT_TAKE_ARGV(
        "BackendTokenKey", set_token_key, NULL, ACCESS_CONF,
        "hs256 SECRETFILE | rs256 PEMFILE | es256 PEMFILE [kid=ID]: a key "
        "tokens are verified (and issued) with; repeat for several"),
    AP_INIT_TAKE1("BackendTokenIssuer", ap_set_string_slot,
                  (void *)APR_OFFSETOF(be_dir_conf_t, issuer), ACCESS_CONF,
                  "ISS: tokens must carry this iss (and get it when issued)"),
    AP_INIT_TAKE1("BackendTokenAudience", ap_set_string_slot,
                  (void *)APR_OFFSETOF(be_dir_conf_t, audience), ACCESS_CONF,
                  "AUD: tokens must name this aud (and get it when issued)"),
    AP_INIT_TAKE1(
        "BackendTokenUserClaim", ap_set_string_slot,
        (void *)APR_OFFSETOF(be_dir_conf_t, user_claim), ACCESS_CONF,
        "NAME: the claim that names the user (default " BE_DEF_USER_CLAIM ")"),
    AP_INIT_TAKE1(
        "BackendTokenLeeway", set_int,
        (void *)APR_OFFSETOF(be_dir_conf_t, leeway), ACCESS_CONF,
        "SECONDS of clock skew allowed on exp and nbf (default " BE_STR(
            BE_DEF_LEEWAY) ")"),
    AP_INIT_TAKE1("BackendTokenLifetime", set_int,
                  (void *)APR_OFFSETOF(be_dir_conf_t, lifetime), ACCESS_CONF,
                  "SECONDS an issued token is valid (default " BE_STR(
                      BE_DEF_LIFETIME) ")"),
    AP_INIT_TAKE1("BackendRoleQuery", set_role_query, NULL, ACCESS_CONF,
                  "SQL returning the roles of :user, e.g. \"SELECT role FROM "
                  "user_roles WHERE username = :user\""),
    AP_INIT_ITERATE(
        "BackendOwnerBypass", set_bypass, NULL, ACCESS_CONF,
        "ROLE...: roles that see and change every row of owner= resources"),
    AP_INIT_ITERATE("BackendAuthnCache", set_cache, NULL, ACCESS_CONF,
                    "PROVIDER...: the authn providers AuthBasicProvider "
                    "backend-cache asks, in order, remembering successes"),
    AP_INIT_TAKE1(
        "BackendAuthnCacheTTL", set_int,
        (void *)APR_OFFSETOF(be_dir_conf_t, cache_ttl), ACCESS_CONF,
        "SECONDS a successful password check is remembered (default " BE_STR(
            BE_DEF_CACHE_TTL) ")"),
    AP_INIT_TAKE1("BackendAuthnCacheSecret", be_cache_set_secret, NULL,
                  RSRC_CONF,
                  "FILE: 32 or more secret bytes keying the password cache, "
                  "the same on every node that shares it"),
    AP_INIT_TAKE1("BackendAuthnCacheSOCache", be_socache_set,
                  &be_authn_socache, RSRC_CONF,
                  "PROVIDER[:ARGS]: the shared cache of backend-cache "
                  "(default " BE_DEF_SOCACHE ")"),
    AP_INIT_TAKE_ARGV("BackendRateLimit", set_rate_limit, NULL, ACCESS_CONF,
                      "[NAME|/ROUTE] N/PERIOD [by=ip|user|claim.NAME] "
                      "[burst=M]: at most N requests per PERIOD from one "
                      "client, over the location, or a resource, function "
                      "or route"),
    AP_INIT_TAKE_ARGV("BackendLoginLimit", set_login_limit, NULL, ACCESS_CONF,
                      "N/PERIOD: at most N failed logins per PERIOD for one "
                      "user name and for one client address"),
    AP_INIT_TAKE1("BackendRateLimitSOCache", be_socache_set, &be_limit_socache,
                  RSRC_CONF,
                  "PROVIDER[:ARGS]: the shared counters of BackendRateLimit "
                  "and BackendLoginLimit (default " BE_DEF_SOCACHE ")"),
    AP_INIT_TAKE1("BackendMigrations", be_set_migrations, NULL, RSRC_CONF,
                  "DIR: files NNN_name.sql applied once each, in order, to "
                  "the server's database at startup"),
    AP_INIT_TAKE1("BackendMaxBody", set_max_body, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "BYTES: largest request body accepted (default " BE_STR(
                      BE_DEF_MAX_BODY_MIB) " MiB; LimitRequestBody still "
                                           "applies when lower)"),
    {NULL}};
