/*
 * mod_backend_explorer.c - the API explorer: GET LOCATION/ from a browser
 * (Accept: text/html) is a page that shows the location's OpenAPI
 * document in Swagger UI, where a developer reads every endpoint and
 * tries it.  Swagger UI's files (swagger-ui-dist, installed by make
 * install) are served by httpd itself from BackendExplorer's directory at
 * LOCATION/_explorer/FILE: no CDN, nothing fetched from elsewhere.
 * BackendExplorer off turns it off.
 */
#include <stdlib.h>
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "mod_backend_private.h"

#ifndef BE_EXPLORER_DIR
#define BE_EXPLORER_DIR "/usr/share/mod_backend/explorer"
#endif

/* The files a page needs, and what they are. */
static const struct {
    const char *name, *type;
} files[] = {{"swagger-ui-bundle.js", "text/javascript"},
             {"swagger-ui.css", "text/css"},
             {"start.js", "text/javascript"}};
#define NFILES BE_EXPLORER_FILES
_Static_assert(sizeof(files) / sizeof(files[0]) == NFILES,
               "BE_EXPLORER_FILES counts the explorer's files");

/* Ours: starts Swagger UI on the document the page names. */
static const char start_js[] =
    "// mod_backend: the explorer of this location's OpenAPI document\n"
    "window.addEventListener('load', function () {\n"
    "  var spec = document.getElementById('explorer').dataset.spec;\n"
    "  window.ui = SwaggerUIBundle({url: spec, dom_id: '#explorer',\n"
    "    deepLinking: true,\n"
    "    persistAuthorization: true});\n"
    "});\n";

const char *be_set_explorer(cmd_parms *cmd, void *dconf, const char *arg)
{
    be_dir_conf_t *c = dconf;
    apr_finfo_t fi;
    size_t i;

    if (!strcasecmp(arg, "off")) {
        c->explorer = "";
        return NULL;
    }
    if (!strcasecmp(arg, "on")) {
        c->explorer = BE_EXPLORER_DIR;
        return NULL;
    }
    arg = ap_server_root_relative(cmd->pool, arg);
    for (i = 0; i < NFILES - 1; i++) {
        const char *f = apr_pstrcat(cmd->pool, arg, "/", files[i].name, NULL);
        if (apr_stat(&fi, f, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
            || fi.filetype != APR_REG) {
            return apr_psprintf(cmd->pool,
                                "BackendExplorer %s: no %s there (on, off, "
                                "or the directory of swagger-ui-dist)",
                                arg, files[i].name);
        }
    }
    c->explorer = arg;
    return NULL;
}

/* A file of the explorer, read once per child and kept for the
 * location (start.js is ours, in memory). */
static const be_kept_t *file_of(request_rec *r, be_openapi_t *d,
                                const char *dir, size_t i)
{
    const be_kept_t *k;
    apr_file_t *f;
    apr_finfo_t fi;
    char *data;

    if ((k = apr_atomic_casptr(&d->files[i], NULL, NULL))) {
        return k;
    }
    if (i == NFILES - 1) {
        return be_keep(r, &d->files[i], start_js, sizeof(start_js) - 1);
    }
    if (apr_file_open(&f, apr_pstrcat(r->pool, dir, "/", files[i].name, NULL),
                      APR_FOPEN_READ, 0, r->pool)
            != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return NULL;
    }
    data = apr_palloc(r->pool, (apr_size_t)fi.size + 1);
    if (apr_file_read_full(f, data, (apr_size_t)fi.size, NULL)
        != APR_SUCCESS) {
        apr_file_close(f);
        return NULL;
    }
    apr_file_close(f);
    return be_keep(r, &d->files[i], data, (apr_size_t)fi.size);
}

static int wants_page(request_rec *r, const char *location)
{
    apr_size_t n = strlen(location);
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return !strncmp(r->uri, location, n)
        && (!r->uri[n] || !strcmp(r->uri + n, "/")) && accept
        && ap_strcasestr(accept, "text/html");
}

int be_explorer(be_req_t *q)
{
    request_rec *r = q->r;
    const char *location, *dir, *prefix, *page;
    be_buf_t b = {NULL, NULL, 0, 0};
    size_t i;

    if (!q->dc->openapi) {
        return DECLINED;
    }
    location = q->dc->openapi->location;
    dir = q->dc->explorer ? q->dc->explorer : BE_EXPLORER_DIR;
    prefix = apr_pstrcat(r->pool, location, "/_explorer/", NULL);
    if (!*dir) {
        return DECLINED; /* BackendExplorer off */
    }
    if (r->method_number != M_GET
        || (!wants_page(r, location)
            && strncmp(r->uri, prefix, strlen(prefix)) != 0)) {
        return DECLINED;
    }
    if (strncmp(r->uri, prefix, strlen(prefix)) == 0) {
        for (i = 0; i < NFILES; i++) {
            if (!strcmp(r->uri + strlen(prefix), files[i].name)) {
                const be_kept_t *k = file_of(r, q->dc->openapi, dir, i);
                if (!k) {
                    return be_problem(
                        r, HTTP_NOT_FOUND,
                        apr_psprintf(r->pool,
                                     "the explorer's %s is not in %s "
                                     "(make install puts it there)",
                                     files[i].name, dir),
                        NULL);
                }
                apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
                return be_send_kept(r, k, files[i].type);
            }
        }
        return DECLINED;
    }
    page = apr_psprintf(
        r->pool,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n"
        "<meta charset=\"utf-8\">\n<title>%s: API explorer</title>\n"
        "<link rel=\"stylesheet\" href=\"%sswagger-ui.css\">\n"
        "</head>\n<body>\n"
        "<div id=\"explorer\" data-spec=\"%s/openapi.json\"></div>\n"
        "<script src=\"%sswagger-ui-bundle.js\"></script>\n"
        "<script src=\"%sstart.js\"></script>\n"
        "</body>\n</html>\n",
        ap_escape_html(r->pool, location), ap_escape_html(r->pool, prefix),
        ap_escape_html(r->pool, location), ap_escape_html(r->pool, prefix),
        ap_escape_html(r->pool, prefix));
    b.data = (char *)page;
    b.len = strlen(page);
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    return be_send_typed(r, HTTP_OK, &b, "text/html; charset=utf-8");
}
