/*
 * be_json.c - request bodies in, through json-c.  This is the only file
 * that includes json-c: a body is parsed, converted at once into pool
 * memory (be_jdoc_t), and the json-c tree is released before returning,
 * so no caller ever holds a reference count.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "be_core.h"
#include "be_jwt.h"

static int past_int64(const char *s, apr_size_t n);

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
        /* in the 64-bit range: parse_strict made the others doubles */
        f->kind = BE_J_INT;
        f->i = json_object_get_int64(v);
        txt = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        f->s = apr_pstrdup(p, txt);
        f->len = strlen(f->s);
        break;
    case json_type_double:
        /* not finite only when it overflows (1e400): NaN and Infinity
         * were refused before parsing; columns judge the range */
        f->kind = BE_J_REAL;
        f->d = json_object_get_double(v);
        txt = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        f->len = strlen(txt);
        if (f->len > 2 && !strcmp(txt + f->len - 2, ".0")
            && past_int64(txt, f->len - 2)) {
            f->wide = 1; /* the digits as written, without widen's ".0" */
            f->len -= 2;
        }
        f->s = apr_pstrmemdup(p, txt, f->len);
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
    json_object_object_foreach(o, key, val)
    {
        be_jfield_t *f = apr_array_push(jo->fields);
        memset(f, 0, sizeof(*f));
        f->key = apr_pstrdup(p, key);
        field_from(p, f, val);
    }
    return jo;
}

/* What json-c lets through although RFC 8259 refuses it, found before
 * json-c sees the text: bytes that are not UTF-8 (it takes overlong
 * forms, surrogates and code points past U+10FFFF), \u escapes of a lone
 * surrogate (it turns them into U+FFFD), a key holding \u0000 (its keys
 * are C strings: the key would end there), NaN and Infinity, and
 * 'single-quoted' strings.  Integer literals past the 64-bit range are
 * not refused here (they are JSON), but json-c would clamp them: their
 * ends are pushed on wide (when given) so that they can be read as
 * doubles. */
typedef struct {
    const char *why;          /* NULL: nothing found */
    apr_size_t at;            /* byte offset of what was found */
    apr_array_header_t *wide; /* apr_size_t ends of integer literals
                                 * past the 64-bit range, or NULL */
} scan_t;

static int hex4(const char *s, apr_size_t avail, unsigned int *cp)
{
    apr_size_t i;

    *cp = 0;
    if (avail < 4) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        char c = s[i];
        *cp <<= 4;
        if (c >= '0' && c <= '9') {
            *cp |= (unsigned int)(c - '0');
        }
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            *cp |= (unsigned int)((c | 0x20) - 'a' + 10);
        }
        else {
            return 0;
        }
    }
    return 1;
}

/* An integer literal (sign, then digits only) outside the 64-bit range. */
static int past_int64(const char *s, apr_size_t n)
{
    int neg = n > 0 && s[0] == '-';
    apr_size_t i;

    s += neg;
    n -= (apr_size_t)neg;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0; /* a fraction or an exponent: a double anyway */
        }
    }
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    return n > 19
        || (n == 19
            && memcmp(s, neg ? "9223372036854775808" : "9223372036854775807",
                      19)
                > 0);
}

static const char *scan_string(const char *t, apr_size_t len, apr_size_t *i)
{
    int nul = 0;
    unsigned int cp, lo;
    apr_size_t j;

    for (j = *i + 1; j < len; j++) {
        if (t[j] == '"') {
            break;
        }
        if (t[j] != '\\' || j + 1 >= len) {
            continue;
        }
        if (t[++j] != 'u' || !hex4(t + j + 1, len - j - 1, &cp)) {
            continue; /* json-c judges the other escapes */
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            *i = j - 1;
            return "a \\u escape is a lone low surrogate";
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!(j + 10 < len && t[j + 5] == '\\' && t[j + 6] == 'u'
                  && hex4(t + j + 7, len - j - 7, &lo) && lo >= 0xDC00
                  && lo <= 0xDFFF)) {
                *i = j - 1;
                return "a \\u escape is a high surrogate without its low "
                       "surrogate";
            }
            j += 10;
            continue;
        }
        nul |= cp == 0;
        j += 4;
    }
    if (nul && j < len) {
        apr_size_t k = j + 1;
        while (k < len && t[k] && strchr(" \t\r\n", t[k])) {
            k++;
        }
        if (k < len && t[k] == ':') {
            return "a key holds \\u0000";
        }
    }
    *i = j;
    return NULL;
}

