/*
 * be_where.c - a parsed query checked against a table and written as SQL:
 * identifiers from the schema only, every value a bound parameter, the
 * same meaning on SQLite and PostgreSQL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be_query.h"

static const char *no_column(apr_pool_t *p, const be_table_t *t,
                             const char *name, const char *where)
{
    /* (the resource: the table behind it is never named to a client) */
    return apr_psprintf(p, "%s: '%s' is not a column of %s", where, name,
                        t->resource ? t->resource : t->name);
}

static const char *check_filter(apr_pool_t *p, const be_table_t *t,
                                const be_filter_t *f)
{
    int i;

    if (f->kind != BE_F_COND) {
        for (i = 0; i < f->children->nelts; i++) {
            const char *err = check_filter(
                p, t, APR_ARRAY_IDX(f->children, i, be_filter_t *));
            if (err) {
                return err;
            }
        }
        return NULL;
    }
    if (!be_table_col(t, f->column)) {
        return no_column(p, t, f->column, "filter");
    }
    return NULL;
}

static const char *check_names(apr_pool_t *p, const be_table_t *t,
                               const apr_array_header_t *names,
                               const char *what)
{
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        if (!be_table_col(t, n)) {
            return no_column(p, t, n, what);
        }
    }
    return NULL;
}

/* Adds the JSON member names select gives (through * and spreads) to
 * seen; the first one given twice, or NULL. */
static const char *names_twice(apr_hash_t *seen, const be_table_t *t,
                               const apr_array_header_t *select)
{
    const char *name;
    int i, j;

    for (i = 0; i < select->nelts; i++) {
        const be_select_t *s = &APR_ARRAY_IDX(select, i, be_select_t);
        if (s->embed && s->embed->spread) {
            if (s->embed->plan
                && (name = names_twice(seen, s->embed->plan->table,
                                       s->embed->q->select))) {
                return name;
            }
            continue;
        }
        if (!s->embed && strcmp(s->column, "*") == 0) {
            for (j = 0; j < t->cols->nelts; j++) {
                const be_column_t *c = &APR_ARRAY_IDX(t->cols, j, be_column_t);
                if (c->hidden) {
                    continue;
                }
                if (apr_hash_get(seen, c->name, APR_HASH_KEY_STRING)) {
                    return c->name;
                }
                apr_hash_set(seen, c->name, APR_HASH_KEY_STRING, c);
            }
            continue;
        }
        if (apr_hash_get(seen, s->alias, APR_HASH_KEY_STRING)) {
            return s->alias;
        }
        apr_hash_set(seen, s->alias, APR_HASH_KEY_STRING, s);
    }
    return NULL;
}

const char *be_query_check(apr_pool_t *p, const be_table_t *t,
                           const be_query_t *q)
{
    const char *err;
    int i;

    for (i = 0; i < q->filters->nelts; i++) {
        if ((err = check_filter(
                 p, t, APR_ARRAY_IDX(q->filters, i, be_filter_t *)))) {
            return err;
        }
    }
    for (i = 0; q->order && i < q->order->nelts; i++) {
        const be_order_t *o = &APR_ARRAY_IDX(q->order, i, be_order_t);
        if (!be_table_col(t, o->column)) {
            return no_column(p, t, o->column, "order");
        }
    }
    for (i = 0; q->select && i < q->select->nelts; i++) {
        const be_select_t *s = &APR_ARRAY_IDX(q->select, i, be_select_t);
        if (s->embed) {
            /* (bound first: its plan is the embedded resource's) */
            if (s->embed->plan
                && (err = be_query_check(p, s->embed->plan->table,
                                         s->embed->q))) {
                return apr_psprintf(p, "%s: %s", s->alias, err);
            }
            continue;
        }
        if (strcmp(s->column, "*") != 0 && !be_table_col(t, s->column)) {
            return no_column(p, t, s->column, "select");
        }
    }
    if (q->select && q->select->nelts > 1
        && (err = names_twice(apr_hash_make(p), t, q->select))) {
        /* (a JSON object has each name once) */
        return apr_psprintf(p, "select: '%s' is named twice", err);
    }
    if ((err = check_names(p, t, q->columns, "columns"))) {
        return err;
    }
    return check_names(p, t, q->on_conflict, "on_conflict");
}

/* ---------------------------------------------------------------------- */
/* Values                                                                  */

