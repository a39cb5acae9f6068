/*
 * mod_backend_handler.c - SetHandler backend, in three steps over one
 * be_req_t: parse (routing, methods, query string, content negotiation,
 * Prefer, Range, the request body: no database), bind (connection, plan,
 * key, owner scope), dispatch (an operation of mod_backend_ops.c does the
 * work).
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

#define ALLOW_COLLECTION "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
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

/* The BackendRoute of the request's method whose path matches r->uri,
 * its {param} values in *args.  NULL when none matches; *allow then lists
 * the methods of the routes whose path matched, if any did. */
static be_resource_t *match_route(request_rec *r, const be_dir_conf_t *dc,
                                  apr_array_header_t **args,
                                  const char **allow)
{
    apr_array_header_t *segs = apr_array_make(r->pool, 8, sizeof(char *));
    char *copy = apr_pstrdup(r->pool, r->uri), *seg, *last;
    const char *methods = NULL;
    int i, j;

    *allow = NULL;
    for (seg = apr_strtok(copy, "/", &last); seg;
         seg = apr_strtok(NULL, "/", &last)) {
        APR_ARRAY_PUSH(segs, char *) = seg;
    }
    for (i = 0; i < dc->routes->nelts; i++) {
        be_resource_t *res = APR_ARRAY_IDX(dc->routes, i, be_resource_t *);
        const be_route_t *rt = res->route;
        if (rt->segments->nelts != segs->nelts) {
            continue;
        }
        for (j = 0; j < segs->nelts; j++) {
            const char *lit = APR_ARRAY_IDX(rt->segments, j, const char *);
            if (lit && strcmp(lit, APR_ARRAY_IDX(segs, j, char *)) != 0) {
                break;
            }
        }
        if (j < segs->nelts) {
            continue;
        }
        if (rt->method == r->method_number) {
            *args = apr_array_make(r->pool, 2, sizeof(char *));
            for (j = 0; j < segs->nelts; j++) {
                if (!APR_ARRAY_IDX(rt->segments, j, const char *)) {
                    APR_ARRAY_PUSH(*args, char *) =
                        APR_ARRAY_IDX(segs, j, char *);
                }
            }
            return res;
        }
        methods = apr_pstrcat(r->pool, methods ? methods : "",
                              methods ? ", " : "", rt->method_name,
                              rt->method == M_GET ? ", HEAD" : "", NULL);
    }
    if (methods) {
        *allow = apr_pstrcat(r->pool, methods, ", OPTIONS", NULL);
    }
    return NULL;
}

/* API paths are not files.  They are claimed while the <Location>
 * configuration is known (the location walk runs before translate_name),
 * so neither the core's DocumentRoot mapping nor the directory and file
 * walk ever touch the filesystem for them; authn/authz still run. */
int be_translate_name(request_rec *r)
{
    const be_dir_conf_t *dc =
        ap_get_module_config(r->per_dir_config, &backend_module);
    be_resource_t *res;
    const char *id, *allow = NULL;
    apr_array_header_t *args = NULL;
    be_rctx_t *x;

    if (!(res = be_route(r, dc, &id))
        && !(dc && dc->routes
             && ((res = match_route(r, dc, &args, &allow)) || allow))) {
        return DECLINED;
    }
    x = be_rctx(r);
    x->api = 1;
    x->res = res;
    x->id = res && !res->route ? id : NULL;
    x->path_args = args;
    x->allow = allow;
    r->filename = apr_pstrcat(r->pool, "backend:", r->uri, NULL);
    if (res) {
        be_rcache_mark(r, x);
    }
    return OK;
}

int be_map_to_storage(request_rec *r)
{
    const be_rctx_t *x =
        ap_get_module_config(r->request_config, &backend_module);
    return x && x->api ? OK : DECLINED;
}

/* httpd answers a path with an encoded slash (%2F) 404 before any module
 * sees it (AllowEncodedSlashes Off), before any <Location> applies: under
 * a resource, the note makes that 404 a problem (be_insert_error_filter). */
int be_post_read_request(request_rec *r)
{
    const char *path = r->parsed_uri.path;
    apr_array_header_t *all;
    int i;

    if (!path || !ap_strcasestr(path, "%2f")) {
        return DECLINED;
    }
    all = be_all_resources();
    for (i = 0; all && i < all->nelts; i++) {
        const be_resource_t *res = APR_ARRAY_IDX(all, i, be_resource_t *);
        /* a route: its path up to the first {param} */
        const char *brace = res->route ? strstr(res->path, "/{") : NULL;
        apr_size_t n =
            brace ? (apr_size_t)(brace - res->path) : strlen(res->path);
        if (strncmp(path, res->path, n) == 0 && path[n] == '/') {
            apr_table_setn(
                r->notes, BE_NOTE_SLASH,
                res->fn ? "no resource at this path"
                        : apr_psprintf(r->pool,
                                       "%s: a key in the path cannot hold an "
                                       "encoded slash (%%2F)",
                                       res->name));
            break;
        }
    }
    return DECLINED;
}

