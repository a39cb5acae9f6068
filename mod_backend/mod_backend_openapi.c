/*
 * mod_backend_openapi.c - LOCATION/openapi.json, and LOCATION/ asked for
 * with Accept: application/openapi+json (PostgREST's convention): an
 * OpenAPI 3.1 document of exactly what the location serves.  Resources
 * with the methods their tables take, item paths, PostgREST's query
 * parameters; schemas from the database's columns (types, formats,
 * nullability, varchar lengths, keys) and from the directives
 * (BackendValidate, BackendReadOnly, BackendSet, hidden columns absent);
 * functions and routes with their typed arguments; every error as
 * problem+json; the location's token scheme.  Built on a child's first
 * request for it (the schema does not change without a graceful
 * restart), kept for the child's life, served with an ETag.
 *
 * The tree is built with json-c, as be_json.c reads bodies with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <util_cfgtree.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include <json-c/json.h>

#include "mod_backend_private.h"

typedef json_object J;

static J *str(const char *s)
{
    return json_object_new_string(s);
}

static void put(J *o, const char *k, J *v)
{
    json_object_object_add(o, k, v);
}

static J *obj(void)
{
    return json_object_new_object();
}

static J *ref(const char *name)
{
    J *o = obj();
    char buf[300];

    snprintf(buf, sizeof(buf), "#/components/schemas/%s", name);
    put(o, "$ref", str(buf));
    return o;
}

/* {"type": T} or {"type": [T, "null"]} */
static void typed(J *s, const char *t, int nullable)
{
    if (nullable) {
        J *a = json_object_new_array();
        json_object_array_add(a, str(t));
        json_object_array_add(a, str("null"));
        put(s, "type", a);
    }
    else {
        put(s, "type", str(t));
    }
}

static int decl_has(const char *decl, const char *word)
{
    return decl && ap_strcasestr(decl, word) != NULL;
}

/* BackendValidate rules of a field, as JSON Schema keywords. */
static void rules_to(J *s, const be_rules_t *rs, int is_string)
{
    static const char *const formats[] = {"email", "uri", "uuid", "date",
                                          "date-time"};
    int i, j;

    for (i = 0; rs && i < rs->rules->nelts; i++) {
        const be_rule_t *r = &APR_ARRAY_IDX(rs->rules, i, be_rule_t);
        switch (r->kind) {
        case BE_R_LENGTH:
            if (r->has_min) {
                put(s, is_string ? "minLength" : "minItems",
                    json_object_new_int64((int64_t)r->min));
            }
            if (r->has_max) {
                put(s, is_string ? "maxLength" : "maxItems",
                    json_object_new_int64((int64_t)r->max));
            }
            break;
        case BE_R_RANGE:
            if (r->has_min) {
                put(s, "minimum", json_object_new_double(r->min));
            }
            if (r->has_max) {
                put(s, "maximum", json_object_new_double(r->max));
            }
            break;
        case BE_R_PATTERN:
            put(s, "pattern", str(r->text));
            break;
        case BE_R_FORMAT:
            put(s, "format", str(formats[r->format]));
            break;
        case BE_R_ENUM: {
            J *a = json_object_new_array();
            for (j = 0; j < r->values->nelts; j++) {
                json_object_array_add(
                    a, str(APR_ARRAY_IDX(r->values, j, const char *)));
            }
            put(s, "enum", a);
            break;
        }
        default:
            break;
        }
    }
}

static const be_rules_t *rules_of_field(const apr_array_header_t *validate,
                                        const char *field)
{
    int i;

    for (i = 0; validate && i < validate->nelts; i++) {
        const be_rules_t *rs = &APR_ARRAY_IDX(validate, i, be_rules_t);
        if (!strcmp(rs->field, field)) {
            return rs;
        }
    }
    return NULL;
}

static int field_required(const be_rules_t *rs)
{
    int i;

    for (i = 0; rs && i < rs->rules->nelts; i++) {
        if (APR_ARRAY_IDX(rs->rules, i, be_rule_t).kind == BE_R_REQUIRED) {
            return 1;
        }
    }
    return 0;
}