const char *be_filter_value(apr_pool_t *p, const be_column_t *c,
                            const char *text, be_value_t *v)
{
    char *end;

    memset(v, 0, sizeof(*v));
    switch (c->type) {
    case BE_T_INT:
        errno = 0;
        v->i = strtoll(text, &end, 10);
        if (errno || *end || !*text) {
            return apr_psprintf(p, "'%s' is not an integer (column %s)", text,
                                c->name);
        }
        v->kind = BE_V_INT;
        return NULL;
    case BE_T_REAL:
    case BE_T_NUMERIC:
        errno = 0;
        v->d = strtod(text, &end);
        if (errno || *end || !*text) {
            if (c->type == BE_T_NUMERIC && c->oid == 0) {
                break; /* SQLite NUMERIC affinity also holds text (dates) */
            }
            return apr_psprintf(p, "'%s' is not a number (column %s)", text,
                                c->name);
        }
        v->kind = BE_V_REAL;
        v->s = text;
        v->len = strlen(text);
        return NULL;
    case BE_T_BOOL:
        if (!strcasecmp(text, "true") || !strcasecmp(text, "t")
            || !strcmp(text, "1")) {
            v->i = 1;
        }
        else if (!strcasecmp(text, "false") || !strcasecmp(text, "f")
                 || !strcmp(text, "0")) {
            v->i = 0;
        }
        else {
            return apr_psprintf(p, "'%s' is not a boolean (column %s)", text,
                                c->name);
        }
        v->kind = BE_V_BOOL;
        return NULL;
    default:
        break;
    }
    v->kind = BE_V_TEXT;
    v->s = text;
    v->len = strlen(text);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* WHERE                                                                   */

typedef struct {
    apr_pool_t *p;
    be_buf_t *b;
    const be_table_t *t;
    be_dialect_e d;
    apr_array_header_t *args; /* const be_value_t* */
} where_t;

static void bind_value(where_t *w, be_value_t *v)
{
    APR_ARRAY_PUSH(w->args, const be_value_t *) = v;
    be_sql_placeholder(w->b, w->d, w->args->nelts);
}

static const char *text_value(where_t *w, const char *text)
{
    be_value_t *v = apr_pcalloc(w->p, sizeof(*v));

    v->kind = BE_V_TEXT;
    v->s = text;
    v->len = strlen(text);
    bind_value(w, v);
    return NULL;
}

/* A LIKE pattern (PostgreSQL's: % _ and backslash escapes) as a GLOB
 * pattern, where * ? and [ are the special characters. */
static const char *like_to_glob(apr_pool_t *p, const char *like)
{
    be_buf_t b;

    be_buf_init(&b, p, strlen(like) + 8);
    for (; *like; like++) {
        char c = *like;
        if (c == '%') {
            be_buf_addc(&b, '*');
            continue;
        }
        if (c == '_') {
            be_buf_addc(&b, '?');
            continue;
        }
        if (c == '\\' && like[1]) {
            c = *++like; /* the escaped character is literal */
        }
        if (c == '*' || c == '?' || c == '[') {
            be_buf_addc(&b, '[');
            be_buf_addc(&b, c);
            be_buf_addc(&b, ']');
        }
        else {
            be_buf_addc(&b, c);
        }
    }
    return be_buf_cstr(&b);
}

/* like. and ilike. with PostgreSQL's meaning on both dialects. */
static const char *like_sql(where_t *w, const be_filter_t *f,
                            const be_column_t *c)
{
    be_sql_column(w->b, c);
    if (w->d == BE_DIALECT_PGSQL) {
        be_buf_adds(w->b,
                    f->op == BE_OP_LIKE ? "::text LIKE " : "::text ILIKE ");
        return text_value(w, f->value);
    }
    if (f->op == BE_OP_LIKE) {
        /* SQLite's LIKE ignores case: GLOB does not */
        be_buf_adds(w->b, " GLOB ");
        return text_value(w, like_to_glob(w->p, f->value));
    }
    /* backslash escapes, as in PostgreSQL */
    be_buf_adds(w->b, " LIKE ");
    text_value(w, f->value);
    be_buf_adds(w->b, " ESCAPE '\\'");
    return NULL;
}

static const char *is_sql(where_t *w, const be_filter_t *f,
                          const be_column_t *c)
{
    /* SQLite applications keep booleans as 0/1 integers, and SQLite
     * evaluates IS TRUE on any value; PostgreSQL only on booleans */
    if ((!strcmp(f->value, "true") || !strcmp(f->value, "false"))
        && c->type != BE_T_BOOL
        && !(w->d == BE_DIALECT_SQLITE && c->type == BE_T_INT)) {
        return apr_psprintf(w->p,
                            "is.%s needs a boolean column; %s is not one",
                            f->value, c->name);
    }
    be_sql_column(w->b, c);
    if (!strcmp(f->value, "not_null")) {
        be_buf_adds(w->b, " IS NOT NULL");
    }
    else if (!strcmp(f->value, "true")) {
        be_buf_adds(w->b, " IS TRUE");
    }
    else if (!strcmp(f->value, "false")) {
        be_buf_adds(w->b, " IS FALSE");
    }
    else {
        be_buf_adds(w->b, " IS NULL");
    }
    return NULL;
}

static const char *cond_sql(where_t *w, const be_filter_t *f)
{
    static const char *const cmp[] = {" = ",  " <> ", " > ",
                                      " >= ", " < ",  " <= "};
    const be_column_t *c = be_table_col(w->t, f->column);
    const char *err;
    be_value_t *v;
    int i;

    switch (f->op) {
    case BE_OP_LIKE:
    case BE_OP_ILIKE:
        return like_sql(w, f, c);
    case BE_OP_IS:
        return is_sql(w, f, c);
    case BE_OP_IN:
        if (f->list->nelts == 0) {
            be_buf_adds(w->b, "1 = 0");
            return NULL;
        }
        be_sql_column(w->b, c);
        be_buf_adds(w->b, " IN (");
        for (i = 0; i < f->list->nelts; i++) {
            v = apr_palloc(w->p, sizeof(*v));
            if ((err = be_filter_value(
                     w->p, c, APR_ARRAY_IDX(f->list, i, const char *), v))) {
                return err;
            }
            if (i) {
                be_buf_addc(w->b, ',');
            }
            bind_value(w, v);
        }
        be_buf_addc(w->b, ')');
        return NULL;
    default:
        v = apr_palloc(w->p, sizeof(*v));
        if ((err = be_filter_value(w->p, c, f->value, v))) {
            return err;
        }
        be_sql_column(w->b, c);
        be_buf_adds(w->b, cmp[f->op]);
        bind_value(w, v);
        return NULL;
    }
}

static const char *filter_sql(where_t *w, const be_filter_t *f)
{
    const char *err = NULL;
    int i;

    if (f->negate) {
        be_buf_adds(w->b, "NOT (");
    }
    if (f->kind == BE_F_COND) {
        err = cond_sql(w, f);
    }
    else if (f->children->nelts == 0) {
        be_buf_adds(w->b, f->kind == BE_F_AND ? "1 = 1" : "1 = 0");
    }
    else {
        be_buf_addc(w->b, '(');
        for (i = 0; i < f->children->nelts && !err; i++) {
            if (i) {
                be_buf_adds(w->b, f->kind == BE_F_AND ? " AND " : " OR ");
            }
            err = filter_sql(w, APR_ARRAY_IDX(f->children, i, be_filter_t *));
        }
        be_buf_addc(w->b, ')');
    }
    if (f->negate) {
        be_buf_addc(w->b, ')');
    }
    return err;
}

const char *be_sql_where(apr_pool_t *p, be_buf_t *b, const be_table_t *t,
                         be_dialect_e d, const apr_array_header_t *filters,
                         apr_array_header_t *args)
{
    where_t w = {p, b, t, d, args};
    const char *err = NULL;
    int i;

    for (i = 0; filters && i < filters->nelts && !err; i++) {
        be_buf_adds(b, i ? " AND " : " WHERE ");
        err = filter_sql(&w, APR_ARRAY_IDX(filters, i, be_filter_t *));
    }
    return err;
}

/* A column of the rows at depth ("_depth"), or unqualified (-1). */
static void order_column(be_buf_t *b, const be_column_t *c, int depth)
{
    if (depth >= 0) {
        be_buf_printf(b, "\"_%d\".", depth);
    }
    be_sql_column(b, c);
}

void be_sql_order(be_buf_t *b, const be_table_t *t, be_dialect_e d,
                  const apr_array_header_t *order, int depth)
{
    int i, k, n = 0, last_desc;

    if (!t->nkeys && !(order && order->nelts)) {
        return; /* a function's rows come in the order it gives them */
    }
    be_buf_adds(b, " ORDER BY ");
    for (i = 0; order && i < order->nelts; i++) {
        const be_order_t *o = &APR_ARRAY_IDX(order, i, be_order_t);
        const be_column_t *c = be_table_col(t, o->column);
        /* PostgreSQL's defaults, written out so SQLite sorts the same */
        int nulls_first = o->nulls ? o->nulls == 1 : o->desc;
        be_buf_adds(b, n++ ? ", " : "");
        order_column(b, c, depth);
        be_buf_adds(b, o->desc ? " DESC" : " ASC");
        /* (not for a NOT NULL column: the same order, and SQLite can
         * read it from an index) */
        be_buf_adds(b,
                    c->notnull        ? ""
                        : nulls_first ? " NULLS FIRST"
                                      : " NULLS LAST");
    }
    /* then the key, so that pages are stable: in the direction of the
     * last column named, which an index on (..., that column) also holds
     * its rowid or key in, read backwards for DESC without a sort */
    last_desc = order && order->nelts
        && APR_ARRAY_IDX(order, order->nelts - 1, be_order_t).desc;
    for (k = 0; k < t->nkeys; k++) {
        const be_column_t *key =
            &APR_ARRAY_IDX(t->cols, t->keys[k], be_column_t);
        for (i = 0; order && i < order->nelts; i++) {
            if (be_table_col(t, APR_ARRAY_IDX(order, i, be_order_t).column)
                == key) {
                break;
            }
        }
        if (!order || i == order->nelts) {
            be_buf_adds(b, n++ ? ", " : "");
            order_column(b, key, depth);
            be_buf_adds(b, last_desc ? " DESC" : "");
        }
    }
    (void)d;
}
