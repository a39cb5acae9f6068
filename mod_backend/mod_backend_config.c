/*
 * mod_backend_config.c - directives and per-directory configuration.
 *
 * Defaults live in one place (be_conf_*); unset is NULL for pointers and
 * -1 for numbers, and a <Location> inside another inherits what it does
 * not set itself.
 */
#include <ctype.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "mod_backend_private.h"

/* The resources of the configuration being read, across all locations and
 * virtual hosts; rebuilt each time httpd reads its configuration. */
static apr_array_header_t *registry;

int be_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    registry = apr_array_make(pconf, 16, sizeof(be_resource_t *));
    return OK;
}

apr_array_header_t *be_all_resources(void)
{
    return registry;
}

void *be_create_dir_conf(apr_pool_t *p, char *dir)
{
    be_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)dir;
    c->resources = apr_hash_make(p);
    c->max_rows = -1;
    c->max_body = -1;
    return c;
}

void *be_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    be_dir_conf_t *base = basev, *add = addv;
    be_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->resources = apr_hash_overlay(p, add->resources, base->resources);
    c->max_rows = add->max_rows != -1 ? add->max_rows : base->max_rows;
    c->max_body = add->max_body != -1 ? add->max_body : base->max_body;
    return c;
}

int be_conf_max_rows(const be_dir_conf_t *c)
{
    return c->max_rows != -1 ? c->max_rows : BE_DEFAULT_MAX_ROWS;
}

apr_off_t be_conf_max_body(const be_dir_conf_t *c)
{
    return c->max_body != -1 ? c->max_body : BE_DEFAULT_MAX_BODY;
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
        return apr_psprintf(cmd->pool, "%s must be inside a <Location /path> "
                            "section", cmd->cmd->name);
    }
    return NULL;
}

static const char *set_resource(cmd_parms *cmd, void *dconf, int argc,
                                char *const argv[])
{
    be_dir_conf_t *c = dconf;
    be_resource_t *res, **seen;
    const char *err, *mount;
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
        return "BackendResource needs mod_dbd: load it first "
               "(LoadModule dbd_module .../mod_dbd.so; a2enmod dbd)";
    }
    if (argc < 1) {
        return "BackendResource needs a NAME";
    }
    if (!valid_segment(argv[0])) {
        return apr_psprintf(cmd->pool, "BackendResource: '%s' is not a valid "
                            "name (letters, digits, _ - .)", argv[0]);
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
        else if (strcasecmp(argv[i], "bulk=all") == 0) {
            res->bulk_all = 1;
        }
        else if (strcasecmp(argv[i], "bulk=filtered") == 0) {
            res->bulk_all = 0;
        }
        else {
            return apr_psprintf(cmd->pool, "BackendResource %s: unknown "
                                "option '%s' (expected table=TABLE, "
                                "key=COLUMN or bulk=all)", res->name,
                                argv[i]);
        }
    }

    mount = apr_pstrdup(cmd->pool, cmd->path);
    while (*mount && mount[strlen(mount) - 1] == '/') {
        ((char *)mount)[strlen(mount) - 1] = '\0';
    }
    res->path = apr_pstrcat(cmd->pool, mount, "/", res->name, NULL);

    for (i = 0; i < registry->nelts; i++) {
        seen = &APR_ARRAY_IDX(registry, i, be_resource_t *);
        if (strcmp((*seen)->path, res->path) == 0
            && (*seen)->server == res->server) {
            return apr_psprintf(cmd->pool, "BackendResource %s: declared "
                                "twice at %s (first at %s)", res->name,
                                res->path, (*seen)->where);
        }
    }
    APR_ARRAY_PUSH(registry, be_resource_t *) = res;
    apr_hash_set(c->resources, res->path, APR_HASH_KEY_STRING, res);
    return NULL;
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

const command_rec be_cmds[] = {
    AP_INIT_TAKE_ARGV("BackendResource", set_resource, NULL, ACCESS_CONF,
                      "NAME [table=TABLE] [key=COLUMN] [bulk=all]: expose a "
                      "table at <Location>/NAME and <Location>/NAME/KEY"),
    AP_INIT_TAKE1("BackendMaxRows", set_max_rows, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "N: most rows a collection GET returns (default 1000)"),
    AP_INIT_TAKE1("BackendMaxBody", set_max_body, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "BYTES: largest request body accepted (default 1 MiB; "
                  "LimitRequestBody still applies when lower)"),
    {NULL}
};
