/*
 * mod_backend_handler.c - SetHandler backend: routing, the request body,
 * and the CRUD operations of a resource.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_log.h>
#include <apr_buckets.h>
#include <util_filter.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

#define ALLOW_COLLECTION "GET, HEAD, POST, OPTIONS"
#define ALLOW_ITEM "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"

/* ---------------------------------------------------------------------- */
/* Routing                                                                 */

be_resource_t *be_route(request_rec *r, const be_dir_conf_t *dc,
                        const char **id)
{
    apr_size_t len = strlen(r->uri);
    const char *slash;
    char *path;
    be_resource_t *res;

    *id = NULL;
    if (!dc || apr_hash_count(dc->resources) == 0) {
        return NULL;
    }
    while (len > 1 && r->uri[len - 1] == '/') {
        len--; /* /api/products/ is the collection */
    }
    if ((res = apr_hash_get(dc->resources, r->uri, (apr_ssize_t)len))) {
        return res;
    }
    path = apr_pstrmemdup(r->pool, r->uri, len);
    slash = strrchr(path, '/');
    if (!slash || slash == path || !slash[1]) {
        return NULL;
    }
    res = apr_hash_get(dc->resources, path, (apr_ssize_t)(slash - path));
    if (res) {
        *id = slash + 1;
    }
    return res;
}

/* API paths are not files.  They are claimed while the <Location>
 * configuration is known (the location walk runs before translate_name),
 * so neither the core's DocumentRoot mapping nor the directory and file
 * walk ever touch the filesystem for them; authn/authz still run. */
int be_translate_name(request_rec *r)
{
    const be_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                   &backend_module);
    const char *id;

    if (!be_route(r, dc, &id)) {
        return DECLINED;
    }
    ap_set_module_config(r->request_config, &backend_module, (void *)1);
    r->filename = apr_pstrcat(r->pool, "backend:", r->uri, NULL);
    return OK;
}

int be_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &backend_module) ? OK
                                                                   : DECLINED;
}

/* ---------------------------------------------------------------------- */
/* Request bodies                                                          */

static int is_json_type(const char *ct)
{
    apr_size_t n = sizeof("application/json") - 1;

    if (!ct || strncasecmp(ct, "application/json", n) != 0) {
        return 0;
    }
    ct += n;
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

/* Reads the whole body, up to the smaller of BackendMaxBody and
 * LimitRequestBody.  Returns OK or the status of the problem to send. */
static int read_body(request_rec *r, const be_dir_conf_t *dc,
                     const char **data, apr_size_t *len, const char **why)
{
    apr_off_t limit = be_conf_max_body(dc);
    apr_off_t core_limit = ap_get_limit_req_body(r);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    be_buf_t buf;
    int seen_eos = 0;

    if (core_limit > 0 && core_limit < limit) {
        limit = core_limit;
    }
    *why = apr_psprintf(r->pool, "the request body is larger than %"
                        APR_OFF_T_FMT " bytes", limit);
    if (cl) {
        apr_off_t n;
        if (apr_strtoff(&n, cl, NULL, 10) != APR_SUCCESS || n < 0) {
            *why = "the Content-Length header is not a number";
            return HTTP_BAD_REQUEST;
        }
        if (n > limit) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }

    be_buf_init(&buf, r->pool, cl ? (apr_size_t)atol(cl) + 1 : 1024);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb,
                                         AP_MODE_READBYTES, APR_BLOCK_READ,
                                         HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            if (rv == AP_FILTER_ERROR || APR_STATUS_IS_ENOSPC(rv)) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            *why = "the request body could not be read";
            return HTTP_BAD_REQUEST;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *d;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            if (apr_bucket_read(b, &d, &n, APR_BLOCK_READ) != APR_SUCCESS) {
                *why = "the request body could not be read";
                return HTTP_BAD_REQUEST;
            }
            if ((apr_off_t)(buf.len + n) > limit) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            be_buf_add(&buf, d, n);
        }
        apr_brigade_cleanup(bb);
    }
    *data = be_buf_cstr(&buf);
    *len = buf.len;
    return OK;
}