/* A default the schema spells as a literal (a number, a quoted string,
 * TRUE/FALSE; PostgreSQL's with a cast, 'x'::text); expressions
 * (CURRENT_TIMESTAMP, nextval(...)) are left out. */
static void default_of(J *s, const be_column_t *c)
{
    const char *d = c->dflt_sql, *cast;
    char *end;
    double v;
    size_t n;

    if (!d || !*d) {
        return;
    }
    n = strlen(d);
    if (d[0] == '\'' && (cast = strstr(d, "'::")) != NULL && cast > d) {
        n = (size_t)(cast - d) + 1; /* the literal before its cast */
    }
    if (c->type == BE_T_BOOL && (!strcasecmp(d, "true") || !strcmp(d, "1"))) {
        put(s, "default", json_object_new_boolean(1));
    }
    else if (c->type == BE_T_BOOL
             && (!strcasecmp(d, "false") || !strcmp(d, "0"))) {
        put(s, "default", json_object_new_boolean(0));
    }
    else if ((c->type == BE_T_INT || c->type == BE_T_REAL)
             && (v = strtod(d, &end), !*end)) {
        put(s, "default",
            c->type == BE_T_INT ? json_object_new_int64((int64_t)v)
                                : json_object_new_double(v));
    }
    else if (c->type == BE_T_TEXT && n >= 2 && d[0] == '\'' && d[n - 1] == '\''
             && !memchr(d + 1, '\'', n - 2)) {
        put(s, "default", json_object_new_string_len(d + 1, (int)n - 2));
    }
}

/* A column's schema: its JSON type as mod_backend renders it. */
static J *column_schema(const be_column_t *c, const be_rules_t *rs)
{
    J *s = obj();
    int nullable = !c->notnull && !c->pk;

    switch (c->type) {
    case BE_T_INT:
        typed(s, "integer", nullable);
        if (c->int_min > INT64_MIN) {
            put(s, "minimum", json_object_new_int64(c->int_min));
            put(s, "maximum", json_object_new_int64(c->int_max));
        }
        break;
    case BE_T_REAL:
        typed(s, "number", nullable);
        break;
    case BE_T_NUMERIC:
        if (decl_has(c->decl, "date") || decl_has(c->decl, "time")) {
            /* (SQLite's affinity: the text as stored) */
            typed(s, "string", nullable);
        }
        else {
            typed(s, "number", nullable);
        }
        break;
    case BE_T_BOOL:
        typed(s, "boolean", nullable);
        break;
    case BE_T_JSON:
        break; /* any JSON value */
    default:
        typed(s, "string", nullable);
        if (c->max_len >= 0) {
            put(s, "maxLength", json_object_new_int(c->max_len));
        }
        if (decl_has(c->decl, "uuid")) {
            put(s, "format", str("uuid"));
        }
        else if (decl_has(c->decl, "timestamp")) {
            put(s, "format", str("date-time"));
        }
        else if (decl_has(c->decl, "date")) {
            put(s, "format", str("date"));
        }
        break;
    }
    if (c->readonly || c->synthetic) {
        put(s, "readOnly", json_object_new_boolean(1));
    }
    default_of(s, c);
    rules_to(s, rs, c->type == BE_T_TEXT);
    return s;
}

/* NAME (a row as it is read) and NAME.input (a body's object). */
static void row_schemas(apr_pool_t *p, J *schemas, const be_resource_t *res,
                        const be_table_t *t)
{
    J *row = obj(), *in = obj(), *props = obj(), *iprops = obj();
    J *req = json_object_new_array(), *ireq = json_object_new_array();
    int i;

    for (i = 0; i < t->cols->nelts; i++) {
        const be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        const be_rules_t *rs = rules_of_field(res->validate, c->name);
        if (c->hidden) {
            continue;
        }
        put(props, c->name, column_schema(c, rs));
        json_object_array_add(req, str(c->name));
        if (c->readonly || c->synthetic) {
            continue;
        }
        {
            /* (a default in a body's schema would make generators require
             * the member: openapi-typescript does) */
            J *member = column_schema(c, rs);
            json_object_object_del(member, "default");
            put(iprops, c->name, member);
        }
        if ((c->notnull && !c->has_default && !c->set_on_insert)
            || field_required(rs)) {
            json_object_array_add(ireq, str(c->name));
        }
    }
    put(row, "type", str("object"));
    put(row, "properties", props);
    put(row, "required", req);
    put(in, "type", str("object"));
    put(in, "properties", iprops);
    if (json_object_array_length(ireq)) {
        put(in, "required", ireq);
    }
    else {
        json_object_put(ireq);
    }
    put(in, "additionalProperties", json_object_new_boolean(0));
    put(schemas, res->name, row);
    put(schemas, apr_pstrcat(p, res->name, ".input", NULL), in);
}

