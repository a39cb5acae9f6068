/*
 * test_sql.c - unit tests of be_sql.c: the SQL of each statement on both dialects.
 * No httpd, no database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "unit.h"
#include "be_query.h"

static void test_sql(void)
{
    be_table_t *t = products();
    be_plan_t *sq = be_plan_make(pool, t, BE_DIALECT_SQLITE);
    be_plan_t *pg = be_plan_make(pool, t, BE_DIALECT_PGSQL);
    be_row_t row;
    be_rows_t rows;
    apr_array_header_t *errs;
    be_stmt_t st;
    be_value_t key = {BE_V_INT, 7, 0, NULL, 0};

    IS_STR(sq->sql_list,
           "SELECT \"id\",\"name\",\"price\",\"active\",\"meta\",\"qty\" FROM "
           "\"products\" ORDER BY \"id\" LIMIT ?1 OFFSET ?2",
           "list, sqlite");
    IS_STR(pg->sql_get,
           "SELECT \"id\",\"name\",\"price\",\"active\",\"meta\",\"qty\" FROM "
           "\"products\" WHERE \"id\" = $1",
           "get, pgsql");
    be_where_t by_key = {&key, NULL, NULL, NULL, 0, NULL, NULL};

    be_sql_delete(pool, pg, &by_key, NULL, &st);
    IS_STR(st.sql, "DELETE FROM \"products\" WHERE \"id\" = $1", "delete");

    {
        be_json_rc_e rc;
        const char *err;
        be_jdoc_t *doc;
        rc = be_json_parse_body(
            pool, "[{\"name\":\"a\",\"price\":1},{\"name\":\"b\",\"qty\":2}]",
            45, 8, 1, &doc, &err);
        IS_INT(rc, BE_JSON_OK, "bulk body");
        errs = apr_array_make(pool, 4, sizeof(be_field_error_t));
        IS_INT(be_validate_rows(pool, t, doc->objects, 1, NULL, NULL, &rows,
                                errs),
               0, "bulk rows valid");
        IS_INT(rows.ncols, 3, "union of the columns");
        be_sql_insert(pool, pg, &rows, 0, 2, BE_UPSERT_NONE, NULL, 0, NULL,
                      &pg->all, &st);
        IS_STR(st.sql,
               "INSERT INTO \"products\" (\"name\",\"price\",\"qty\") VALUES "
               "($1,$2,DEFAULT),($3,DEFAULT,$4) RETURNING "
               "\"id\",\"name\",\"price\",\"active\",\"meta\",\"qty\"",
               "multi-row insert, pgsql DEFAULT where silent");
        IS_INT(st.nargs, 4, "insert args");
        be_sql_insert(pool, sq, &rows, 0, 2, BE_UPSERT_MERGE, NULL, 0, NULL,
                      NULL, &st);
        IS_STR(st.sql,
               "INSERT INTO \"products\" (\"name\",\"price\",\"qty\") VALUES "
               "(?1,?2,NULL),(?3,NULL,?4) ON CONFLICT (\"id\") DO UPDATE SET "
               "\"name\" = excluded.\"name\", \"price\" = excluded.\"price\", "
               "\"qty\" = excluded.\"qty\"",
               "upsert, sqlite");
        rc = be_json_parse_body(pool, "[{\"name\":1},{\"nope\":2}]", 23, 8, 1,
                                &doc, &err);
        errs = apr_array_make(pool, 4, sizeof(be_field_error_t));
        IS_INT(be_validate_rows(pool, t, doc->objects, 1, NULL, NULL, &rows,
                                errs),
               422, "bulk rows invalid");
        IS_STR(err_at(errs, 0), "[0].name: must be a string", "row index");
        IS_STR(err_at(errs, 1), "[1].nope: is not a column of this resource",
               "second row");
    }

    validate(t, "{\"name\":\"a\"}", BE_WRITE_REPLACE, &row, &errs);
    be_sql_update(pool, sq, &row, &by_key, &sq->all, &st);
    IS_STR(st.sql,
           "UPDATE \"products\" SET \"name\" = ?1,\"price\" = ?2,\"active\" = "
           "(1),\"meta\" = ?3,\"qty\" = ?4 WHERE \"id\" = ?5 RETURNING "
           "\"id\",\"name\",\"price\",\"active\",\"meta\",\"qty\"",
           "replace, sqlite default expression");
    IS_INT(st.nargs, 5, "replace args include the key");
    be_sql_update(pool, pg, &row, &by_key, NULL, &st);
    OK(strstr(st.sql, "\"active\" = DEFAULT") != NULL,
       "replace, pgsql DEFAULT");

    {
        be_buf_t b;
        be_buf_init(&b, pool, 8);
        be_quote_ident(&b, "we\"ird");
        IS_STR(be_buf_cstr(&b), "\"we\"\"ird\"", "identifier quoting");
    }
}

/* Embedded resources: products embedding themselves, one row (a
 * many-to-one by id) and an array (a one-to-many with a filter, order
 * and limit), on both dialects. */
