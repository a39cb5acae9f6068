/*
 * fuzz_query.c - libFuzzer target for the request parsers: the PostgREST
 * query grammar (checked against a table and planned as SQL in both
 * dialects) and JSON bodies (validated against the same table).
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>

#include "be_core.h"
#include "be_query.h"

static be_table_t *table(apr_pool_t *p)
{
    static const struct {
        const char *name;
        be_type_e type;
    } cols[] = {{"id", BE_T_INT},     {"name", BE_T_TEXT},
                {"price", BE_T_REAL}, {"active", BE_T_BOOL},
                {"attrs", BE_T_JSON}, {"n", BE_T_NUMERIC},
                {NULL, BE_T_TEXT}};
    be_table_t *t = be_table_make(p, "t");
    int i;

    for (i = 0; cols[i].name; i++) {
        be_column_t *c = be_table_add(t);
        c->name = cols[i].name;
        c->type = cols[i].type;
        c->pk = i == 0;
        c->max_len = i == 1 ? 10 : -1;
    }
    be_table_set_key(t, p, NULL);
    return t;
}

/* Binds every embedded resource of select to pl's own table, as the glue
 * binds one to a resource of the location: many or one, through a
 * junction when it has a !hint. */
static void bind_embeds(apr_pool_t *p, apr_array_header_t *select,
                        const be_plan_t *pl, int depth)
{
    static const be_column_t *key[1];
    int i;

    key[0] = &APR_ARRAY_IDX(pl->table->cols, 0, be_column_t);
    for (i = 0; select && i < select->nelts; i++) {
        be_embed_t *e = APR_ARRAY_IDX(select, i, be_select_t).embed;
        if (!e) {
            continue;
        }
        e->plan = pl;
        e->many = !e->spread && depth % 2;
        e->npairs = 1;
        e->pcols = e->ccols = key;
        if (e->hint && !e->spread) {
            e->via = pl;
            e->nvia = 1;
            e->jp = e->jc = key;
        }
        bind_embeds(p, e->q->select, pl, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    apr_pool_t *p;
    be_table_t *t;
    be_query_t *q;
    char *text;
    int d;

    if (!ready) {
        apr_initialize();
        ready = 1;
    }
    apr_pool_create(&p, NULL);
    t = table(p);
    text = apr_pstrmemdup(p, (const char *)data, size);

    if (!be_query_parse(p, text, &q)
        && (bind_embeds(p, q->select, be_plan_make(p, t, BE_DIALECT_SQLITE),
                        1),
            !be_query_check(p, t, q))) {
        for (d = 0; d < 2; d++) {
            be_plan_t *pl = be_plan_make(p, t, (be_dialect_e)d);
            be_shape_t *shape = be_shape_make(p, pl, q->select, 1);
            be_stmt_t st;
            be_where_t w = {NULL, q->filters, NULL, NULL, 0, q->select, NULL};
            be_sql_select(p, pl, shape, &w, q->order, q->limit, q->offset,
                          &st);
            be_sql_count(p, pl, &w, &st);
        }
    }
    {
        be_jdoc_t *doc;
        const char *err;
        if (be_json_parse_body(p, (const char *)data, size, 32, 1, &doc, &err)
            == BE_JSON_OK) {
            apr_array_header_t *errs =
                apr_array_make(p, 4, sizeof(be_field_error_t));
            be_rows_t rows;
            be_validate_rows(p, t, doc->objects, doc->is_array, NULL, NULL,
                             &rows, errs);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