static J *param(const char *name, const char *in, J *schema,
                const char *description, int required)
{
    J *p = obj();

    put(p, "name", str(name));
    put(p, "in", str(in));
    if (required) {
        put(p, "required", json_object_new_boolean(1));
    }
    if (description) {
        put(p, "description", str(description));
    }
    put(p, "schema", schema ? schema : obj());
    return p;
}

static J *string_schema(void)
{
    J *s = obj();

    put(s, "type", str("string"));
    return s;
}

static J *int_schema(int min)
{
    J *s = obj();

    put(s, "type", str("integer"));
    put(s, "minimum", json_object_new_int(min));
    return s;
}

static J *ref_param(const char *name)
{
    J *o = obj();
    char buf[200];

    snprintf(buf, sizeof(buf), "#/components/parameters/%s", name);
    put(o, "$ref", str(buf));
    return o;
}

/* The parameters every read of a collection takes, and a filter per
 * readable column. */
static J *read_params(const be_table_t *t, int filters_only)
{
    J *a = json_object_new_array();
    int i;

    if (!filters_only) {
        static const char *const common[] = {"select", "order", "limit",
                                             "offset", "Range", "Prefer"};
        for (i = 0; i < 6; i++) {
            json_object_array_add(a, ref_param(common[i]));
        }
    }
    for (i = 0; i < t->cols->nelts; i++) {
        const be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        if (!c->hidden) {
            json_object_array_add(
                a,
                param(c->name, "query", string_schema(),
                      "a filter: OPERATOR.VALUE (eq, neq, gt, gte, lt, "
                      "lte, like, ilike, in, is, not.OPERATOR)",
                      0));
        }
    }
    return a;
}

static J *content(const char *type, J *schema)
{
    J *c = obj(), *m = obj();

    put(m, "schema", schema);
    put(c, type, m);
    return c;
}

static J *array_of(J *items)
{
    J *s = obj();

    put(s, "type", str("array"));
    put(s, "items", items);
    return s;
}

static J *response(const char *description, J *schema)
{
    J *r = obj();

    put(r, "description", str(description));
    if (schema) {
        put(r, "content", content("application/json", schema));
    }
    return r;
}

/* Responses: the success ones, then every error as problem+json. */
static J *responses(J *ok)
{
    /* (docs/errors.md has which status means what) */
    static const char *const codes[] = {"4XX", "5XX"};
    size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        J *d = obj();
        put(d, "$ref", str("#/components/responses/Problem"));
        put(ok, codes[i], d);
    }
    return ok;
}

static J *op(const char *summary, const char *tag)
{
    J *o = obj(), *tags = json_object_new_array();

    put(o, "summary", str(summary));
    json_object_array_add(tags, str(tag));
    put(o, "tags", tags);
    return o;
}

static J *body(J *schema, int required)
{
    J *b = obj();

    put(b, "required", json_object_new_boolean(required));
    put(b, "content", content("application/json", schema));
    return b;
}

/* An operation of a resource: its parameters (or NULL), its body's
 * schema (or NULL), one or two success responses, then problems. */
static J *operation(const char *tag, const char *summary, J *params, J *in,
                    const char *code, J *ok, const char *code2, J *ok2)
{
    J *o = op(summary, tag), *r = obj();

    if (params) {
        put(o, "parameters", params);
    }
    if (in) {
        put(o, "requestBody", body(in, 1));
    }
    put(r, code, ok);
    if (code2) {
        put(r, code2, ok2);
    }
    put(o, "responses", responses(r));
    return o;
}

