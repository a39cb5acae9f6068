/*
 * mod_backend_ops.c - the operations on a resource: read, insert, update,
 * delete, with PostgREST's headers (Content-Range, Link, Location,
 * Preference-Applied) and statuses.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <http_log.h>
#include <apr_atomic.h>
#include <apr_buckets.h>
#include <apr_general.h>
#include <apr_md5.h>
#include <ap_regex.h>
#include <util_filter.h>

#include <openssl/evp.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

APLOG_USE_MODULE(backend);

/* Rows per INSERT statement: well under SQLite's 32766 and PostgreSQL's
 * 65535 bound parameters. */
#define BE_PARAMS_PER_STMT 30000

/* ---------------------------------------------------------------------- */
/* Answers                                                                 */

int be_send_json(request_rec *r, int status, be_buf_t *body)
{
    return be_send_typed(r, status, body, "application/json");
}

int be_send_typed(request_rec *r, int status, be_buf_t *body, const char *type)
{
    be_rctx_t *x = ap_get_module_config(r->request_config, &backend_module);
    apr_bucket_brigade *bb;

    if (x && x->hold) {
        /* sent once the transaction is committed (be_db_identity_end) */
        x->held = 1;
        x->held_status = status;
        x->held_body = body;
        x->held_type = type;
        return DONE;
    }
    r->status = status;
    if (!body) {
        if (status != HTTP_NOT_MODIFIED) {
            /* (a 304 says nothing of a length: a cache in front would
             * take 0 for the length of what it holds) */
            ap_set_content_length(r, 0);
        }
        return DONE;
    }
    ap_set_content_type(r, type);
    ap_set_content_length(r, (apr_off_t)body->len);
    if (r->header_only) {
        return DONE;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(
        bb,
        apr_bucket_pool_create(body->data, body->len, r->pool,
                               r->connection->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS
        ? DONE
        : AP_FILTER_ERROR;
}

/* A CHECK constraint refused a write: 422 naming it, with an errors
 * entry for every column it covers. */
static int check_problem(be_req_t *q, const char *reported)
{
    const char *name;
    const apr_array_header_t *cols = be_check_columns(
        q->r->pool, q->plan->table, q->plan->dialect, reported, &name);
    const char *msg =
        apr_psprintf(q->r->pool, "breaks the check constraint %s", name);
    apr_array_header_t *errs;
    int i;

    if (!cols) {
        return be_problem(q->r, HTTP_UNPROCESSABLE_ENTITY,
                          apr_psprintf(q->r->pool, "a value %s", msg), NULL);
    }
    errs = apr_array_make(q->r->pool, cols->nelts, sizeof(be_field_error_t));
    for (i = 0; i < cols->nelts; i++) {
        be_field_error_t *e = apr_array_push(errs);
        e->field = APR_ARRAY_IDX(cols, i, const char *);
        e->message = msg;
    }
    return be_problem(q->r, HTTP_UNPROCESSABLE_ENTITY,
                      apr_psprintf(q->r->pool, "%s: %s",
                                   apr_array_pstrcat(q->r->pool, cols, ','),
                                   msg),
                      errs);
}

int be_db_problem(be_req_t *q, const be_dberr_t *err, int reading)
{
    request_rec *r = q->r;
    const char *path = q->res->path;

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "BE00032: %s: %s (%s)", path,
                  err->message ? err->message : "",
                  err->sqlstate ? err->sqlstate : "");
    switch (err->rc) {
    case BE_DB_CONFLICT:
        return be_problem(r, HTTP_CONFLICT, err->detail, NULL);
    case BE_DB_INVALID:
        /* in a read, the database refused a filter value */
        if (reading) {
            return be_problem(r, HTTP_BAD_REQUEST,
                              "a filter value is not valid for its column",
                              NULL);
        }
        return err->constraint && q->plan && !q->res->fn
            ? check_problem(q, err->constraint)
            : be_problem(r, HTTP_UNPROCESSABLE_ENTITY, err->detail, NULL);
    case BE_DB_RAISED:
        return be_problem(r, err->status ? err->status : HTTP_BAD_REQUEST,
                          err->detail, NULL);
    case BE_DB_FORBIDDEN:
        return be_problem(r, HTTP_FORBIDDEN, "you may not do this", NULL);
    case BE_DB_NO_UNIQUE:
        return be_problem(r, HTTP_BAD_REQUEST,
                          apr_psprintf(r->pool,
                                       "on_conflict: (%s) is not a primary "
                                       "key or unique constraint of %s",
                                       q->q->on_conflict ? apr_array_pstrcat(
                                           r->pool, q->q->on_conflict, ',')
                                                         : "",
                                       q->res->name),
                          NULL);
    case BE_DB_SCHEMA:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00080: %s: the table changed since the schema was "
                      "read (%s: %s); apachectl graceful reads it again",
                      path, err->sqlstate ? err->sqlstate : "",
                      err->message ? err->message : "");
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE, BE_DETAIL_SCHEMA, NULL);
    case BE_DB_UNAVAILABLE:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "BE00031: %s: %s (%s)",
                      path, err->message ? err->message : "unavailable",
                      err->sqlstate ? err->sqlstate : "");
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE, BE_DETAIL_UNAVAILABLE,
                          NULL);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00030: %s: %s (%s)",
                      path, err->message ? err->message : "error",
                      err->sqlstate ? err->sqlstate : "");
        return be_problem(
            r, HTTP_INTERNAL_SERVER_ERROR,
            "the database reported an error; the server log has the details",
            NULL);
    }
}

/* SHA-1 fetched once per process: EVP_sha1() makes every EVP_Digest
 * look the algorithm up again, under a lock (a third of a small body's
 * tag, and a lock the threads of a child share). */
const EVP_MD *be_sha1(void)
{
    static volatile void *md;
    EVP_MD *ours;
    void *known = apr_atomic_casptr(&md, NULL, NULL);

    if (known) {
        return known;
    }
    if (!(ours = EVP_MD_fetch(NULL, "SHA1", NULL))) {
        return NULL;
    }
    if ((known = apr_atomic_casptr(&md, ours, NULL)) != NULL) {
        EVP_MD_free(ours); /* another thread fetched it first */
        return known;
    }
    return ours;
}

/* The entity tag of a body: its SHA-1, the same for the same bytes on
 * every node and after every restart; weak for a collection's page. */
const char *be_etag(request_rec *r, const be_buf_t *body, int weak)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    const EVP_MD *alg = be_sha1();
    char *tag, *at;

    if (!alg || !EVP_Digest(body->data, body->len, md, &n, alg, NULL)) {
        return NULL;
    }
    at = tag = apr_palloc(r->pool, 2 * n + 5);
    if (weak) {
        *at++ = 'W';
        *at++ = '/';
    }
    *at++ = '"';
    for (i = 0; i < n; i++) {
        *at++ = hex[md[i] >> 4];
        *at++ = hex[md[i] & 15];
    }
    *at++ = '"';
    *at = '\0';
    return tag;
}

const be_kept_t *be_keep(request_rec *r, volatile void **slot,
                         const char *data, apr_size_t len)
{
    be_buf_t b = {NULL, (char *)data, len, 0};
    be_kept_t *k = (be_kept_t *)apr_atomic_casptr(slot, NULL, NULL);
    const char *tag;
    char *copy = NULL;

    if (k) {
        return k;
    }
    if (!(tag = be_etag(r, &b, 0)) || !(k = calloc(1, sizeof(*k)))
        || !(copy = malloc(len ? len : 1)) || !(k->etag = strdup(tag))) {
        free(copy);
        free(k);
        return NULL;
    }
    memcpy(copy, data, len);
    k->data = copy;
    k->len = len;
    if (apr_atomic_casptr(slot, k, NULL) != NULL) {
        /* another thread kept its copy first */
        free((void *)k->etag);
        free(copy);
        free(k);
        k = (be_kept_t *)apr_atomic_casptr(slot, NULL, NULL);
    }
    return k;
}

