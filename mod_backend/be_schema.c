/*
 * be_schema.c - the table model, type mapping and validation of request
 * bodies against it.  Runs before any SQL: a body that fails here never
 * reaches the database.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "be_core.h"

/* ---------------------------------------------------------------------- */
/* Types                                                                   */

static int has_word(const char *upper, const char *w)
{
    return strstr(upper, w) != NULL;
}

be_type_e be_type_from_sqlite_decl(const char *decl)
{
    char up[128];
    apr_size_t i;

    if (!decl || !*decl) {
        return BE_T_BLOB; /* no affinity: any scalar */
    }
    for (i = 0; decl[i] && i < sizeof(up) - 1; i++) {
        up[i] = (char)toupper((unsigned char)decl[i]);
    }
    up[i] = '\0';
    /* Names SQLite does not know but people write, before its rules. */
    if (has_word(up, "BOOL")) {
        return BE_T_BOOL;
    }
    if (has_word(up, "JSON")) {
        return BE_T_JSON;
    }
    /* SQLite's affinity rules, in its order (datatype3.html 3.1). */
    if (has_word(up, "INT")) {
        return BE_T_INT;
    }
    if (has_word(up, "CHAR") || has_word(up, "CLOB") || has_word(up, "TEXT")) {
        return BE_T_TEXT;
    }
    if (has_word(up, "BLOB")) {
        return BE_T_BLOB;
    }
    if (has_word(up, "REAL") || has_word(up, "FLOA") || has_word(up, "DOUB")) {
        return BE_T_REAL;
    }
    return BE_T_NUMERIC;
}

be_type_e be_type_from_pg_oid(unsigned int oid)
{
    switch (oid) {
    case 16:
        return BE_T_BOOL;
    case 20:
    case 21:
    case 23:
    case 26:
        return BE_T_INT;
    case 700:
    case 701:
        return BE_T_REAL;
    case 1700:
        return BE_T_NUMERIC;
    case 114:
    case 3802:
        return BE_T_JSON;
    case 17:
        return BE_T_BLOB;
    default:
        return BE_T_TEXT;
    }
}

int be_max_len_from_decl(const char *decl)
{
    const char *open;
    char *end;
    long n;

    if (!decl) {
        return -1;
    }
    open = strchr(decl, '(');
    if (!open || strchr(open, ',')) {
        return -1;
    }
    if (!(strncasecmp(decl, "varchar", 7) == 0
          || strncasecmp(decl, "character", 9) == 0
          || strncasecmp(decl, "char", 4) == 0
          || strncasecmp(decl, "nvarchar", 8) == 0
          || strncasecmp(decl, "nchar", 5) == 0)) {
        return -1;
    }
    errno = 0;
    n = strtol(open + 1, &end, 10);
    if (errno || n <= 0 || n > 1000000000L || *end != ')') {
        return -1;
    }
    return (int)n;
}

/* ---------------------------------------------------------------------- */
/* Tables                                                                  */

be_table_t *be_table_make(apr_pool_t *p, const char *name)
{
    be_table_t *t = apr_pcalloc(p, sizeof(*t));

    t->name = apr_pstrdup(p, name);
    t->cols = apr_array_make(p, 8, sizeof(be_column_t));
    t->by_name = apr_hash_make(p);
    t->key = -1;
    t->writes = BE_W_ALL;
    t->fks = apr_array_make(p, 2, sizeof(be_fk_t));
    return t;
}

void be_table_fk(be_table_t *t, apr_pool_t *p, const char *name,
                 const char *table, const char *col, const char *ref_col)
{
    be_fk_t *fk = t->fks->nelts
        ? &APR_ARRAY_IDX(t->fks, t->fks->nelts - 1, be_fk_t)
        : NULL;
    const char **cols, **refs;

    if (!fk || strcmp(fk->name, name)) {
        fk = apr_array_push(t->fks);
        memset(fk, 0, sizeof(*fk));
        fk->name = apr_pstrdup(p, name);
        fk->table = apr_pstrdup(p, table);
    }
    cols = apr_palloc(p, sizeof(*cols) * (apr_size_t)(fk->ncols + 1));
    refs = apr_palloc(p, sizeof(*refs) * (apr_size_t)(fk->ncols + 1));
    if (fk->ncols) {
        memcpy(cols, fk->cols, sizeof(*cols) * (apr_size_t)fk->ncols);
        memcpy(refs, fk->ref_cols, sizeof(*refs) * (apr_size_t)fk->ncols);
    }
    cols[fk->ncols] = apr_pstrdup(p, col);
    refs[fk->ncols] = ref_col ? apr_pstrdup(p, ref_col) : NULL;
    fk->cols = cols;
    fk->ref_cols = refs;
    fk->ncols++;
}