/* ---------------------------------------------------------------------- */
/* Headers                                                                 */

static int media_is(const char *item, const char *type)
{
    apr_size_t n = strlen(type);

    while (*item == ' ' || *item == '\t') {
        item++;
    }
    if (strncasecmp(item, type, n) != 0) {
        return 0;
    }
    item += n;
    while (*item == ' ' || *item == '\t') {
        item++;
    }
    return *item == '\0' || *item == ';' || *item == ',';
}

/* Accept: JSON (the default), or one object (PostgREST's media type);
 * returns 0 when nothing acceptable is listed. */
static int negotiate(request_rec *r, be_req_t *q)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    const char *item;
    int ok = 0;

    if (!accept || !*accept) {
        return 1;
    }
    for (item = accept; item; item = strchr(item, ',')) {
        if (*item == ',') {
            item++;
        }
        if (media_is(item, "application/vnd.pgrst.object+json")
            || media_is(item, "application/vnd.pgrst.object")) {
            q->want_object = 1;
            ok = 1;
        }
        else if (media_is(item, "application/json")
                 || media_is(item, "application/*") || media_is(item, "*/*")
                 || media_is(item, "application/problem+json")) {
            ok = 1;
        }
    }
    return ok;
}

static void prefer(request_rec *r, be_req_t *q)
{
    const char *h = apr_table_get(r->headers_in, "Prefer");
    char *copy, *tok, *state = NULL;

    if (!h) {
        return;
    }
    copy = apr_pstrdup(r->pool, h);
    for (tok = apr_strtok(copy, ",", &state); tok;
         tok = apr_strtok(NULL, ",", &state)) {
        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        apr_collapse_spaces(tok, tok);
        if (!strcmp(tok, "return=minimal")) {
            q->ret = BE_RET_MINIMAL;
        }
        else if (!strcmp(tok, "return=headers-only")) {
            q->ret = BE_RET_HEADERS;
        }
        else if (!strcmp(tok, "return=representation")) {
            q->ret = BE_RET_REPR;
        }
        else if (!strcmp(tok, "missing=default")) {
            q->missing_default = 1;
        }
        else if (!strcmp(tok, "count=exact")) {
            q->count_exact = 1;
        }
        else if (!strcmp(tok, "resolution=merge-duplicates")) {
            q->upsert = BE_UPSERT_MERGE;
        }
        else if (!strcmp(tok, "resolution=ignore-duplicates")) {
            q->upsert = BE_UPSERT_IGNORE;
        }
    }
}

/* Range: [items=]FROM-[TO]; anything else is ignored, as PostgREST does. */
static void range(request_rec *r, be_req_t *q)
{
    const char *h = apr_table_get(r->headers_in, "Range");
    char *end;
    long long from, to = -1;

    q->range_from = q->range_to = -1;
    if (!h || r->method_number != M_GET) {
        return;
    }
    if (strncasecmp(h, "items=", 6) == 0) {
        h += 6;
    }
    /* bounded like limit= and offset=, so that no sum overflows */
    from = strtoll(h, &end, 10);
    if (end == h || *end != '-' || from < 0 || from > BE_MAX_COUNT) {
        return;
    }
    h = end + 1;
    if (*h) {
        to = strtoll(h, &end, 10);
        if (*end || to < from || to > BE_MAX_COUNT) {
            return;
        }
    }
    q->range_from = from;
    q->range_to = to;
}

/* ---------------------------------------------------------------------- */
/* Request bodies                                                          */

/* Reads the whole body, up to the smaller of BackendMaxBody and
 * LimitRequestBody.  Returns OK or the status of the problem to send. */
