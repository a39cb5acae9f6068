/*
 * be_sql.c - SQL per dialect.  Identifiers only ever come from the
 * introspected schema; every value is a bound parameter.
 */
#include <string.h>

#include "be_fn.h"
#include "be_query.h"

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

void be_sql_placeholder(be_buf_t *b, be_dialect_e d, int n)
{
    be_buf_addc(b, d == BE_DIALECT_PGSQL ? '$' : '?');
    be_buf_int(b, n);
}

static void quote_table(be_buf_t *b, const char *name, be_dialect_e d)
{
    const char *dot = d == BE_DIALECT_PGSQL ? strchr(name, '.') : NULL;

    if (dot) {
        /* schema-qualified on PostgreSQL: "schema"."table" */
        be_quote_ident(
            b, apr_pstrmemdup(b->pool, name, (apr_size_t)(dot - name)));
        be_buf_addc(b, '.');
        name = dot + 1;
    }
    be_quote_ident(b, name);
}

void be_sql_column(be_buf_t *b, const be_column_t *c)
{
    if (c->synthetic) {
        be_buf_adds(b, "rowid");
    }
    else {
        be_quote_ident(b, c->name);
    }
}

static const be_column_t *key_of(const be_table_t *t)
{
    return &APR_ARRAY_IDX(t->cols, t->key, be_column_t);
}

/* ---------------------------------------------------------------------- */
/* Shapes and plans                                                        */

static const char *json_key(apr_pool_t *p, const char *name)
{
    be_buf_t k;

    be_buf_init(&k, p, 32);
    be_json_escape(&k, name, strlen(name));
    be_buf_addc(&k, ':');
    return be_buf_cstr(&k);
}

static void shape_add(apr_pool_t *p, be_shape_t *s, be_buf_t *list,
                      const be_column_t *c, const char *alias,
                      const be_table_t *t)
{
    if (s->ncols) {
        be_buf_addc(list, ',');
    }
    be_sql_column(list, c);
    if (s->embeds) {
        s->embeds[s->ncols] = NULL;
    }
    s->cols[s->ncols] = c;
    s->keys[s->ncols] = alias ? json_key(p, alias) : NULL;
    if (t->key >= 0 && c == key_of(t) && s->key_col < 0) {
        s->key_col = s->ncols;
    }
    s->ncols++;
}

/* An embedded resource: one column of JSON, or a spread's columns. */
static void embed_add(apr_pool_t *p, be_shape_t *s, be_buf_t *list,
                      const be_select_t *sel, const be_table_t *t)
{
    const be_embed_t *e = sel->embed;
    const be_table_t *et = e->plan->table;
    int i, j;

    if (!e->spread) {
        be_column_t *c = apr_pcalloc(p, sizeof(*c));
        c->name = sel->alias;
        c->decl = "json";
        c->type = BE_T_JSON;
        c->oid = 114; /* json the database built: valid, not checked again */
        shape_add(p, s, list, c, sel->alias, t);
        s->embeds[s->ncols - 1] = e;
        return;
    }
    for (i = 0; i < e->q->select->nelts; i++) {
        const be_select_t *es = &APR_ARRAY_IDX(e->q->select, i, be_select_t);
        for (j = 0; j < et->cols->nelts; j++) {
            const be_column_t *c = &APR_ARRAY_IDX(et->cols, j, be_column_t);
            int star = strcmp(es->column, "*") == 0;
            if ((star && c->hidden)
                || (!star && strcmp(c->name, es->column))) {
                continue;
            }
            shape_add(p, s, list, c, star ? c->name : es->alias, t);
            s->embeds[s->ncols - 1] = e;
            if (!star) {
                break;
            }
        }
    }
}