be_column_t *be_table_add(be_table_t *t)
{
    be_column_t *c = apr_array_push(t->cols);

    memset(c, 0, sizeof(*c));
    c->max_len = -1;
    c->int_min = -9223372036854775807LL - 1;
    c->int_max = 9223372036854775807LL;
    return c;
}

const be_column_t *be_table_col(const be_table_t *t, const char *name)
{
    const be_column_t *c = apr_hash_get(t->by_name, name, APR_HASH_KEY_STRING);

    return c && !c->hidden ? c : NULL;
}

const char *be_table_index(be_table_t *t, apr_pool_t *p)
{
    int i;

    for (i = 0; i < t->cols->nelts; i++) {
        be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        if (apr_hash_get(t->by_name, c->name, APR_HASH_KEY_STRING)) {
            return apr_psprintf(p,
                                "two result columns are named '%s' (name "
                                "them apart with AS)",
                                c->name);
        }
        apr_hash_set(t->by_name, c->name, APR_HASH_KEY_STRING, c);
    }
    return NULL;
}

const char *be_table_set_key(be_table_t *t, apr_pool_t *p, const char *key)
{
    int i, j;
    apr_array_header_t *names = NULL;

    /* the columns array does not move any more: index it */
    for (i = 0; i < t->cols->nelts; i++) {
        be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        apr_hash_set(t->by_name, c->name, APR_HASH_KEY_STRING, c);
    }
    t->key = -1;
    t->nkeys = 0;
    t->items = 0;
    if (key) {
        char *copy = apr_pstrdup(p, key), *part, *state = NULL;
        names = apr_array_make(p, 2, sizeof(const char *));
        for (part = apr_strtok(copy, ",", &state); part;
             part = apr_strtok(NULL, ",", &state)) {
            APR_ARRAY_PUSH(names, const char *) = part;
        }
        if (names->nelts == 0 || names->nelts > BE_MAX_KEY) {
            return apr_psprintf(p, "key=%s: one to %d column names", key,
                                BE_MAX_KEY);
        }
    }
    for (j = 0; names && j < names->nelts; j++) {
        const char *name = APR_ARRAY_IDX(names, j, const char *);
        for (i = 0; i < t->cols->nelts
             && strcmp(APR_ARRAY_IDX(t->cols, i, be_column_t).name, name);
             i++) {
        }
        if (i == t->cols->nelts) {
            return apr_psprintf(p, "table '%s' has no column '%s'", t->name,
                                name);
        }
        t->keys[t->nkeys++] = i;
    }
    for (i = 0; !names && i < t->cols->nelts; i++) {
        if (APR_ARRAY_IDX(t->cols, i, be_column_t).pk) {
            if (t->nkeys == BE_MAX_KEY) {
                return apr_psprintf(p,
                                    "table '%s' has a key of more than %d "
                                    "columns",
                                    t->name, BE_MAX_KEY);
            }
            t->keys[t->nkeys++] = i;
        }
    }
    if (t->nkeys == 1) {
        t->key = t->keys[0];
    }
    /* items: a one-column key, or the columns the site named */
    t->items = t->nkeys == 1 || (names && t->nkeys > 1);
    if (t->nkeys == 0) {
        /* no row can be named: read and insert only */
        t->writes &= BE_W_INSERT;
    }
    return NULL;
}