static void resource_paths(apr_pool_t *p, J *paths, J *schemas,
                           const be_resource_t *res, const be_table_t *t)
{
    J *coll = obj(), *prefer;
    const char *name = res->name;
    const char *input = apr_pstrcat(p, name, ".input", NULL);

    row_schemas(p, schemas, res, t);
    put(coll, "get",
        operation(name, apr_psprintf(p, "Rows of %s", name), read_params(t, 0),
                  NULL, "200", response("the rows", array_of(ref(name))),
                  "206", response("a page of the rows", array_of(ref(name)))));
    if (t->writes & BE_W_INSERT) {
        J *one_or_many = obj(), *choices = json_object_new_array();
        json_object_array_add(choices, ref(input));
        json_object_array_add(choices, array_of(ref(input)));
        put(one_or_many, "oneOf", choices);
        prefer = json_object_new_array();
        json_object_array_add(prefer, ref_param("Prefer"));
        put(coll, "post",
            operation(name,
                      apr_psprintf(p,
                                   "Insert into %s (an object or an array; "
                                   "upsert with Prefer: resolution=...)",
                                   name),
                      prefer, one_or_many, "201",
                      response("the rows stored", array_of(ref(name))), NULL,
                      NULL));
    }
    if (t->writes & BE_W_UPDATE) {
        put(coll, "patch",
            operation(name,
                      apr_psprintf(p, "Change the rows of %s the filters name",
                                   name),
                      read_params(t, 1), ref(input), "200",
                      response("the rows changed", array_of(ref(name))), "204",
                      response("changed", NULL)));
    }
    if (t->writes & BE_W_DELETE) {
        put(coll, "delete",
            operation(name,
                      apr_psprintf(p, "Delete the rows of %s the filters name",
                                   name),
                      read_params(t, 1), NULL, "200",
                      response("the rows deleted", array_of(ref(name))), "204",
                      response("deleted", NULL)));
    }
    put(paths, apr_pstrcat(p, "/", name, NULL), coll);

    if (t->items) {
        J *item = obj(), *params = json_object_new_array(), *ks;
        if (t->key >= 0) {
            /* (a key is never null) */
            ks = column_schema(&APR_ARRAY_IDX(t->cols, t->key, be_column_t),
                               NULL);
            json_object_object_del(ks, "readOnly");
        }
        else {
            ks = string_schema();
        }
        json_object_array_add(params,
                              param("key", "path", ks,
                                    t->key >= 0
                                        ? "the row's key"
                                        : "the key's columns, comma-separated",
                                    1));
        put(item, "parameters", params);
        put(item, "get",
            operation(name, apr_psprintf(p, "One row of %s", name), NULL, NULL,
                      "200", response("the row (ETag: its tag)", ref(name)),
                      "304", response("not modified (If-None-Match)", NULL)));
        if ((t->writes & BE_W_UPDATE) && t->key >= 0) {
            put(item, "put",
                operation(
                    name,
                    apr_psprintf(p, "Replace a row of %s (If-Match)", name),
                    NULL, ref(input), "200",
                    response("the row stored", ref(name)), NULL, NULL));
        }
        if (t->writes & BE_W_UPDATE) {
            put(item, "patch",
                operation(
                    name,
                    apr_psprintf(p, "Change a row of %s (If-Match)", name),
                    NULL, ref(input), "200",
                    response("the row stored", ref(name)), NULL, NULL));
        }
        if (t->writes & BE_W_DELETE) {
            put(item, "delete",
                operation(
                    name,
                    apr_psprintf(p, "Delete a row of %s (If-Match)", name),
                    NULL, NULL, "204", response("deleted", NULL), NULL, NULL));
        }
        put(paths, apr_pstrcat(p, "/", name, "/{key}", NULL), item);
    }
}