int be_send_kept(request_rec *r, const be_kept_t *k, const char *type)
{
    be_buf_t b = {NULL, (char *)k->data, k->len, 0};

    apr_table_setn(r->headers_out, "ETag", k->etag);
    if (ap_meets_conditions(r) == HTTP_NOT_MODIFIED) {
        return be_send_typed(r, HTTP_NOT_MODIFIED, NULL, type);
    }
    return be_send_typed(r, HTTP_OK, &b, type);
}

/* A read's 200: its ETag, and 304 without a body when If-None-Match
 * names it (httpd's own ap_meets_conditions judges). */
static int fresh_or_sent(be_req_t *q, be_buf_t *out, int weak,
                         const char *type)
{
    request_rec *r = q->r;
    const char *tag;

    if (r->method_number != M_GET || !out || !(tag = be_etag(r, out, weak))) {
        return OK;
    }
    apr_table_setn(r->headers_out, "ETag", tag);
    switch (ap_meets_conditions(r)) {
    case HTTP_NOT_MODIFIED:
        be_send_typed(r, HTTP_NOT_MODIFIED, NULL, type);
        return DONE;
    case HTTP_PRECONDITION_FAILED:
        be_problem(r, HTTP_PRECONDITION_FAILED,
                   apr_psprintf(r->pool,
                                "If-Match does not name this answer: its "
                                "ETag is %s",
                                tag),
                   NULL);
        return DONE;
    default:
        return OK;
    }
}

/* A body in the media type the client asked for: PostgREST answers the
 * single-object type with that type.  A read's 200 has an ETag (strong for
 * an item), and may be 304. */
static int reply(be_req_t *q, int status, be_buf_t *out)
{
    const char *type = q->want_object ? "application/vnd.pgrst.object+json"
                                      : "application/json";

    int fresh = status == HTTP_OK ? fresh_or_sent(q, out, !q->id, type) : OK;

    /* (a tag is what a kept answer is checked against) */
    if (status == HTTP_OK && q->rcache && out
        && apr_table_get(q->r->headers_out, "ETag")) {
        be_rcache_keep(q->r, q->rcache, out, type);
    }
    if (fresh == DONE) {
        return DONE;
    }
    return be_send_typed(q->r, status, out, type);
}

static int not_one(be_req_t *q, long rows)
{
    return be_problem(q->r, HTTP_NOT_ACCEPTABLE,
                      apr_psprintf(q->r->pool,
                                   "application/vnd.pgrst.object+json needs "
                                   "exactly one row; %s matched",
                                   rows ? "several" : "none"),
                      NULL);
}

static int not_found(be_req_t *q)
{
    return be_problem(q->r, HTTP_NOT_FOUND,
                      apr_psprintf(q->r->pool, "%s has no row with key '%s'",
                                   q->res->name, q->id),
                      NULL);
}

static void applied(be_req_t *q, const char *pref)
{
    q->applied = q->applied
        ? apr_pstrcat(q->r->pool, q->applied, ", ", pref, NULL)
        : pref;
    apr_table_setn(q->r->headers_out, "Preference-Applied", q->applied);
}

/* printf with C99 formats (apr_psprintf knows no %lld) */
static const char *fmt(request_rec *r, const char *f, ...)
    __attribute__((format(printf, 2, 3)));
static const char *fmt(request_rec *r, const char *f, ...)
{
    char tmp[256];
    va_list ap;

    va_start(ap, f);
    vsnprintf(tmp, sizeof(tmp), f, ap);
    va_end(ap);
    return apr_pstrdup(r->pool, tmp);
}

static const char *const return_names[] = {
    NULL, "return=minimal", "return=headers-only", "return=representation"};

/* Runs st; rows go to sink (may be NULL).  Returns OK, or DONE once the
 * problem is sent. */
static int run(be_req_t *q, const be_stmt_t *st, be_sink_t *sink, long *rows,
               int reading)
{
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    apr_time_t t0 = apr_time_now();
    be_rctx_t *x = be_rctx(q->r);
    be_dbrc_e rc;

    *rows = 0;
    rc = q->conn->ex->query(q->conn, q->r->pool, st, sink, rows, &err);
    x->db_time += apr_time_now() - t0;
    x->db_rows += *rows;
    if (rc != BE_DB_OK) {
        return be_db_problem(q, &err, reading);
    }
    return OK;
}

static int tx(be_req_t *q, be_tx_e op)
{
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};

    apr_time_t t0;
    be_dbrc_e rc;

    if ((q->identity || q->cond_tx) && op == BE_TX_BEGIN) {
        return OK; /* already in BackendDBIdentity's or If-Match's */
    }
    t0 = apr_time_now();
    rc = q->conn->ex->tx(q->conn, q->r->pool, op, &err);
    be_rctx(q->r)->db_time += apr_time_now() - t0;
    if (rc != BE_DB_OK) {
        return be_db_problem(q, &err, 0);
    }
    return OK;
}

static be_buf_t *start(be_req_t *q, be_sink_t *sink, const be_shape_t *shape,
                       int as_array)
{
    be_buf_t *out = apr_palloc(q->r->pool, sizeof(*out));

    be_buf_init(out, q->r->pool, as_array ? 4096 : 512);
    be_sink_init(sink, q->r->pool, out, shape, as_array);
    be_sink_begin(sink);
    return out;
}

/* The table's key column. */
static const be_column_t *key_column(be_req_t *q)
{
    const be_table_t *t = q->plan->table;

    return &APR_ARRAY_IDX(t->cols, t->key, be_column_t);
}

/* ---------------------------------------------------------------------- */
/* Reads                                                                   */

/* Link: first, prev, next (and last with a count), keeping every other
 * query parameter, decoded and encoded anew so that nothing the client
 * wrote can end the URI or add an entry.  No page has zero rows, so a
 * limit of 0 gets no links. */
static void links(be_req_t *q, long long limit, long long offset, long rows,
                  long long total)
{
    request_rec *r = q->r;
    const char *base;
    be_buf_t link;

    if (limit <= 0) {
        return;
    }
    base = apr_pstrcat(
        r->pool, ap_escape_uri(r->pool, q->res->route ? r->uri : q->res->path),
        "?", be_query_link_args(r->pool, r->args), NULL);
    be_buf_init(&link, r->pool, 256);
#define LINK(off, rel)                                               \
    be_buf_printf(&link, "%s<%slimit=%lld&offset=%lld>; rel=\"%s\"", \
                  link.len ? ", " : "", base, limit, (long long)(off), rel)
    LINK(0, "first");
    if (offset > 0) {
        LINK(offset > limit ? offset - limit : 0, "prev");
    }
    if (rows == limit && (total < 0 || offset + rows < total)) {
        LINK(offset + limit, "next");
    }
    if (total > 0) {
        LINK(((total - 1) / limit) * limit, "last");
    }
#undef LINK
    apr_table_setn(r->headers_out, "Link", be_buf_cstr(&link));
}

static int count_rows(be_req_t *q, long long *total)
{
    be_stmt_t st;
    be_buf_t out;
    be_sink_t sink;
    be_shape_t one;
    be_column_t n;
    const be_column_t *cols[1] = {&n};
    const char *keys[1] = {"\"n\":"};
    const char *err;
    long rows;
    int rc;

    /* the count comes back through a one-column sink as {"n":N} */
    memset(&n, 0, sizeof(n));
    n.type = BE_T_INT;
    memset(&one, 0, sizeof(one));
    one.ncols = one.nrender = 1;
    one.cols = cols;
    one.keys = keys;
    one.key_col = 0;
    if ((err = be_sql_count(q->r->pool, q->plan, &q->where, &st))) {
        return be_problem(q->r, HTTP_BAD_REQUEST, err, NULL);
    }
    be_buf_init(&out, q->r->pool, 32);
    be_sink_init(&sink, q->r->pool, &out, &one, 0);
    if ((rc = run(q, &st, &sink, &rows, 1)) != OK) {
        return rc;
    }
    *total = sink.key_text ? apr_atoi64(sink.key_text) : 0;
    return OK;
}

