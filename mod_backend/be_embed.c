/*
 * be_embed.c - embedded resources (select=*,author(name),comments(*)) as
 * SQL: a correlated subquery per embedded resource that the database
 * turns into JSON text, so that a request with related rows is still one
 * statement.  Identifiers come from the schema; values are bound.
 */
#include <string.h>

#include "be_fn.h"
#include "be_query.h"

/* 'text' as an SQL string literal. */
static void sql_string(be_buf_t *b, const char *s)
{
    be_buf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'') {
            be_buf_addc(b, '\'');
        }
        be_buf_addc(b, *s);
    }
    be_buf_addc(b, '\'');
}

/* (no printf: these are written many times into every embedding) */
static void alias(be_buf_t *b, int depth)
{
    be_buf_adds(b, "\"_");
    be_buf_int(b, depth);
    be_buf_adds(b, "\".");
}

static void from(be_buf_t *b, const be_plan_t *pl, int depth)
{
    be_buf_adds(b, " FROM ");
    be_buf_adds(b, pl->qtable);
    be_buf_adds(b, " AS \"_");
    be_buf_int(b, depth);
    be_buf_addc(b, '"');
}

/* A column's value inside the JSON the database builds, as the top level
 * renders it: booleans as true/false, json as JSON, and on PostgreSQL
 * every text-like value (timestamps, uuids, enums) in its text form. */
static void json_value(be_buf_t *b, be_dialect_e d, const be_column_t *c,
                       int depth)
{
    if (d == BE_DIALECT_SQLITE && c->type == BE_T_BOOL) {
        be_buf_adds(b, "CASE WHEN ");
        alias(b, depth);
        be_sql_column(b, c);
        be_buf_adds(b, " IS NULL THEN NULL WHEN ");
        alias(b, depth);
        be_sql_column(b, c);
        be_buf_adds(b, " THEN json('true') ELSE json('false') END");
        return;
    }
    if (d == BE_DIALECT_SQLITE && c->type == BE_T_JSON) {
        be_buf_adds(b, "json(");
        alias(b, depth);
        be_sql_column(b, c);
        be_buf_addc(b, ')');
        return;
    }
    alias(b, depth);
    be_sql_column(b, c);
    if (d == BE_DIALECT_PGSQL
        && (c->type == BE_T_TEXT || c->type == BE_T_BLOB)) {
        be_buf_adds(b, "::text");
    }
}

/* The condition that ties the rows at depth to their parent's (through
 * the junction's rows that the user may read). */
static void join(be_buf_t *b, be_dialect_e d, const be_embed_t *e, int depth,
                 apr_array_header_t *args)
{
    int i, any = 1;

    if (e->via) {
        be_buf_printf(b, "EXISTS (SELECT 1 FROM %s AS \"_j%d\" WHERE ",
                      e->via->qtable, depth);
        for (i = 0; i < e->nvia; i++) {
            be_buf_printf(b, "%s\"_j%d\".", i ? " AND " : "", depth);
            be_sql_column(b, e->jc[i]);
            be_buf_adds(b, " = ");
            alias(b, depth);
            be_sql_column(b, e->ccols[i]);
        }
        for (i = 0; i < e->npairs; i++) {
            be_buf_printf(b, " AND \"_j%d\".", depth);
            be_sql_column(b, e->jp[i]);
            be_buf_adds(b, " = ");
            alias(b, depth - 1);
            be_sql_column(b, e->pcols[i]);
        }
        if (e->via_owner && e->via->owner) {
            be_buf_printf(b, " AND \"_j%d\".", depth);
            be_sql_column(b, e->via->owner);
            be_buf_adds(b, " = ");
            APR_ARRAY_PUSH(args, const be_value_t *) = e->via_owner;
            be_sql_placeholder(b, d, args->nelts);
        }
        /* (its columns unqualified: the junction's, the nearest) */
        be_sql_rules(b, d, e->via_rules, &any, args);
        be_buf_addc(b, ')');
        return;
    }
    for (i = 0; i < e->npairs; i++) {
        if (i) {
            be_buf_adds(b, " AND ");
        }
        alias(b, depth);
        be_sql_column(b, e->ccols[i]);
        be_buf_adds(b, " = ");
        alias(b, depth - 1);
        be_sql_column(b, e->pcols[i]);
    }
}

/* WHERE of the rows at depth: its filters, the relation, the owner scope
 * and its own !inner children. */
static const char *rows_where(be_buf_t *b, be_dialect_e d, const be_embed_t *e,
                              int depth, apr_array_header_t *args)
{
    const char *err;
    int any = e->q->filters->nelts > 0;

    if ((err = be_sql_where(b->pool, b, e->plan->table, d, e->q->filters,
                            args))) {
        return err;
    }
    be_buf_adds(b, any ? " AND " : " WHERE ");
    join(b, d, e, depth, args);
    if (e->owner && e->plan->owner) {
        be_buf_adds(b, " AND ");
        alias(b, depth);
        be_sql_column(b, e->plan->owner);
        be_buf_adds(b, " = ");
        APR_ARRAY_PUSH(args, const be_value_t *) = e->owner;
        be_sql_placeholder(b, d, args->nelts);
    }
    any = 1;
    be_sql_rules(b, d, e->rules, &any, args);
    return be_sql_inner(b, d, e->q->select, depth, &any, args);
}