static J *arg_schema(const be_arg_t *a)
{
    static const char *const types[] = {"integer", "integer", "number",
                                        "string",  "boolean", NULL,
                                        "string",  "string",  "string"};
    static const char *const formats[] = {
        "int32", "int64", NULL, NULL, NULL, NULL, "date", "date-time", "uuid"};
    J *s = obj();

    if (a->type < sizeof(types) / sizeof(types[0]) && types[a->type]) {
        typed(s, types[a->type], a->optional);
        if (formats[a->type]) {
            put(s, "format", str(formats[a->type]));
        }
    }
    switch (a->dflt ? a->dval.kind : BE_V_NULL) {
    case BE_V_INT:
        put(s, "default", json_object_new_int64(a->dval.i));
        break;
    case BE_V_BOOL:
        put(s, "default", json_object_new_boolean((json_bool)a->dval.i));
        break;
    case BE_V_REAL:
        put(s, "default", json_object_new_double(a->dval.d));
        break;
    case BE_V_TEXT:
        put(s, "default", str(a->dval.s));
        break;
    default:
        break;
    }
    return s;
}

/* A function's or route's arguments: a body object, or query/path
 * parameters. */
static J *args_body(const be_function_t *fn)
{
    J *s = obj(), *props = obj(), *req = json_object_new_array();
    int i;

    for (i = 0; i < fn->args->nelts; i++) {
        const be_arg_t *a = &APR_ARRAY_IDX(fn->args, i, be_arg_t);
        if (a->in_path) {
            continue;
        }
        put(props, a->name, arg_schema(a));
        if (!a->optional && !a->dflt) {
            json_object_array_add(req, str(a->name));
        }
    }
    put(s, "type", str("object"));
    put(s, "properties", props);
    if (json_object_array_length(req)) {
        put(s, "required", req);
    }
    else {
        json_object_put(req);
    }
    if (!fn->pg) {
        put(s, "additionalProperties", json_object_new_boolean(0));
    }
    return s;
}

static J *fn_responses(const be_function_t *fn, int status)
{
    J *r = obj(), *row = obj();
    char code[8];

    put(row, "type", str("object"));
    snprintf(code, sizeof(code), "%d", status ? status : 200);
    switch (fn->returns) {
    case BE_RETURNS_NONE:
        put(r, "204", response("done", NULL));
        json_object_put(row);
        break;
    case BE_RETURNS_ONE:
        put(r, code, response("the row", row));
        break;
    default:
        put(r, code, response("the rows", array_of(row)));
        break;
    }
    return responses(r);
}

static void function_paths(apr_pool_t *p, J *paths, const be_resource_t *res,
                           const char *location)
{
    const be_function_t *fn = res->fn;
    J *item = obj(), *o;
    int i;

    if (res->route) {
        /* METHOD /path/{name:type}: the path without the types */
        const be_route_t *rt = res->route;
        const char *path = "";
        J *params = json_object_new_array();
        int n = 0;
        for (i = 0; i < rt->segments->nelts; i++) {
            const char *seg = APR_ARRAY_IDX(rt->segments, i, const char *);
            if (seg) {
                path = apr_pstrcat(p, path, "/", seg, NULL);
                continue;
            }
            for (; n < fn->args->nelts
                 && !APR_ARRAY_IDX(fn->args, n, be_arg_t).in_path;
                 n++) {
            }
            if (n < fn->args->nelts) {
                const be_arg_t *a = &APR_ARRAY_IDX(fn->args, n++, be_arg_t);
                J *s = arg_schema(a);
                path = apr_pstrcat(p, path, "/{", a->name, "}", NULL);
                json_object_array_add(params,
                                      param(a->name, "path", s, NULL, 1));
            }
        }
        if (!strncmp(path, location, strlen(location))) {
            path += strlen(location); /* (the servers' url) */
        }
        if (json_object_object_get_ex(paths, path, &item)) {
            json_object_get(item);
        }
        else {
            item = obj();
        }
        o = op(res->name, "routes");
        if (rt->method == M_GET) {
            for (i = 0; i < fn->args->nelts; i++) {
                const be_arg_t *a = &APR_ARRAY_IDX(fn->args, i, be_arg_t);
                if (!a->in_path) {
                    json_object_array_add(params,
                                          param(a->name, "query",
                                                arg_schema(a), NULL,
                                                !a->optional && !a->dflt));
                }
            }
        }
        else {
            put(o, "requestBody", body(args_body(fn), 0));
        }
        put(o, "parameters", params);
        put(o, "responses", fn_responses(fn, rt->status));
        {
            /* OpenAPI names methods in lower case */
            char *m = apr_pstrdup(p, rt->method_name);
            ap_str_tolower(m);
            put(item, m, o);
        }
        put(paths, path, item);
        return;
    }
    o = op(apr_psprintf(p, "Call %s", res->name), "functions");
    put(o, "requestBody", body(args_body(fn), fn->args->nelts > 0));
    put(o, "responses", fn_responses(fn, 0));
    put(item, "post", o);
    if (fn->reads) {
        J *params = json_object_new_array();
        o = op(apr_psprintf(p, "Call %s (it only reads)", res->name),
               "functions");
        for (i = 0; i < fn->args->nelts; i++) {
            const be_arg_t *a = &APR_ARRAY_IDX(fn->args, i, be_arg_t);
            json_object_array_add(params,
                                  param(a->name, "query", arg_schema(a), NULL,
                                        !a->optional && !a->dflt));
        }
        put(o, "parameters", params);
        put(o, "responses", fn_responses(fn, 0));
        put(item, "get", o);
    }
    put(paths, apr_pstrcat(p, "/rpc/", res->name, NULL), item);
}