static int read_item(be_req_t *q, const be_shape_t *shape)
{
    be_stmt_t st;
    be_sink_t sink;
    be_buf_t *out;
    const be_value_t *args[1] = {&q->key};
    const char *err;
    long rows;
    int rc;

    if (shape == &q->plan->all && q->where.key && q->where.filters->nelts == 0
        && !q->where.owner && !q->where.rules) {
        st.sql = q->plan->sql_get;
        st.nargs = 1;
        st.args = args;
    }
    else if ((err = be_sql_select(q->r->pool, q->plan, shape, &q->where, NULL,
                                  -1, -1, &st))) {
        return be_problem(q->r, HTTP_BAD_REQUEST, err, NULL);
    }
    out = start(q, &sink, shape, 0);
    if ((rc = run(q, &st, &sink, &rows, 1)) != OK) {
        return rc;
    }
    return rows == 0 ? not_found(q) : reply(q, HTTP_OK, out);
}

/* The rows a collection read asks for: offset=, limit= and Range, within
 * BackendMaxRows; *paged when the client asked for a page. */
static void read_window(be_req_t *q, long long *limit, long long *offset,
                        int *paged)
{
    long long max = be_conf_max_rows(q->dc);

    *offset = q->q->offset >= 0 ? q->q->offset : 0;
    *limit = q->q->limit;
    if (q->range_from >= 0) {
        long long want =
            q->range_to >= 0 ? q->range_to - q->range_from + 1 : -1;
        *offset = q->range_from;
        if (want >= 0 && (*limit < 0 || want < *limit)) {
            *limit = want;
        }
    }
    *paged = *limit >= 0 || *offset > 0;
    if (*limit < 0 || *limit > max) {
        *limit = max;
    }
    if (q->want_object) {
        *limit = 2; /* enough to tell one row from several */
    }
}

/* A collection's page: the count when asked for (or needed for a 416),
 * Content-Range, 206 for part of the rows, Link.  OK with the *status to
 * send the page with, or DONE once a problem is sent. */
static int read_answer(be_req_t *q, long rows, long long limit,
                       long long offset, int paged, int *status)
{
    request_rec *r = q->r;
    long long total = -1;
    int rc;

    if (q->count_exact || (rows == 0 && offset > 0)) {
        if ((rc = count_rows(q, &total)) != OK) {
            return rc;
        }
        if (q->count_exact) {
            applied(q, "count=exact");
        }
    }
    if (rows == 0 && offset > 0 && offset >= total) {
        apr_table_setn(r->headers_out, "Content-Range",
                       fmt(r, "*/%lld", total));
        return be_problem(
            r, HTTP_RANGE_NOT_SATISFIABLE,
            fmt(r, "offset %lld is past the %lld rows", offset, total), NULL);
    }
    /* PostgREST's form: FIRST-LAST/TOTAL, * for an unknown total, and *
     * for the range when nothing came back */
    apr_table_setn(
        r->headers_out, "Content-Range",
        apr_pstrcat(r->pool,
                    rows ? fmt(r, "%lld-%lld", offset, offset + rows - 1)
                         : "*",
                    "/", total >= 0 ? fmt(r, "%lld", total) : "*", NULL));
    *status = (total >= 0 ? rows < total && (rows > 0 || offset > 0)
                          : q->range_from >= 0)
        ? HTTP_PARTIAL_CONTENT
        : HTTP_OK;
    if (paged || rows == limit) {
        links(q, limit, offset, rows, total);
    }
    return OK;
}

int be_op_read(be_req_t *q)
{
    request_rec *r = q->r;
    const be_shape_t *shape = be_shape_make(r->pool, q->plan, q->q->select, 0);
    long long limit, offset;
    be_value_t lim = {BE_V_INT, 0, 0, NULL, 0}, off = lim;
    const be_value_t *args[2] = {&lim, &off};
    be_stmt_t st;
    be_sink_t sink;
    be_buf_t *out;
    const char *err;
    long rows;
    int rc, paged, status;

    if (q->id) {
        return read_item(q, shape);
    }
    read_window(q, &limit, &offset, &paged);
    if (shape == &q->plan->all && q->q->filters->nelts == 0 && !q->q->order
        && !q->where.owner && !q->where.rules) {
        lim.i = limit;
        off.i = offset;
        st.sql = q->plan->sql_list;
        st.nargs = 2;
        st.args = args;
    }
    else if ((err = be_sql_select(r->pool, q->plan, shape, &q->where,
                                  q->q->order, limit, offset, &st))) {
        return be_problem(r, HTTP_BAD_REQUEST, err, NULL);
    }
    out = start(q, &sink, shape, !q->want_object);
    if ((rc = run(q, &st, &sink, &rows, 1)) != OK) {
        return rc;
    }
    be_sink_end(&sink);
    if (q->want_object) {
        return rows != 1 ? not_one(q, rows) : reply(q, HTTP_OK, out);
    }
    rc = read_answer(q, rows, limit, offset, paged, &status);
    if (rc != OK) {
        return rc;
    }
    /* (a 206's body is a part: its tag would not be the collection's) */
    return status == HTTP_OK ? reply(q, status, out)
                             : be_send_json(r, status, out);
}

/* ---------------------------------------------------------------------- */
/* Writes                                                                  */

/* Accept: application/vnd.pgrst.object+json on a write: the write stands
 * only if it touched exactly one row, as in PostgREST. */
/* BackendRule on the rows a write produced: the write stands when every
 * row met the conditions; otherwise it is undone and the answer is 403. */
static int checked(be_req_t *q, const be_sink_t *sink)
{
    if (!sink->check_failed) {
        return OK;
    }
    tx(q, BE_TX_ROLLBACK);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r,
                  "BE00076: %s: a row written breaks a BackendRule; the write "
                  "is undone",
                  q->res->name);
    return be_problem(q->r, HTTP_FORBIDDEN,
                      apr_psprintf(q->r->pool,
                                   "a row of %s would break a rule of this "
                                   "API; nothing was written",
                                   q->res->name),
                      NULL);
}

/* The shape of a write's RETURNING (NULL: none asked for) with the
 * BackendRule conditions as one more column, not rendered. */
static const be_shape_t *with_check(be_req_t *q, const be_shape_t *shape)
{
    static const be_column_t ok = {
        .name = "_ok", .decl = "boolean", .type = BE_T_BOOL};
    be_shape_t *s = apr_pcalloc(q->r->pool, sizeof(*s));
    int n = shape ? shape->ncols : 0;

    if (shape) {
        *s = *shape;
    }
    else {
        s->sql_list = "";
        s->key_col = -1;
    }
    s->cols = apr_palloc(q->r->pool, sizeof(*s->cols) * (apr_size_t)(n + 1));
    s->keys = apr_palloc(q->r->pool, sizeof(*s->keys) * (apr_size_t)(n + 1));
    if (n) {
        memcpy(s->cols, shape->cols, sizeof(*s->cols) * (apr_size_t)n);
        memcpy(s->keys, shape->keys, sizeof(*s->keys) * (apr_size_t)n);
    }
    s->cols[n] = &ok;
    s->keys[n] = NULL;
    s->ncols = n + 1;
    s->check = q->check;
    return s;
}

static int one_object_or_undo(be_req_t *q, long rows)
{
    int rc;

    if (rows != 1) {
        tx(q, BE_TX_ROLLBACK);
        return not_one(q, rows);
    }
    return (rc = tx(q, BE_TX_COMMIT)) != OK ? rc : OK;
}

static int invalid(be_req_t *q, apr_array_header_t *errs)
{
    const be_field_error_t *e = &APR_ARRAY_IDX(errs, 0, be_field_error_t);
    const char *detail = errs->nelts == 1
        ? apr_psprintf(q->r->pool, "%s: %s", e->field, e->message)
        : apr_psprintf(q->r->pool, "%d fields are not valid", errs->nelts);

    return be_problem(q->r, HTTP_UNPROCESSABLE_ENTITY, detail, errs);
}

static apr_array_header_t *new_errs(be_req_t *q)
{
    return apr_array_make(q->r->pool, 4, sizeof(be_field_error_t));
}

/* ---------------------------------------------------------------------- */
/* BackendValidate                                                         */

static int regex_match(const void *re, const char *s)
{
    return ap_regexec((const ap_regex_t *)re, s, 0, NULL, 0) == 0;
}

