/*
 * fuzz_body.c - libFuzzer target for JSON write bodies: the bytes are a
 * body, parsed as POST (object or array), PATCH and PUT would parse it,
 * validated against a table with a column of every type, and planned as
 * SQL in both dialects.  Besides crashes, it aborts when something that
 * is not JSON, or that no column can hold, gets through: a string or key
 * that is not UTF-8, a non-finite number or an integer out of its
 * column's range in a validated row, a json column value that is not
 * JSON, a text longer than its column or holding a NUL.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "be_core.h"

static be_table_t *table(apr_pool_t *p)
{
    static const struct {
        const char *name;
        const char *decl; /* as SQLite or PostgreSQL would spell it */
        be_type_e type;
    } cols[] = {{"id", "INTEGER", BE_T_INT},
                {"i", "smallint", BE_T_INT},
                {"r", "REAL", BE_T_REAL},
                {"t", "varchar(8)", BE_T_TEXT},
                {"b", "BOOLEAN", BE_T_BOOL},
                {"j", "JSON", BE_T_JSON},
                {"ts", "TIMESTAMP", BE_T_NUMERIC}, /* SQLite's affinity */
                {"tz", "timestamp with time zone", BE_T_TEXT}, /* pg */
                {"n", "numeric(10,2)", BE_T_NUMERIC},
                {"x", "", BE_T_BLOB},
                {NULL, NULL, BE_T_TEXT}};
    be_table_t *t = be_table_make(p, "t");
    int i;

    for (i = 0; cols[i].name; i++) {
        be_column_t *c = be_table_add(t);
        c->name = cols[i].name;
        c->decl = cols[i].decl;
        c->type = cols[i].type;
        c->pk = i == 0;
        c->has_default = i == 0 || i == 4;
        c->notnull = i == 0 || i == 4;
        c->max_len = be_max_len_from_decl(c->decl);
        if (i == 1) {
            c->int_min = -32768;
            c->int_max = 32767;
        }
    }
    be_table_set_key(t, p, NULL);
    return t;
}

static void check_value(const be_column_t *c, const be_value_t *v)
{
    switch (v->kind) {
    case BE_V_INT:
        if (c->type == BE_T_INT && (v->i < c->int_min || v->i > c->int_max)) {
            abort(); /* an integer outside its column's range */
        }
        break;
    case BE_V_REAL:
        if (!isfinite(v->d)) {
            abort(); /* NaN or infinity went into a row */
        }
        break;
    case BE_V_TEXT:
        if (be_utf8_valid(v->s, v->len) != v->len) {
            abort(); /* not UTF-8 */
        }
        if (memchr(v->s, '\0', v->len)) {
            abort(); /* PostgreSQL would cut the text there */
        }
        if (c->max_len >= 0 && v->len > 4 * (apr_size_t)c->max_len) {
            abort(); /* far longer than the column */
        }
        break;
    case BE_V_JSON:
        if (!be_json_is_valid(v->s, v->len)) {
            abort(); /* a json column would store what is not JSON */
        }
        break;
    default:
        break;
    }
}

static void check_doc(const be_jdoc_t *doc)
{
    int o, i;

    for (o = 0; o < doc->objects->nelts; o++) {
        const be_jobject_t *obj =
            APR_ARRAY_IDX(doc->objects, o, be_jobject_t *);
        for (i = 0; i < obj->fields->nelts; i++) {
            const be_jfield_t *f = &APR_ARRAY_IDX(obj->fields, i, be_jfield_t);
            if (be_utf8_valid(f->key, strlen(f->key)) != strlen(f->key)) {
                abort(); /* a key that is not UTF-8 */
            }
            if (f->kind == BE_J_STRING
                && be_utf8_valid(f->s, f->len) != f->len) {
                abort(); /* a string that is not UTF-8 */
            }
            if (f->kind == BE_J_REAL && isnan(f->d)) {
                abort(); /* NaN is not JSON */
            }
            if (f->kind == BE_J_NESTED && !be_json_is_valid(f->s, f->len)) {
                abort(); /* a nested value that does not read back */
            }
        }
    }
}

static void plan(apr_pool_t *p, const be_table_t *t, const be_rows_t *rows,
                 const be_row_t *row)
{
    int d;

    for (d = 0; d < 2; d++) {
        be_plan_t *pl = be_plan_make(p, t, (be_dialect_e)d);
        be_stmt_t st;
        be_value_t key = {BE_V_INT, 1, 0, NULL, 0};
        be_where_t w = {&key, NULL, NULL};

        if (rows && rows->nrows > 0) {
            be_sql_insert(p, pl, rows, 0, rows->nrows, BE_UPSERT_MERGE, NULL,
                          0, NULL, &pl->all, &st);
        }
        if (row && row->ncols > 0) {
            be_sql_update(p, pl, row, &w, &pl->all, &st);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static const be_write_e modes[] = {BE_WRITE_UPDATE, BE_WRITE_REPLACE};
    apr_pool_t *p;
    be_table_t *t;
    be_jdoc_t *doc;
    const char *err;
    const char *text;
    int allow_array, m, i;

    if (!ready) {
        apr_initialize();
        ready = 1;
    }
    apr_pool_create(&p, NULL);
    t = table(p);
    /* the body as read_body hands it over: its bytes, then a NUL that the
     * length does not count */
    text = apr_pstrmemdup(p, (const char *)data, size);

    for (allow_array = 1; allow_array >= 0; allow_array--) {
        if (be_json_parse_body(p, text, size, 32, allow_array, &doc, &err)
            != BE_JSON_OK) {
            if (!err || !*err) {
                abort(); /* a refusal must say why */
            }
            continue;
        }
        if (be_utf8_valid(text, size) != size) {
            abort(); /* a body that is not UTF-8 was taken */
        }
        check_doc(doc);
        if (allow_array) {
            apr_array_header_t *errs =
                apr_array_make(p, 4, sizeof(be_field_error_t));
            be_rows_t rows;
            if (!be_validate_rows(p, t, doc->objects, doc->is_array, NULL,
                                  NULL, &rows, errs)) {
                for (i = 0; i < rows.nrows * rows.ncols; i++) {
                    check_value(rows.cols[i % rows.ncols], &rows.vals[i]);
                }
                plan(p, t, &rows, NULL);
            }
            continue;
        }
        for (m = 0; m < 2; m++) {
            apr_array_header_t *errs =
                apr_array_make(p, 4, sizeof(be_field_error_t));
            be_row_t row;
            const be_jobject_t *obj =
                APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *);
            if (!be_validate_row(p, t, obj, modes[m], NULL, &row, errs)) {
                for (i = 0; i < row.ncols; i++) {
                    check_value(row.cols[i], &row.vals[i]);
                }
                plan(p, t, NULL, &row);
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