static void components(J *doc, J *schemas, const be_dir_conf_t *dc,
                       const char *auth_type, int token_endpoint)
{
    J *comp = obj(), *problem = obj(), *props = obj(), *errs = obj();
    J *eitem = obj(), *eprops = obj(), *params = obj(), *resp = obj();
    J *pr = obj();
    int i;
    static const char *const fields[] = {"type", "title", "detail"};

    for (i = 0; i < 3; i++) {
        put(props, fields[i], string_schema());
    }
    put(props, "status", int_schema(100));
    put(eprops, "field", string_schema());
    put(eprops, "message", string_schema());
    put(eitem, "type", str("object"));
    put(eitem, "properties", eprops);
    put(errs, "type", str("array"));
    put(errs, "items", eitem);
    put(props, "errors", errs);
    put(problem, "type", str("object"));
    put(problem, "properties", props);
    {
        J *req = json_object_new_array();
        json_object_array_add(req, str("status"));
        json_object_array_add(req, str("title"));
        put(problem, "required", req);
    }
    put(schemas, "Problem", problem);
    put(comp, "schemas", schemas);

    put(params, "select",
        param("select", "query", string_schema(),
              "columns and embedded resources: id,name,author:users(name)",
              0));
    put(params, "order",
        param("order", "query", string_schema(),
              "COLUMN[.asc|.desc][.nullsfirst|.nullslast],...", 0));
    put(params, "limit", param("limit", "query", int_schema(0), NULL, 0));
    put(params, "offset", param("offset", "query", int_schema(0), NULL, 0));
    put(params, "Range",
        param("Range", "header", string_schema(), "FROM-TO, of the rows", 0));
    put(params, "Prefer",
        param("Prefer", "header", string_schema(),
              "count=exact, return=minimal|headers-only|representation, "
              "resolution=merge-duplicates|ignore-duplicates, "
              "missing=default",
              0));
    put(comp, "parameters", params);

    put(pr, "description", str("a problem (RFC 9457)"));
    put(pr, "content", content("application/problem+json", ref("Problem")));
    put(resp, "Problem", pr);
    put(comp, "responses", resp);

    /* the location's schemes: a token (BackendTokenKey, AuthType
     * Bearer) and Basic; a request may also come without either where
     * the location lets it */
    if (dc->keys || (auth_type && !strcasecmp(auth_type, "Basic"))) {
        J *schemes = obj(), *sec = json_object_new_array(), *none = obj();
        if (dc->keys) {
            J *bearer = obj(), *req = obj();
            put(bearer, "type", str("http"));
            put(bearer, "scheme", str("bearer"));
            put(bearer, "bearerFormat", str("JWT"));
            put(schemes, "bearer", bearer);
            put(req, "bearer", json_object_new_array());
            json_object_array_add(sec, req);
        }
        if (token_endpoint
            && !(auth_type && !strcasecmp(auth_type, "Basic"))) {
            /* the token endpoint's (not a scheme of this location's) */
            J *basic = obj();
            put(basic, "type", str("http"));
            put(basic, "scheme", str("basic"));
            put(schemes, "basic", basic);
        }
        if (auth_type && !strcasecmp(auth_type, "Basic")) {
            J *basic = obj(), *req = obj();
            put(basic, "type", str("http"));
            put(basic, "scheme", str("basic"));
            put(schemes, "basic", basic);
            put(req, "basic", json_object_new_array());
            json_object_array_add(sec, req);
        }
        put(comp, "securitySchemes", schemes);
        json_object_array_add(sec, none);
        put(doc, "security", sec);
    }
    put(doc, "components", comp);
}

