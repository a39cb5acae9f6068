/*
 * test_schema.c - unit tests of be_schema.c: types, keys, validation of bodies against a table.
 * No httpd, no database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "unit.h"

static void test_validate(void)
{
    be_table_t *t = products();
    be_row_t row;
    apr_array_header_t *errs;

    IS_INT(validate(t, "{\"name\":\"ab\",\"price\":3}", BE_WRITE_INSERT, &row,
                    &errs),
           0, "valid insert");
    IS_INT(row.ncols, 2, "insert writes what is given");
    IS_INT(row.vals[1].kind, BE_V_INT, "integer into a real column");

    IS_INT(validate(t, "{\"price\":1.5}", BE_WRITE_INSERT, &row, &errs), 422,
           "missing NOT NULL without default");
    IS_STR(err_at(errs, 0), "name: is required", "names the field");
    IS_INT(errs->nelts, 1, "defaulted NOT NULL is not required");

    IS_INT(validate(t, "{\"nope\":1,\"name\":\"x\"}", BE_WRITE_INSERT, &row,
                    &errs),
           422, "unknown column");
    IS_STR(err_at(errs, 0), "nope: is not a column of this resource",
           "names the unknown column");

    IS_INT(validate(t, "{\"name\":5}", BE_WRITE_INSERT, &row, &errs), 422,
           "number into text");
    IS_STR(err_at(errs, 0), "name: must be a string", "type message");
    IS_INT(validate(t, "{\"name\":\"x\",\"qty\":1.5}", BE_WRITE_INSERT, &row,
                    &errs),
           422, "real into integer");
    IS_STR(err_at(errs, 0), "qty: must be an integer", "integer message");
    IS_INT(validate(t, "{\"name\":\"x\",\"qty\":40000}", BE_WRITE_INSERT, &row,
                    &errs),
           422, "out of smallint range");
    IS_INT(validate(t, "{\"name\":\"x\",\"active\":1}", BE_WRITE_INSERT, &row,
                    &errs),
           422, "number into boolean");
    IS_INT(validate(t, "{\"name\":\"abcdef\"}", BE_WRITE_INSERT, &row, &errs),
           422, "too long for varchar(5)");
    IS_STR(err_at(errs, 0), "name: must be at most 5 characters",
           "length message");
    IS_INT(validate(t,
                    "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
                    BE_WRITE_INSERT, &row, &errs),
           0, "length counts characters, not bytes");
    IS_INT(validate(t, "{\"name\":null}", BE_WRITE_INSERT, &row, &errs), 422,
           "null into NOT NULL");
    IS_INT(validate(t, "{\"name\":\"x\",\"meta\":{\"a\":[1]}}",
                    BE_WRITE_INSERT, &row, &errs),
           0, "json column");
    IS_INT(row.vals[1].kind, BE_V_JSON, "json value");
    IS_STR(row.vals[1].s, "{\"a\":[1]}", "json text");
    IS_INT(validate(t, "{\"name\":\"x\",\"meta\":\"s\\\"\"}", BE_WRITE_INSERT,
                    &row, &errs),
           0, "json string");
    IS_STR(row.vals[1].s, "\"s\\\"\"", "json string stays JSON");
    IS_INT(validate(t, "{\"name\":1,\"price\":\"x\",\"zz\":0}",
                    BE_WRITE_INSERT, &row, &errs),
           422, "several errors");
    IS_INT(errs->nelts, 3, "every field listed");

    IS_INT(validate(t, "{\"name\":\"ab\"}", BE_WRITE_REPLACE, &row, &errs), 0,
           "replace");
    IS_INT(row.ncols, 5, "replace sets every non-key column");
    IS_INT(row.vals[1].kind, BE_V_NULL, "absent nullable becomes NULL");
    IS_INT(row.vals[2].kind, BE_V_DEFAULT, "absent defaulted takes default");
    IS_INT(validate(t, "{\"price\":1}", BE_WRITE_REPLACE, &row, &errs), 422,
           "replace without a required column");

    IS_INT(validate(t, "{\"price\":2}", BE_WRITE_UPDATE, &row, &errs), 0,
           "update");
    IS_INT(row.ncols, 1, "update writes only what is given");
}

static void test_hostile_numbers(void)
{
    be_table_t *t = products();
    be_row_t row;
    apr_array_header_t *errs;
    be_json_rc_e rc;
    const char *err;
    be_jobject_t *o;
    be_column_t *c;

    o = parse("{\"a\":-00}", &rc, &err);
    OK(rc != BE_JSON_OK && !o, "-00 is not JSON (a leading zero)");
    o = parse("{\"a\":-9223372036854775809,\"b\":-9223372036854775808,\"c\":"
              "99999999999999999999,\"d\":-0}",
              &rc, &err);
    IS_INT(rc, BE_JSON_OK, "integers past 64 bits parse");
    if (!o) {
        return;
    }
    IS_INT(APR_ARRAY_IDX(o->fields, 0, be_jfield_t).kind, BE_J_REAL,
           "below -2^63: not an integer (json-c clamps it)");
    IS_INT(APR_ARRAY_IDX(o->fields, 0, be_jfield_t).wide, 1, "marked wide");
    IS_STR(APR_ARRAY_IDX(o->fields, 0, be_jfield_t).s, "-9223372036854775809",
           "its digits kept");
    IS_INT(APR_ARRAY_IDX(o->fields, 1, be_jfield_t).kind, BE_J_INT,
           "-2^63 is an integer");
    IS_STR(APR_ARRAY_IDX(o->fields, 2, be_jfield_t).s, "99999999999999999999",
           "above 2^64: digits kept (json-c clamps it)");
    OK(APR_ARRAY_IDX(o->fields, 2, be_jfield_t).d == 1e20, "and its value");

    IS_INT(validate(t, "{\"name\":\"x\",\"id\":-9223372036854775809}",
                    BE_WRITE_INSERT, &row, &errs),
           422, "below -2^63: 422");
    IS_STR(err_at(errs, 0),
           "id: must be between -9223372036854775808 and 9223372036854775807",
           "the range");
    IS_INT(validate(t, "{\"name\":\"x\",\"id\":9223372036854775808}",
                    BE_WRITE_INSERT, &row, &errs),
           422, "2^63: 422");
    IS_STR(err_at(errs, 0),
           "id: must be between -9223372036854775808 and 9223372036854775807",
           "the same range");
    IS_INT(validate(t, "{\"name\":\"x\",\"id\":-9223372036854775808}",
                    BE_WRITE_INSERT, &row, &errs),
           0, "-2^63 fits");
    OK(row.vals[0].i == -9223372036854775807LL - 1, "exactly");
    IS_INT(validate(t, "{\"name\":\"x\",\"qty\":1e400}", BE_WRITE_INSERT, &row,
                    &errs),
           422, "1e400 into an integer");
    IS_STR(err_at(errs, 0), "qty: must be between -32768 and 32767",
           "the column's range");

    IS_INT(validate(t, "{\"name\":\"x\",\"price\":1e400}", BE_WRITE_INSERT,
                    &row, &errs),
           422, "1e400 into a real: 422");
    IS_STR(err_at(errs, 0),
           "price: must be between -1.7976931348623157e308 and "
           "1.7976931348623157e308",
           "the range of a double");
    IS_INT(validate(t, "{\"price\":-1e400}", BE_WRITE_UPDATE, &row, &errs),
           422, "-1e400 in an update");
    IS_INT(validate(t, "{\"name\":\"x\",\"price\":1e308}", BE_WRITE_INSERT,
                    &row, &errs),
           0, "1e308 fits a double");
    IS_INT(validate(t, "{\"name\":\"x\",\"price\":-9223372036854775809}",
                    BE_WRITE_INSERT, &row, &errs),
           0, "below -2^63 is a number for a real column");
    IS_INT(row.vals[1].kind, BE_V_REAL, "a double");
    IS_STR(row.vals[1].s, "-9223372036854775809", "written as sent");

    c = be_table_add(t);
    c->name = "num";
    c->type = BE_T_NUMERIC;
    c = be_table_add(t);
    c->name = "any";
    c->type = BE_T_BLOB;
    be_table_set_key(t, pool, NULL);
    IS_INT(validate(t, "{\"num\":1e400,\"any\":-1e999}", BE_WRITE_UPDATE, &row,
                    &errs),
           422, "1e400 into numeric and untyped");
    IS_INT(errs->nelts, 2, "both named");
    IS_STR(err_at(errs, 1),
           "any: must be between -1.7976931348623157e308 and "
           "1.7976931348623157e308",
           "untyped: the range of a double");
    IS_INT(validate(t, "{\"num\":99999999999999999999}", BE_WRITE_UPDATE, &row,
                    &errs),
           0, "numeric takes a wide integer");
    IS_STR(row.vals[0].s, "99999999999999999999", "with its digits");
    IS_INT(
        validate(t, "{\"name\":\"a\\u0000b\"}", BE_WRITE_UPDATE, &row, &errs),
        422, "NUL in a text value: no column holds it");
    IS_STR(err_at(errs, 0), "name: must not contain \\u0000", "NUL message");
    IS_INT(validate(t, "{\"num\":\"1\\u0000\"}", BE_WRITE_UPDATE, &row, &errs),
           422, "nor a numeric column's string");
    IS_INT(
        validate(t, "{\"meta\":\"a\\u0000\"}", BE_WRITE_UPDATE, &row, &errs),
        0, "a json column takes it, escaped");
    IS_STR(row.vals[0].s, "\"a\\u0000\"", "as \\u0000");
    IS_INT(
        validate(t, "{\"meta\":{\"a\":1e400}}", BE_WRITE_UPDATE, &row, &errs),
        0, "a json column keeps JSON as written");
    IS_STR(row.vals[0].s, "{\"a\":1e400}", "1e400 inside");
}

static void test_types(void)
{
    IS_INT(be_type_from_sqlite_decl("INTEGER"), BE_T_INT, "INTEGER");
    IS_INT(be_type_from_sqlite_decl("varchar(20)"), BE_T_TEXT, "varchar");
    IS_INT(be_type_from_sqlite_decl("DOUBLE PRECISION"), BE_T_REAL, "double");
    IS_INT(be_type_from_sqlite_decl("BOOLEAN"), BE_T_BOOL, "boolean");
    IS_INT(be_type_from_sqlite_decl("JSON"), BE_T_JSON, "json");
    IS_INT(be_type_from_sqlite_decl("DECIMAL(10,2)"), BE_T_NUMERIC, "decimal");
    IS_INT(be_type_from_sqlite_decl(""), BE_T_BLOB, "no type");
    IS_INT(be_type_from_pg_oid(16), BE_T_BOOL, "pg bool");
    IS_INT(be_type_from_pg_oid(3802), BE_T_JSON, "pg jsonb");
    IS_INT(be_type_from_pg_oid(1700), BE_T_NUMERIC, "pg numeric");
    IS_INT(be_max_len_from_decl("character varying(12)"), 12, "pg varchar");
    IS_INT(be_max_len_from_decl("VARCHAR(3)"), 3, "sqlite varchar");
    IS_INT(be_max_len_from_decl("numeric(10,2)"), -1, "numeric has none");
    IS_INT(be_max_len_from_decl("text"), -1, "text has none");
    {
        be_column_t c;
        be_value_t v;
        memset(&c, 0, sizeof(c));
        c.type = BE_T_INT;
        OK(be_key_value(pool, &c, "42", &v) && v.i == 42, "int key");
        OK(!be_key_value(pool, &c, "4x", &v), "non-int key");
        OK(!be_key_value(pool, &c, "", &v), "empty key");
        OK(!be_key_value(pool, &c, "99999999999999999999", &v),
           "overflowing key");
        c.type = BE_T_TEXT;
        OK(be_key_value(pool, &c, "abc", &v) && v.kind == BE_V_TEXT,
           "text key");
    }
}

/* CHECK constraints read from SQLite's CREATE TABLE text */
static const char *check_of(be_table_t *t, be_dialect_e d,
                            const char *reported)
{
    const char *name;
    const apr_array_header_t *cols =
        be_check_columns(pool, t, d, reported, &name);

    return apr_pstrcat(pool, name, ":",
                       cols ? apr_array_pstrcat(pool, cols, ',') : "-", NULL);
}