be_shape_t *be_shape_make(apr_pool_t *p, const be_plan_t *pl,
                          const apr_array_header_t *select, int need_key)
{
    const be_table_t *t = pl->table;
    be_shape_t *s;
    be_buf_t list;
    int i, j, max;

    if (!select && pl->all.sql_list && (pl->all.key_col >= 0 || !need_key)) {
        return (be_shape_t *)&pl->all;
    }
    max = t->cols->nelts + 1;
    for (i = 0; select && i < select->nelts; i++) {
        const be_embed_t *e = APR_ARRAY_IDX(select, i, be_select_t).embed;
        max += t->cols->nelts;
        if (e && e->spread) {
            max += e->plan->table->cols->nelts * e->q->select->nelts;
        }
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->cols = apr_palloc(p, sizeof(*s->cols) * (apr_size_t)max);
    s->keys = apr_palloc(p, sizeof(*s->keys) * (apr_size_t)max);
    s->key_col = -1;
    be_buf_init(&list, p, 128);
    for (i = 0; select && i < select->nelts; i++) {
        if (APR_ARRAY_IDX(select, i, be_select_t).embed) {
            s->embeds = apr_pcalloc(p, sizeof(*s->embeds) * (apr_size_t)max);
            break;
        }
    }
    for (i = 0; select && i < select->nelts; i++) {
        const be_select_t *sel = &APR_ARRAY_IDX(select, i, be_select_t);
        if (sel->embed) {
            embed_add(p, s, &list, sel, t);
        }
        else if (strcmp(sel->column, "*") == 0) {
            for (j = 0; j < t->cols->nelts; j++) {
                const be_column_t *c = &APR_ARRAY_IDX(t->cols, j, be_column_t);
                if (!c->hidden) {
                    shape_add(p, s, &list, c, c->name, t);
                }
            }
        }
        else {
            shape_add(p, s, &list, be_table_col(t, sel->column), sel->alias,
                      t);
        }
    }
    for (j = 0; !select && j < t->cols->nelts; j++) {
        const be_column_t *c = &APR_ARRAY_IDX(t->cols, j, be_column_t);
        if (!c->hidden) {
            shape_add(p, s, &list, c, c->name, t);
        }
    }
    s->nrender = s->ncols;
    if (need_key && s->key_col < 0 && t->key >= 0) {
        shape_add(p, s, &list, key_of(t), NULL, t);
    }
    s->sql_list = be_buf_cstr(&list);
    return s;
}

static be_plan_t *plan_from(apr_pool_t *p, const be_table_t *t,
                            be_dialect_e dialect, const char *from);

be_plan_t *be_plan_make(apr_pool_t *p, const be_table_t *t,
                        be_dialect_e dialect)
{
    be_buf_t b;

    be_buf_init(&b, p, 64);
    quote_table(&b, t->name, dialect);
    return plan_from(p, t, dialect, be_buf_cstr(&b));
}

be_plan_t *be_plan_subquery(apr_pool_t *p, const be_table_t *t,
                            be_dialect_e dialect, const char *sql)
{
    return plan_from(p, t, dialect,
                     apr_pstrcat(p, "(", sql, ") AS \"_\"", NULL));
}

static be_plan_t *plan_from(apr_pool_t *p, const be_table_t *t,
                            be_dialect_e dialect, const char *from)
{
    be_plan_t *pl = apr_pcalloc(p, sizeof(*pl));
    be_shape_t *all;
    be_stmt_t st;
    be_value_t one = {BE_V_INT, 0, 0, NULL, 0};

    pl->table = t;
    pl->dialect = dialect;
    pl->qtable = from;

    /* pl->all has no list yet: be_shape_make builds it */
    all = be_shape_make(p, pl, NULL, t->key >= 0);
    pl->all = *all;

    {
        be_where_t none = {NULL, NULL, NULL, NULL, 0, NULL, NULL},
                   by_key = {&one, NULL, NULL, NULL, 0, NULL, NULL};
        be_sql_select(p, pl, &pl->all, &none, NULL, 1, 0, &st);
        pl->sql_list = st.sql;
        if (t->key >= 0) {
            be_sql_select(p, pl, &pl->all, &by_key, NULL, -1, -1, &st);
            pl->sql_get = st.sql;
        }
    }
    return pl;
}

/* ---------------------------------------------------------------------- */
/* Statements                                                              */

typedef struct {
    be_buf_t b;
    apr_array_header_t *args;
    be_dialect_e d;
} sqlb_t;

static void sqlb_init(sqlb_t *q, apr_pool_t *p, const be_plan_t *pl)
{
    be_buf_init(&q->b, p, 256);
    q->args = apr_array_make(p, 8, sizeof(const be_value_t *));
    q->d = pl->dialect;
}

/* The values a subquery plan's own SQL binds come first. */
static void sqlb_from(sqlb_t *q, const be_where_t *w)
{
    int i;

    for (i = 0; i < w->nfrom; i++) {
        APR_ARRAY_PUSH(q->args, const be_value_t *) = w->from[i];
    }
}

static void sqlb_bind(sqlb_t *q, const be_value_t *v)
{
    APR_ARRAY_PUSH(q->args, const be_value_t *) = v;
    be_sql_placeholder(&q->b, q->d, q->args->nelts);
}

static void sqlb_done(sqlb_t *q, be_stmt_t *st)
{
    st->sql = be_buf_cstr(&q->b);
    st->nargs = q->args->nelts;
    st->args = (const be_value_t **)q->args->elts;
}

static const char *where(sqlb_t *q, const be_plan_t *pl, const be_where_t *w)
{
    const char *err;
    int any = w->filters && w->filters->nelts;

    /* filters first: be_sql_where numbers its own placeholders */
    if ((err = be_sql_where(q->b.pool, &q->b, pl->table, q->d, w->filters,
                            q->args))) {
        return err;
    }
    if (w->key) {
        be_buf_adds(&q->b, any++ ? " AND " : " WHERE ");
        be_sql_column(&q->b, key_of(pl->table));
        be_buf_adds(&q->b, " = ");
        sqlb_bind(q, w->key);
    }
    if (w->owner && pl->owner) {
        be_buf_adds(&q->b, any++ ? " AND " : " WHERE ");
        be_sql_column(&q->b, pl->owner);
        be_buf_adds(&q->b, " = ");
        sqlb_bind(q, w->owner);
    }
    be_sql_rules(&q->b, q->d, w->rules, &any, q->args);
    return be_sql_inner(&q->b, q->d, w->select, 0, &any, q->args);
}

/* The select list of a shape with embedded resources. */
static const char *embed_list(sqlb_t *q, const be_shape_t *shape)
{
    const char *err;
    int i;

    for (i = 0; i < shape->ncols; i++) {
        const be_embed_t *e = shape->embeds[i];
        if (i) {
            be_buf_addc(&q->b, ',');
        }
        if (!e) {
            be_sql_column(&q->b, shape->cols[i]);
            continue;
        }
        if ((err = e->spread
                 ? be_sql_spread(&q->b, q->d, e, shape->cols[i], q->args)
                 : be_sql_embed(&q->b, q->d, e, 1, q->args))) {
            return err;
        }
        /* (a name of its own: PostgreSQL would call them ?column?, or by
         * the spread column's name, which ORDER BY could take for the
         * parent's) */
        be_buf_adds(&q->b, " AS \"_e");
        be_buf_int(&q->b, i);
        be_buf_addc(&q->b, '"');
    }
    return NULL;
}

static void returning(sqlb_t *q, const be_shape_t *shape)
{
    int any = 1;

    if (!shape) {
        return;
    }
    be_buf_printf(&q->b, " RETURNING %s", shape->sql_list);
    if (shape->check) {
        be_buf_adds(&q->b, *shape->sql_list ? ", (1 = 1" : "(1 = 1");
        be_sql_rules(&q->b, q->d, shape->check, &any, q->args);
        be_buf_addc(&q->b, ')');
    }
}

const char *be_sql_select(apr_pool_t *p, const be_plan_t *pl,
                          const be_shape_t *shape, const be_where_t *w,
                          const apr_array_header_t *order, long long limit,
                          long long offset, be_stmt_t *st)
{
    sqlb_t q;
    const char *err;
    be_value_t *v;

    sqlb_init(&q, p, pl);
    sqlb_from(&q, w);
    be_buf_adds(&q.b, "SELECT ");
    if (shape->embeds && (err = embed_list(&q, shape))) {
        return err;
    }
    be_buf_adds(&q.b, shape->embeds ? "" : shape->sql_list);
    be_buf_adds(&q.b, " FROM ");
    be_buf_adds(&q.b, pl->qtable);
    if (shape->embeds || w->select) {
        be_buf_adds(&q.b, " AS \"_0\"");
    }
    if ((err = where(&q, pl, w))) {
        return err;
    }
    if (!w->key) {
        be_sql_order(&q.b, pl->table, q.d, order,
                     shape->embeds || w->select ? 0 : -1);
    }
    if (limit >= 0) {
        v = apr_pcalloc(p, sizeof(*v));
        v->kind = BE_V_INT;
        v->i = limit;
        be_buf_adds(&q.b, " LIMIT ");
        sqlb_bind(&q, v);
    }
    if (offset >= 0) {
        v = apr_pcalloc(p, sizeof(*v));
        v->kind = BE_V_INT;
        v->i = offset;
        be_buf_adds(&q.b, limit >= 0 ? " OFFSET " : " LIMIT -1 OFFSET ");
        if (limit < 0 && q.d == BE_DIALECT_PGSQL) {
            q.b.len -= strlen("LIMIT -1 OFFSET ");
            be_buf_adds(&q.b, "OFFSET ");
        }
        sqlb_bind(&q, v);
    }
    sqlb_done(&q, st);
    return NULL;
}

/* HEAD [WHERE ...] [RETURNING ...]: count and delete */
static const char *head_where(apr_pool_t *p, const be_plan_t *pl,
                              const char *head, const be_where_t *w,
                              const be_shape_t *shape, be_stmt_t *st)
{
    sqlb_t q;
    const char *err;

    sqlb_init(&q, p, pl);
    sqlb_from(&q, w);
    be_buf_printf(&q.b, "%s %s", head, pl->qtable);
    if (w->select) {
        be_buf_adds(&q.b, " AS \"_0\""); /* !inner: its rows refer to it */
    }
    if ((err = where(&q, pl, w))) {
        return err;
    }
    returning(&q, shape);
    sqlb_done(&q, st);
    return NULL;
}

const char *be_sql_count(apr_pool_t *p, const be_plan_t *pl,
                         const be_where_t *w, be_stmt_t *st)
{
    return head_where(p, pl, "SELECT count(*) FROM", w, NULL, st);
}

/* A value the row does not give: the column's default. */
static void default_value(sqlb_t *q, const be_column_t *c)
{
    if (q->d == BE_DIALECT_PGSQL) {
        be_buf_adds(&q->b, "DEFAULT");
    }
    else if (c->dflt_sql) {
        /* SQLite has no DEFAULT here: the schema's own expression */
        be_buf_printf(&q->b, "(%s)", c->dflt_sql);
    }
    else {
        be_buf_adds(&q->b, "NULL");
    }
}

void be_sql_insert(apr_pool_t *p, const be_plan_t *pl, const be_rows_t *rows,
                   int first, int n, be_upsert_e upsert,
                   const apr_array_header_t *on_conflict, int owned,
                   const apr_array_header_t *conflict_rules,
                   const be_shape_t *shape, be_stmt_t *st)
{
    sqlb_t q;
    int r, i;

    sqlb_init(&q, p, pl);
    be_buf_printf(&q.b, "INSERT INTO %s ", pl->qtable);
    if (rows->ncols == 0) {
        be_buf_adds(&q.b, "DEFAULT VALUES");
    }
    else {
        be_buf_addc(&q.b, '(');
        for (i = 0; i < rows->ncols; i++) {
            if (i) {
                be_buf_addc(&q.b, ',');
            }
            be_sql_column(&q.b, rows->cols[i]);
        }
        be_buf_adds(&q.b, ") VALUES ");
        for (r = first; r < first + n; r++) {
            be_buf_adds(&q.b, r > first ? ",(" : "(");
            for (i = 0; i < rows->ncols; i++) {
                const be_value_t *v = &rows->vals[r * rows->ncols + i];
                if (i) {
                    be_buf_addc(&q.b, ',');
                }
                if (v->kind == BE_V_DEFAULT) {
                    default_value(&q, rows->cols[i]);
                }
                else {
                    sqlb_bind(&q, v);
                }
            }
            be_buf_addc(&q.b, ')');
        }
    }
    if (upsert != BE_UPSERT_NONE) {
        int any = 0;
        be_buf_adds(&q.b, " ON CONFLICT (");
        if (on_conflict) {
            for (i = 0; i < on_conflict->nelts; i++) {
                if (i) {
                    be_buf_addc(&q.b, ',');
                }
                be_sql_column(
                    &q.b,
                    be_table_col(pl->table,
                                 APR_ARRAY_IDX(on_conflict, i, const char *)));
            }
        }
        else {
            for (i = 0; i < pl->table->nkeys; i++) {
                if (i) {
                    be_buf_addc(&q.b, ',');
                }
                be_sql_column(&q.b,
                              &APR_ARRAY_IDX(pl->table->cols,
                                             pl->table->keys[i], be_column_t));
            }
        }
        be_buf_addc(&q.b, ')');
        if (upsert == BE_UPSERT_MERGE) {
            for (i = 0; i < rows->ncols; i++) {
                be_buf_adds(&q.b, any++ ? ", " : " DO UPDATE SET ");
                be_sql_column(&q.b, rows->cols[i]);
                be_buf_adds(&q.b, " = excluded.");
                be_sql_column(&q.b, rows->cols[i]);
            }
            if (any && owned && pl->owner) {
                /* a conflict with another user's row changes nothing */
                be_buf_printf(&q.b, " WHERE %s.", pl->qtable);
                be_sql_column(&q.b, pl->owner);
                be_buf_adds(&q.b, " = excluded.");
                be_sql_column(&q.b, pl->owner);
            }
            if (any && conflict_rules && conflict_rules->nelts) {
                /* the row met is updated only when the rules let the user
                 * update it: its own columns, unqualified in the rules */
                int in_where = owned && pl->owner;
                if (q.d == BE_DIALECT_PGSQL) {
                    /* (where PostgreSQL finds them ambiguous with
                     * excluded's, unless a subquery names them) */
                    int inner = 0;
                    be_buf_printf(&q.b,
                                  "%sEXISTS (SELECT 1 FROM (SELECT %s.*) "
                                  "AS \"_r\"",
                                  in_where ? " AND " : " WHERE ", pl->qtable);
                    be_sql_rules(&q.b, q.d, conflict_rules, &inner, q.args);
                    be_buf_addc(&q.b, ')');
                }
                else {
                    be_sql_rules(&q.b, q.d, conflict_rules, &in_where, q.args);
                }
            }
        }
        if (!any) {
            be_buf_adds(&q.b, " DO NOTHING");
        }
    }
    returning(&q, shape);
    sqlb_done(&q, st);
}

const char *be_sql_update(apr_pool_t *p, const be_plan_t *pl,
                          const be_row_t *row, const be_where_t *w,
                          const be_shape_t *shape, be_stmt_t *st)
{
    sqlb_t q;
    const char *err;
    int i;

    sqlb_init(&q, p, pl);
    be_buf_printf(&q.b, "UPDATE %s SET ", pl->qtable);
    for (i = 0; i < row->ncols; i++) {
        if (i) {
            be_buf_addc(&q.b, ',');
        }
        be_sql_column(&q.b, row->cols[i]);
        be_buf_adds(&q.b, " = ");
        if (row->vals[i].kind == BE_V_DEFAULT) {
            default_value(&q, row->cols[i]);
        }
        else {
            sqlb_bind(&q, &row->vals[i]);
        }
    }
    if ((err = where(&q, pl, w))) {
        return err;
    }
    returning(&q, shape);
    sqlb_done(&q, st);
    return NULL;
}

const char *be_sql_delete(apr_pool_t *p, const be_plan_t *pl,
                          const be_where_t *w, const be_shape_t *shape,
                          be_stmt_t *st)
{
    return head_where(p, pl, "DELETE FROM", w, shape, st);
}