static int scan_text(const char *t, apr_size_t len, scan_t *sc)
{
    apr_size_t i, n, start;

    sc->why = NULL;
    if ((n = be_utf8_valid(t, len)) < len) {
        sc->why = "invalid UTF-8";
        sc->at = n;
        return 0;
    }
    for (i = 0; i < len; i++) {
        switch (t[i]) {
        case '"':
            start = i;
            if ((sc->why = scan_string(t, len, &i)) != NULL) {
                sc->at = i;
                return 0;
            }
            break;
        case '\'':
            sc->why = "a string in single quotes";
            sc->at = i;
            return 0;
        case 'N':
        case 'I':
            sc->why = "NaN and Infinity are not JSON numbers";
            sc->at = i;
            return 0;
        case '-':
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
            start = i;
            while (i + 1 < len && t[i + 1]
                   && strchr("0123456789+-.eE", t[i + 1])) {
                i++;
            }
            n = start + (t[start] == '-');
            if (n < i && t[n] == '0' && t[n + 1] >= '0' && t[n + 1] <= '9') {
                /* RFC 8259 has no leading zeros; json-c would keep them
                 * in a number it reads as a double */
                sc->why = "a number with a leading zero";
                sc->at = start;
                return 0;
            }
            if (sc->wide && past_int64(t + start, i + 1 - start)) {
                APR_ARRAY_PUSH(sc->wide, apr_size_t) = i + 1;
            }
            break;
        default:
            break;
        }
    }
    return 1;
}

/* The text with ".0" after each integer literal past the 64-bit range:
 * json-c reads those as doubles, keeping the digits. */
static const char *widen(apr_pool_t *p, const char *t, apr_size_t *len,
                         const apr_array_header_t *wide)
{
    be_buf_t b;
    apr_size_t from = 0;
    int k;

    be_buf_init(&b, p, *len + 2 * (apr_size_t)wide->nelts + 1);
    for (k = 0; k < wide->nelts; k++) {
        apr_size_t end = APR_ARRAY_IDX(wide, k, apr_size_t);
        be_buf_add(&b, t + from, end - from);
        be_buf_add(&b, ".0", 2);
        from = end;
    }
    be_buf_add(&b, t + from, *len - from);
    *len = b.len;
    return be_buf_cstr(&b);
}

/* Parses one JSON value, strictly.  A JSON null gives NULL with
 * json_tokener_success.  With a pool, integers past the 64-bit range are
 * read as doubles rather than clamped.  sc, when given, says what the
 * scan before json-c found. */
static json_object *parse_strict(apr_pool_t *p, const char *text,
                                 apr_size_t len, int max_depth,
                                 enum json_tokener_error *jerr, scan_t *sc)
{
    json_tokener *tok;
    json_object *root;
    apr_size_t i;
    scan_t own;