static void test_embed(void)
{
    be_table_t *t = products();
    const be_column_t *id[1] = {&APR_ARRAY_IDX(t->cols, 0, be_column_t)};
    be_query_t *q;
    be_stmt_t st;
    int d;
    static const char *const want[2] = {
        "SELECT \"id\",(SELECT json_object('n', \"_1\".\"name\", 'on', "
        "CASE WHEN \"_1\".\"active\" IS NULL THEN NULL WHEN "
        "\"_1\".\"active\" THEN json('true') ELSE json('false') END, "
        "'meta', json(\"_1\".\"meta\")) FROM \"products\" AS \"_1\" WHERE "
        "\"_1\".\"id\" = \"_0\".\"id\") AS \"_e1\",(SELECT '[' || "
        "coalesce(group_concat(\"_v\", ','), '') || ']' FROM (SELECT "
        "json_object('id', \"_1\".\"id\") AS \"_v\" FROM \"products\" AS "
        "\"_1\" WHERE \"qty\" > ?1 AND \"_1\".\"id\" = \"_0\".\"id\" ORDER "
        "BY \"_1\".\"id\" DESC LIMIT ?2)) AS \"_e2\" FROM \"products\" AS "
        "\"_0\" ORDER BY \"_0\".\"id\"",
        "SELECT \"id\",(SELECT json_build_object('n', "
        "\"_1\".\"name\"::text, 'on', \"_1\".\"active\", 'meta', "
        "\"_1\".\"meta\") FROM \"products\" AS \"_1\" WHERE "
        "\"_1\".\"id\" = \"_0\".\"id\") AS \"_e1\",(SELECT "
        "coalesce(json_agg(\"_v\"), '[]') FROM (SELECT "
        "json_build_object('id', \"_1\".\"id\") AS \"_v\" FROM "
        "\"products\" AS \"_1\" WHERE \"qty\" > $1 AND \"_1\".\"id\" = "
        "\"_0\".\"id\" ORDER BY \"_1\".\"id\" DESC LIMIT $2) AS \"_s\") AS "
        "\"_e2\" FROM \"products\" AS \"_0\" ORDER BY \"_0\".\"id\""};

    for (d = 0; d < 2; d++) {
        be_plan_t *pl = be_plan_make(pool, t, (be_dialect_e)d);
        const be_shape_t *shape;
        be_where_t w = {NULL, NULL, NULL, NULL, 0, NULL, NULL};
        int i;
        OK(!be_query_parse(pool,
                           "select=id,one:products(n:name,on:active,meta),"
                           "many:products(id)&many.qty=gt.0"
                           "&many.order=id.desc&many.limit=3",
                           &q),
           "the embedding grammar parses");
        for (i = 1; i < 3; i++) {
            be_embed_t *e = APR_ARRAY_IDX(q->select, i, be_select_t).embed;
            e->plan = pl;
            e->many = i == 2;
            e->npairs = 1;
            e->pcols = e->ccols = id;
        }
        OK(!be_query_check(pool, t, q), "checked against the table");
        shape = be_shape_make(pool, pl, q->select, 0);
        w.filters = q->filters;
        w.select = q->select;
        OK(!be_sql_select(pool, pl, shape, &w, NULL, -1, -1, &st),
           "embedding SQL");
        IS_STR(st.sql, want[d], d ? "pgsql embedding" : "sqlite embedding");
        IS_INT(st.nargs, 2, "the embedded filter and limit are bound");
        IS_INT(shape->cols[1]->type, BE_T_JSON, "an embedded column is json");
    }
}

/* The key breaks ties in the direction of the last column ordered by,
 * so that an index on (..., column) holding the key serves the order. */