static int read_body(request_rec *r, const be_dir_conf_t *dc,
                     const char **data, apr_size_t *len, const char **why)
{
    apr_off_t limit = be_conf_max_body(dc);
    apr_off_t core_limit = ap_get_limit_req_body(r);
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    apr_off_t declared = 0;
    be_buf_t buf;
    int seen_eos = 0;

    if (core_limit > 0 && core_limit < limit) {
        limit = core_limit;
    }
    *why = apr_psprintf(
        r->pool, "the request body is larger than %" APR_OFF_T_FMT " bytes",
        limit);
    if (cl) {
        if (apr_strtoff(&declared, cl, NULL, 10) != APR_SUCCESS
            || declared < 0) {
            *why = "the Content-Length header is not a number";
            return HTTP_BAD_REQUEST;
        }
        if (declared > limit) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }

    be_buf_init(&buf, r->pool, (apr_size_t)declared + 1024);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        apr_bucket *b;
        apr_status_t rv =
            ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                           APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            if (rv == AP_FILTER_ERROR) {
                return AP_FILTER_ERROR; /* answered: see body_limits */
            }
            if (APR_STATUS_IS_ENOSPC(rv)) {
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

#define BE_NOTE_BODY "backend-body"

/* A chunked body over LimitRequestBody, or a broken chunk, is answered by
 * httpd's own input filter (ap_die, an HTML page) in the middle of
 * read_body.  A custom response for those statuses turns that answer into
 * an internal GET of this resource, which parse_route recognizes by the
 * note and answers with the problem (body_error_answer). */
static void body_errors_come_back(request_rec *r, const be_resource_t *res)
{
    const char *uri = ap_escape_uri(r->pool, res->route ? r->uri : res->path);

    apr_table_setn(r->notes, BE_NOTE_BODY, "1");
    ap_custom_response(r, HTTP_REQUEST_ENTITY_TOO_LARGE, uri);
    ap_custom_response(r, HTTP_BAD_REQUEST, uri);
}

static int body_error_answer(request_rec *r, const be_dir_conf_t *dc)
{
    apr_off_t limit = be_conf_max_body(dc);
    apr_off_t core_limit = ap_get_limit_req_body(r->prev);

    if (core_limit > 0 && core_limit < limit) {
        limit = core_limit;
    }
    if (r->prev->status == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return be_problem(
            r, HTTP_REQUEST_ENTITY_TOO_LARGE,
            apr_psprintf(r->pool,
                         "the request body is larger than %" APR_OFF_T_FMT
                         " bytes",
                         limit),
            NULL);
    }
    return be_problem(r, HTTP_BAD_REQUEST,
                      "the request body could not be read", NULL);
}

/* Content-Type, size and JSON syntax: everything that needs no schema. */
static int parse_body(request_rec *r, const be_dir_conf_t *dc,
                      const be_resource_t *res, int arrays, be_jdoc_t **doc)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *data, *why;
    apr_size_t len;
    int status;

    if (!ct || !media_is(ct, "application/json")) {
        return be_problem(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                          "the request body must be application/json", NULL);
    }
    body_errors_come_back(r, res);
    if ((status = read_body(r, dc, &data, &len, &why)) != OK) {
        return status == AP_FILTER_ERROR ? status
                                         : be_problem(r, status, why, NULL);
    }
    if (be_json_parse_body(r->pool, data, len, BE_JSON_MAX_DEPTH, arrays, doc,
                           &why)
        != BE_JSON_OK) {
        return be_problem(r, HTTP_BAD_REQUEST, why, NULL);
    }
    return OK;
}

/* ---------------------------------------------------------------------- */
/* The handler                                                             */

static int method_allowed(int m, int item)
{
    switch (m) {
    case M_GET:
    case M_OPTIONS:
    case M_PATCH:
    case M_DELETE:
        return 1;
    case M_POST:
        return !item;
    case M_PUT:
        return item;
    default:
        return 0;
    }
}

/* What a method writes, as BE_W_* (0: it only reads). */
static unsigned writes_of(int m)
{
    switch (m) {
    case M_POST:
        return BE_W_INSERT;
    case M_PUT:
    case M_PATCH:
        return BE_W_UPDATE;
    case M_DELETE:
        return BE_W_DELETE;
    default:
        return 0;
    }
}

/* Allow: what an item (2: of a key with several columns, which takes no
 * PUT) or the collection (0) takes, of what the database lets the table
 * behind the resource take (a view may be read-only). */
static const char *allow(request_rec *r, int item, unsigned writes)
{
    if (writes == BE_W_ALL && item != 2) {
        return item ? ALLOW_ITEM : ALLOW_COLLECTION;
    }
    return apr_pstrcat(
        r->pool, "GET, HEAD", !item && (writes & BE_W_INSERT) ? ", POST" : "",
        item == 1 && (writes & BE_W_UPDATE) ? ", PUT" : "",
        writes & BE_W_UPDATE ? ", PATCH" : "",
        writes & BE_W_DELETE ? ", DELETE" : "", ", OPTIONS", NULL);
}

static int not_allowed(request_rec *r, int item, unsigned writes)
{
    return be_not_allowed(r, allow(r, item, writes));
}

/* The resource and item of the request (routed in translate_name, or
 * here for a subrequest), and the answers httpd sends back to it. */
static int parse_route(be_req_t *q)
{
    request_rec *r = q->r;
    const be_rctx_t *x =
        ap_get_module_config(r->request_config, &backend_module);

    if (r->prev && apr_table_get(r->prev->notes, BE_NOTE_BODY)) {
        return body_error_answer(r, q->dc);
    }
    if (x && x->allow) {
        /* a route's path, with a method it does not have */
        if (r->method_number == M_OPTIONS) {
            apr_table_setn(r->headers_out, "Allow", x->allow);
            r->status = HTTP_NO_CONTENT;
            return DONE;
        }
        return be_not_allowed(r, x->allow);
    }
    if (x && x->res) {
        q->res = x->res; /* resource paths are unique per server */
        q->id = x->id;
        q->path_args = x->path_args;
    }
    else if (!(q->res = be_route(r, q->dc, &q->id))) {
        int rc = be_openapi(q);
        if (rc == DECLINED) {
            rc = be_explorer(q); /* (a browser at LOCATION/) */
        }
        return rc != DECLINED
            ? (rc == OK ? DONE : rc)
            : be_problem(r, HTTP_NOT_FOUND, "no resource at this path", NULL);
    }
    return OK;
}

/* Allow, 405 and OPTIONS, from what the table takes when its schema is
 * known (a PostgreSQL schema not read yet is checked again in
 * bind_request). */
static int parse_method(be_req_t *q)
{
    request_rec *r = q->r;
    const be_plan_t *known = atomic_load(&q->res->plan);
    unsigned writes = known ? known->table->writes : BE_W_ALL;
    int m = r->method_number, item = q->id != NULL;
    /* (a PUT there is answered with why in bind_composite) */
    int several = item && known && known->table->key < 0;

    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_OPTIONS);
    r->allowed |= writes & BE_W_UPDATE ? AP_METHOD_BIT << M_PATCH : 0;
    r->allowed |= writes & BE_W_DELETE ? AP_METHOD_BIT << M_DELETE : 0;
    r->allowed |= item
        ? (writes & BE_W_UPDATE && !several ? AP_METHOD_BIT << M_PUT : 0)
        : (writes & BE_W_INSERT ? AP_METHOD_BIT << M_POST : 0);
    if (!method_allowed(m, item) || (writes_of(m) & ~writes)) {
        return not_allowed(r, item + several, writes);
    }
    if (m == M_OPTIONS) {
        apr_table_setn(r->headers_out, "Allow",
                       allow(r, item + several, writes));
        r->status = HTTP_NO_CONTENT;
        return DONE;
    }
    return OK;
}

