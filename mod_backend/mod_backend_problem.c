/*
 * mod_backend_problem.c - every failure answers application/problem+json
 * (RFC 9457) with the right status and the headers that status needs:
 * the answers of the handlers (be_problem), and the 401 and 403 pages
 * httpd sends itself on an API location (a problem body chosen in
 * insert_error_filter, its type fixed by an output filter).
 */
#include <httpd.h>
#include <http_core.h>
#include <http_protocol.h>
#include <mod_core.h>
#include <http_log.h>
#include <apr_buckets.h>
#include <util_filter.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

/* How long a client should wait before retrying an unavailable database. */
#define BE_RETRY_AFTER "5"

int be_problem(request_rec *r, int status, const char *detail,
               const apr_array_header_t *errs)
{
    const char *line = ap_get_status_line(status);
    const char *title = strlen(line) > 4 ? line + 4 : line;
    const char *body = be_problem_json(r->pool, status, title, detail, errs);
    apr_size_t len = strlen(body);
    apr_bucket_brigade *bb;

    ap_log_rerror(APLOG_MARK, status >= 500 ? APLOG_INFO : APLOG_DEBUG, 0, r,
                  "BE00020: %d %s %s: %s", status, r->method, r->uri, detail);
    r->status = status;
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->headers_out, "Retry-After", BE_RETRY_AFTER);
    }
    if (status == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        /* do not read a huge body only to throw it away */
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    ap_set_content_type(r, "application/problem+json");
    ap_set_content_length(r, (apr_off_t)len);
    if (r->header_only) {
        return DONE;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(
        bb,
        apr_bucket_pool_create(body, len, r->pool,
                               r->connection->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
        ? DONE
        : AP_FILTER_ERROR;
}

int be_not_allowed(request_rec *r, const char *allow)
{
    apr_table_setn(r->headers_out, "Allow", allow);
    return be_problem(
        r, HTTP_METHOD_NOT_ALLOWED,
        apr_psprintf(r->pool, "%s is not allowed on %s", r->method, r->uri),
        NULL);
}

/* ---------------------------------------------------------------------- */
/* Problem bodies for the 401 and 403 httpd sends itself                   */

const char *be_problem_text(request_rec *r, int status, const char *detail)
{
    const char *line = ap_get_status_line(status);

    /* (ap_custom_response marks a literal text with a leading quote) */
    return be_problem_json(r->pool, status, line + 4, detail, NULL);
}

/* httpd writes error pages as text/html; for our answers the body is a
 * problem, so the type is fixed on the way out. */
apr_status_t be_problem_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (r->status == HTTP_UNAUTHORIZED || r->status == HTTP_FORBIDDEN
        || (r->status == HTTP_NOT_FOUND
            && apr_table_get(r->notes, BE_NOTE_SLASH))) {
        if (r->content_type && !strncmp(r->content_type, "text/html", 9)) {
            ap_set_content_type(r, "application/problem+json");
        }
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* httpd's own error answers (a refused Require, a failed Basic login)
 * run through the error filters: this is where an API location's 401 and
 * 403 get a problem body, and only then, not on every request.  A custom
 * response already set (ours for Bearer, or a site's ErrorDocument) stays.
 */
void be_insert_error_filter(request_rec *r)
{
    static const char unauthorized[] =
        "{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
        "\"detail\":\"authentication is required\"}";
    static const char forbidden[] =
        "{\"type\":\"about:blank\",\"title\":\"Forbidden\",\"status\":403,"
        "\"detail\":\"you may not do this\"}";
    const be_dir_conf_t *dc = be_dconf(r);
    const char *slash = apr_table_get(r->notes, BE_NOTE_SLASH);
    be_rctx_t *x;
    int status = r->status;

    if (status == HTTP_NOT_FOUND && slash) {
        if (!ap_response_code_string(r, ap_index_of_response(status))) {
            ap_custom_response(r, status, be_problem_text(r, status, slash));
        }
        ap_add_output_filter(BE_PROBLEM_FILTER, NULL, r, r->connection);
        return;
    }
    if ((status != HTTP_UNAUTHORIZED && status != HTTP_FORBIDDEN) || !dc
        || (!dc->keys && apr_hash_count(dc->resources) == 0
            && !be_is_bearer(r))) {
        return;
    }
    x = be_rctx(r);
    if (!ap_auth_type(r) && !x->api) {
        return;
    }
    if (status == HTTP_UNAUTHORIZED
        && apr_table_get(r->notes, BE_NOTE_JSON_LOGIN)) {
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    }
    if (!ap_response_code_string(r, ap_index_of_response(status))) {
        ap_custom_response(
            r, status, status == HTTP_UNAUTHORIZED ? unauthorized : forbidden);
        x->problems = 1;
    }
    if (x->problems) {
        ap_add_output_filter(BE_PROBLEM_FILTER, NULL, r, r->connection);
    }
}