static void test_order_tie_break(void)
{
    be_table_t *t = products();
    be_query_t *q;
    be_buf_t b;

    OK(!be_query_parse(pool, "order=qty.desc,price.asc,name.desc", &q),
       "order parses");
    be_buf_init(&b, pool, 64);
    be_sql_order(&b, t, BE_DIALECT_SQLITE, q->order, -1);
    IS_STR(be_buf_cstr(&b),
           " ORDER BY \"qty\" DESC NULLS FIRST, \"price\" ASC NULLS LAST, "
           "\"name\" DESC, \"id\" DESC",
           "the key last, descending after a descending column");
    OK(!be_query_parse(pool, "order=name.desc,qty", &q), "order parses");
    be_buf_init(&b, pool, 64);
    be_sql_order(&b, t, BE_DIALECT_PGSQL, q->order, 1);
    IS_STR(be_buf_cstr(&b),
           " ORDER BY \"_1\".\"name\" DESC, \"_1\".\"qty\" ASC NULLS LAST, "
           "\"_1\".\"id\"",
           "ascending after an ascending one, qualified");
}

/* The statements of a script, as be_script_next splits it. */
static const char *split(const char *sql)
{
    apr_size_t pos = 0, a, b, n = strlen(sql);
    be_buf_t out;

    be_buf_init(&out, pool, 64);
    while (be_script_next(sql, n, &pos, &a, &b)) {
        be_buf_add(&out, "[", 1);
        be_buf_add(&out, sql + a, b - a);
        be_buf_add(&out, "]", 1);
    }
    return be_buf_cstr(&out);
}

static void test_script(void)
{
    IS_STR(split("CREATE TABLE a (x int);\n\n INSERT INTO a VALUES (1)"),
           "[CREATE TABLE a (x int)][INSERT INTO a VALUES (1)]", "two");
    IS_STR(split(" ;; -- only a comment; here\n/* and; /* nested; */ */ ;"),
           "", "blanks, comments and empty statements are nothing");
    IS_STR(split("SELECT 'a;''b'; SELECT \"x;\"\"y\"; SELECT E'\\';'"),
           "[SELECT 'a;''b'][SELECT \"x;\"\"y\"][SELECT E'\\';']",
           "strings and names");
    IS_STR(split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ "
                 "LANGUAGE sql; DO $x$ BEGIN PERFORM 1; END $x$;"),
           "[CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE "
           "sql][DO $x$ BEGIN PERFORM 1; END $x$]",
           "dollar quotes");
    IS_STR(split("SELECT $1; SELECT a$b$c; SELECT 1"),
           "[SELECT $1][SELECT a$b$c][SELECT 1]",
           "parameters and dollars in names quote nothing");
    IS_STR(split("CREATE FUNCTION g(int) RETURNS int LANGUAGE sql BEGIN "
                 "ATOMIC SELECT CASE WHEN $1 > 0 THEN 1 ELSE 0 END; SELECT "
                 "2; END; SELECT 3"),
           "[CREATE FUNCTION g(int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
           "SELECT CASE WHEN $1 > 0 THEN 1 ELSE 0 END; SELECT 2; END]"
           "[SELECT 3]",
           "BEGIN ATOMIC ... END, with CASE ... END inside");
    IS_STR(split("SELECT 'open; string"), "[SELECT 'open; string]",
           "an open string runs to the end");
    IS_STR(split("SELECT 1 -- a; comment\n+ 1; /* x */ SELECT 2"),
           "[SELECT 1 -- a; comment\n+ 1][SELECT 2]",
           "comments inside a statement stay");
    OK(!strcmp(be_script_tx_word(pool, " commit ", 8), "commit"), "COMMIT");
    OK(!strcmp(be_script_tx_word(pool, "-- x\nEND", 8), "END"), "END");
    OK(!strcmp(be_script_tx_word(pool, "ROLLBACK", 8), "ROLLBACK"),
       "ROLLBACK");
    OK(!be_script_tx_word(pool, "ROLLBACK TO s", 13), "ROLLBACK TO stays");
    OK(!strcmp(be_script_tx_word(pool, "ROLLBACK TOO", 12), "ROLLBACK"),
       "ROLLBACK TOO is not TO");
    OK(!be_script_tx_word(pool, "BEGINNING", 9), "a longer word");
    OK(!be_script_tx_word(pool, "SAVEPOINT s", 11), "SAVEPOINT stays");
    OK(!be_script_tx_word(pool, "", 0), "nothing");
}

int main(void)
{
    unit_start();
    test_order_tie_break();
    test_sql();
    test_embed();
    test_script();
    unit_end();
    return tap_done();
}