/* The query string (args: what of it is not a function's arguments),
 * Accept, Prefer and Range.  OK, or the answer is sent. */
static int parse_query(be_req_t *q, const char *args)
{
    request_rec *r = q->r;
    const char *msg;

    if (r->args && strlen(r->args) > BE_MAX_QUERY) {
        return be_problem(
            r, HTTP_REQUEST_URI_TOO_LARGE,
            apr_psprintf(r->pool, "the query string is longer than %d bytes",
                         BE_MAX_QUERY),
            NULL);
    }
    if ((msg = be_query_parse(r->pool, args, &q->q))) {
        return be_problem(r, HTTP_BAD_REQUEST, msg, NULL);
    }
    if (!negotiate(r, q)) {
        return be_problem(r, HTTP_NOT_ACCEPTABLE,
                          "the response can be application/json or "
                          "application/vnd.pgrst.object+json",
                          NULL);
    }
    prefer(r, q);
    range(r, q);
    return OK;
}

/* GET of a function: the query-string pairs whose decoded name is an
 * argument's are its arguments (names, texts); the rest, as written, is
 * the query (*rest).  OK, or the answer is sent. */
static int split_args(be_req_t *q, const apr_array_header_t *args,
                      apr_array_header_t *names, apr_array_header_t *texts,
                      const char **rest)
{
    request_rec *r = q->r;
    char *all = apr_pstrdup(r->pool, r->args ? r->args : ""), *pair, *last;
    be_buf_t keep;
    int i;

    be_buf_init(&keep, r->pool, strlen(all) + 1);
    for (pair = apr_strtok(all, "&", &last); pair;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '='), *name, *text;
        name = apr_pstrndup(r->pool, pair,
                            eq ? (apr_size_t)(eq - pair) : strlen(pair));
        text = apr_pstrdup(r->pool, eq ? eq + 1 : "");
        if (!be_url_decode(name) || !be_url_decode(text)) {
            return be_problem(r, HTTP_BAD_REQUEST,
                              "the query string has a bad %-escape", NULL);
        }
        for (i = 0; i < args->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(args, i, be_arg_t).name, name)) {
                break;
            }
        }
        if (i < args->nelts) {
            APR_ARRAY_PUSH(names, const char *) = name;
            APR_ARRAY_PUSH(texts, const char *) = text;
        }
        else {
            be_buf_printf(&keep, "%s%s", keep.len ? "&" : "", pair);
        }
    }
    *rest = be_buf_cstr(&keep);
    return OK;
}