/* Content-Type, size and JSON syntax: everything that needs no schema. */
static int parse_body(request_rec *r, const be_dir_conf_t *dc,
                      be_jobject_t **obj)
{
    const char *data, *why;
    apr_size_t len;
    be_jdoc_t *doc;
    int status;

    if (!is_json_type(apr_table_get(r->headers_in, "Content-Type"))) {
        return be_problem(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                          "the request body must be application/json", NULL);
    }
    if ((status = read_body(r, dc, &data, &len, &why)) != OK) {
        return be_problem(r, status, why, NULL);
    }
    if (be_json_parse_body(r->pool, data, len, BE_JSON_MAX_DEPTH, 0, &doc,
                           &why) != BE_JSON_OK) {
        return be_problem(r, HTTP_BAD_REQUEST, why, NULL);
    }
    *obj = APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *);
    return OK;
}

/* ---------------------------------------------------------------------- */
/* Responses                                                               */

static int send_json(request_rec *r, int status, be_buf_t *body)
{
    apr_bucket_brigade *bb;

    r->status = status;
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)body->len);
    if (r->header_only) {
        return DONE;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
                                    body->data, body->len, r->pool,
                                    r->connection->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
               ? DONE
               : AP_FILTER_ERROR;
}

static int db_problem(request_rec *r, const be_resource_t *res,
                      const be_dberr_t *err)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "BE00032: %s: %s (%s)",
                  res->path, err->message ? err->message : "",
                  err->sqlstate ? err->sqlstate : "");
    switch (err->rc) {
    case BE_DB_CONFLICT:
        return be_problem(r, HTTP_CONFLICT, err->detail, NULL);
    case BE_DB_INVALID:
        return be_problem(r, HTTP_UNPROCESSABLE_ENTITY, err->detail, NULL);
    case BE_DB_UNAVAILABLE:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "BE00031: %s: %s (%s)",
                      res->path, err->message ? err->message : "unavailable",
                      err->sqlstate ? err->sqlstate : "");
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE,
                          BE_DETAIL_UNAVAILABLE, NULL);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00030: %s: %s (%s)",
                      res->path, err->message ? err->message : "error",
                      err->sqlstate ? err->sqlstate : "");
        return be_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database reported an error; the server log "
                          "has the details", NULL);
    }
}

/* ---------------------------------------------------------------------- */
/* Operations                                                              */

typedef struct {
    request_rec *r;
    const be_dir_conf_t *dc;
    be_resource_t *res;
    const char *id;
    be_conn_t *conn;
    const be_plan_t *plan;
} be_req_t;

/* Runs st and renders its rows: an array, or the first row as an object.
 * *rows is how many there were; a problem has been sent when it fails. */
static int run(be_req_t *q, const be_stmt_t *st, int as_array, be_buf_t *out,
               long *rows)
{
    be_sink_t sink;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL};

    be_buf_init(out, q->r->pool, as_array ? 4096 : 512);
    be_sink_init(&sink, q->r->pool, out, q->plan, as_array);
    be_sink_begin(&sink);
    if (q->conn->ex->query(q->conn, q->r->pool, st, &sink, rows, &err)
        != BE_DB_OK) {
        return db_problem(q->r, q->res, &err);
    }
    be_sink_end(&sink);
    /* the key of the first row, for Location */
    q->id = sink.key_text ? sink.key_text : q->id;
    return OK;
}

static int not_found(be_req_t *q)
{
    return be_problem(q->r, HTTP_NOT_FOUND,
                      apr_psprintf(q->r->pool, "%s has no row with key '%s'",
                                   q->res->name, q->id), NULL);
}