/* The rules of the resource on n values of cols (absent ones with
 * partial are not checked). */
static void validate_values(be_req_t *q, const be_column_t *const *cols,
                            const be_value_t *vals, int n, int partial,
                            const char *prefix, apr_array_header_t *errs)
{
    const char **names =
        apr_palloc(q->r->pool, sizeof(*names) * (apr_size_t)(n + 1));
    int i;

    for (i = 0; i < n; i++) {
        names[i] = cols[i]->name;
    }
    be_rules_check_row(q->r->pool, q->res->validate, names, vals, n, partial,
                       prefix, regex_match, errs);
}

static void validate_rows(be_req_t *q, const be_rows_t *rows, int is_array,
                          apr_array_header_t *errs)
{
    int i;

    for (i = 0; q->res->validate && i < rows->nrows; i++) {
        validate_values(
            q, rows->cols, rows->vals + (apr_size_t)i * rows->ncols,
            rows->ncols, 0,
            is_array ? apr_psprintf(q->r->pool, "[%d].", i) : NULL, errs);
    }
}

/* The answer of an UPDATE or DELETE that touched rows rows: 404 for an
 * item that is not there, 204 without a body, 200 with one. */
static int write_answer(be_req_t *q, long rows, be_sink_t *sink, be_buf_t *out)
{
    const char *tag;

    if (q->id && rows == 0) {
        return not_found(q);
    }
    if (q->ret != BE_RET_DEFAULT) {
        applied(q, return_names[q->ret]);
    }
    if (!out) {
        return be_send_json(q->r, HTTP_NO_CONTENT, NULL);
    }
    be_sink_end(sink);
    if (q->id && q->r->method_number != M_DELETE && !q->q->select
        && (q->want_object || q->ret == BE_RET_DEFAULT)
        && (tag = be_etag(q->r, out, 0))) {
        /* the item as its GET now answers it: the next If-Match */
        apr_table_setn(q->r->headers_out, "ETag", tag);
    }
    return reply(q, HTTP_OK, out);
}

/* If-Match or If-None-Match on a write of an item: the row as its GET
 * renders it, read in the write's transaction (locked on PostgreSQL,
 * SQLite's is IMMEDIATE), and its ETag judged by httpd's
 * ap_meets_conditions: when the condition fails, 412 with the current
 * ETag and nothing written.  OK (then q->cond_tx), or the answer is
 * sent. */
static int precondition(be_req_t *q)
{
    request_rec *r = q->r;
    be_sink_t sink;
    be_buf_t *out;
    be_stmt_t st;
    const char *err, *tag = NULL;
    long rows;
    int rc;

    if (!q->id
        || (!apr_table_get(r->headers_in, "If-Match")
            && !apr_table_get(r->headers_in, "If-None-Match"))) {
        return OK;
    }
    if ((err = be_sql_select(r->pool, q->plan, &q->plan->all, &q->where, NULL,
                             -1, -1, &st))) {
        return be_problem(r, HTTP_BAD_REQUEST, err, NULL);
    }
    if (q->plan->dialect == BE_DIALECT_PGSQL) {
        st.sql = apr_pstrcat(r->pool, st.sql, " FOR UPDATE", NULL);
    }
    if ((rc = tx(q, BE_TX_BEGIN)) != OK) {
        return rc;
    }
    q->cond_tx = 1;
    out = start(q, &sink, &q->plan->all, 0);
    if ((rc = run(q, &st, &sink, &rows, 0)) != OK) {
        tx(q, BE_TX_ROLLBACK);
        return rc;
    }
    be_sink_end(&sink);
    if (rows == 1 && (tag = be_etag(r, out, 0))) {
        apr_table_setn(r->headers_out, "ETag", tag);
    }
    if (ap_meets_conditions(r) != OK) {
        tx(q, BE_TX_ROLLBACK);
        return be_problem(
            r, HTTP_PRECONDITION_FAILED,
            tag ? apr_psprintf(r->pool,
                               "the row of %s with key '%s' is not the one "
                               "the condition names: its ETag is %s",
                               q->res->name, q->id, tag)
                : apr_psprintf(r->pool, "%s has no row with key '%s' to match",
                               q->res->name, q->id),
            NULL);
    }
    apr_table_unset(r->headers_out, "ETag");
    return OK;
}

/* Runs an UPDATE or DELETE (or the SELECT of an empty PATCH) and answers:
 * 404 for an item that is not there, 204 without a body, 200 with one.
 * The single-object media type makes it one transaction that stands
 * only if it touched exactly one row. */
static int write_and_answer(be_req_t *q, const be_stmt_t *st, be_sink_t *sink,
                            be_buf_t *out)
{
    int in_tx = q->want_object || q->check || q->cond_tx;
    long rows;
    int rc;

    if (in_tx && (rc = tx(q, BE_TX_BEGIN)) != OK) {
        return rc;
    }
    if ((rc = run(q, st, out || q->check ? sink : NULL, &rows, 0)) != OK) {
        if (in_tx) {
            tx(q, BE_TX_ROLLBACK);
        }
        return rc;
    }
    if (q->check && (rc = checked(q, sink)) != OK) {
        return rc;
    }
    if (q->want_object && (rc = one_object_or_undo(q, rows)) != OK) {
        return rc;
    }
    if (in_tx && !q->want_object && (rc = tx(q, BE_TX_COMMIT)) != OK) {
        return rc;
    }
    return write_answer(q, rows, sink, out);
}

/* ---------------------------------------------------------------------- */
/* Reading back what a write stored                                        */

/* On SQLite, RETURNING shows the row as the statement wrote it: not what
 * an AFTER trigger then changed, and nothing true of a view written by
 * its INSTEAD OF triggers.  Such writes run in a transaction that finds
 * the keys of the rows first, writes, and reads those rows back. */

/* Where the rows of these keys are (and only the user's, when scoped). */
static be_where_t keys_where(be_req_t *q, apr_array_header_t *keys)
{
    be_filter_t *f = apr_pcalloc(q->r->pool, sizeof(*f));
    apr_array_header_t *filters =
        apr_array_make(q->r->pool, 1, sizeof(be_filter_t *));
    be_where_t w = {NULL, NULL, NULL, NULL, 0, NULL, NULL};

    f->kind = BE_F_COND;
    f->column = key_column(q)->name;
    f->op = BE_OP_IN;
    f->list = keys;
    APR_ARRAY_PUSH(filters, be_filter_t *) = f;
    w.filters = filters;
    w.owner = q->where.owner;
    return w;
}

static int read_rows(be_req_t *q, const be_where_t *w, const be_shape_t *shape,
                     be_sink_t *sink)
{
    be_stmt_t st;
    const char *err;
    long n;

    if ((err = be_sql_select(q->r->pool, q->plan, shape, w, NULL, -1, -1,
                             &st))) {
        return be_problem(q->r, HTTP_BAD_REQUEST, err, NULL);
    }
    return run(q, &st, sink, &n, 0);
}

/* A sink that keeps the key text of every row in keys, and the shape of
 * the key alone that feeds it. */
static const be_shape_t *key_sink(be_req_t *q, be_sink_t *sink,
                                  apr_array_header_t *keys)
{
    apr_array_header_t *one =
        apr_array_make(q->r->pool, 1, sizeof(be_select_t));
    be_select_t *sel = apr_array_push(one);
    const be_shape_t *shape;

    sel->column = sel->alias = key_column(q)->name;
    shape = be_shape_make(q->r->pool, q->plan, one, 1);
    start(q, sink, shape, 1);
    sink->key_list = keys;
    return shape;
}

/* Appends the key text of every row that w matches to keys. */
static int find_keys(be_req_t *q, const be_where_t *w,
                     apr_array_header_t *keys)
{
    be_sink_t sink;
    const be_shape_t *shape = key_sink(q, &sink, keys);

    return read_rows(q, w, shape, &sink);
}

/* The text of a key value, as a filter takes it, or NULL. */
static const char *key_text(be_req_t *q, const be_value_t *v)
{
    switch (v->kind) {
    case BE_V_INT:
        return apr_psprintf(q->r->pool, "%" APR_INT64_T_FMT,
                            (apr_int64_t)v->i);
    case BE_V_TEXT:
    case BE_V_REAL:
        return apr_pstrmemdup(q->r->pool, v->s, v->len);
    default:
        return NULL;
    }
}