/* A function's arguments: from the JSON object of a POST (none when it
 * has no body), or from the query string of a GET.  OK, or the answer
 * is sent (422 names every argument that is wrong). */
static int parse_call_args(be_req_t *q)
{
    request_rec *r = q->r;
    const apr_array_header_t *all = q->fn->args;
    apr_array_header_t *args = (apr_array_header_t *)all, *names = NULL,
                       *texts = NULL, *errs;
    const be_jobject_t *obj = NULL;
    const char *rest = r->args;
    be_value_t *vals;
    int rc, i, k = 0, *from = NULL;

    errs = apr_array_make(r->pool, 4, sizeof(be_field_error_t));
    q->call_vals = apr_pcalloc(
        r->pool, sizeof(be_value_t) * (apr_size_t)(all->nelts + 1));
    if (q->res->route) {
        /* a route's {param}s come from the path, the others as a
         * function's do */
        args = apr_array_make(r->pool, all->nelts + 1, sizeof(be_arg_t));
        from = apr_palloc(r->pool, sizeof(int) * (apr_size_t)(all->nelts + 1));
        for (i = 0; i < all->nelts; i++) {
            const be_arg_t *a = &APR_ARRAY_IDX(all, i, be_arg_t);
            const char *why;
            if (!a->in_path) {
                from[args->nelts] = i;
                *(be_arg_t *)apr_array_push(args) = *a;
                continue;
            }
            if (!q->path_args || k >= q->path_args->nelts) {
                return be_problem(r, HTTP_NOT_FOUND,
                                  "no resource at this path", NULL);
            }
            if ((why = be_arg_from_text(
                     r->pool, a, APR_ARRAY_IDX(q->path_args, k++, char *),
                     &q->call_vals[i]))) {
                /* no such URL, as a router's typed parameter has it */
                return be_problem(
                    r, HTTP_NOT_FOUND,
                    apr_psprintf(r->pool, "{%s} %s", a->name, why), NULL);
            }
        }
    }
    if (r->method_number != M_GET) {
        if (apr_table_get(r->headers_in, "Content-Type")
            || (apr_table_get(r->headers_in, "Content-Length")
                && strcmp(apr_table_get(r->headers_in, "Content-Length"), "0"))
            || apr_table_get(r->headers_in, "Transfer-Encoding")) {
            if ((rc = parse_body(r, q->dc, q->res, 0, &q->doc)) != OK) {
                return rc;
            }
            obj = APR_ARRAY_IDX(q->doc->objects, 0, be_jobject_t *);
        }
    }
    else {
        names = apr_array_make(r->pool, 4, sizeof(const char *));
        texts = apr_array_make(r->pool, 4, sizeof(const char *));
        if ((rc = split_args(q, args, names, texts, &rest)) != OK) {
            return rc;
        }
    }
    if ((rc = parse_query(q, rest)) != OK) {
        return rc;
    }
    vals = from ? apr_pcalloc(
               r->pool, sizeof(be_value_t) * (apr_size_t)(args->nelts + 1))
                : q->call_vals;
    be_args_bind(r->pool, args, obj, names, texts, vals, errs);
    for (i = 0; from && i < args->nelts; i++) {
        q->call_vals[from[i]] = vals[i];
    }
    if (q->res->validate) {
        be_call_rules(q, errs); /* one 422 for the types and the rules */
    }
    if (errs->nelts) {
        const be_field_error_t *e = &APR_ARRAY_IDX(errs, 0, be_field_error_t);
        return be_problem(
            r, HTTP_UNPROCESSABLE_ENTITY,
            errs->nelts == 1
                ? apr_psprintf(r->pool, "%s: %s", e->field, e->message)
                : apr_psprintf(r->pool, "%d arguments of %s are not valid",
                               errs->nelts, q->res->name),
            errs);
    }
    return OK;
}

/* The function q calls: a pg= function's arguments and answer come with
 * the schema, read before its arguments can be.  OK, or the answer is
 * sent. */
