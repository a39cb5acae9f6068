/*
 * be_json.c - request bodies in, through json-c.  This is the only file
 * that includes json-c: a body is parsed, converted at once into pool
 * memory (be_jdoc_t), and the json-c tree is released before returning,
 * so no caller ever holds a reference count.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "be_core.h"
#include "be_jwt.h"

static void field_from(apr_pool_t *p, be_jfield_t *f, json_object *v)
{
    const char *txt;

    switch (json_object_get_type(v)) {
    case json_type_null:
        f->kind = BE_J_NULL;
        break;
    case json_type_boolean:
        f->kind = BE_J_BOOL;
        f->i = json_object_get_boolean(v) ? 1 : 0;
        f->s = f->i ? "true" : "false";
        f->len = strlen(f->s);
        break;
    case json_type_int:
        /* json-c keeps integers past INT64_MAX as uint64: those are not
         * integers any column can hold, so they travel as a number */
        if (json_object_get_int64(v) == INT64_MAX
            && json_object_get_uint64(v) > (uint64_t)INT64_MAX) {
            f->kind = BE_J_REAL;
            f->d = (double)json_object_get_uint64(v);
        }
        else {
            f->kind = BE_J_INT;
            f->i = json_object_get_int64(v);
        }
        txt = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        f->s = apr_pstrdup(p, txt);
        f->len = strlen(f->s);
        break;
    case json_type_double:
        f->kind = BE_J_REAL;
        f->d = json_object_get_double(v);
        txt = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        f->s = apr_pstrdup(p, txt);
        f->len = strlen(f->s);
        break;
    case json_type_string:
        f->kind = BE_J_STRING;
        f->len = (apr_size_t)json_object_get_string_len(v);
        f->s = apr_pstrmemdup(p, json_object_get_string(v), f->len);
        break;
    default:
        f->kind = BE_J_NESTED;
        txt = json_object_to_json_string_ext(
            v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        f->s = apr_pstrdup(p, txt);
        f->len = strlen(f->s);
        break;
    }
}

static be_jobject_t *object_from(apr_pool_t *p, json_object *o)
{
    be_jobject_t *jo = apr_palloc(p, sizeof(*jo));

    jo->fields = apr_array_make(p, json_object_object_length(o) + 1,
                                sizeof(be_jfield_t));
    json_object_object_foreach(o, key, val) {
        be_jfield_t *f = apr_array_push(jo->fields);
        memset(f, 0, sizeof(*f));
        f->key = apr_pstrdup(p, key);
        field_from(p, f, val);
    }
    return jo;
}

/* json-c's strict mode still takes 'single-quoted' strings; JSON does not.
 * A quote outside a double-quoted string is the only way to write one. */
static int has_single_quote(const char *text, apr_size_t len)
{
    apr_size_t i;
    int in_str = 0;

    for (i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\') {
                i++;
            }
            else if (c == '"') {
                in_str = 0;
            }
        }
        else if (c == '"') {
            in_str = 1;
        }
        else if (c == '\'') {
            return 1;
        }
    }
    return 0;
}

/* Parses one JSON value, strictly.  A JSON null gives NULL with
 * json_tokener_success. */
static json_object *parse_strict(const char *text, apr_size_t len,
                                 int max_depth, enum json_tokener_error *jerr)
{
    json_tokener *tok;
    json_object *root;
    apr_size_t i;

    if (has_single_quote(text, len)) {
        *jerr = json_tokener_error_parse_unexpected;
        return NULL;
    }
    if (!(tok = json_tokener_new_ex(max_depth))) {
        *jerr = json_tokener_error_size;
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, text, (int)len);
    *jerr = json_tokener_get_error(tok);
    if (*jerr == json_tokener_continue && len > 0) {
        /* a number or literal at the very end waits for more input:
         * a NUL says there is none, and everything was consumed */
        root = json_tokener_parse_ex(tok, "", 1);
        *jerr = json_tokener_get_error(tok);
    }
    else if (*jerr == json_tokener_success) {
        /* only whitespace may follow the value */
        for (i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (!strchr(" \t\r\n", text[i])) {
                json_object_put(root);
                root = NULL;
                *jerr = json_tokener_error_parse_unexpected;
                break;
            }
        }
    }
    if (*jerr != json_tokener_success && root) {
        json_object_put(root);
        root = NULL;
    }
    json_tokener_free(tok);
    return root;
}