    if (!sc) {
        sc = &own;
    }
    sc->wide = p ? apr_array_make(p, 1, sizeof(apr_size_t)) : NULL;
    if (!scan_text(text, len, sc)) {
        *jerr = json_tokener_error_parse_unexpected;
        return NULL;
    }
    if (sc->wide && sc->wide->nelts) {
        text = widen(p, text, &len, sc->wide);
    }
    if (!(tok = json_tokener_new_ex(max_depth))) {
        *jerr = json_tokener_error_size;
        return NULL;
    }
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, text, (int)len);
    *jerr = json_tokener_get_error(tok);
    if (*jerr == json_tokener_continue && len > 0) {
        /* a number or literal at the very end waits for more input:
         * a NUL says there is none, and everything was consumed */
        root = json_tokener_parse_ex(tok, "", 1);
        *jerr = json_tokener_get_error(tok);
    }
    else if (*jerr == json_tokener_success) {
        /* only whitespace may follow the value (a NUL byte is not) */
        for (i = json_tokener_get_parse_end(tok); i < len; i++) {
            if (!text[i] || !strchr(" \t\r\n", text[i])) {
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
                                apr_size_t len, int max_depth, int allow_array,
                                be_jdoc_t **doc, const char **err)
{
    enum json_tokener_error jerr;
    json_object *root;
    be_jdoc_t *d;
    be_json_rc_e rc = BE_JSON_OK;
    scan_t sc;

    if (len > INT32_MAX) {
        *err = "the body is too large to parse";
        return BE_JSON_SYNTAX;
    }
    root = parse_strict(p, text, len, max_depth, &jerr, &sc);
    if (!root && sc.why) {
        *err = apr_psprintf(
            p, "the body is not valid JSON: %s at byte %" APR_SIZE_T_FMT,
            sc.why, sc.at);
        return BE_JSON_SYNTAX;
    }
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
                *err = apr_psprintf(p,
                                    "element %lu of the array is not a "
                                    "JSON object",
                                    (unsigned long)i);
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
    root = parse_strict(NULL, text, len, 64, &jerr, NULL);
    if (!root) {
        return jerr == json_tokener_success; /* a JSON null */
    }
    json_object_put(root);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Token parts                                                             */

/* The end of the JSON number at s[i], or 0 when it is not one as JSON
 * writes numbers (json-c also takes "1.", ".5" and "+1"). */
static apr_size_t number_end(const char *s, apr_size_t len, apr_size_t i)
{
#define DIGIT(k) ((k) < len && s[k] >= '0' && s[k] <= '9')
    if (i < len && s[i] == '-') {
        i++;
    }
    if (!DIGIT(i)) {
        return 0;
    }
    if (s[i] == '0') {
        i++;
    }
    while (DIGIT(i)) {
        i++;
    }
    if (i < len && s[i] == '.') {
        if (!DIGIT(i + 1)) {
            return 0;
        }
        for (i++; DIGIT(i); i++) {
        }
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (!DIGIT(i)) {
            return 0;
        }
        while (DIGIT(i)) {
            i++;
        }
    }
    return i;
#undef DIGIT
}

static int is_word(const char *s, apr_size_t n, const char *w)
{
    return n == strlen(w) && memcmp(s, w, n) == 0;
}

/* What json-c does not say about a token part it parsed: it merges a name
 * given twice (the last wins), cuts a name or string short at \u0000, and
 * takes NaN, Infinity, 1. and raw control characters in strings, which
 * JSON does not.  Counts the members of every object (each member has
 * the only ':' outside strings) for the caller to compare with the tree. */
typedef struct {
    apr_size_t members;
    int nul; /* a \u0000 in a name or a string */
    int not_json;
} token_scan_t;

static void token_scan(const char *s, apr_size_t len, token_scan_t *sc)
{
    apr_size_t i = 0, j;

    memset(sc, 0, sizeof(*sc));
    while (i < len && !sc->not_json) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            for (i++; i < len && s[i] != '"'; i++) {
                if ((unsigned char)s[i] < 0x20) {
                    sc->not_json = 1;
                }
                else if (s[i] == '\\') {
                    if (len - i > 5 && !memcmp(s + i + 1, "u0000", 5)) {
                        sc->nul = 1;
                    }
                    i++;
                }
            }
            i++;
        }
        else if (c == '-' || (c >= '0' && c <= '9')) {
            if (!(j = number_end(s, len, i))) {
                sc->not_json = 1;
            }
            i = j;
        }
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            for (j = i;
                 j < len && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z');
                 j++) {
            }
            if (!is_word(s + i, j - i, "true")
                && !is_word(s + i, j - i, "false")
                && !is_word(s + i, j - i, "null")) {
                sc->not_json = 1; /* NaN, Infinity */
            }
            i = j;
        }
        else {
            sc->members += c == ':';
            i++;
        }
    }
}