static int call_fn(be_req_t *q)
{
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};

    if (!q->res->fn->pg) {
        q->fn = q->res->fn;
        return OK;
    }
    if (!(q->conn = be_db_acquire(q->r, q->res))) {
        return be_problem(q->r, HTTP_SERVICE_UNAVAILABLE,
                          BE_DETAIL_UNAVAILABLE, NULL);
    }
    if (!(q->plan = be_db_plan(q->r, q->res, q->conn, &err))) {
        return be_db_problem(q, &err, 0);
    }
    q->fn = q->plan->fn;
    return OK;
}

/* Allow, 405 and OPTIONS of a function: POST, and GET when it only
 * reads (a route's method was matched with its path). */
static int parse_call(be_req_t *q)
{
    request_rec *r = q->r;
    int m = r->method_number, reads;
    const char *allow;

    if ((reads = call_fn(q)) != OK) {
        return reads;
    }
    reads = q->fn->reads;
    allow = reads ? "GET, HEAD, POST, OPTIONS" : "POST, OPTIONS";
    if (q->res->route) {
        return parse_call_args(q);
    }
    if (q->id) {
        return be_problem(r, HTTP_NOT_FOUND, "no resource at this path", NULL);
    }
    r->allowed = (AP_METHOD_BIT << M_POST) | (AP_METHOD_BIT << M_OPTIONS)
        | (reads ? AP_METHOD_BIT << M_GET : 0);
    if (m == M_OPTIONS || !(m == M_POST || (m == M_GET && reads))) {
        apr_table_setn(r->headers_out, "Allow", allow);
        if (m == M_OPTIONS) {
            r->status = HTTP_NO_CONTENT;
            return DONE;
        }
        return be_problem(r, HTTP_METHOD_NOT_ALLOWED,
                          apr_psprintf(r->pool, "%s is not allowed on %s (%s)",
                                       r->method, r->uri,
                                       reads ? "GET or POST" : "POST"),
                          NULL);
    }
    return parse_call_args(q);
}

/* Step 1, no database: route, method, query string, Accept, Prefer,
 * Range and the body.  OK, or the answer is sent. */
static int parse_request(be_req_t *q)
{
    request_rec *r = q->r;
    int m = r->method_number, rc;

    q->dc = ap_get_module_config(r->per_dir_config, &backend_module);
    if ((rc = parse_route(q)) != OK) {
        return rc;
    }
    if (q->res->fn) {
        return parse_call(q);
    }
    if ((rc = parse_method(q)) != OK || (rc = parse_query(q, r->args)) != OK) {
        return rc;
    }
    if ((m == M_POST || m == M_PUT || m == M_PATCH)
        && (rc = parse_body(r, q->dc, q->res, m == M_POST, &q->doc)) != OK) {
        return rc;
    }
    if ((m == M_PATCH || m == M_DELETE) && !q->id && q->q->filters->nelts == 0
        && !q->res->bulk_all) {
        return be_problem(
            r, HTTP_BAD_REQUEST,
            apr_psprintf(
                r->pool,
                "%s on all of %s needs a filter (or bulk=all on the resource)",
                r->method, q->res->name),
            NULL);
    }
    return OK;
}

/* An owned resource: the user's value for the owner column, and the
 * scope every statement gets unless BackendOwnerBypass lifts it. */
static int bind_owner(be_req_t *q)
{
    request_rec *r = q->r;
    const char *why;

    if (!r->user) {
        return be_problem(r, HTTP_UNAUTHORIZED,
                          apr_psprintf(r->pool,
                                       "%s needs an authenticated user",
                                       q->res->name),
                          NULL);
    }
    if ((why = be_filter_value(r->pool, q->plan->owner, r->user, &q->owner))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "BE00074: BackendResource %s: the user cannot own rows: "
                      "owner=%s: %s",
                      q->res->name, q->plan->owner->name,
                      ap_escape_logitem(r->pool, why));
        return be_problem(r, HTTP_FORBIDDEN, "you may not do this", NULL);
    }
    q->has_owner = 1;
    if (be_owner_scoped(r, q->dc, q->res)) {
        /* every statement only sees r->user's rows */
        q->where.owner = &q->owner;
    }
    return OK;
}

/* A function's query string against the rows of its last statement:
 * they can be chosen, filtered, ordered and paged when it is a query. */
static int bind_call(be_req_t *q)
{
    const be_query_t *qq = q->q;
    const char *msg;

    if (!q->plan->fn_subquery
        && (qq->filters->nelts || qq->order || qq->select || qq->limit >= 0
            || qq->offset >= 0 || q->range_from >= 0)) {
        return be_problem(
            q->r, HTTP_BAD_REQUEST,
            apr_psprintf(q->r->pool,
                         "the rows of %s cannot be chosen, filtered, ordered "
                         "or paged: its last statement is not a query",
                         q->res->name),
            NULL);
    }
    if ((msg = be_query_check(q->r->pool, q->plan->table, qq))) {
        return be_problem(q->r, HTTP_BAD_REQUEST, msg, NULL);
    }
    q->where.filters = qq->filters;
    return OK;
}