/* json_object('key', value, ...) of one row at depth. */
static const char *row_object(be_buf_t *b, be_dialect_e d, const be_embed_t *e,
                              int depth, apr_array_header_t *args)
{
    const be_table_t *t = e->plan->table;
    const apr_array_header_t *sel = e->q->select;
    const char *err;
    int i, j, n = 0;

    be_buf_adds(b,
                d == BE_DIALECT_PGSQL ? "json_build_object(" : "json_object(");
    for (i = 0; i < sel->nelts; i++) {
        const be_select_t *s = &APR_ARRAY_IDX(sel, i, be_select_t);
        if (s->embed) {
            be_buf_adds(b, n++ ? ", " : "");
            sql_string(b, s->alias);
            be_buf_adds(b, d == BE_DIALECT_SQLITE ? ", json(" : ", ");
            if ((err = be_sql_embed(b, d, s->embed, depth + 1, args))) {
                return err;
            }
            be_buf_adds(b, d == BE_DIALECT_SQLITE ? ")" : "");
            continue;
        }
        for (j = 0; j < t->cols->nelts; j++) {
            const be_column_t *c = &APR_ARRAY_IDX(t->cols, j, be_column_t);
            int star = strcmp(s->column, "*") == 0;
            if ((star && c->hidden) || (!star && strcmp(c->name, s->column))) {
                continue;
            }
            be_buf_adds(b, n++ ? ", " : "");
            sql_string(b, star ? c->name : s->alias);
            be_buf_adds(b, ", ");
            json_value(b, d, c, depth);
            if (!star) {
                break;
            }
        }
    }
    be_buf_addc(b, ')');
    return NULL;
}

const char *be_sql_embed(be_buf_t *b, be_dialect_e d, const be_embed_t *e,
                         int depth, apr_array_header_t *args)
{
    const char *err;
    be_value_t *v;

    if (!e->many) {
        be_buf_adds(b, "(SELECT ");
        if ((err = row_object(b, d, e, depth, args))) {
            return err;
        }
        from(b, e->plan, depth);
        if ((err = rows_where(b, d, e, depth, args))) {
            return err;
        }
        be_buf_addc(b, ')');
        return NULL;
    }
    /* SQLite: the objects' text joined, not parsed again */
    be_buf_adds(b,
                d == BE_DIALECT_PGSQL
                    ? "(SELECT coalesce(json_agg(\"_v\"), '[]') FROM "
                      "(SELECT "
                    : "(SELECT '[' || coalesce(group_concat(\"_v\", "
                      "','), '') || ']' FROM (SELECT ");
    if ((err = row_object(b, d, e, depth, args))) {
        return err;
    }
    be_buf_adds(b, " AS \"_v\"");
    from(b, e->plan, depth);
    if ((err = rows_where(b, d, e, depth, args))) {
        return err;
    }
    be_sql_order(b, e->plan->table, d, e->q->order, depth);
    if (e->q->limit >= 0 || e->q->offset >= 0) {
        v = apr_pcalloc(b->pool, sizeof(*v));
        v->kind = BE_V_INT;
        v->i = e->q->limit >= 0 ? e->q->limit : -1;
        if (d == BE_DIALECT_PGSQL && e->q->limit < 0) {
            be_buf_adds(b, " LIMIT ALL");
        }
        else {
            be_buf_adds(b, " LIMIT ");
            APR_ARRAY_PUSH(args, const be_value_t *) = v;
            be_sql_placeholder(b, d, args->nelts);
        }
        if (e->q->offset >= 0) {
            v = apr_pcalloc(b->pool, sizeof(*v));
            v->kind = BE_V_INT;
            v->i = e->q->offset;
            be_buf_adds(b, " OFFSET ");
            APR_ARRAY_PUSH(args, const be_value_t *) = v;
            be_sql_placeholder(b, d, args->nelts);
        }
    }
    be_buf_adds(b, d == BE_DIALECT_PGSQL ? ") AS \"_s\")" : "))");
    return NULL;
}

const char *be_sql_spread(be_buf_t *b, be_dialect_e d, const be_embed_t *e,
                          const be_column_t *c, apr_array_header_t *args)
{
    const char *err;

    be_buf_adds(b, "(SELECT ");
    alias(b, 1);
    be_sql_column(b, c);
    from(b, e->plan, 1);
    if ((err = rows_where(b, d, e, 1, args))) {
        return err;
    }
    be_buf_addc(b, ')');
    return NULL;
}

const char *be_sql_inner(be_buf_t *b, be_dialect_e d,
                         const apr_array_header_t *select, int depth, int *any,
                         apr_array_header_t *args)
{
    const char *err;
    int i;

    for (i = 0; select && i < select->nelts; i++) {
        const be_embed_t *e = APR_ARRAY_IDX(select, i, be_select_t).embed;
        if (!e || !e->inner || !e->plan) {
            continue;
        }
        be_buf_adds(b, (*any)++ ? " AND " : " WHERE ");
        be_buf_adds(b, "EXISTS (SELECT 1");
        from(b, e->plan, depth + 1);
        if ((err = rows_where(b, d, e, depth + 1, args))) {
            return err;
        }
        be_buf_addc(b, ')');
    }
    return NULL;
}