static int do_list(be_req_t *q)
{
    be_value_t limit = {BE_V_INT, be_conf_max_rows(q->dc), 0, NULL, 0};
    const be_value_t *args[1] = {&limit};
    be_stmt_t st = {q->plan->sql_list, 1, args};
    be_buf_t out;
    long rows;
    int rc;

    if ((rc = run(q, &st, 1, &out, &rows)) != OK) {
        return rc;
    }
    return send_json(q->r, HTTP_OK, &out);
}

static int do_get(be_req_t *q, const be_value_t *key, int status)
{
    const be_value_t *args[1] = {key};
    be_stmt_t st = {q->plan->sql_get, 1, args};
    be_buf_t out;
    long rows;
    int rc;

    if ((rc = run(q, &st, 0, &out, &rows)) != OK) {
        return rc;
    }
    return rows == 0 ? not_found(q) : send_json(q->r, status, &out);
}

static const be_column_t *key_col(const be_req_t *q)
{
    return &APR_ARRAY_IDX(q->plan->table->cols, q->plan->table->key,
                          be_column_t);
}

static int validate(be_req_t *q, const be_jobject_t *obj, be_write_e mode,
                    be_row_t *row)
{
    apr_array_header_t *errs = apr_array_make(q->r->pool, 4,
                                              sizeof(be_field_error_t));

    if (be_validate_row(q->r->pool, q->plan->table, obj, mode, row, errs)) {
        const be_field_error_t *e = &APR_ARRAY_IDX(errs, 0, be_field_error_t);
        const char *detail =
            errs->nelts == 1
                ? apr_psprintf(q->r->pool, "%s: %s", e->field, e->message)
                : apr_psprintf(q->r->pool, "%d fields are not valid",
                               errs->nelts);
        return be_problem(q->r, HTTP_UNPROCESSABLE_ENTITY, detail, errs);
    }
    return OK;
}

static int do_insert(be_req_t *q, const be_jobject_t *obj)
{
    be_row_t row;
    be_stmt_t st;
    be_buf_t out;
    long rows;
    int rc;

    if ((rc = validate(q, obj, BE_WRITE_INSERT, &row)) != OK) {
        return rc;
    }
    be_plan_insert(q->r->pool, q->plan, &row, &st);
    if ((rc = run(q, &st, 0, &out, &rows)) != OK) {
        return rc;
    }
    if (q->id) {
        apr_table_setn(q->r->headers_out, "Location",
                       apr_pstrcat(q->r->pool, q->res->path, "/",
                                   ap_escape_path_segment(q->r->pool, q->id),
                                   NULL));
    }
    return send_json(q->r, HTTP_CREATED, &out);
}

static int same_key(const be_value_t *a, const be_value_t *b)
{
    if (a->kind == BE_V_INT && b->kind == BE_V_INT) {
        return a->i == b->i;
    }
    if (a->kind == BE_V_REAL || b->kind == BE_V_REAL) {
        double x = a->kind == BE_V_INT ? (double)a->i : a->d;
        double y = b->kind == BE_V_INT ? (double)b->i : b->d;
        return x == y;
    }
    return a->s && b->s && a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static int do_update(be_req_t *q, const be_jobject_t *obj,
                     const be_value_t *key, be_write_e mode)
{
    be_row_t row;
    be_stmt_t st;
    be_buf_t out;
    long rows;
    int rc, i;

    if ((rc = validate(q, obj, mode, &row)) != OK) {
        return rc;
    }
    for (i = 0; i < row.ncols; i++) {
        if (row.cols[i] == key_col(q) && !same_key(&row.vals[i], key)) {
            apr_array_header_t *errs = apr_array_make(
                q->r->pool, 1, sizeof(be_field_error_t));
            be_field_error_t *e = apr_array_push(errs);
            e->field = key_col(q)->name;
            e->message = "must match the key in the URL";
            return be_problem(q->r, HTTP_UNPROCESSABLE_ENTITY,
                              apr_psprintf(q->r->pool, "%s: %s", e->field,
                                           e->message), errs);
        }
    }
    if (row.ncols == 0) {
        return do_get(q, key, HTTP_OK); /* nothing to change */
    }
    be_plan_update(q->r->pool, q->plan, &row, key, &st);
    if ((rc = run(q, &st, 0, &out, &rows)) != OK) {
        return rc;
    }
    return rows == 0 ? not_found(q) : send_json(q->r, HTTP_OK, &out);
}

static int do_delete(be_req_t *q, const be_value_t *key)
{
    const be_value_t *args[1] = {key};
    be_stmt_t st = {q->plan->sql_delete, 1, args};
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL};
    long rows = 0;

    if (q->conn->ex->query(q->conn, q->r->pool, &st, NULL, &rows, &err)
        != BE_DB_OK) {
        return db_problem(q->r, q->res, &err);
    }
    if (rows == 0) {
        return not_found(q);
    }
    q->r->status = HTTP_NO_CONTENT;
    return DONE;
}

