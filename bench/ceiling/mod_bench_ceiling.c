/* The ceiling of bench/: the least an httpd module can do to answer E1.
 * Built by bench/run with apxs, never installed or shipped.
 *
 *   <Location /ceiling>
 *       SetHandler bench-ceiling
 *       BenchCeilingFile /path/to/e1.json
 *   </Location>
 *
 * answers every GET under the location with the bytes of that file, read
 * once at startup, as application/json, skipping httpd's filesystem walk
 * as mod_backend does for its API paths: what is left is the request
 * pipeline itself (connection, parsing, hooks, filters, logging). */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_buckets.h"
#include "apr_file_io.h"
#include "apr_strings.h"

module AP_MODULE_DECLARE_DATA bench_ceiling_module;

typedef struct {
    const char *body; /* NULL: not a ceiling location */
    apr_size_t len;
} ceiling_conf_t;

static void *create_dir(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(ceiling_conf_t));
}

/* A missing file gives an empty answer: bench/run writes the file from
 * a real E1 answer, then restarts httpd. */
static const char *set_file(cmd_parms *cmd, void *cfg, const char *path)
{
    ceiling_conf_t *c = cfg;
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;

    c->body = "";
    c->len = 0;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool)
        != APR_SUCCESS) {
        return NULL;
    }
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) == APR_SUCCESS
        && fi.size > 0) {
        buf = apr_palloc(cmd->pool, (apr_size_t)fi.size);
        if (apr_file_read_full(f, buf, (apr_size_t)fi.size, &c->len)
            == APR_SUCCESS) {
            c->body = buf;
        }
    }
    apr_file_close(f);
    return NULL;
}

/* no <Directory> walk, no stat(2) for /ceiling/ (bench/run's location),
 * as mod_backend skips them for its API paths */
static int map_to_storage(request_rec *r)
{
    return strncmp(r->uri, "/ceiling/", 9) ? DECLINED : OK;
}

static int handler(request_rec *r)
{
    const ceiling_conf_t *c =
        ap_get_module_config(r->per_dir_config, &bench_ceiling_module);
    apr_bucket_brigade *bb;

    if (!r->handler || strcmp(r->handler, "bench-ceiling") || !c->body) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)c->len);
    if (r->header_only) {
        return OK;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(
                                    c->body, c->len, bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
        ? OK
        : AP_FILTER_ERROR;
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("BenchCeilingFile", set_file, NULL, ACCESS_CONF,
                  "the file whose bytes every request is answered with"),
    {NULL}};

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA bench_ceiling_module = {
    STANDARD20_MODULE_STUFF, create_dir, NULL, NULL, NULL, cmds,
    register_hooks};