int be_table_is_key(const be_table_t *t, const be_column_t *c)
{
    int i;

    for (i = 0; i < t->nkeys; i++) {
        if (c == &APR_ARRAY_IDX(t->cols, t->keys[i], be_column_t)) {
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Validation                                                              */

static void add_error(apr_array_header_t *errs, const char *field,
                      const char *msg)
{
    be_field_error_t *e = apr_array_push(errs);
    e->field = field;
    e->message = msg;
}

apr_size_t be_utf8_chars(const char *s, apr_size_t len)
{
    apr_size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

static const char *type_word(be_type_e t)
{
    switch (t) {
    case BE_T_INT:
        return "an integer";
    case BE_T_REAL:
        return "a number";
    case BE_T_NUMERIC:
        return "a number";
    case BE_T_BOOL:
        return "a boolean";
    case BE_T_TEXT:
        return "a string";
    default:
        return "a scalar";
    }
}

static const char *int_range(apr_pool_t *p, const be_column_t *c)
{
    return apr_psprintf(
        p, "must be between %" APR_INT64_T_FMT " and %" APR_INT64_T_FMT,
        (apr_int64_t)c->int_min, (apr_int64_t)c->int_max);
}

/* A JSON number too large for a double (1e400) reads as infinite; no
 * column takes it, and JSON could not say it back. */
#define NOT_A_DOUBLE                               \
    "must be between -1.7976931348623157e308 and " \
    "1.7976931348623157e308"

/* A JSON number for a column that takes numbers: an integer stays one, a
 * real keeps its literal text.  Returns 0 when f is not a number; else 1,
 * with *msg NULL or why the number is refused. */
static int number_value(const be_jfield_t *f, be_value_t *v, const char **msg)
{
    *msg = NULL;
    if (f->kind == BE_J_INT) {
        v->kind = BE_V_INT;
        v->i = f->i;
        return 1;
    }
    if (f->kind != BE_J_REAL) {
        return 0;
    }
    if (!isfinite(f->d)) {
        *msg = NOT_A_DOUBLE;
        return 1;
    }
    v->kind = BE_V_REAL;
    v->d = f->d;
    v->s = f->s;
    v->len = f->len;
    return 1;
}

/* A json column embeds any JSON value; a string is kept as a JSON string. */
static void json_value(apr_pool_t *p, const be_jfield_t *f, be_value_t *v)
{
    v->kind = BE_V_JSON;
    if (f->kind == BE_J_STRING) {
        be_buf_t b;
        be_buf_init(&b, p, f->len + 8);
        be_json_escape(&b, f->s, f->len);
        v->s = be_buf_cstr(&b);
        v->len = b.len;
    }
    else {
        v->s = f->s;
        v->len = f->len;
    }
}

/* Converts one JSON field to a value for column c; NULL or a message. */
static const char *convert(apr_pool_t *p, const be_column_t *c,
                           const be_jfield_t *f, be_value_t *v)
{
    const char *msg;

    memset(v, 0, sizeof(*v));
    if (f->kind == BE_J_NULL) {
        if (c->notnull) {
            return "must not be null";
        }
        v->kind = BE_V_NULL;
        return NULL;
    }
    switch (c->type) {
    case BE_T_JSON:
        json_value(p, f, v);
        return NULL;
    case BE_T_INT:
        if (f->kind == BE_J_REAL && (f->wide || !isfinite(f->d))) {
            return int_range(p, c); /* 2^63, 1e400: too large for any */
        }
        if (f->kind != BE_J_INT) {
            return "must be an integer";
        }
        if (f->i < c->int_min || f->i > c->int_max) {
            return int_range(p, c);
        }
        v->kind = BE_V_INT;
        v->i = f->i;
        return NULL;
    case BE_T_REAL:
        return number_value(f, v, &msg) ? msg : "must be a number";
    case BE_T_NUMERIC:
        if (number_value(f, v, &msg)) {
            return msg;
        }
        if (f->kind != BE_J_STRING) {
            return "must be a number or a string";
        }
        break;
    case BE_T_BOOL:
        if (f->kind != BE_J_BOOL) {
            return "must be a boolean";
        }
        v->kind = BE_V_BOOL;
        v->i = f->i;
        return NULL;
    case BE_T_BLOB:
        if (f->kind == BE_J_NESTED) {
            return "must be a scalar";
        }
        if (number_value(f, v, &msg)) {
            return msg;
        }
        if (f->kind == BE_J_BOOL) {
            v->kind = BE_V_INT;
            v->i = f->i;
            return NULL;
        }
        break;
    case BE_T_TEXT:
    default:
        if (f->kind != BE_J_STRING) {
            return apr_pstrcat(p, "must be ", type_word(c->type), NULL);
        }
        if (c->max_len >= 0
            && be_utf8_chars(f->s, f->len) > (apr_size_t)c->max_len) {
            return apr_psprintf(p, "must be at most %d characters",
                                c->max_len);
        }
        break;
    }
    if (memchr(f->s, '\0', f->len)) {
        /* PostgreSQL text cannot hold it (the value would end there) */
        return "must not contain \\u0000";
    }
    v->kind = BE_V_TEXT;
    v->s = f->s;
    v->len = f->len;
    return NULL;
}

int be_validate_row(apr_pool_t *p, const be_table_t *t,
                    const be_jobject_t *obj, be_write_e mode,
                    const be_column_t *implied, be_row_t *row,
                    apr_array_header_t *errs)
{
    int n = t->cols->nelts, i, start = errs->nelts;
    const be_jfield_t **given = apr_pcalloc(p, sizeof(*given) * (apr_size_t)n);

    for (i = 0; i < obj->fields->nelts; i++) {
        const be_jfield_t *f = &APR_ARRAY_IDX(obj->fields, i, be_jfield_t);
        const be_column_t *c = be_table_col(t, f->key);
        if (!c) {
            add_error(errs, f->key, "is not a column of this resource");
            continue;
        }
        if (c->readonly) {
            add_error(errs, f->key, "is read-only");
            continue;
        }
        given[c - &APR_ARRAY_IDX(t->cols, 0, be_column_t)] = f;
    }

    row->ncols = 0;
    row->cols = apr_palloc(p, sizeof(*row->cols) * (apr_size_t)n);
    row->vals = apr_palloc(p, sizeof(*row->vals) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        const be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        be_value_t *v = &row->vals[row->ncols];
        const char *msg;

        if ((c->hidden || c == implied
             || (c->set_on_insert && mode == BE_WRITE_INSERT))
            && !given[i]) {
            continue; /* never written through the API, or by the server */
        }
        if (given[i]) {
            if ((msg = convert(p, c, given[i], v)) != NULL) {
                add_error(errs, c->name, msg);
                continue;
            }
        }
        else if (c->readonly || mode == BE_WRITE_UPDATE) {
            continue;
        }
        else if (mode == BE_WRITE_INSERT || i == t->key) {
            if (c->notnull && !c->has_default && mode == BE_WRITE_INSERT) {
                add_error(errs, c->name, "is required");
            }
            continue;
        }
        else if (c->has_default) {
            memset(v, 0, sizeof(*v));
            v->kind = BE_V_DEFAULT;
        }
        else if (!c->notnull) {
            memset(v, 0, sizeof(*v));
            v->kind = BE_V_NULL;
        }
        else {
            add_error(errs, c->name, "is required");
            continue;
        }
        row->cols[row->ncols++] = c;
    }
    return errs->nelts > start ? 422 : 0;
}

int be_validate_rows(apr_pool_t *p, const be_table_t *t,
                     const apr_array_header_t *objects, int is_array,
                     const apr_array_header_t *columns,
                     const be_column_t *implied, be_rows_t *rows,
                     apr_array_header_t *errs)
{
    int n = t->cols->nelts, nobj = objects->nelts, i, j, o;
    be_row_t *each = apr_palloc(p, sizeof(*each) * (apr_size_t)(nobj + 1));
    char *used = apr_pcalloc(p, (apr_size_t)n + 1);
    int *slot = apr_palloc(p, sizeof(int) * (apr_size_t)(n + 1));
    const be_column_t *first = &APR_ARRAY_IDX(t->cols, 0, be_column_t);

    for (o = 0; o < nobj; o++) {
        const be_jobject_t *obj = APR_ARRAY_IDX(objects, o, be_jobject_t *);
        int before = errs->nelts;

        if (columns) {
            /* only the members columns= names are taken */
            be_jobject_t *kept = apr_palloc(p, sizeof(*kept));
            kept->fields =
                apr_array_make(p, obj->fields->nelts + 1, sizeof(be_jfield_t));
            for (i = 0; i < obj->fields->nelts; i++) {
                const be_jfield_t *f =
                    &APR_ARRAY_IDX(obj->fields, i, be_jfield_t);
                for (j = 0; j < columns->nelts; j++) {
                    if (!strcmp(f->key,
                                APR_ARRAY_IDX(columns, j, const char *))) {
                        *(be_jfield_t *)apr_array_push(kept->fields) = *f;
                        break;
                    }
                }
            }
            obj = kept;
        }
        be_validate_row(p, t, obj, BE_WRITE_INSERT, implied, &each[o], errs);
        for (i = before; is_array && i < errs->nelts; i++) {
            be_field_error_t *e = &APR_ARRAY_IDX(errs, i, be_field_error_t);
            e->field = apr_psprintf(p, "[%d].%s", o, e->field);
        }
        for (i = 0; i < each[o].ncols; i++) {
            used[each[o].cols[i] - first] = 1;
        }
    }
    for (j = 0; columns && j < columns->nelts; j++) {
        const be_column_t *c =
            be_table_col(t, APR_ARRAY_IDX(columns, j, const char *));
        if (c && !c->readonly) {
            used[c - first] = 1;
        }
    }
    rows->ncols = 0;
    rows->cols = apr_palloc(p, sizeof(*rows->cols) * (apr_size_t)(n + 1));
    for (i = 0; i < n; i++) {
        slot[i] = -1;
        if (used[i]) {
            slot[i] = rows->ncols;
            rows->cols[rows->ncols++] =
                &APR_ARRAY_IDX(t->cols, i, be_column_t);
        }
    }
    rows->nrows = nobj;
    rows->vals = apr_pcalloc(
        p, sizeof(be_value_t) * (apr_size_t)(nobj * rows->ncols + 1));
    for (o = 0; o < nobj; o++) {
        for (j = 0; j < rows->ncols; j++) {
            rows->vals[o * rows->ncols + j].kind = BE_V_DEFAULT;
        }
        for (i = 0; i < each[o].ncols; i++) {
            int at = slot[each[o].cols[i] - first];
            rows->vals[o * rows->ncols + at] = each[o].vals[i];
        }
    }
    return errs->nelts ? 422 : 0;
}

int be_key_value(apr_pool_t *p, const be_column_t *key, const char *text,
                 be_value_t *out)
{
    char *end;

    memset(out, 0, sizeof(*out));
    if (key->type == BE_T_INT) {
        long long v;
        if (!*text || isspace((unsigned char)*text)) {
            return 0;
        }
        errno = 0;
        v = strtoll(text, &end, 10);
        if (errno || *end) {
            return 0;
        }
        out->kind = BE_V_INT;
        out->i = v;
        return 1;
    }
    if (key->type == BE_T_REAL) {
        double d;
        errno = 0;
        d = strtod(text, &end);
        if (errno || *end || !*text) {
            return 0;
        }
        out->kind = BE_V_REAL;
        out->d = d;
        out->s = text;
        out->len = strlen(text);
        return 1;
    }
    out->kind = BE_V_TEXT;
    out->s = apr_pstrdup(p, text);
    out->len = strlen(text);
    return 1;
}

/* ---------------------------------------------------------------------- */
/* CHECK constraints: which columns a failed one covers                    */

/* The column of t an identifier names (SQLite's are case-insensitive),
 * or NULL. */
static const be_column_t *column_named(const be_table_t *t, const char *s,
                                       apr_size_t n)
{
    int i;

    for (i = 0; i < t->cols->nelts; i++) {
        const be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        if (strlen(c->name) == n && strncasecmp(c->name, s, n) == 0
            && !c->synthetic) {
            return c;
        }
    }
    return NULL;
}

static void add_name(apr_array_header_t *cols, const char *name)
{
    int i;

    for (i = 0; i < cols->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(cols, i, const char *), name) == 0) {
            return;
        }
    }
    APR_ARRAY_PUSH(cols, const char *) = name;
}

/* One token of SQL at s: a word or a quoted identifier (*ident 1), a
 * string (*ident 2), or one other character (*ident 0); its text in *w
 * and *n.  Returns where the next one starts. */
static const char *sql_token(const char *s, const char **w, apr_size_t *n,
                             int *ident)
{
    char close;

    *ident = 0;
    while (isspace((unsigned char)*s)) {
        s++;
    }
    *w = s;
    if (isalpha((unsigned char)*s) || *s == '_') {
        while (isalnum((unsigned char)*s) || *s == '_' || *s == '$') {
            s++;
        }
        *n = (apr_size_t)(s - *w);
        *ident = 1;
        return s;
    }
    close = *s == '"' ? '"' : *s == '`' ? '`' : *s == '[' ? ']' : 0;
    if (close || *s == '\'') {
        const char *e = strchr(s + 1, close ? close : '\'');
        *w = s + 1;
        *ident = close ? 1 : 2;
        if (!e) { /* unterminated: the rest */
            *n = strlen(s + 1);
            return s + 1 + *n;
        }
        *n = (apr_size_t)(e - s - 1);
        return e + 1;
    }
    *n = *s ? 1 : 0;
    return *s ? s + 1 : s;
}

/* The columns an expression names, added to cols. */
static void expr_columns(const be_table_t *t, const char *expr, apr_size_t len,
                         apr_array_header_t *cols)
{
    const char *s = expr, *end = expr + len, *w;
    apr_size_t n;
    int ident;

    while (s < end && *s) {
        const be_column_t *c;
        s = sql_token(s, &w, &n, &ident);
        if (ident == 1 && w + n <= end && (c = column_named(t, w, n))) {
            add_name(cols, c->name);
        }
    }
}

void be_sqlite_checks(apr_pool_t *p, be_table_t *t, const char *sql)
{
    const char *s = sql, *w, *open, *prev_w = NULL, *name = NULL,
               *name_w = NULL;
    const be_column_t *column = NULL;
    apr_size_t n, prev_n = 0;
    int ident, depth = 0, first = 0;

    t->checks = apr_hash_make(p);
    while (*s) {
        s = sql_token(s, &w, &n, &ident);
        if (n == 1 && !ident && (*w == '(' || *w == ')' || *w == ',')) {
            depth += *w == '(' ? 1 : *w == ')' ? -1 : 0;
            if (depth == 1 && *w != ')') {
                first = 1; /* a column or a table constraint begins */
                column = NULL;
            }
            continue;
        }
        if (depth == 1 && first) {
            first = 0;
            column = ident == 1 ? column_named(t, w, n) : NULL;
        }
        if (ident == 1 && prev_w && prev_n == 10
            && strncasecmp(prev_w, "CONSTRAINT", 10) == 0) {
            name = apr_pstrmemdup(p, w, n);
            name_w = w;
        }
        if (depth == 1 && ident == 1 && n == 5
            && strncasecmp(w, "CHECK", 5) == 0) {
            /* CHECK (expr): its parentheses, balanced */
            int d = 0;
            s = sql_token(s, &open, &n, &ident);
            if (n != 1 || *open != '(') {
                break;
            }
            for (d = 1; *s && d > 0;) {
                s = sql_token(s, &w, &n, &ident);
                if (n == 1 && !ident) {
                    d += *w == '(' ? 1 : *w == ')' ? -1 : 0;
                }
            }
            if (name && prev_w == name_w) {
                apr_array_header_t *cols =
                    apr_array_make(p, 2, sizeof(const char *));
                if (column) {
                    add_name(cols, column->name);
                }
                /* (without its closing parenthesis, when it has one) */
                expr_columns(t, open + 1,
                             (apr_size_t)(s - (open + 1)) - (d == 0), cols);
                apr_hash_set(t->checks, name, APR_HASH_KEY_STRING, cols);
            }
            name = NULL;
            prev_w = NULL;
            continue;
        }
        prev_w = w;
        prev_n = n;
    }
}

const apr_array_header_t *be_check_columns(apr_pool_t *p, const be_table_t *t,
                                           be_dialect_e d,
                                           const char *reported,
                                           const char **name)
{
    apr_array_header_t *cols = t->checks
        ? apr_hash_get(t->checks, reported, APR_HASH_KEY_STRING)
        : NULL;

    *name = reported;
    if (cols || d != BE_DIALECT_SQLITE || t->cols->nelts == 0) {
        return cols && cols->nelts ? cols : NULL; /* CHECK (1): none */
    }
    /* SQLite names an unnamed CHECK by its expression: its columns, and
     * the name PostgreSQL would have given it */
    cols = apr_array_make(p, 2, sizeof(const char *));
    expr_columns(t, reported, strlen(reported), cols);
    *name = cols->nelts == 1
        ? apr_pstrcat(p, t->name, "_", APR_ARRAY_IDX(cols, 0, const char *),
                      "_check", NULL)
        : apr_pstrcat(p, t->name, "_check", NULL);
    return cols->nelts ? cols : NULL;
}