/* ---------------------------------------------------------------------- */
/* The handler                                                             */

static int method_allowed(int m, int item)
{
    switch (m) {
    case M_GET:
    case M_OPTIONS:
        return 1;
    case M_POST:
        return !item;
    case M_PUT:
    case M_PATCH:
    case M_DELETE:
        return item;
    default:
        return 0;
    }
}

static int serve(request_rec *r)
{
    be_req_t q;
    be_jobject_t *body = NULL;
    be_value_t key;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL};
    int m = r->method_number, rc;

    memset(&q, 0, sizeof(q));
    q.r = r;
    q.dc = ap_get_module_config(r->per_dir_config, &backend_module);
    if (!(q.res = be_route(r, q.dc, &q.id))) {
        return be_problem(r, HTTP_NOT_FOUND, "no resource at this path",
                          NULL);
    }

    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_OPTIONS);
    r->allowed |= q.id ? (AP_METHOD_BIT << M_PUT) | (AP_METHOD_BIT << M_PATCH)
                             | (AP_METHOD_BIT << M_DELETE)
                       : (AP_METHOD_BIT << M_POST);
    if (!method_allowed(m, q.id != NULL)) {
        apr_table_setn(r->headers_out, "Allow",
                       q.id ? ALLOW_ITEM : ALLOW_COLLECTION);
        return be_problem(r, HTTP_METHOD_NOT_ALLOWED,
                          apr_psprintf(r->pool, "%s is not allowed on %s",
                                       r->method, r->uri), NULL);
    }
    if (m == M_OPTIONS) {
        apr_table_setn(r->headers_out, "Allow",
                       q.id ? ALLOW_ITEM : ALLOW_COLLECTION);
        r->status = HTTP_NO_CONTENT;
        return DONE;
    }
    if ((m == M_POST || m == M_PUT || m == M_PATCH)
        && (rc = parse_body(r, q.dc, &body)) != OK) {
        return rc;
    }
    if (!(q.conn = be_db_acquire(r, q.res))) {
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE, BE_DETAIL_UNAVAILABLE,
                          NULL);
    }
    if (!(q.plan = be_db_plan(r, q.res, q.conn, &err))) {
        return db_problem(r, q.res, &err);
    }
    if (q.id && !be_key_value(r->pool, key_col(&q), q.id, &key)) {
        return not_found(&q);
    }

    switch (m) {
    case M_GET:
        return q.id ? do_get(&q, &key, HTTP_OK) : do_list(&q);
    case M_POST:
        return do_insert(&q, body);
    case M_PUT:
        return do_update(&q, body, &key, BE_WRITE_REPLACE);
    case M_PATCH:
        return do_update(&q, body, &key, BE_WRITE_UPDATE);
    default:
        return do_delete(&q, &key);
    }
}

int be_handler(request_rec *r)
{
    int rc;

    if (!r->handler || strcmp(r->handler, "backend") != 0) {
        return DECLINED;
    }
    rc = serve(r);
    return rc == DONE ? OK : rc;
}
