/*
 * be_sql.c - SQL planning per dialect.  Identifiers only ever come from
 * the introspected schema; every value is a bound parameter.
 */
#include <string.h>

#include "be_core.h"

void be_quote_ident(be_buf_t *b, const char *name)
{
    const char *q;

    be_buf_addc(b, '"');
    while ((q = strchr(name, '"')) != NULL) {
        be_buf_add(b, name, (apr_size_t)(q - name) + 1);
        be_buf_addc(b, '"');
        name = q + 1;
    }
    be_buf_adds(b, name);
    be_buf_addc(b, '"');
}

static void placeholder(be_buf_t *b, be_dialect_e d, int n)
{
    be_buf_printf(b, d == BE_DIALECT_PGSQL ? "$%d" : "?%d", n);
}

static void quote_table(be_buf_t *b, const char *name, be_dialect_e d)
{
    const char *dot = d == BE_DIALECT_PGSQL ? strchr(name, '.') : NULL;

    if (dot) {
        /* schema-qualified on PostgreSQL: "schema"."table" */
        be_buf_t tmp;
        be_buf_init(&tmp, b->pool, 64);
        be_buf_add(&tmp, name, (apr_size_t)(dot - name));
        be_quote_ident(b, be_buf_cstr(&tmp));
        be_buf_addc(b, '.');
        name = dot + 1;
    }
    be_quote_ident(b, name);
}

static void column_ref(be_buf_t *b, const be_column_t *c)
{
    if (c->synthetic) {
        be_buf_adds(b, "rowid");
    }
    else {
        be_quote_ident(b, c->name);
    }
}

be_plan_t *be_plan_make(apr_pool_t *p, const be_table_t *t,
                        be_dialect_e dialect)
{
    be_plan_t *pl = apr_pcalloc(p, sizeof(*pl));
    const be_column_t *key = &APR_ARRAY_IDX(t->cols, t->key, be_column_t);
    be_buf_t b;
    int i;

    pl->table = t;
    pl->dialect = dialect;

    be_buf_init(&b, p, 64);
    quote_table(&b, t->name, dialect);
    pl->qtable = be_buf_cstr(&b);

    be_buf_init(&b, p, 64);
    column_ref(&b, key);
    pl->qkey = be_buf_cstr(&b);

    be_buf_init(&b, p, 256);
    pl->json_keys = apr_palloc(p, sizeof(char *) * (apr_size_t)t->cols->nelts);
    for (i = 0; i < t->cols->nelts; i++) {
        const be_column_t *c = &APR_ARRAY_IDX(t->cols, i, be_column_t);
        be_buf_t k;
        if (i) {
            be_buf_addc(&b, ',');
        }
        column_ref(&b, c);
        be_buf_init(&k, p, 32);
        be_json_escape(&k, c->name, strlen(c->name));
        be_buf_addc(&k, ':');
        pl->json_keys[i] = be_buf_cstr(&k);
    }
    pl->select_list = be_buf_cstr(&b);

    be_buf_init(&b, p, 256);
    be_buf_printf(&b, "SELECT %s FROM %s ORDER BY %s LIMIT ", pl->select_list,
                  pl->qtable, pl->qkey);
    placeholder(&b, dialect, 1);
    pl->sql_list = be_buf_cstr(&b);

    be_buf_init(&b, p, 256);
    be_buf_printf(&b, "SELECT %s FROM %s WHERE %s = ", pl->select_list,
                  pl->qtable, pl->qkey);
    placeholder(&b, dialect, 1);
    pl->sql_get = be_buf_cstr(&b);

    be_buf_init(&b, p, 128);
    be_buf_printf(&b, "DELETE FROM %s WHERE %s = ", pl->qtable, pl->qkey);
    placeholder(&b, dialect, 1);
    pl->sql_delete = be_buf_cstr(&b);
    return pl;
}

void be_plan_insert(apr_pool_t *p, const be_plan_t *pl, const be_row_t *row,
                    be_stmt_t *st)
{
    be_buf_t b;
    int i;

    be_buf_init(&b, p, 256);
    be_buf_printf(&b, "INSERT INTO %s ", pl->qtable);
    st->args = apr_palloc(p, sizeof(*st->args) * (apr_size_t)(row->ncols + 1));
    st->nargs = 0;
    if (row->ncols == 0) {
        be_buf_adds(&b, "DEFAULT VALUES");
    }
    else {
        be_buf_addc(&b, '(');
        for (i = 0; i < row->ncols; i++) {
            if (i) {
                be_buf_addc(&b, ',');
            }
            column_ref(&b, row->cols[i]);
        }
        be_buf_adds(&b, ") VALUES (");
        for (i = 0; i < row->ncols; i++) {
            if (i) {
                be_buf_addc(&b, ',');
            }
            placeholder(&b, pl->dialect, i + 1);
            st->args[st->nargs++] = &row->vals[i];
        }
        be_buf_addc(&b, ')');
    }
    be_buf_printf(&b, " RETURNING %s", pl->select_list);
    st->sql = be_buf_cstr(&b);
}

void be_plan_update(apr_pool_t *p, const be_plan_t *pl, const be_row_t *row,
                    const be_value_t *key, be_stmt_t *st)
{
    be_buf_t b;
    int i;

    be_buf_init(&b, p, 256);
    be_buf_printf(&b, "UPDATE %s SET ", pl->qtable);
    st->args = apr_palloc(p, sizeof(*st->args) * (apr_size_t)(row->ncols + 1));
    st->nargs = 0;
    for (i = 0; i < row->ncols; i++) {
        const be_column_t *c = row->cols[i];
        if (i) {
            be_buf_addc(&b, ',');
        }
        column_ref(&b, c);
        be_buf_adds(&b, " = ");
        if (row->vals[i].kind == BE_V_DEFAULT) {
            /* SQLite has no DEFAULT in SET: use the schema's expression */
            if (pl->dialect == BE_DIALECT_PGSQL) {
                be_buf_adds(&b, "DEFAULT");
            }
            else if (c->dflt_sql) {
                be_buf_printf(&b, "(%s)", c->dflt_sql);
            }
            else {
                be_buf_adds(&b, "NULL");
            }
            continue;
        }
        st->args[st->nargs++] = &row->vals[i];
        placeholder(&b, pl->dialect, st->nargs);
    }
    st->args[st->nargs++] = key;
    be_buf_printf(&b, " WHERE %s = ", pl->qkey);
    placeholder(&b, pl->dialect, st->nargs);
    be_buf_printf(&b, " RETURNING %s", pl->select_list);
    st->sql = be_buf_cstr(&b);
}