/* The key a body gives row i, as text, or NULL. */
static const char *body_key(be_req_t *q, const be_rows_t *rows, int i)
{
    int c;

    for (c = 0; c < rows->ncols; c++) {
        if (rows->cols[c] == key_column(q)) {
            return key_text(q, &rows->vals[i * rows->ncols + c]);
        }
    }
    return NULL;
}

/* Where the rows an UPDATE matched are after it: at their keys, or, on a
 * table, at the new key when the body gives one (a view's INSTEAD OF
 * trigger decides the key itself: its rows are looked for where they
 * were). */
static be_where_t updated_where(be_req_t *q, const be_row_t *row,
                                be_where_t at)
{
    apr_array_header_t *keys;
    const char *k;
    int c;

    for (c = 0; !q->plan->table->is_view && c < row->ncols; c++) {
        if (row->cols[c] == key_column(q)
            && (k = key_text(q, &row->vals[c])) != NULL) {
            keys = apr_array_make(q->r->pool, 1, sizeof(const char *));
            APR_ARRAY_PUSH(keys, const char *) = k;
            return keys_where(q, keys);
        }
    }
    return at;
}

/* An UPDATE (row) or a DELETE (row NULL) read back: the answer is what is
 * stored after it (before it, for a DELETE). */
static int write_read_back(be_req_t *q, const be_row_t *row,
                           const be_shape_t *shape, be_sink_t *sink,
                           be_buf_t *out)
{
    apr_array_header_t *keys =
        apr_array_make(q->r->pool, 8, sizeof(const char *));
    be_where_t at;
    be_stmt_t st;
    const char *err = NULL;
    long n;
    int rc;

    if ((rc = tx(q, BE_TX_BEGIN)) != OK) {
        return rc;
    }
    if ((rc = find_keys(q, &q->where, keys)) != OK) {
        tx(q, BE_TX_ROLLBACK);
        return rc;
    }
    if (q->want_object && keys->nelts != 1) {
        return one_object_or_undo(q, keys->nelts);
    }
    at = keys_where(q, keys);
    if (!row && out) {
        rc = read_rows(q, &at, shape, sink);
    }
    if (rc == OK && keys->nelts > 0) {
        err = row ? be_sql_update(q->r->pool, q->plan, row, &at, NULL, &st)
                  : be_sql_delete(q->r->pool, q->plan, &at, NULL, &st);
        rc = err ? be_problem(q->r, HTTP_BAD_REQUEST, err, NULL)
                 : run(q, &st, NULL, &n, 0);
    }
    if (rc == OK && row && out) {
        be_where_t after = updated_where(q, row, at);
        rc = read_rows(q, &after, shape, sink);
    }
    if (rc != OK || (rc = tx(q, BE_TX_COMMIT)) != OK) {
        tx(q, BE_TX_ROLLBACK);
        return rc;
    }
    return write_answer(q, keys->nelts, sink, out);
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

static int not_yours(be_req_t *q)
{
    return be_problem(
        q->r, HTTP_FORBIDDEN,
        apr_psprintf(q->r->pool,
                     "%s: rows of %s belong to the user who writes them",
                     q->plan->owner->name, q->res->name),
        NULL);
}

/* Owned resources: what is written belongs to r->user.  A value the body
 * does not give becomes the user; another user is refused. */
static int own_value(be_req_t *q, be_value_t *v)
{
    if (v->kind == BE_V_DEFAULT || v->kind == BE_V_NULL) {
        *v = q->owner;
        return OK;
    }
    /* with BackendOwnerBypass a row may be written for someone else */
    return same_key(v, &q->owner) || !q->where.owner ? OK : not_yours(q);
}

/* Adds col to the columns of an insert (every row's value to be set by
 * the caller); its index. */
static int add_column(be_req_t *q, be_rows_t *rows, const be_column_t *col)
{
    int n = rows->ncols, j;
    const be_column_t **cols =
        apr_palloc(q->r->pool, sizeof(*cols) * (apr_size_t)(n + 1));
    be_value_t *vals = apr_palloc(
        q->r->pool, sizeof(*vals) * (apr_size_t)((n + 1) * rows->nrows + 1));

    memcpy(cols, rows->cols, sizeof(*cols) * (apr_size_t)n);
    cols[n] = col;
    for (j = 0; j < rows->nrows; j++) {
        memcpy(&vals[j * (n + 1)], &rows->vals[j * n],
               sizeof(*vals) * (apr_size_t)n);
    }
    rows->cols = cols;
    rows->vals = vals;
    rows->ncols = n + 1;
    return n;
}

static int own_rows(be_req_t *q, be_rows_t *rows)
{
    const be_column_t *oc = q->plan->owner;
    int i, j, at = -1, rc, n = rows->ncols;

    for (i = 0; i < n; i++) {
        at = rows->cols[i] == oc ? i : at;
    }
    if (at >= 0) {
        for (j = 0; j < rows->nrows; j++) {
            if ((rc = own_value(q, &rows->vals[j * n + at])) != OK) {
                return rc;
            }
        }
        return OK;
    }
    /* the owner column joins the insert */
    at = add_column(q, rows, oc);
    for (j = 0; j < rows->nrows; j++) {
        rows->vals[j * (n + 1) + at] = q->owner;
    }
    return OK;
}

/* BackendSet: the value the server gives a column for this request, into
 * v; or an answer when it cannot (no user for :user). */
static int set_value(be_req_t *q, const be_set_t *set, be_value_t *v)
{
    request_rec *r = q->r;
    const be_claims_t *claims = be_rctx(r)->claims;
    const char *s = NULL;
    apr_time_exp_t tm;

    if (set->kind == BE_SET_USER) {
        if (!(s = r->user)) {
            return be_problem(r, HTTP_UNAUTHORIZED,
                              apr_psprintf(r->pool,
                                           "%s needs an authenticated user",
                                           q->res->name),
                              NULL);
        }
    }
    else if (set->kind == BE_SET_CLAIM) {
        s = claims ? apr_table_get(claims->claims, set->claim) : NULL;
    }
    else {
        apr_time_exp_gmt(&tm, r->request_time);
        s = apr_psprintf(r->pool, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    memset(v, 0, sizeof(*v));
    v->kind = s ? BE_V_TEXT : BE_V_NULL;
    v->s = s;
    v->len = s ? strlen(s) : 0;
    return OK;
}

/* The columns BackendSet gives an insert: each set one takes the server's
 * value in every row (joining the insert if the body left it out); one
 * set on update only is left to its default. */
static int set_rows(be_req_t *q, be_rows_t *rows)
{
    const apr_array_header_t *sets = q->res->sets;
    int s, i, j, at, rc;

    for (s = 0; sets && s < sets->nelts; s++) {
        const be_set_t *set = &APR_ARRAY_IDX(sets, s, be_set_t);
        int n = rows->ncols;
        be_value_t v;
        for (i = 0, at = -1; i < n; i++) {
            at = rows->cols[i] == set->col ? i : at;
        }
        if (!(set->on & BE_W_INSERT)) {
            for (j = 0; at >= 0 && j < rows->nrows; j++) {
                rows->vals[j * n + at].kind = BE_V_DEFAULT;
            }
            continue;
        }
        if ((rc = set_value(q, set, &v)) != OK) {
            return rc;
        }
        if (at < 0) {
            at = add_column(q, rows, set->col);
            n++;
        }
        for (j = 0; j < rows->nrows; j++) {
            rows->vals[j * n + at] = v;
        }
    }
    return OK;
}

/* The same for an update: a column set on update takes the server's
 * value, one set on insert only is not written. */
static int set_row(be_req_t *q, be_row_t *row)
{
    const apr_array_header_t *sets = q->res->sets;
    int s, i, at, rc;

    for (s = 0; sets && s < sets->nelts; s++) {
        const be_set_t *set = &APR_ARRAY_IDX(sets, s, be_set_t);
        for (i = 0, at = -1; i < row->ncols; i++) {
            at = row->cols[i] == set->col ? i : at;
        }
        if (!(set->on & BE_W_UPDATE)) {
            if (at >= 0) {
                memmove(&row->cols[at], &row->cols[at + 1],
                        sizeof(*row->cols)
                            * (apr_size_t)(row->ncols - at - 1));
                memmove(&row->vals[at], &row->vals[at + 1],
                        sizeof(*row->vals)
                            * (apr_size_t)(row->ncols - at - 1));
                row->ncols--;
            }
            continue;
        }
        if (at < 0) {
            at = row->ncols++;
            row->cols[at] = set->col;
        }
        if ((rc = set_value(q, set, &row->vals[at])) != OK) {
            return rc;
        }
    }
    return OK;
}

/* An insert between its steps (on the stack: nothing allocated for it). */
typedef struct {
    be_rows_t rows;
    int single; /* an object body, not an array */
    int back;   /* read back what is stored (triggers) */
    int view;
    int per;                 /* rows per statement */
    int several;             /* one transaction around the statements */
    const be_shape_t *shape; /* the answer's columns, or NULL */
    be_sink_t sink;
    be_buf_t *out;               /* the answer, or NULL: none */
    apr_array_header_t *keys;    /* read back: the rows' keys, or NULL */
    const be_shape_t *returning; /* read back from a table: the key */
    be_sink_t ksink;
    long done; /* rows written */
} insert_t;

/* The body's rows, validated, with the owner filled in. */
static int insert_rows(be_req_t *q, const be_jdoc_t *doc, insert_t *in)
{
    request_rec *r = q->r;
    int rc;
    apr_array_header_t *errs = new_errs(q);

    if (in->back && in->view && q->upsert != BE_UPSERT_NONE) {
        return be_problem(r, HTTP_BAD_REQUEST,
                          apr_psprintf(r->pool,
                                       "%s is a view: it takes no upsert",
                                       q->res->name),
                          NULL);
    }
    if (q->upsert != BE_UPSERT_NONE && !q->q->on_conflict
        && !q->plan->table->nkeys) {
        return be_problem(r, HTTP_BAD_REQUEST,
                          apr_psprintf(r->pool,
                                       "%s has no key: an upsert names its "
                                       "unique columns with on_conflict=",
                                       q->res->name),
                          NULL);
    }
    if (q->q->on_conflict && q->upsert == BE_UPSERT_NONE) {
        return be_problem(r, HTTP_BAD_REQUEST,
                          "on_conflict needs Prefer: "
                          "resolution=merge-duplicates or ignore-duplicates",
                          NULL);
    }
    /* one 422 for the types and the declared rules */
    be_validate_rows(r->pool, q->plan->table, doc->objects, doc->is_array,
                     q->q->columns, q->has_owner ? q->plan->owner : NULL,
                     &in->rows, errs);
    validate_rows(q, &in->rows, doc->is_array, errs);
    if (errs->nelts) {
        return invalid(q, errs);
    }
    if (q->res->sets && (rc = set_rows(q, &in->rows)) != OK) {
        return rc;
    }
    return q->has_owner ? own_rows(q, &in->rows) : OK;
}

/* The answer's sink, the rows per statement, and for a write that is read
 * back how its rows are found again. */
static void insert_prepare(be_req_t *q, insert_t *in)
{
    request_rec *r = q->r;
    int i;

    if (q->ret != BE_RET_MINIMAL) {
        in->shape = be_shape_make(r->pool, q->plan, q->q->select, 1);
    }
    if (q->check) {
        in->shape = with_check(q, in->shape);
    }
    if (q->ret != BE_RET_MINIMAL) {
        in->out =
            start(q, &in->sink, in->shape,
                  !q->want_object && (!in->single || q->ret == BE_RET_REPR));
    }
    else if (q->check) {
        start(q, &in->sink, in->shape, 1); /* the check alone */
    }
    in->per = in->rows.ncols ? BE_PARAMS_PER_STMT / in->rows.ncols
                             : BE_PARAMS_PER_STMT;
    in->several = in->rows.nrows > in->per || q->want_object || q->check;
    if (!in->back) {
        return;
    }
    /* RETURNING gives the keys (a table), or nothing (a view: then the
     * keys are the body's, and without them there is no answer) */
    in->several = 1;
    in->keys = apr_array_make(r->pool, in->rows.nrows, sizeof(const char *));
    for (i = 0; in->view && in->keys && i < in->rows.nrows; i++) {
        const char *k = body_key(q, &in->rows, i);
        if (k) {
            APR_ARRAY_PUSH(in->keys, const char *) = k;
        }
        else {
            in->keys = NULL;
        }
    }
    if (!in->view && in->out) {
        in->returning = key_sink(q, &in->ksink, in->keys);
    }
    else {
        in->returning = NULL;
    }
}

/* The INSERT statements (in one transaction when several), and the rows
 * read back. */
static int insert_run(be_req_t *q, insert_t *in)
{
    request_rec *r = q->r;
    be_stmt_t st;
    long n;
    int first, rc;

    if (in->several && (rc = tx(q, BE_TX_BEGIN)) != OK) {
        return rc;
    }
    for (first = 0; first < in->rows.nrows; first += in->per) {
        int count = in->rows.nrows - first < in->per ? in->rows.nrows - first
                                                     : in->per;
        be_sql_insert(r->pool, q->plan, &in->rows, first, count, q->upsert,
                      q->q->on_conflict, q->where.owner != NULL, q->conflict,
                      in->back ? in->returning : in->shape, &st);
        rc = run(q, &st,
                 in->back ? (in->returning ? &in->ksink : NULL)
                          : (in->out || q->check ? &in->sink : NULL),
                 &n, 0);
        if (rc != OK) {
            if (in->several) {
                tx(q, BE_TX_ROLLBACK);
            }
            return rc;
        }
        if (q->conflict && !in->view && n < count) {
            /* a row met that the rules do not let the user update: the
             * upsert is refused whole */
            tx(q, BE_TX_ROLLBACK);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "BE00076: %s: an upsert meets a row a BackendRule "
                          "keeps from the user; the write is undone",
                          q->res->name);
            return be_problem(r, HTTP_FORBIDDEN,
                              apr_psprintf(r->pool,
                                           "a row of %s this upsert meets "
                                           "may not be updated by the user; "
                                           "nothing was written",
                                           q->res->name),
                              NULL);
        }
        /* (SQLite counts no row that an INSTEAD OF trigger wrote) */
        in->done += in->view ? count : n;
    }
    if (in->back && in->out && in->keys) {
        be_where_t at = keys_where(q, in->keys);
        if ((rc = read_rows(q, &at, in->shape, &in->sink)) != OK) {
            tx(q, BE_TX_ROLLBACK);
            return rc;
        }
    }
    else if (in->back) {
        in->out = NULL; /* what a view stored cannot be told without keys */
    }
    if (q->check && (rc = checked(q, &in->sink)) != OK) {
        return rc;
    }
    if (q->want_object && (rc = one_object_or_undo(q, in->done)) != OK) {
        return rc;
    }
    if (in->several && !q->want_object && (rc = tx(q, BE_TX_COMMIT)) != OK) {
        return rc;
    }
    return OK;
}

/* 201 with Preference-Applied, Location for one object, and the rows. */
static int insert_answer(be_req_t *q, insert_t *in)
{
    request_rec *r = q->r;

    if (q->missing_default) {
        applied(q, "missing=default");
    }
    if (q->upsert != BE_UPSERT_NONE) {
        applied(q,
                q->upsert == BE_UPSERT_MERGE ? "resolution=merge-duplicates"
                                             : "resolution=ignore-duplicates");
    }
    if (q->ret != BE_RET_DEFAULT
        && !(in->back && !in->out && q->ret == BE_RET_REPR)) {
        applied(q, return_names[q->ret]);
    }
    if (in->single && in->out && in->sink.key_text) {
        apr_table_setn(
            r->headers_out, "Location",
            apr_pstrcat(r->pool, q->res->path, "/",
                        ap_escape_path_segment(r->pool, in->sink.key_text),
                        NULL));
    }
    if (q->ret == BE_RET_MINIMAL || q->ret == BE_RET_HEADERS || !in->out
        || (in->single && q->ret == BE_RET_DEFAULT && in->done == 0)) {
        return be_send_json(r, HTTP_CREATED, NULL);
    }
    be_sink_end(&in->sink);
    return reply(q, HTTP_CREATED, in->out);
}

int be_op_insert(be_req_t *q, be_jdoc_t *doc)
{
    insert_t in;
    int rc;

    in.single = !doc->is_array;
    in.back = (q->plan->table->readback & BE_W_INSERT) != 0;
    in.view = q->plan->table->is_view;
    in.shape = NULL;
    in.out = NULL;
    in.keys = NULL;
    in.returning = NULL;
    in.done = 0;
    if ((rc = insert_rows(q, doc, &in)) != OK) {
        return rc;
    }
    insert_prepare(q, &in);
    if ((rc = insert_run(q, &in)) != OK) {
        return rc;
    }
    return insert_answer(q, &in);
}

int be_op_update(be_req_t *q, be_jobject_t *obj, be_write_e mode)
{
    request_rec *r = q->r;
    const be_table_t *t = q->plan->table;
    const be_column_t *key =
        t->key >= 0 ? &APR_ARRAY_IDX(t->cols, t->key, be_column_t) : NULL;
    apr_array_header_t *errs = new_errs(q);
    int item = q->id != NULL, rc, i;
    int body = q->ret == BE_RET_REPR || (item && q->ret == BE_RET_DEFAULT);
    const be_shape_t *shape = NULL;
    be_sink_t sink;
    be_buf_t *out = NULL;
    be_row_t row;
    be_stmt_t st;
    const char *err;

    be_validate_row(r->pool, t, obj, mode,
                    q->has_owner ? q->plan->owner : NULL, &row, errs);
    if (q->res->validate) {
        validate_values(q, row.cols, row.vals, row.ncols,
                        mode == BE_WRITE_UPDATE, NULL, errs);
    }
    if (errs->nelts) {
        return invalid(q, errs);
    }
    for (i = 0; q->has_owner && i < row.ncols; i++) {
        if (row.cols[i] == q->plan->owner
            && (rc = own_value(q, &row.vals[i])) != OK) {
            return rc;
        }
    }
    if (q->res->sets && (rc = set_row(q, &row)) != OK) {
        return rc;
    }
    for (i = 0; item && i < row.ncols; i++) {
        if (key && row.cols[i] == key && !same_key(&row.vals[i], &q->key)) {
            be_field_error_t *e = apr_array_push(errs);
            e->field = key->name;
            e->message = "must match the key in the URL";
            return invalid(q, errs);
        }
    }
    if (body) {
        shape = be_shape_make(r->pool, q->plan, q->q->select, 0);
    }
    if (q->check && row.ncols > 0) {
        shape = with_check(q, shape);
    }
    else {
        q->check = NULL; /* nothing is written */
    }
    if (body) {
        out = start(q, &sink, shape,
                    !q->want_object && (q->ret == BE_RET_REPR || !item));
    }
    else if (q->check) {
        start(q, &sink, shape, 1); /* the check alone */
    }
    if ((rc = precondition(q)) != OK) {
        return rc;
    }
    if (row.ncols == 0) {
        /* nothing to change: answer with what is there */
        err = be_sql_select(r->pool, q->plan, shape ? shape : &q->plan->all,
                            &q->where, NULL, -1, -1, &st);
    }
    else {
        err = be_sql_update(r->pool, q->plan, &row, &q->where, shape, &st);
    }
    if (err) {
        return be_problem(r, HTTP_BAD_REQUEST, err, NULL);
    }
    if (row.ncols > 0 && (t->readback & BE_W_UPDATE)) {
        return write_read_back(q, &row, shape, &sink, out);
    }
    return write_and_answer(q, &st, &sink, out);
}

int be_op_delete(be_req_t *q)
{
    request_rec *r = q->r;
    const be_shape_t *shape = NULL;
    be_sink_t sink;
    be_buf_t *out = NULL;
    be_stmt_t st;
    const char *err;
    int rc;

    if (q->ret == BE_RET_REPR) {
        shape = be_shape_make(r->pool, q->plan, q->q->select, 0);
        out = start(q, &sink, shape, !q->want_object);
    }
    if ((err = be_sql_delete(r->pool, q->plan, &q->where, shape, &st))) {
        return be_problem(r, HTTP_BAD_REQUEST, err, NULL);
    }
    if ((rc = precondition(q)) != OK) {
        return rc;
    }
    if (q->plan->table->readback & BE_W_DELETE) {
        return write_read_back(q, NULL, shape, &sink, out);
    }
    return write_and_answer(q, &st, &sink, out);
}

/* ---------------------------------------------------------------------- */
/* Functions (BackendFunction)                                             */

/* :NAME!bcrypt: the text hashed as mod_authn_dbd and htpasswd check it. */
static const be_value_t *bcrypt_value(be_req_t *q, const be_value_t *in)
{
    unsigned char salt[16];
    char *hash = apr_palloc(q->r->pool, 64);
    be_value_t *v;

    if (in->kind != BE_V_TEXT) {
        return in; /* NULL stays NULL */
    }
    if (apr_generate_random_bytes(salt, sizeof(salt)) != APR_SUCCESS
        || apr_bcrypt_encode(in->s, BE_BCRYPT_COST, salt, sizeof(salt), hash,
                             64)
            != APR_SUCCESS) {
        return NULL;
    }
    v = apr_pcalloc(q->r->pool, sizeof(*v));
    v->kind = BE_V_TEXT;
    v->s = hash;
    v->len = strlen(hash);
    return v;
}

/* Statement i of the call with its parameters' values.  OK, or DONE once
 * the problem is sent. */
static int call_stmt(be_req_t *q, int i, be_stmt_t *st)
{
    static const be_value_t yes = {BE_V_BOOL, 1, 0, NULL, 0},
                            no = {BE_V_BOOL, 0, 0, NULL, 0},
                            null = {BE_V_NULL, 0, 0, NULL, 0};
    request_rec *r = q->r;
    const be_sqltext_t *text =
        APR_ARRAY_IDX(q->fn->stmts, i, const be_sqltext_t *);
    int n = text->params->nelts, j;
    const be_value_t **args =
        apr_palloc(r->pool, sizeof(*args) * (apr_size_t)(n + 1));

    for (j = 0; j < n; j++) {
        const be_param_t *prm = &APR_ARRAY_IDX(text->params, j, be_param_t);
        if (prm->kind == BE_P_GIVEN) {
            args[j] = q->call_vals[prm->arg].kind == BE_V_DEFAULT ? &no : &yes;
            continue;
        }
        if (prm->kind != BE_P_ARG) {
            if (!(args[j] = be_context_value(r, prm))) {
                return be_problem(r, be_rctx(r)->roles_failed,
                                  "the user's roles could not be read", NULL);
            }
            continue;
        }
        args[j] = q->call_vals[prm->arg].kind == BE_V_DEFAULT
            ? &null
            : &q->call_vals[prm->arg];
        if (prm->bcrypt && !(args[j] = bcrypt_value(q, args[j]))) {
            return be_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                              "a password could not be hashed", NULL);
        }
    }
    st->sql = q->plan->fn_sql[i];
    st->nargs = n;
    st->args = args;
    return OK;
}

/* The last statement's rows, through select=, filters, order and the
 * window when it is a query.  OK, or DONE once the problem is sent. */
static int call_rows(be_req_t *q, be_sink_t *sink, be_buf_t **out, long *rows,
                     long long *limit, long long *offset, int *paged)
{
    const be_function_t *fn = q->fn;
    const be_plan_t *pl = q->plan;
    int as_array = fn->returns == BE_RETURNS_MANY && !q->want_object;
    const be_shape_t *shape = &pl->all;
    be_stmt_t st;
    const char *err;
    int rc;

    if ((rc = call_stmt(q, pl->fn_nsql - 1, &st)) != OK) {
        return rc;
    }
    *limit = *offset = -1;
    *paged = 0;
    if (pl->fn_subquery) {
        q->where.from = st.args;
        q->where.nfrom = st.nargs;
        shape = be_shape_make(q->r->pool, pl, q->q->select, 0);
        if (as_array) {
            read_window(q, limit, offset, paged);
        }
        if ((err = be_sql_select(q->r->pool, pl, shape, &q->where, q->q->order,
                                 as_array ? *limit : 2,
                                 as_array ? *offset : -1, &st))) {
            return be_problem(q->r, HTTP_BAD_REQUEST, err, NULL);
        }
    }
    *out = start(q, sink, shape, as_array);
    sink->bare = fn->scalar;
    if ((rc = run(q, &st, sink, rows, q->q->filters->nelts > 0)) != OK) {
        return rc;
    }
    be_sink_end(sink);
    return OK;
}

void be_call_rules(be_req_t *q, apr_array_header_t *errs)
{
    const apr_array_header_t *args = q->fn->args;
    const char **names =
        apr_palloc(q->r->pool, sizeof(*names) * (apr_size_t)(args->nelts + 1));
    int i;

    for (i = 0; i < args->nelts; i++) {
        names[i] = APR_ARRAY_IDX(args, i, be_arg_t).name;
    }
    be_rules_check_row(q->r->pool, q->res->validate, names, q->call_vals,
                       args->nelts, 0, NULL, regex_match, errs);
}

int be_op_call(be_req_t *q)
{
    request_rec *r = q->r;
    const be_function_t *fn = q->fn;
    int in_tx = !fn->reads, i, rc, status = HTTP_OK;
    long long limit, offset;
    be_buf_t *out = NULL;
    be_sink_t sink;
    be_stmt_t st;
    long rows = 0;
    int paged;

    /* a function that writes runs whole or not at all */
    if (in_tx && (rc = tx(q, BE_TX_BEGIN)) != OK) {
        return rc;
    }
    for (i = 0; i < q->plan->fn_nsql - 1; i++) {
        if ((rc = call_stmt(q, i, &st)) != OK
            || (rc = run(q, &st, NULL, &rows, 0)) != OK) {
            goto undo;
        }
    }
    if ((rc = call_rows(q, &sink, &out, &rows, &limit, &offset, &paged))
        != OK) {
        goto undo;
    }
    if (q->want_object || fn->returns == BE_RETURNS_ONE) {
        if (rows == 0 && !q->want_object) {
            rc = be_problem(
                r, HTTP_NOT_FOUND,
                apr_psprintf(r->pool, "%s found no row", q->res->name), NULL);
            goto undo;
        }
        if (rows != 1) {
            rc = q->want_object
                ? not_one(q, rows)
                : be_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                             apr_psprintf(r->pool,
                                          "%s returned several rows; it is "
                                          "declared returns=one",
                                          q->res->name),
                             NULL);
            goto undo;
        }
    }
    else if (fn->returns == BE_RETURNS_MANY && q->plan->fn_subquery
             && (rc = read_answer(q, rows, limit, offset, paged, &status))
                 != OK) {
        goto undo;
    }
    if (in_tx && (rc = tx(q, BE_TX_COMMIT)) != OK) {
        return rc;
    }
    if (q->res->route && q->res->route->status && status == HTTP_OK) {
        status = q->res->route->status; /* status=NNN */
    }
    if (fn->returns == BE_RETURNS_NONE || q->plan->all.ncols == 0) {
        return be_send_json(r, status == HTTP_OK ? HTTP_NO_CONTENT : status,
                            NULL);
    }
    return reply(q, status, out);
undo:
    if (in_tx) {
        be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
        q->conn->ex->tx(q->conn, r->pool, BE_TX_ROLLBACK, &err);
    }
    return rc;
}

