/*
 * mod_backend_cors.c - BackendCORS: browsers on other origins.  A
 * preflight (OPTIONS with Origin and Access-Control-Request-Method) from
 * an allowed origin is answered 204 in header_parser, before any
 * authentication (a preflight carries no credentials); every other
 * request from it gets its Access-Control-* headers in err_headers_out,
 * so that errors (401, 403, 422...) carry them too.  An origin that is not
 * allowed gets no header and the request is otherwise unchanged.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mod_backend_private.h"

/* What a front-end may send and read besides the simple headers. */
#define BE_CORS_HEADERS                                              \
    "Authorization, Content-Type, Accept, Prefer, Range, If-Match, " \
    "If-None-Match"
#define BE_CORS_EXPOSE                                                       \
    "Content-Range, Location, ETag, Link, Preference-Applied, Retry-After, " \
    "RateLimit, RateLimit-Policy"
#define BE_CORS_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

/* BackendCORS ORIGIN...|* [credentials] [max-age=SECONDS] [headers=A,B] */
const char *be_set_cors(cmd_parms *cmd, void *dconf, int argc,
                        char *const argv[])
{
    be_dir_conf_t *c = dconf;
    be_cors_t *cors = apr_pcalloc(cmd->pool, sizeof(*cors));
    int i;

    cors->origins = apr_array_make(cmd->pool, argc, sizeof(const char *));
    cors->max_age = -1;
    cors->headers = BE_CORS_HEADERS;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcasecmp(a, "credentials")) {
            cors->credentials = 1;
        }
        else if (!strncasecmp(a, "max-age=", 8)) {
            char *end;
            long v = strtol(a + 8, &end, 10);
            if (!a[8] || *end || v < 0 || v > 86400) {
                return apr_psprintf(cmd->pool,
                                    "BackendCORS: '%s': max-age is 0 to "
                                    "86400 seconds",
                                    a);
            }
            cors->max_age = (int)v;
        }
        else if (!strncasecmp(a, "headers=", 8)) {
            const char *s;
            for (s = a + 8; *s; s++) {
                if (!(apr_isalnum(*s) || *s == '-' || *s == ',')) {
                    return apr_psprintf(cmd->pool,
                                        "BackendCORS: '%s': header names "
                                        "separated by commas",
                                        a);
                }
            }
            cors->headers =
                apr_pstrcat(cmd->pool, BE_CORS_HEADERS, ", ", a + 8, NULL);
        }
        else if (!strcmp(a, "*")) {
            cors->any = 1;
        }
        else if ((!strncasecmp(a, "http://", 7)
                  || !strncasecmp(a, "https://", 8))
                 && !strchr(strstr(a, "//") + 2, '/')) {
            APR_ARRAY_PUSH(cors->origins, const char *) = a;
        }
        else {
            return apr_psprintf(cmd->pool,
                                "BackendCORS: '%s' is not an origin "
                                "(scheme://host[:port], or *)",
                                a);
        }
    }
    if (!cors->any && cors->origins->nelts == 0) {
        return "BackendCORS needs an origin, or *";
    }
    if (cors->any && cors->credentials) {
        /* every site could then act as the browser's user */
        return "BackendCORS: * with credentials would let any site use "
               "its visitors' credentials; name the origins";
    }
    c->cors = cors;
    return NULL;
}

static int allowed(const be_cors_t *cors, const char *origin)
{
    int i;

    if (cors->any) {
        return 1;
    }
    for (i = 0; i < cors->origins->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(cors->origins, i, const char *),
                        origin)) {
            return 1;
        }
    }
    return 0;
}

int be_cors(request_rec *r)
{
    const be_dir_conf_t *dc;
    const char *origin, *method;
    apr_table_t *h;

    if (r->main || r->prev) {
        return DECLINED;
    }
    dc = be_dconf(r);
    if (!dc || !dc->cors) {
        return DECLINED;
    }
    /* (with or without Origin, the answer differs: caches must know) */
    h = r->err_headers_out;
    apr_table_mergen(h, "Vary", "Origin");
    if (!(origin = apr_table_get(r->headers_in, "Origin"))
        || !allowed(dc->cors, origin)) {
        return DECLINED;
    }
    apr_table_setn(h, "Access-Control-Allow-Origin",
                   dc->cors->any ? "*" : origin);
    if (dc->cors->credentials) {
        apr_table_setn(h, "Access-Control-Allow-Credentials", "true");
    }
    method = apr_table_get(r->headers_in, "Access-Control-Request-Method");
    if (r->method_number != M_OPTIONS || !method) {
        apr_table_setn(h, "Access-Control-Expose-Headers", BE_CORS_EXPOSE);
        return DECLINED;
    }
    /* the preflight itself */
    apr_table_mergen(h, "Vary",
                     "Access-Control-Request-Method, "
                     "Access-Control-Request-Headers");
    apr_table_setn(h, "Access-Control-Allow-Methods", BE_CORS_METHODS);
    apr_table_setn(h, "Access-Control-Allow-Headers", dc->cors->headers);
    if (dc->cors->max_age >= 0) {
        apr_table_setn(h, "Access-Control-Max-Age",
                       apr_itoa(r->pool, dc->cors->max_age));
    }
    r->status = HTTP_NO_CONTENT;
    ap_set_content_length(r, 0);
    return DONE;
}
