/*
 * unit.c - what the unit tests share: a pool, a table to validate against,
 * body parsing and validation helpers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

apr_pool_t *pool;

void unit_start(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

void unit_end(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

be_table_t *products(void)
{
    be_table_t *t = be_table_make(pool, "products");
    be_column_t *c;

    c = be_table_add(t);
    c->name = "id";
    c->type = BE_T_INT;
    c->pk = 1;
    c->notnull = 1;
    c->has_default = 1;
    c = be_table_add(t);
    c->name = "name";
    c->type = BE_T_TEXT;
    c->notnull = 1;
    c->max_len = 5;
    c = be_table_add(t);
    c->name = "price";
    c->type = BE_T_REAL;
    c = be_table_add(t);
    c->name = "active";
    c->type = BE_T_BOOL;
    c->notnull = 1;
    c->has_default = 1;
    c->dflt_sql = "1";
    c = be_table_add(t);
    c->name = "meta";
    c->type = BE_T_JSON;
    c = be_table_add(t);
    c->name = "qty";
    c->type = BE_T_INT;
    c->int_min = -32768;
    c->int_max = 32767;
    if (be_table_set_key(t, pool, NULL) != NULL) {
        fprintf(stderr, "products: no key\n");
        abort();
    }
    return t;
}

be_jobject_t *parse(const char *json, be_json_rc_e *rc, const char **err)
{
    be_jdoc_t *doc = NULL;

    *rc = be_json_parse_body(pool, json, strlen(json), 8, 0, &doc, err);
    return doc ? APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *) : NULL;
}

int validate(be_table_t *t, const char *json, be_write_e mode, be_row_t *row,
             apr_array_header_t **errs)
{
    be_json_rc_e rc;
    const char *err;
    be_jobject_t *o = parse(json, &rc, &err);

    *errs = apr_array_make(pool, 4, sizeof(be_field_error_t));
    return be_validate_row(pool, t, o, mode, NULL, row, *errs);
}

const char *err_at(apr_array_header_t *errs, int i)
{
    be_field_error_t *e;
    if (i >= errs->nelts) {
        return "(none)";
    }
    e = &APR_ARRAY_IDX(errs, i, be_field_error_t);
    return apr_pstrcat(pool, e->field, ": ", e->message, NULL);
}