static void test_checks(void)
{
    be_table_t *t = be_table_make(pool, "items");
    static const char *const names[] = {"id", "qty", "lo", "hi", NULL};
    int i;

    for (i = 0; names[i]; i++) {
        be_table_add(t)->name = names[i];
    }
    be_table_set_key(t, pool, "id");
    be_sqlite_checks(pool, t,
                     "CREATE TABLE items (id INTEGER PRIMARY KEY, qty INT "
                     "CONSTRAINT qty_ok CHECK (qty >= 0 AND qty <> ')'), "
                     "lo INT, hi INT, CONSTRAINT \"order\" CHECK ([lo] <= "
                     "`hi`), CONSTRAINT none CHECK (1), UNIQUE (lo))");
    IS_STR(check_of(t, BE_DIALECT_SQLITE, "qty_ok"), "qty_ok:qty",
           "a named column check: its column");
    IS_STR(check_of(t, BE_DIALECT_SQLITE, "order"), "order:lo,hi",
           "a named table check: the columns it names, quoted any way");
    IS_STR(check_of(t, BE_DIALECT_SQLITE, "none"), "none:-",
           "a check over no column");
    IS_STR(check_of(t, BE_DIALECT_SQLITE, "qty > 0"), "items_qty_check:qty",
           "unnamed: PostgreSQL's name, from the expression SQLite reports");
    IS_STR(check_of(t, BE_DIALECT_SQLITE, "lo < hi + 1"), "items_check:lo,hi",
           "unnamed over two columns");
    IS_STR(check_of(t, BE_DIALECT_PGSQL, "items_qty_check"),
           "items_qty_check:-", "PostgreSQL: by name only");
}

int main(void)
{
    unit_start();
    test_checks();
    test_validate();
    test_hostile_numbers();
    test_types();
    unit_end();
    return tap_done();
}