/* BackendRule: the conditions of the method's action on the rows it
 * reaches (reads, updates, deletes) and on the rows it writes (inserts,
 * updates; an upsert meets both).  OK, or the answer is sent. */
static int bind_rules(be_req_t *q)
{
    request_rec *r = q->r;
    const apr_array_header_t *ins, *upd;
    apr_array_header_t *both;
    int rc = OK, rc2 = OK;

    switch (r->method_number) {
    case M_GET:
        q->where.rules = be_rules_bound(r, q->dc, q->res, BE_RULE_READ, &rc);
        break;
    case M_DELETE:
        q->where.rules = be_rules_bound(r, q->dc, q->res, BE_RULE_DELETE, &rc);
        break;
    case M_PATCH:
    case M_PUT:
        q->where.rules = q->check =
            be_rules_bound(r, q->dc, q->res, BE_RULE_UPDATE, &rc);
        break;
    case M_POST:
        ins = be_rules_bound(r, q->dc, q->res, BE_RULE_INSERT, &rc);
        upd = q->upsert == BE_UPSERT_NONE
            ? NULL
            : be_rules_bound(r, q->dc, q->res, BE_RULE_UPDATE, &rc2);
        if (q->upsert == BE_UPSERT_MERGE) {
            q->conflict = upd;
        }
        if (ins && upd) {
            both = apr_array_copy(r->pool, ins);
            apr_array_cat(both, upd);
            q->check = both;
        }
        else {
            q->check = ins ? ins : upd;
        }
        break;
    default:
        break;
    }
    if (rc != OK || rc2 != OK) {
        return be_problem(r, rc != OK ? rc : rc2,
                          "the user's roles could not be read", NULL);
    }
    return OK;
}

/* An item of a key of several columns (key=A,B): /NAME/1,7 is the row
 * whose A is 1 and B is 7, as filters; PUT is not one of its methods.
 * OK, or the answer is sent. */
static int bind_composite(be_req_t *q)
{
    request_rec *r = q->r;
    const be_table_t *t = q->plan->table;
    apr_array_header_t *filters;
    char *copy = apr_pstrdup(r->pool, q->id), *part, *next;
    int n = 0;

    if (!t->items) {
        return be_problem(r, HTTP_NOT_FOUND,
                          apr_psprintf(r->pool,
                                       "%s has no items: %s; key=COLUMN,... "
                                       "names them",
                                       q->res->name,
                                       t->nkeys ? "its key has several "
                                                  "columns"
                                                : "it has no key"),
                          NULL);
    }
    if (r->method_number == M_PUT) {
        apr_table_setn(r->headers_out, "Allow",
                       "GET, HEAD, PATCH, DELETE, OPTIONS");
        return be_problem(r, HTTP_METHOD_NOT_ALLOWED,
                          apr_psprintf(r->pool,
                                       "PUT is not allowed on an item of %s: "
                                       "its key has several columns (PATCH)",
                                       q->res->name),
                          NULL);
    }
    filters = apr_array_copy(r->pool, q->q->filters);
    /* one value per key column, every comma counted ("1,7," has three) */
    for (part = copy; part; part = next) {
        const be_column_t *c = n < t->nkeys
            ? &APR_ARRAY_IDX(t->cols, t->keys[n], be_column_t)
            : NULL;
        be_value_t v;
        be_filter_t *f;
        if ((next = strchr(part, ',')) != NULL) {
            *next++ = '\0';
        }
        if (!c || !be_key_value(r->pool, c, part, &v)) {
            n = -1;
            break;
        }
        f = apr_pcalloc(r->pool, sizeof(*f));
        f->kind = BE_F_COND;
        f->column = c->name;
        f->op = BE_OP_EQ;
        f->value = part;
        APR_ARRAY_PUSH(filters, be_filter_t *) = f;
        n++;
    }
    if (n != t->nkeys) {
        return be_problem(r, HTTP_NOT_FOUND,
                          apr_psprintf(r->pool, "%s has no row with key '%s'",
                                       q->res->name, q->id),
                          NULL);
    }
    q->where.filters = filters;
    return OK;
}

/* Step 2, the parsed request against the database: the connection, the
 * plan, what the table takes, the query's names, the key and the owner
 * scope.  OK, or the answer is sent. */