/* ---------------------------------------------------------------------- */
/* BackendDBIdentity and BackendDBRole (PostgreSQL)                        */

/* The claims of the request's token as a JSON object ({} without one). */
static const char *claims_json(request_rec *r)
{
    const be_claims_t *c = be_rctx(r)->claims;
    const apr_array_header_t *t;
    const apr_table_entry_t *e;
    be_buf_t b;
    int i;

    if (!c) {
        return "{}";
    }
    t = apr_table_elts(c->claims);
    e = (const apr_table_entry_t *)t->elts;
    be_buf_init(&b, r->pool, 256);
    be_buf_addc(&b, '{');
    for (i = 0; i < t->nelts; i++) {
        if (i) {
            be_buf_addc(&b, ',');
        }
        be_json_escape(&b, e[i].key, strlen(e[i].key));
        be_buf_addc(&b, ':');
        if (apr_table_get(c->nonstrings, e[i].key)) {
            be_buf_adds(&b, e[i].val); /* compact JSON already */
        }
        else {
            be_json_escape(&b, e[i].val, strlen(e[i].val));
        }
    }
    be_buf_addc(&b, '}');
    return be_buf_cstr(&b);
}

/* what the database knows of the request (PostgREST's names) */
#define SET_IDENTITY                                      \
    "SELECT set_config('request.jwt.claims', $1, true), " \
    "set_config('request.user', $2, true)"