/* The members of every object in a tree. */
static apr_size_t tree_members(json_object *v)
{
    apr_size_t n = 0;
    size_t i;

    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            n += 1 + tree_members(val);
        }
    }
    else if (json_object_is_type(v, json_type_array)) {
        for (i = 0; i < json_object_array_length(v); i++) {
            n += tree_members(json_object_array_get_idx(v, i));
        }
    }
    return n;
}

/* Parses a token part (what: "payload" or "header"), an object of unique
 * names with no NUL in any name or string.  NULL with *root set (for the
 * caller to put), or the reason. */
static const char *token_part(const char *text, apr_size_t len, int depth,
                              const char *what, json_object **root,
                              be_jwt_refusal_e *kind)
{
    enum json_tokener_error jerr;
    token_scan_t sc;
    scan_t strict;
    int header = what[0] == 'h';
    json_object *o = NULL;

    strict.why = NULL;
    if (len <= INT32_MAX) {
        o = parse_strict(NULL, text, len, depth, &jerr, &strict);
    }
    *kind = BE_JWT_REFUSED;
    token_scan(text, len, &sc);
    if (sc.not_json) {
        *kind = BE_JWT_NOT_JSON;
    }
    else if (sc.nul) {
        *kind = BE_JWT_CONTROL_CHAR;
    }
    else if (!o && strict.why) {
        *kind = BE_JWT_NOT_JSON; /* invalid UTF-8, a lone surrogate... */
    }
    else if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return header ? "the token header is not valid"
                      : "the token payload is not a JSON object";
    }
    else if (sc.members != tree_members(o)) {
        *kind = BE_JWT_DUPLICATE;
    }
    if (*kind != BE_JWT_REFUSED) {
        json_object_put(o);
        switch (*kind) {
        case BE_JWT_NOT_JSON:
            return header ? "the token header is not valid JSON"
                          : "the token payload is not valid JSON";
        case BE_JWT_CONTROL_CHAR:
            return header ? "a header parameter holds a NUL character"
                          : "a claim holds a NUL character";
        default:
            return header ? "a header parameter appears twice"
                          : "a claim name appears twice";
        }
    }
    *root = o;
    return NULL;
}

static void string_list(apr_pool_t *p, json_object *v,
                        apr_array_header_t *into)
{
    size_t i;

    if (json_object_is_type(v, json_type_string)) {
        APR_ARRAY_PUSH(into, const char *) =
            apr_pstrdup(p, json_object_get_string(v));
    }
    else if (json_object_is_type(v, json_type_array)) {
        for (i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (json_object_is_type(e, json_type_string)) {
                APR_ARRAY_PUSH(into, const char *) =
                    apr_pstrdup(p, json_object_get_string(e));
            }
        }
    }
}

static int all_strings(json_object *v)
{
    size_t i;

    if (json_object_is_type(v, json_type_string)) {
        return 1;
    }
    if (!json_object_is_type(v, json_type_array)) {
        return 0;
    }
    for (i = 0; i < json_object_array_length(v); i++) {
        if (!json_object_is_type(json_object_array_get_idx(v, i),
                                 json_type_string)) {
            return 0;
        }
    }
    return 1;
}

/* The registered claims (RFC 7519, 4.1) of their types: NULL, or why not.
 * A NumericDate is a finite number from 1970 to the end of 9999. */
static const char *claim_types(apr_pool_t *p, json_object *root)
{
    static const char *const times[] = {"exp", "nbf", "iat", NULL};
    static const char *const strings[] = {"iss", "sub", "jti", NULL};
    json_object *v;
    double d;
    int i;

    for (i = 0; times[i]; i++) {
        if (!json_object_object_get_ex(root, times[i], &v)) {
            continue;
        }
        if (!json_object_is_type(v, json_type_int)
            && !json_object_is_type(v, json_type_double)) {
            return apr_psprintf(p, "the %s claim is not a number", times[i]);
        }
        d = json_object_get_double(v);
        if (!isfinite(d) || d < BE_JWT_TIME_MIN || d > BE_JWT_TIME_MAX) {
            return apr_psprintf(p, "the %s claim is out of range", times[i]);
        }
    }
    for (i = 0; strings[i]; i++) {
        if (json_object_object_get_ex(root, strings[i], &v)
            && !json_object_is_type(v, json_type_string)) {
            return apr_psprintf(p, "the %s claim is not a string", strings[i]);
        }
    }
    if (json_object_object_get_ex(root, "aud", &v) && !all_strings(v)) {
        return "the aud claim is not a string or an array of strings";
    }
    return NULL;
}