static int bind_request(be_req_t *q)
{
    request_rec *r = q->r;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    const be_table_t *t;
    const char *msg;
    int rc;

    /* (a pg= function has both already) */
    if (!q->conn && !(q->conn = be_db_acquire(r, q->res))) {
        return be_problem(r, HTTP_SERVICE_UNAVAILABLE, BE_DETAIL_UNAVAILABLE,
                          NULL);
    }
    if (!q->plan && !(q->plan = be_db_plan(r, q->res, q->conn, &err))) {
        return be_db_problem(q, &err, 0);
    }
    t = q->plan->table;
    if ((rc = be_embed_bind(q)) != OK) {
        return rc;
    }
    if (q->res->fn) {
        return bind_call(q);
    }
    if (writes_of(r->method_number) & ~t->writes) {
        return not_allowed(r, q->id ? 1 + (t->key < 0) : 0, t->writes);
    }
    if ((msg = be_query_check(r->pool, t, q->q))) {
        return be_problem(r, HTTP_BAD_REQUEST, msg, NULL);
    }
    q->where.filters = q->q->filters;
    if (q->id && t->key < 0 && (rc = bind_composite(q)) != OK) {
        return rc;
    }
    if (q->id && t->key >= 0
        && !be_key_value(r->pool, &APR_ARRAY_IDX(t->cols, t->key, be_column_t),
                         q->id, &q->key)) {
        return be_problem(r, HTTP_NOT_FOUND,
                          apr_psprintf(r->pool, "%s has no row with key '%s'",
                                       q->res->name, q->id),
                          NULL);
    }
    q->where.key = q->id && t->key >= 0 ? &q->key : NULL;
    if (q->plan->owner && (rc = bind_owner(q)) != OK) {
        return rc;
    }
    return bind_rules(q);
}

/* Step 3: the operation that answers the method. */
/* A read's caching: Cache-Control as the site says (private by default
 * for an authenticated user's answers), and Vary on what changes them. */
static void cache_headers(be_req_t *q)
{
    request_rec *r = q->r;
    const char *cc =
        q->res->cache_control ? q->res->cache_control : q->dc->cache_control;

    if (!cc && r->user) {
        cc = "private";
    }
    if (cc && strcmp(cc, "none") != 0) {
        apr_table_setn(r->headers_out, "Cache-Control", cc);
    }
    apr_table_mergen(r->headers_out, "Vary", "Accept, Prefer, Authorization");
}

static int dispatch(be_req_t *q)
{
    if (q->r->method_number == M_GET) {
        cache_headers(q);
    }
    if (q->res->fn) {
        return be_op_call(q);
    }
    switch (q->r->method_number) {
    case M_GET:
        return be_op_read(q);
    case M_POST:
        return be_op_insert(q, q->doc);
    case M_PUT:
        return be_op_update(q,
                            APR_ARRAY_IDX(q->doc->objects, 0, be_jobject_t *),
                            BE_WRITE_REPLACE);
    case M_PATCH:
        return be_op_update(q,
                            APR_ARRAY_IDX(q->doc->objects, 0, be_jobject_t *),
                            BE_WRITE_UPDATE);
    default:
        return be_op_delete(q);
    }
}

/* Parse, bind, dispatch: each step either hands the request on (OK) or
 * has answered it. */
static int serve(request_rec *r)
{
    be_req_t q;
    int rc;

    memset(&q, 0, sizeof(q));
    q.r = r;
    /* BackendResponseCache: an answer kept since the database's last
     * commit needs no parsing, connection or SQL */
    if (be_dconf(r)->response_cache == 1 && be_rctx(r)->res
        && (rc = be_rcache_serve(r, be_rctx(r)->res, &q.rcache)) != OK) {
        return rc;
    }
    if ((rc = parse_request(&q)) != OK || (rc = bind_request(&q)) != OK) {
        return rc;
    }
    if ((q.dc->db_identity == 1 || q.dc->db_role || q.dc->db_role_claim)
        && q.conn->ex->dialect == BE_DIALECT_PGSQL) {
        /* RLS: every statement in a transaction that knows the user */
        if ((rc = be_db_identity(&q)) != OK) {
            return rc;
        }
        return be_db_identity_end(&q, dispatch(&q));
    }
    rc = dispatch(&q);
    if (q.conn && q.conn->in_tx) {
        /* a path that left its transaction open: undone here, in the
         * thread that holds the writers' turn (the request pool's cleanup
         * may run in another thread, after the answer is sent) */
        be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
        q.conn->ex->tx(q.conn, r->pool, BE_TX_ROLLBACK, &err);
    }
    return rc;
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
