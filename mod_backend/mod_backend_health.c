/*
 * mod_backend_health.c - SetHandler backend-health: what a balancer or an
 * orchestrator polls.  LOCATION/live is 200 while httpd serves;
 * LOCATION/ready is 200 when the server's database (mod_dbd's, as its
 * DBDriver and DBDParams say) answers and its BackendMigrations are
 * applied, 503 problem+json with the reason otherwise.  Cheap: one pooled connection checked with apr_dbd_check_conn,
 * no SQL of ours.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_dbd.h>
#include <mod_dbd.h>

#include "mod_backend_private.h"

static int answer(request_rec *r, const char *status)
{
    be_buf_t b = {NULL, NULL, 0, 0};

    b.data = apr_psprintf(r->pool, "{\"status\":\"%s\"}", status);
    b.len = strlen(b.data);
    return be_send_json(r, HTTP_OK, &b);
}

/* live or ready: the answer, as be_send_json and be_problem return it */
static int health(request_rec *r)
{
    const char *last = strrchr(r->uri, '/');
    ap_dbd_t *dbd;
    const char *why;

    last = last ? last + 1 : r->uri;
    if (strcmp(last, "live") != 0 && strcmp(last, "ready") != 0) {
        return be_problem(r, HTTP_NOT_FOUND,
                          "backend-health answers LOCATION/live and "
                          "LOCATION/ready",
                          NULL);
    }
    if (r->method_number != M_GET) {
        return be_not_allowed(r, "GET, HEAD");
    }
    if (!strcmp(last, "live")) {
        return answer(r, "live");
    }
    if (!be_dbd_acquire_fn) {
        be_dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    }
    if (!be_dbd_acquire_fn || !(dbd = be_dbd_acquire_fn(r))
        || apr_dbd_check_conn(dbd->driver, r->pool, dbd->handle)
            != APR_SUCCESS) {
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE,
                          be_dbd_acquire_fn
                              ? "the database does not answer"
                              : "no database: mod_dbd is not loaded",
                          NULL);
    }
    if ((why = be_migrate_ensure(r)) != NULL) {
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE,
                          "the migrations are not applied", NULL);
    }
    return answer(r, "ready");
}

int be_health_handler(request_rec *r)
{
    int rc;

    if (!r->handler || strcmp(r->handler, "backend-health") != 0) {
        return DECLINED;
    }
    be_rctx(r)->problems = 1;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    rc = health(r);
    return rc == DONE ? OK : rc;
}
