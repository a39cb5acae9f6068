/*
 * mod_backend_problem.c - every failure answers application/problem+json
 * (RFC 9457) with the right status and the headers that status needs.
 */
#include <httpd.h>
#include <http_protocol.h>
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
                  "BE00020: %d %s %s: %s", status, r->method, r->uri,
                  detail);
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
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
                                    body, len, r->pool,
                                    r->connection->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
               ? DONE
               : AP_FILTER_ERROR;
}