/* A directive's argument without quotes and a section's closing '>'. */
static const char *bare(apr_pool_t *p, const char *args)
{
    char *s = apr_pstrdup(p, args ? args : ""), *e;

    apr_collapse_spaces(s, s);
    e = s + strlen(s);
    while (e > s && (e[-1] == '>' || e[-1] == '"' || e[-1] == '\'')) {
        *--e = '\0';
    }
    while (*s == '"' || *s == '\'') {
        s++;
    }
    return s;
}

/* Where backend-token issues tokens for this server: the <Location>s, at
 * the top level or in the request's <VirtualHost>, whose SetHandler is
 * backend-token (read from httpd's configuration tree, as mod_info
 * does). */
static void token_paths(request_rec *r, const ap_directive_t *d,
                        apr_array_header_t *out)
{
    for (; d; d = d->next) {
        const ap_directive_t *c;
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            if (r->server->is_virtual && r->server->defn_name && d->filename
                && !strcmp(d->filename, r->server->defn_name)
                && d->line_num == (int)r->server->defn_line_number) {
                token_paths(r, d->first_child, out);
            }
            continue;
        }
        if (strcasecmp(d->directive, "<Location")) {
            continue;
        }
        for (c = d->first_child; c; c = c->next) {
            const char *path = bare(r->pool, d->args);
            if (!strcasecmp(c->directive, "SetHandler")
                && !strcasecmp(bare(r->pool, c->args), "backend-token")
                && *path == '/') {
                APR_ARRAY_PUSH(out, const char *) = path;
            }
        }
    }
}

/* POST PATH of backend-token: a token for a JSON login or Basic. */
static void token_path(request_rec *r, J *paths, const char *path)
{
    J *item = obj(), *o = op("Get a token: a JSON login, or Basic", "token");
    J *servers = json_object_new_array(), *server = obj();
    J *in = obj(), *props = obj(), *out = obj(), *oprops = obj(), *r200;
    J *sec = json_object_new_array(), *basic = obj(), *none = obj();

    /* outside the location: the root of the host that served the
     * document (relative, so a balancer in front needs no rewriting) */
    put(server, "url", str("/"));
    json_object_array_add(servers, server);
    put(item, "servers", servers);
    put(props, "username", string_schema());
    put(props, "password", string_schema());
    put(in, "type", str("object"));
    put(in, "properties", props);
    put(o, "requestBody", body(in, 0));
    put(oprops, "access_token", string_schema());
    put(oprops, "token_type", string_schema());
    put(oprops, "expires_in", int_schema(0));
    put(out, "type", str("object"));
    put(out, "properties", oprops);
    r200 = obj();
    put(r200, "200",
        response("a signed token: Authorization: Bearer TOKEN", out));
    put(o, "responses", responses(r200));
    put(basic, "basic", json_object_new_array());
    json_object_array_add(sec, basic);
    json_object_array_add(sec, none);
    put(o, "security", sec);
    put(item, "post", o);
    put(paths, path, item);
}

static int by_name(const void *a, const void *b)
{
    const be_resource_t *x = *(const be_resource_t *const *)a;
    const be_resource_t *y = *(const be_resource_t *const *)b;

    return strcmp(x->name, y->name);
}