be_json_rc_e be_json_parse_body(apr_pool_t *p, const char *text,
                                apr_size_t len, int max_depth,
                                int allow_array, be_jdoc_t **doc,
                                const char **err)
{
    enum json_tokener_error jerr;
    json_object *root;
    be_jdoc_t *d;
    be_json_rc_e rc = BE_JSON_OK;

    if (len > INT32_MAX) {
        *err = "the body is too large to parse";
        return BE_JSON_SYNTAX;
    }
    root = parse_strict(text, len, max_depth, &jerr);
    if (!root) {
        if (jerr == json_tokener_error_depth) {
            *err = apr_psprintf(p, "JSON nested deeper than %d levels",
                                max_depth);
            return BE_JSON_TOO_DEEP;
        }
        if (jerr == json_tokener_success) {
            /* a JSON null */
            *err = allow_array ? "the body must be a JSON object or an "
                                 "array of objects"
                               : "the body must be a JSON object";
            return BE_JSON_NOT_OBJECT;
        }
        if (jerr == json_tokener_continue) {
            *err = len == 0 ? "the body is empty"
                            : "the body ends inside a JSON value";
        }
        else {
            *err = apr_pstrcat(p, "the body is not valid JSON: ",
                               json_tokener_error_desc(jerr), NULL);
        }
        return BE_JSON_SYNTAX;
    }

    d = apr_pcalloc(p, sizeof(*d));
    d->objects = apr_array_make(p, 1, sizeof(be_jobject_t *));
    if (json_object_is_type(root, json_type_object)) {
        APR_ARRAY_PUSH(d->objects, be_jobject_t *) = object_from(p, root);
    }
    else if (allow_array && json_object_is_type(root, json_type_array)) {
        size_t i, n = json_object_array_length(root);
        d->is_array = 1;
        for (i = 0; i < n && rc == BE_JSON_OK; i++) {
            json_object *o = json_object_array_get_idx(root, i);
            if (!json_object_is_type(o, json_type_object)) {
                *err = apr_psprintf(p, "element %lu of the array is not a "
                                    "JSON object", (unsigned long)i);
                rc = BE_JSON_NOT_OBJECT;
            }
            else {
                APR_ARRAY_PUSH(d->objects, be_jobject_t *) = object_from(p, o);
            }
        }
    }
    else {
        *err = allow_array ? "the body must be a JSON object or an array of "
                             "objects"
                           : "the body must be a JSON object";
        rc = BE_JSON_NOT_OBJECT;
    }
    json_object_put(root);
    *doc = rc == BE_JSON_OK ? d : NULL;
    return rc;
}

int be_json_is_valid(const char *text, apr_size_t len)
{
    enum json_tokener_error jerr;
    json_object *root;

    if (len > INT32_MAX) {
        return 0;
    }
    root = parse_strict(text, len, 64, &jerr);
    if (!root) {
        return jerr == json_tokener_success; /* a JSON null */
    }
    json_object_put(root);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Token parts                                                             */

static void string_list(apr_pool_t *p, json_object *v,
                        apr_array_header_t *into)
{
    size_t i;

    if (json_object_is_type(v, json_type_string)) {
        APR_ARRAY_PUSH(into, const char *) = apr_pstrdup(
            p, json_object_get_string(v));
    }
    else if (json_object_is_type(v, json_type_array)) {
        for (i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (json_object_is_type(e, json_type_string)) {
                APR_ARRAY_PUSH(into, const char *) = apr_pstrdup(
                    p, json_object_get_string(e));
            }
        }
    }
}

be_claims_t *be_json_parse_claims(apr_pool_t *p, const char *text,
                                  apr_size_t len)
{
    enum json_tokener_error jerr;
    json_object *root = parse_strict(text, len, 16, &jerr);
    be_claims_t *c;

    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return NULL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->claims = apr_table_make(p, 8);
    c->roles = apr_array_make(p, 2, sizeof(const char *));
    c->aud = apr_array_make(p, 1, sizeof(const char *));
    json_object_object_foreach(root, key, val) {
        const char *s = json_object_is_type(val, json_type_string)
            ? json_object_get_string(val)
            : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
        apr_table_set(c->claims, key, s);
        if (!strcmp(key, "sub") && json_object_is_type(val, json_type_string)) {
            c->sub = apr_pstrdup(p, s);
        }
        else if (!strcmp(key, "iss")
                 && json_object_is_type(val, json_type_string)) {
            c->iss = apr_pstrdup(p, s);
        }
        else if (!strcmp(key, "aud")) {
            string_list(p, val, c->aud);
        }
        else if (!strcmp(key, "role") || !strcmp(key, "roles")) {
            string_list(p, val, c->roles);
        }
        else if ((!strcmp(key, "exp") || !strcmp(key, "nbf"))
                 && (json_object_is_type(val, json_type_int)
                     || json_object_is_type(val, json_type_double))) {
            if (key[0] == 'e') {
                c->exp = json_object_get_double(val);
                c->has_exp = 1;
            }
            else {
                c->nbf = json_object_get_double(val);
                c->has_nbf = 1;
            }
        }
    }
    json_object_put(root);
    return c;
}

int be_json_parse_jose(apr_pool_t *p, const char *text, apr_size_t len,
                       const char **alg, const char **kid)
{
    enum json_tokener_error jerr;
    json_object *root = parse_strict(text, len, 8, &jerr), *v;

    *alg = *kid = NULL;
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return 0;
    }
    if (json_object_object_get_ex(root, "alg", &v)
        && json_object_is_type(v, json_type_string)) {
        *alg = apr_pstrdup(p, json_object_get_string(v));
    }
    if (json_object_object_get_ex(root, "kid", &v)
        && json_object_is_type(v, json_type_string)) {
        *kid = apr_pstrdup(p, json_object_get_string(v));
    }
    json_object_put(root);
    return 1;
}