const char *be_json_parse_claims(apr_pool_t *p, const char *text,
                                 apr_size_t len, be_claims_t **out,
                                 be_jwt_refusal_e *kind)
{
    json_object *root;
    be_claims_t *c;
    const char *why;

    if ((why = token_part(text, len, 16, "payload", &root, kind))) {
        return why;
    }
    if ((why = claim_types(p, root))) {
        json_object_put(root);
        *kind = BE_JWT_CLAIM_TYPE;
        return why;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->claims = apr_table_make(p, 8);
    c->nonstrings = apr_table_make(p, 4);
    c->roles = apr_array_make(p, 2, sizeof(const char *));
    c->aud = apr_array_make(p, 1, sizeof(const char *));
    json_object_object_foreach(root, key, val)
    {
        int str = json_object_is_type(val, json_type_string);
        const char *s = str
            ? json_object_get_string(val)
            : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
        /* (names are unique: token_part saw to it) */
        apr_table_set(c->claims, key, s);
        if (!str) {
            apr_table_set(c->nonstrings, key, "");
        }
        if (!strcmp(key, "sub")) {
            c->sub = apr_pstrdup(p, s);
        }
        else if (!strcmp(key, "iss")) {
            c->iss = apr_pstrdup(p, s);
        }
        else if (!strcmp(key, "aud")) {
            string_list(p, val, c->aud);
        }
        else if (!strcmp(key, "role") || !strcmp(key, "roles")) {
            string_list(p, val, c->roles);
        }
        else if (!strcmp(key, "exp")) {
            c->exp = json_object_get_double(val);
            c->has_exp = 1;
        }
        else if (!strcmp(key, "nbf")) {
            c->nbf = json_object_get_double(val);
            c->has_nbf = 1;
        }
    }
    json_object_put(root);
    *out = c;
    return NULL;
}

/* A header parameter of JWS (RFC 7515, 4.1) this module reads or could
 * be misled by: NULL when absent or a string. */
static const char *header_types(json_object *root)
{
    static const char *const strings[] = {"alg", "kid", "typ", "cty", NULL};
    json_object *v;
    int i;

    for (i = 0; strings[i]; i++) {
        if (json_object_object_get_ex(root, strings[i], &v)
            && !json_object_is_type(v, json_type_string)) {
            return i == 0 ? "the alg header parameter is not a string"
                : i == 1  ? "the kid header parameter is not a string"
                : i == 2  ? "the typ header parameter is not a string"
                          : "the cty header parameter is not a string";
        }
    }
    /* no extension is understood here, so none may be critical */
    if (json_object_object_get_ex(root, "crit", NULL)) {
        return "the token header names critical extensions (crit)";
    }
    return NULL;
}

const char *be_json_parse_jose(apr_pool_t *p, const char *text, apr_size_t len,
                               const char **alg, const char **kid,
                               be_jwt_refusal_e *kind)
{
    json_object *root, *v;
    const char *why;

    *alg = *kid = NULL;
    if ((why = token_part(text, len, 8, "header", &root, kind))) {
        return why;
    }
    if ((why = header_types(root))) {
        json_object_put(root);
        *kind = BE_JWT_HEADER_TYPE;
        return why;
    }
    if (json_object_object_get_ex(root, "alg", &v)) {
        *alg = apr_pstrdup(p, json_object_get_string(v));
    }
    if (json_object_object_get_ex(root, "kid", &v)) {
        *kid = apr_pstrdup(p, json_object_get_string(v));
    }
    json_object_put(root);
    if (!*alg) {
        return "the token header is not valid";
    }
    return NULL;
}