/* The document's text, or NULL with the answer sent. */
static const char *build(be_req_t *q, const char *location)
{
    request_rec *r = q->r;
    apr_pool_t *p = r->pool;
    J *doc = obj(), *info = obj(), *paths = obj(), *schemas = obj();
    J *servers = json_object_new_array(), *server = obj();
    apr_array_header_t *list = apr_array_make(p, 16, sizeof(be_resource_t *));
    apr_array_header_t *tokens;
    apr_hash_index_t *hi;
    const char *text;
    int i, rc;

    for (hi = apr_hash_first(p, q->dc->resources); hi;
         hi = apr_hash_next(hi)) {
        APR_ARRAY_PUSH(list, be_resource_t *) = apr_hash_this_val(hi);
    }
    for (i = 0; q->dc->routes && i < q->dc->routes->nelts; i++) {
        APR_ARRAY_PUSH(list, be_resource_t *) =
            APR_ARRAY_IDX(q->dc->routes, i, be_resource_t *);
    }
    qsort(list->elts, (size_t)list->nelts, sizeof(be_resource_t *), by_name);

    put(doc, "openapi", str("3.1.0"));
    put(info, "title", str(apr_psprintf(p, "%s (mod_backend)", location)));
    put(info, "version", str("1"));
    put(doc, "info", info);
    put(server, "url", str(location));
    json_object_array_add(servers, server);
    put(doc, "servers", servers);
    for (i = 0; i < list->nelts; i++) {
        be_resource_t *res = APR_ARRAY_IDX(list, i, be_resource_t *);
        const be_plan_t *pl;
        be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
        if (res->fn) {
            function_paths(p, paths, res, location);
            continue;
        }
        if (!q->conn && !(q->conn = be_db_acquire(r, res))) {
            json_object_put(doc);
            json_object_put(paths);
            json_object_put(schemas);
            be_problem(r, HTTP_SERVICE_UNAVAILABLE, BE_DETAIL_UNAVAILABLE,
                       NULL);
            return NULL;
        }
        if (!(pl = be_db_plan(r, res, q->conn, &err))) {
            json_object_put(doc);
            json_object_put(paths);
            json_object_put(schemas);
            q->res = res;
            rc = be_db_problem(q, &err, 0);
            (void)rc;
            return NULL;
        }
        resource_paths(p, paths, schemas, res, pl->table);
    }
    tokens = apr_array_make(p, 1, sizeof(const char *));
    if (q->dc->keys) {
        token_paths(r, ap_conftree, tokens);
    }
    for (i = 0; i < tokens->nelts; i++) {
        token_path(r, paths, APR_ARRAY_IDX(tokens, i, const char *));
    }
    put(doc, "paths", paths);
    components(doc, schemas, q->dc, ap_auth_type(r), tokens->nelts > 0);
    text = apr_pstrdup(
        p,
        json_object_to_json_string_ext(
            doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
    return text;
}

/* The document of a location, once per child: the first request builds
 * it, later ones take it (be_keep). */
static int wants_document(request_rec *r, const char *location)
{
    apr_size_t n = strlen(location);
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (strncmp(r->uri, location, n) != 0) {
        return 0;
    }
    if (!strcmp(r->uri + n, "/openapi.json")) {
        return 1;
    }
    return (!r->uri[n] || !strcmp(r->uri + n, "/")) && accept
        && ap_strcasestr(accept, "application/openapi+json");
}

int be_openapi(be_req_t *q)
{
    request_rec *r = q->r;
    be_openapi_t *d = q->dc->openapi;
    const be_kept_t *k;
    const char *text;

    if (!d || !wants_document(r, d->location)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return be_not_allowed(r, "GET, HEAD");
    }
    if (!(k = apr_atomic_casptr(&d->built, NULL, NULL))) {
        if (!(text = build(q, d->location))) {
            return DONE;
        }
        if (!(k = be_keep(r, &d->built, text, strlen(text)))) {
            return be_problem(r, HTTP_INTERNAL_SERVER_ERROR, "out of memory",
                              NULL);
        }
    }
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    return be_send_kept(r, k, "application/openapi+json");
}