int be_db_identity(be_req_t *q)
{
    request_rec *r = q->r;
    const be_dir_conf_t *dc = q->dc;
    const be_claims_t *claims = be_rctx(r)->claims;
    be_value_t v[3];
    const be_value_t *args[3] = {&v[0], &v[1], &v[2]};
    const char *role = dc->db_role;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    be_stmt_t st;
    long rows;
    int rc;

    if (dc->db_role_claim && claims
        && apr_table_get(claims->claims, dc->db_role_claim)
        && !apr_table_get(claims->nonstrings, dc->db_role_claim)) {
        role = apr_table_get(claims->claims, dc->db_role_claim);
    }
    if (dc->db_role_set && dc->db_role_claim && !role) {
        return be_problem(r, HTTP_FORBIDDEN,
                          apr_psprintf(r->pool,
                                       "the request names no database role "
                                       "(claim %s)",
                                       dc->db_role_claim),
                          NULL);
    }
    memset(v, 0, sizeof(v));
    v[0].kind = BE_V_TEXT;
    v[0].s = claims_json(r);
    v[0].len = strlen(v[0].s);
    v[1].kind = BE_V_TEXT;
    v[1].s = r->user ? r->user : "";
    v[1].len = strlen(v[1].s);
    v[2].kind = BE_V_TEXT;
    v[2].s = role;
    v[2].len = role ? strlen(role) : 0;
    st.sql =
        role ? SET_IDENTITY ", set_config('role', $3, true)" : SET_IDENTITY;
    st.nargs = role ? 3 : 2;
    st.args = args;
    if ((rc = tx(q, BE_TX_BEGIN)) != OK) {
        return rc;
    }
    q->identity = 1;
    if (q->conn->ex->query(q->conn, r->pool, &st, NULL, &rows, &err)
        != BE_DB_OK) {
        q->conn->ex->tx(q->conn, r->pool, BE_TX_ROLLBACK, &err);
        q->identity = 0;
        if (err.rc == BE_DB_UNAVAILABLE) {
            return be_db_problem(q, &err, 0);
        }
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "BE00075: BackendDBRole: the database refused the role "
                      "'%s': %s",
                      role ? ap_escape_logitem(r->pool, role) : "",
                      err.message ? err.message : "");
        return be_problem(r, HTTP_FORBIDDEN, "you may not do this", NULL);
    }
    be_rctx(r)->hold = 1;
    return OK;
}

int be_db_identity_end(be_req_t *q, int rc)
{
    be_rctx_t *x = be_rctx(q->r);
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};

    x->hold = 0;
    if (q->conn->in_tx) {
        if (!x->held) {
            /* a problem was sent: nothing of the request stays */
            q->conn->ex->tx(q->conn, q->r->pool, BE_TX_ROLLBACK, &err);
            return rc;
        }
        if (q->conn->ex->tx(q->conn, q->r->pool, BE_TX_COMMIT, &err)
            != BE_DB_OK) {
            return be_db_problem(q, &err, 0);
        }
    }
    return x->held
        ? be_send_typed(q->r, x->held_status, x->held_body, x->held_type)
        : rc;
}
