/*
 * test_core.c - unit tests of the portable core: JSON rendering and
 * escaping, body parsing, validation, SQL planning.  No httpd, no database.
 */
#include <math.h>
#include <apr_general.h>

#include "be_core.h"
#include "be_query.h"
#include "be_jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <unistd.h>
#include "tap.h"

static apr_pool_t *pool;

static const char *esc(const char *s, apr_size_t len)
{
    be_buf_t b;
    be_buf_init(&b, pool, 4);
    be_json_escape(&b, s, len);
    return be_buf_cstr(&b);
}

static const char *dbl(double d)
{
    be_buf_t b;
    be_buf_init(&b, pool, 4);
    be_json_double(&b, d);
    return be_buf_cstr(&b);
}

static void test_escape(void)
{
    IS_STR(esc("plain", 5), "\"plain\"", "plain string");
    IS_STR(esc("a\"b\\c", 5), "\"a\\\"b\\\\c\"", "quote and backslash");
    IS_STR(esc("l1\nl2\tx\r", 8), "\"l1\\u000al2\\u0009x\\u000d\"",
           "control characters as \\u00XX");
    IS_STR(esc("\x01\x1f", 2), "\"\\u0001\\u001f\"", "low controls");
    IS_STR(esc("nul\0x", 5), "\"nul\\u0000x\"", "embedded NUL");
    IS_STR(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
           "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
           "multi-byte UTF-8 kept");
    IS_STR(esc("bad\xff" "x", 5), "\"bad\xef\xbf\xbdx\"",
           "invalid byte becomes U+FFFD");
    IS_STR(esc("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"",
           "overlong form rejected");
    IS_STR(esc("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
           "surrogate rejected");
    IS_STR(esc("\xe2\x82", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"",
           "truncated sequence");
    IS_STR(esc("/", 1), "\"/\"", "slash not escaped");
}

static void test_double(void)
{
    IS_STR(dbl(0.1), "0.1", "0.1 shortest");
    IS_STR(dbl(2.5), "2.5", "2.5");
    IS_STR(dbl(1e300), "1e+300", "large exponent");
    IS_STR(dbl(0.30000000000000004), "0.30000000000000004", "17 digits");
    IS_STR(dbl(NAN), "null", "NaN is null");
    IS_STR(dbl(INFINITY), "null", "Infinity is null");
    IS_STR(dbl(-3.0), "-3", "integral double");
    {
        char tmp[24];
        be_format_int(tmp, 0);
        IS_STR(tmp, "0", "integer 0");
        be_format_int(tmp, -7);
        IS_STR(tmp, "-7", "integer -7");
        OK(be_format_int(tmp, 9223372036854775807LL) == 19
           && strcmp(tmp, "9223372036854775807") == 0, "largest integer");
        be_format_int(tmp, -9223372036854775807LL - 1);
        IS_STR(tmp, "-9223372036854775808", "smallest integer");
        be_format_int(tmp, 1000000);
        IS_STR(tmp, "1000000", "trailing zeros");
    }
    IS_STR(dbl(123.45), "123.45", "two decimals");
    IS_STR(dbl(-0.05), "-0.05", "leading zero");
    IS_STR(dbl(0.0001), "0.0001", "smallest without an exponent");
    IS_STR(dbl(0.00001), "1e-05", "exponent below 1e-4");
    IS_STR(dbl(100.0), "100", "trailing zeros of an integer");
    IS_STR(dbl(1.5e9), "1500000000", "above the fast range");
    IS_STR(dbl(0.0), "0", "zero");
    IS_STR(dbl(-0.0), "-0", "negative zero");
    IS_STR(dbl(999999999.999999), "999999999.999999", "15 digits");
    {
        /* the decimal fast path prints what printf's shortest of 15 or
         * 17 digits prints, over many prices, measures and odd values */
        unsigned long x = 12345;
        int i, same = 1;
        char ref[40];

        for (i = 0; i < 200000 && same; i++) {
            double d;
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            switch (i % 4) {
            case 0: d = (double)(x >> 40 & 0xfffff) / 100; break;
            case 1: d = -(double)(x >> 33 & 0xffffff) / 1000000; break;
            case 2: d = (double)(x >> 11) / 9007199254740992.0 * 1e6; break;
            default: d = (double)(x >> 44) / 7; break;
            }
            snprintf(ref, sizeof(ref), "%.15g", d);
            if (strtod(ref, NULL) != d) {
                snprintf(ref, sizeof(ref), "%.17g", d);
            }
            same = strcmp(dbl(d), ref) == 0;
            if (!same) {
                printf("# %.17g: %s, printf %s\n", d, dbl(d), ref);
            }
        }
        OK(same, "fast decimals equal printf's on 200000 values");
    }
}

static be_table_t *products(void)
{
    be_table_t *t = be_table_make(pool, "products");
    be_column_t *c;

    c = be_table_add(t);
    c->name = "id"; c->type = BE_T_INT; c->pk = 1; c->notnull = 1;
    c->has_default = 1;
    c = be_table_add(t);
    c->name = "name"; c->type = BE_T_TEXT; c->notnull = 1; c->max_len = 5;
    c = be_table_add(t);
    c->name = "price"; c->type = BE_T_REAL;
    c = be_table_add(t);
    c->name = "active"; c->type = BE_T_BOOL; c->notnull = 1;
    c->has_default = 1; c->dflt_sql = "1";
    c = be_table_add(t);
    c->name = "meta"; c->type = BE_T_JSON;
    c = be_table_add(t);
    c->name = "qty"; c->type = BE_T_INT; c->int_min = -32768;
    c->int_max = 32767;
    OK(be_table_set_key(t, pool, NULL) == NULL, "key from the primary key");
    return t;
}

static be_jobject_t *parse(const char *json, be_json_rc_e *rc,
                           const char **err)
{
    be_jdoc_t *doc = NULL;

    *rc = be_json_parse_body(pool, json, strlen(json), 8, 0, &doc, err);
    return doc ? APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *) : NULL;
}

static void test_parse(void)
{
    be_json_rc_e rc;
    const char *err = NULL;
    be_jobject_t *o;
    be_jdoc_t *doc;

    o = parse("{\"name\":\"a\",\"n\":3,\"x\":1.5,\"b\":true,\"z\":null,"
              "\"j\":{\"k\":[1,\"/\"]}}", &rc, &err);
    IS_INT(rc, BE_JSON_OK, "object parses");
    IS_INT(o->fields->nelts, 6, "six fields");
    IS_INT(APR_ARRAY_IDX(o->fields, 1, be_jfield_t).kind, BE_J_INT, "int");
    IS_INT(APR_ARRAY_IDX(o->fields, 1, be_jfield_t).i, 3, "int value");
    IS_INT(APR_ARRAY_IDX(o->fields, 2, be_jfield_t).kind, BE_J_REAL, "real");
    IS_INT(APR_ARRAY_IDX(o->fields, 3, be_jfield_t).kind, BE_J_BOOL, "bool");
    IS_INT(APR_ARRAY_IDX(o->fields, 4, be_jfield_t).kind, BE_J_NULL, "null");
    IS_STR(APR_ARRAY_IDX(o->fields, 5, be_jfield_t).s, "{\"k\":[1,\"/\"]}",
           "nested kept as compact JSON");

    parse("{\"a\":", &rc, &err);
    IS_INT(rc, BE_JSON_SYNTAX, "truncated is a syntax error");
    parse("{\"a\":1} x", &rc, &err);
    IS_INT(rc, BE_JSON_SYNTAX, "trailing garbage is a syntax error");
    parse("{\"a\":1}  \n", &rc, &err);
    IS_INT(rc, BE_JSON_OK, "trailing whitespace is fine");
    parse("{'a':1}", &rc, &err);
    IS_INT(rc, BE_JSON_SYNTAX, "single quotes refused (strict)");
    parse("[1,2]", &rc, &err);
    IS_INT(rc, BE_JSON_NOT_OBJECT, "array is not an object");
    IS_STR(err, "the body must be a JSON object", "not-object message");
    parse("null", &rc, &err);
    IS_INT(rc, BE_JSON_NOT_OBJECT, "null is not an object");
    parse("42", &rc, &err);
    IS_INT(rc, BE_JSON_NOT_OBJECT, "number is not an object");
    parse("", &rc, &err);
    IS_INT(rc, BE_JSON_SYNTAX, "empty body");
    parse("{\"a\":[[[[[[[[[[1]]]]]]]]]]}", &rc, &err);
    IS_INT(rc, BE_JSON_TOO_DEEP, "depth limit");
    parse("{\"a\":\"\xff\"}", &rc, &err);
    IS_INT(rc, BE_JSON_SYNTAX, "invalid UTF-8 refused");

    rc = be_json_parse_body(pool, "[{\"a\":1},{\"a\":2}]", 17, 8, 1, &doc,
                            &err);
    IS_INT(rc, BE_JSON_OK, "array of objects when allowed");
    IS_INT(doc->objects->nelts, 2, "two objects");
    rc = be_json_parse_body(pool, "[{\"a\":1},2]", 11, 8, 1, &doc, &err);
    IS_INT(rc, BE_JSON_NOT_OBJECT, "array with a non-object");

    OK(be_json_is_valid("{\"a\":[1,2]}", 11), "valid json");
    OK(be_json_is_valid("null", 4), "null is valid json");
    OK(!be_json_is_valid("{a}", 3), "invalid json");
}

static int validate(be_table_t *t, const char *json, be_write_e mode,
                    be_row_t *row, apr_array_header_t **errs)
{
    be_json_rc_e rc;
    const char *err;
    be_jobject_t *o = parse(json, &rc, &err);

    *errs = apr_array_make(pool, 4, sizeof(be_field_error_t));
    return be_validate_row(pool, t, o, mode, NULL, row, *errs);
}

static const char *err_at(apr_array_header_t *errs, int i)
{
    be_field_error_t *e;
    if (i >= errs->nelts) {
        return "(none)";
    }
    e = &APR_ARRAY_IDX(errs, i, be_field_error_t);
    return apr_pstrcat(pool, e->field, ": ", e->message, NULL);
}

static void test_validate(void)
{
    be_table_t *t = products();
    be_row_t row;
    apr_array_header_t *errs;

    IS_INT(validate(t, "{\"name\":\"ab\",\"price\":3}", BE_WRITE_INSERT, &row,
                    &errs), 0, "valid insert");
    IS_INT(row.ncols, 2, "insert writes what is given");
    IS_INT(row.vals[1].kind, BE_V_INT, "integer into a real column");

    IS_INT(validate(t, "{\"price\":1.5}", BE_WRITE_INSERT, &row, &errs), 422,
           "missing NOT NULL without default");
    IS_STR(err_at(errs, 0), "name: is required", "names the field");
    IS_INT(errs->nelts, 1, "defaulted NOT NULL is not required");

    IS_INT(validate(t, "{\"nope\":1,\"name\":\"x\"}", BE_WRITE_INSERT, &row,
                    &errs), 422, "unknown column");
    IS_STR(err_at(errs, 0), "nope: is not a column of this resource",
           "names the unknown column");

    IS_INT(validate(t, "{\"name\":5}", BE_WRITE_INSERT, &row, &errs), 422,
           "number into text");
    IS_STR(err_at(errs, 0), "name: must be a string", "type message");
    IS_INT(validate(t, "{\"name\":\"x\",\"qty\":1.5}", BE_WRITE_INSERT, &row,
                    &errs), 422, "real into integer");
    IS_STR(err_at(errs, 0), "qty: must be an integer", "integer message");
    IS_INT(validate(t, "{\"name\":\"x\",\"qty\":40000}", BE_WRITE_INSERT,
                    &row, &errs), 422, "out of smallint range");
    IS_INT(validate(t, "{\"name\":\"x\",\"active\":1}", BE_WRITE_INSERT, &row,
                    &errs), 422, "number into boolean");
    IS_INT(validate(t, "{\"name\":\"abcdef\"}", BE_WRITE_INSERT, &row, &errs),
           422, "too long for varchar(5)");
    IS_STR(err_at(errs, 0), "name: must be at most 5 characters",
           "length message");
    IS_INT(validate(t, "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
                    BE_WRITE_INSERT, &row, &errs), 0,
           "length counts characters, not bytes");
    IS_INT(validate(t, "{\"name\":null}", BE_WRITE_INSERT, &row, &errs), 422,
           "null into NOT NULL");
    IS_INT(validate(t, "{\"name\":\"x\",\"meta\":{\"a\":[1]}}",
                    BE_WRITE_INSERT, &row, &errs), 0, "json column");
    IS_INT(row.vals[1].kind, BE_V_JSON, "json value");
    IS_STR(row.vals[1].s, "{\"a\":[1]}", "json text");
    IS_INT(validate(t, "{\"name\":\"x\",\"meta\":\"s\\\"\"}", BE_WRITE_INSERT,
                    &row, &errs), 0, "json string");
    IS_STR(row.vals[1].s, "\"s\\\"\"", "json string stays JSON");
    IS_INT(validate(t, "{\"name\":1,\"price\":\"x\",\"zz\":0}",
                    BE_WRITE_INSERT, &row, &errs), 422, "several errors");
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

/* Bodies that json-c alone would take although they are not JSON, or
 * whose numbers it would change: refused, with the reason. */
static const char *refused(const char *json, apr_size_t len)
{
    be_jdoc_t *doc = NULL;
    const char *err = NULL;

    if (be_json_parse_body(pool, json, len, 8, 1, &doc, &err)
        != BE_JSON_SYNTAX) {
        return "(accepted)";
    }
    return err;
}
#define REFUSED(lit) refused((lit), sizeof(lit) - 1)

static void test_hostile_parse(void)
{
    static const struct {
        const char *body;
        const char *what;
    } utf8[] = {
        {"{\"a\":\"\xc0\xaf\"}", "overlong 2-byte form"},
        {"{\"a\":\"\xe0\x80\xaf\"}", "overlong 3-byte form"},
        {"{\"a\":\"\xed\xa0\x80\"}", "UTF-8 of a surrogate"},
        {"{\"a\":\"\xf4\x90\x80\x80\"}", "past U+10FFFF"},
        {"{\"a\":\"\xf8\x88\x80\x80\x80\"}", "5-byte form"},
        {"{\"a\":\"\xfc\x84\x80\x80\x80\x80\"}", "6-byte form"},
        {"{\"a\":\"\x80\"}", "lone continuation byte"},
        {"{\"a\":\"\xe2\x82\"}", "truncated sequence"},
        {"{\"a\":\"\xe2\x82x\"}", "sequence cut by ASCII"},
        {NULL, NULL}};
    const char *err;
    be_jobject_t *o;
    be_json_rc_e rc;
    int i;

    for (i = 0; utf8[i].body; i++) {
        IS_STR(refused(utf8[i].body, strlen(utf8[i].body)),
               "the body is not valid JSON: invalid UTF-8 at byte 6",
               utf8[i].what);
    }
    IS_STR(REFUSED("{\"\xc0\xaf\":1}"),
           "the body is not valid JSON: invalid UTF-8 at byte 2",
           "invalid UTF-8 in a key");
    IS_STR(REFUSED("[{\"a\":1},{\"b\":\"\xed\xa0\x80\"}]"),
           "the body is not valid JSON: invalid UTF-8 at byte 15",
           "invalid UTF-8 in the second object of an array");
    o = parse("{\"a\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}",
              &rc, &err);
    IS_INT(rc, BE_JSON_OK, "valid 3- and 4-byte UTF-8, U+10FFFF, pass");

    IS_STR(REFUSED("{\"a\":\"\\ud800\"}"),
           "the body is not valid JSON: a \\u escape is a high surrogate "
           "without its low surrogate at byte 6", "lone high surrogate");
    IS_STR(REFUSED("{\"a\":\"\\ud800\\u0041\"}"),
           "the body is not valid JSON: a \\u escape is a high surrogate "
           "without its low surrogate at byte 6",
           "high surrogate before a non-surrogate");
    IS_STR(REFUSED("{\"x\\uDBFF\":1}"),
           "the body is not valid JSON: a \\u escape is a high surrogate "
           "without its low surrogate at byte 3", "lone surrogate in a key");
    IS_STR(REFUSED("{\"a\":\"\\udc00\"}"),
           "the body is not valid JSON: a \\u escape is a lone low surrogate "
           "at byte 6", "lone low surrogate");
    o = parse("{\"a\":\"\\ud83d\\ude00\\\\ud800\"}", &rc, &err);
    IS_INT(rc, BE_JSON_OK, "a pair, and an escaped backslash before u");
    IS_STR(o ? APR_ARRAY_IDX(o->fields, 0, be_jfield_t).s : NULL,
           "\xf0\x9f\x98\x80\\ud800", "the pair decoded, the rest as is");

    IS_STR(REFUSED("{\"a\\u0000b\":1}"),
           "the body is not valid JSON: a key holds \\u0000 at byte 1",
           "NUL in a key");
    IS_STR(REFUSED("{\"b\":2, \"a\\u0000\" \n:1}"),
           "the body is not valid JSON: a key holds \\u0000 at byte 8",
           "NUL in a key, whitespace before the colon");
    o = parse("{\"a\":\"x\\u0000\"}", &rc, &err);
    IS_INT(rc, BE_JSON_OK, "NUL in a string value is a character");
    IS_INT(o ? (long long)APR_ARRAY_IDX(o->fields, 0, be_jfield_t).len : 0, 2,
           "and keeps its length");

    IS_STR(REFUSED("{\"a\":NaN}"), "the body is not valid JSON: NaN and "
           "Infinity are not JSON numbers at byte 5", "NaN");
    IS_STR(REFUSED("{\"a\":Infinity}"), "the body is not valid JSON: NaN and "
           "Infinity are not JSON numbers at byte 5", "Infinity");
    IS_STR(REFUSED("{\"a\":-Infinity}"), "the body is not valid JSON: NaN "
           "and Infinity are not JSON numbers at byte 6", "-Infinity");
    IS_STR(REFUSED("{\"a\":[1,NaN]}"), "the body is not valid JSON: NaN and "
           "Infinity are not JSON numbers at byte 8", "nested NaN");
    OK(!be_json_is_valid("[NaN]", 5), "NaN is not valid json text");
    OK(!be_json_is_valid("\"\xc0\xaf\"", 4), "nor overlong UTF-8");

    IS_STR(refused("{\"a\":1}\0", 8),
           "the body is not valid JSON: unexpected character",
           "a NUL byte after the document");
    IS_STR(refused("{\"a\":1} \0 ", 10),
           "the body is not valid JSON: unexpected character",
           "a NUL byte among trailing whitespace");
    IS_INT(strncmp(refused("{\"a\":\"x\0\"}", 10), "the body is not valid "
                   "JSON: ", 28), 0, "a raw NUL byte inside a string");
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

    o = parse("{\"a\":-9223372036854775809,\"b\":-9223372036854775808,"
              "\"c\":99999999999999999999,\"d\":-00}", &rc, &err);
    IS_INT(rc, BE_JSON_OK, "integers past 64 bits parse");
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
                    BE_WRITE_INSERT, &row, &errs), 422, "below -2^63: 422");
    IS_STR(err_at(errs, 0), "id: must be between -9223372036854775808 and "
           "9223372036854775807", "the range");
    IS_INT(validate(t, "{\"name\":\"x\",\"id\":9223372036854775808}",
                    BE_WRITE_INSERT, &row, &errs), 422, "2^63: 422");
    IS_STR(err_at(errs, 0), "id: must be between -9223372036854775808 and "
           "9223372036854775807", "the same range");
    IS_INT(validate(t, "{\"name\":\"x\",\"id\":-9223372036854775808}",
                    BE_WRITE_INSERT, &row, &errs), 0, "-2^63 fits");
    OK(row.vals[0].i == -9223372036854775807LL - 1, "exactly");
    IS_INT(validate(t, "{\"name\":\"x\",\"qty\":1e400}", BE_WRITE_INSERT,
                    &row, &errs), 422, "1e400 into an integer");
    IS_STR(err_at(errs, 0), "qty: must be between -32768 and 32767",
           "the column's range");

    IS_INT(validate(t, "{\"name\":\"x\",\"price\":1e400}", BE_WRITE_INSERT,
                    &row, &errs), 422, "1e400 into a real: 422");
    IS_STR(err_at(errs, 0), "price: must be between -1.7976931348623157e308 "
           "and 1.7976931348623157e308", "the range of a double");
    IS_INT(validate(t, "{\"price\":-1e400}", BE_WRITE_UPDATE, &row, &errs),
           422, "-1e400 in an update");
    IS_INT(validate(t, "{\"name\":\"x\",\"price\":1e308}", BE_WRITE_INSERT,
                    &row, &errs), 0, "1e308 fits a double");
    IS_INT(validate(t, "{\"name\":\"x\",\"price\":-9223372036854775809}",
                    BE_WRITE_INSERT, &row, &errs), 0,
           "below -2^63 is a number for a real column");
    IS_INT(row.vals[1].kind, BE_V_REAL, "a double");
    IS_STR(row.vals[1].s, "-9223372036854775809", "written as sent");

    c = be_table_add(t);
    c->name = "num"; c->type = BE_T_NUMERIC;
    c = be_table_add(t);
    c->name = "any"; c->type = BE_T_BLOB;
    be_table_set_key(t, pool, NULL);
    IS_INT(validate(t, "{\"num\":1e400,\"any\":-1e999}", BE_WRITE_UPDATE,
                    &row, &errs), 422, "1e400 into numeric and untyped");
    IS_INT(errs->nelts, 2, "both named");
    IS_STR(err_at(errs, 1), "any: must be between -1.7976931348623157e308 "
           "and 1.7976931348623157e308", "untyped: the range of a double");
    IS_INT(validate(t, "{\"num\":99999999999999999999}", BE_WRITE_UPDATE,
                    &row, &errs), 0, "numeric takes a wide integer");
    IS_STR(row.vals[0].s, "99999999999999999999", "with its digits");
    IS_INT(validate(t, "{\"name\":\"a\\u0000b\"}", BE_WRITE_UPDATE, &row,
                    &errs), 422, "NUL in a text value: no column holds it");
    IS_STR(err_at(errs, 0), "name: must not contain \\u0000", "NUL message");
    IS_INT(validate(t, "{\"num\":\"1\\u0000\"}", BE_WRITE_UPDATE, &row,
                    &errs), 422, "nor a numeric column's string");
    IS_INT(validate(t, "{\"meta\":\"a\\u0000\"}", BE_WRITE_UPDATE, &row,
                    &errs), 0, "a json column takes it, escaped");
    IS_STR(row.vals[0].s, "\"a\\u0000\"", "as \\u0000");
    IS_INT(validate(t, "{\"meta\":{\"a\":1e400}}", BE_WRITE_UPDATE, &row,
                    &errs), 0, "a json column keeps JSON as written");
    IS_STR(row.vals[0].s, "{\"a\":1e400}", "1e400 inside");
}

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
           "\"products\" ORDER BY \"id\" LIMIT ?1 OFFSET ?2", "list, sqlite");
    IS_STR(pg->sql_get,
           "SELECT \"id\",\"name\",\"price\",\"active\",\"meta\",\"qty\" FROM "
           "\"products\" WHERE \"id\" = $1", "get, pgsql");
    be_where_t by_key = {&key, NULL, NULL};

    be_sql_delete(pool, pg, &by_key, NULL, &st);
    IS_STR(st.sql, "DELETE FROM \"products\" WHERE \"id\" = $1", "delete");

    {
        be_json_rc_e rc;
        const char *err;
        be_jdoc_t *doc;
        rc = be_json_parse_body(pool, "[{\"name\":\"a\",\"price\":1},"
                                "{\"name\":\"b\",\"qty\":2}]", 45, 8, 1, &doc,
                                &err);
        IS_INT(rc, BE_JSON_OK, "bulk body");
        errs = apr_array_make(pool, 4, sizeof(be_field_error_t));
        IS_INT(be_validate_rows(pool, t, doc->objects, 1, NULL, NULL, &rows, errs),
               0, "bulk rows valid");
        IS_INT(rows.ncols, 3, "union of the columns");
        be_sql_insert(pool, pg, &rows, 0, 2, BE_UPSERT_NONE, NULL, 0,
                      &pg->all, &st);
        IS_STR(st.sql, "INSERT INTO \"products\" (\"name\",\"price\",\"qty\") "
                       "VALUES ($1,$2,DEFAULT),($3,DEFAULT,$4) RETURNING "
                       "\"id\",\"name\",\"price\",\"active\",\"meta\",\"qty\"",
               "multi-row insert, pgsql DEFAULT where silent");
        IS_INT(st.nargs, 4, "insert args");
        be_sql_insert(pool, sq, &rows, 0, 2, BE_UPSERT_MERGE, NULL, 0, NULL,
                      &st);
        IS_STR(st.sql, "INSERT INTO \"products\" (\"name\",\"price\",\"qty\") "
                       "VALUES (?1,?2,NULL),(?3,NULL,?4) ON CONFLICT (\"id\") "
                       "DO UPDATE SET \"name\" = excluded.\"name\", \"price\" "
                       "= excluded.\"price\", \"qty\" = excluded.\"qty\"",
               "upsert, sqlite");
        rc = be_json_parse_body(pool, "[{\"name\":1},{\"nope\":2}]", 23, 8, 1,
                                &doc, &err);
        errs = apr_array_make(pool, 4, sizeof(be_field_error_t));
        IS_INT(be_validate_rows(pool, t, doc->objects, 1, NULL, NULL, &rows, errs),
               422, "bulk rows invalid");
        IS_STR(err_at(errs, 0), "[0].name: must be a string", "row index");
        IS_STR(err_at(errs, 1), "[1].nope: is not a column of this resource",
               "second row");
    }

    validate(t, "{\"name\":\"a\"}", BE_WRITE_REPLACE, &row, &errs);
    be_sql_update(pool, sq, &row, &by_key, &sq->all, &st);
    IS_STR(st.sql, "UPDATE \"products\" SET \"name\" = ?1,\"price\" = ?2,"
                   "\"active\" = (1),\"meta\" = ?3,\"qty\" = ?4 WHERE \"id\" = "
                   "?5 RETURNING \"id\",\"name\",\"price\",\"active\",\"meta\","
                   "\"qty\"", "replace, sqlite default expression");
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

static void test_render(void)
{
    be_table_t *t = products();
    be_plan_t *pl = be_plan_make(pool, t, BE_DIALECT_SQLITE);
    be_buf_t out;
    be_sink_t s;

    be_buf_init(&out, pool, 16);
    be_sink_init(&s, pool, &out, &pl->all, 1);
    be_sink_begin(&s);
    be_sink_row_begin(&s);
    be_sink_int(&s, 0, 7);
    be_sink_text(&s, 1, "a\"b", 3);
    be_sink_real(&s, 2, 2.5);
    be_sink_int(&s, 3, 0);
    be_sink_text(&s, 4, "{\"x\":1}", 7);
    be_sink_null(&s, 5);
    be_sink_row_end(&s);
    be_sink_row_begin(&s);
    be_sink_int(&s, 0, 8);
    be_sink_text(&s, 1, "", 0);
    be_sink_null(&s, 2);
    be_sink_int(&s, 3, 1);
    be_sink_text(&s, 4, "not json", 8);
    be_sink_int(&s, 5, -1);
    be_sink_row_end(&s);
    be_sink_end(&s);
    IS_STR(be_buf_cstr(&out),
           "[{\"id\":7,\"name\":\"a\\\"b\",\"price\":2.5,\"active\":false,"
           "\"meta\":{\"x\":1},\"qty\":null},{\"id\":8,\"name\":\"\","
           "\"price\":null,\"active\":true,\"meta\":\"not json\",\"qty\":-1}]",
           "rows render with faithful types");
    IS_STR(s.key_text, "7", "first row's key remembered");

    IS_STR(be_problem_json(pool, 404, "Not Found", "no \"row\"", NULL),
           "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,"
           "\"detail\":\"no \\\"row\\\"\"}", "problem");
    {
        apr_array_header_t *errs = apr_array_make(pool, 1,
                                                  sizeof(be_field_error_t));
        be_field_error_t *e = apr_array_push(errs);
        e->field = "name";
        e->message = "is required";
        IS_STR(be_problem_json(pool, 422, "Unprocessable", "d", errs),
               "{\"type\":\"about:blank\",\"title\":\"Unprocessable\","
               "\"status\":422,\"detail\":\"d\",\"errors\":[{\"field\":"
               "\"name\",\"message\":\"is required\"}]}", "problem + errors");
    }
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

/* The query string planned as SQLite SQL, or "ERR: message". */
static const char *plan_sql(const char *args, be_dialect_e d)
{
    be_table_t *t = be_table_make(pool, "people");
    be_column_t *c;
    be_plan_t *pl;
    be_query_t *q;
    be_stmt_t st;
    const char *err;
    static const char *const names[] = {"id", "age", "student", "grade",
                                        "last_name", "height", "full_name",
                                        NULL};
    static const be_type_e types[] = {BE_T_INT, BE_T_INT, BE_T_BOOL,
                                      BE_T_INT, BE_T_TEXT, BE_T_REAL,
                                      BE_T_TEXT};
    int i;

    for (i = 0; names[i]; i++) {
        c = be_table_add(t);
        c->name = names[i];
        c->type = types[i];
        c->pk = i == 0;
    }
    be_table_set_key(t, pool, NULL);
    pl = be_plan_make(pool, t, d);
    if ((err = be_query_parse(pool, args, &q))
        || (err = be_query_check(pool, t, q))
        || (err = be_sql_select(pool, pl, be_shape_make(pool, pl, q->select,
                                                        0),
                                &(be_where_t){NULL, q->filters, NULL},
                                q->order, q->limit, q->offset, &st))) {
        return apr_pstrcat(pool, "ERR: ", err, NULL);
    }
    return st.sql;
}

#define ALL "SELECT \"id\",\"age\",\"student\",\"grade\",\"last_name\"," \
            "\"height\",\"full_name\" FROM \"people\""
#define BY_ID " ORDER BY \"id\""

/* Examples from PostgREST's API documentation (tables_views, url
 * grammar), planned for both dialects. */
static void test_query(void)
{
    be_query_t *q;

    IS_STR(plan_sql("age=gte.18&student=is.true", BE_DIALECT_SQLITE),
           ALL " WHERE \"age\" >= ?1 AND \"student\" IS TRUE" BY_ID,
           "horizontal filtering");
    IS_STR(plan_sql("or=(age.lt.18,age.gt.21)", BE_DIALECT_PGSQL),
           ALL " WHERE (\"age\" < $1 OR \"age\" > $2)" BY_ID, "or");
    IS_STR(plan_sql("grade=gte.90&student=is.true&or=(age.eq.14,not.and("
                    "age.gte.11,age.lte.17))", BE_DIALECT_SQLITE),
           ALL " WHERE \"grade\" >= ?1 AND \"student\" IS TRUE AND "
               "(\"age\" = ?2 OR NOT ((\"age\" >= ?3 AND \"age\" <= ?4)))"
               BY_ID, "nested logic");
    IS_STR(plan_sql("last_name=like.O*", BE_DIALECT_SQLITE),
           ALL " WHERE \"last_name\" GLOB ?1" BY_ID, "like, sqlite: GLOB");
    IS_STR(plan_sql("last_name=ilike.O*", BE_DIALECT_PGSQL),
           ALL " WHERE \"last_name\"::text ILIKE $1" BY_ID, "ilike, pgsql");
    IS_STR(plan_sql("last_name=ilike.O*", BE_DIALECT_SQLITE),
           ALL " WHERE \"last_name\" LIKE ?1 ESCAPE '\\'" BY_ID,
           "ilike, sqlite");
    IS_STR(plan_sql("age=not.in.(1,2)&id=is.null", BE_DIALECT_PGSQL),
           ALL " WHERE NOT (\"age\" IN ($1,$2)) AND \"id\" IS NULL" BY_ID,
           "not.in and is.null");
    IS_STR(plan_sql("order=age.desc,height.asc", BE_DIALECT_SQLITE),
           ALL " ORDER BY \"age\" DESC NULLS FIRST, \"height\" ASC NULLS "
               "LAST, \"id\"", "ordering with PostgreSQL's null order");
    IS_STR(plan_sql("order=age.nullsfirst,id.desc", BE_DIALECT_PGSQL),
           ALL " ORDER BY \"age\" ASC NULLS FIRST, \"id\" DESC NULLS FIRST",
           "nullsfirst, key already ordered");
    IS_STR(plan_sql("select=fullName:full_name,age&limit=15&offset=30",
                    BE_DIALECT_PGSQL),
           "SELECT \"full_name\",\"age\" FROM \"people\"" BY_ID
           " LIMIT $1 OFFSET $2", "select, limit, offset");
    IS_STR(plan_sql("offset=5", BE_DIALECT_SQLITE),
           ALL BY_ID " LIMIT -1 OFFSET ?1", "offset alone, sqlite");
    IS_STR(plan_sql("offset=5", BE_DIALECT_PGSQL), ALL BY_ID " OFFSET $1",
           "offset alone, pgsql");
    IS_STR(plan_sql("id=in.()", BE_DIALECT_SQLITE), ALL " WHERE 1 = 0" BY_ID,
           "empty in");

    IS_STR(plan_sql("nope=eq.1", BE_DIALECT_SQLITE),
           "ERR: filter: 'nope' is not a column of people", "unknown column");
    IS_STR(plan_sql("age=eq.x", BE_DIALECT_SQLITE),
           "ERR: 'x' is not an integer (column age)", "typed values");
    IS_STR(plan_sql("age=approx.1", BE_DIALECT_SQLITE),
           "ERR: unknown operator 'approx' in the filter on 'age'",
           "unknown operator");

    OK(be_query_parse(pool, "last_name=in.(\"Hebdon,John\",\"Williams,Mary"
                      "\",\"a\\\"b\")", &q) == NULL, "quoted in list");
    {
        be_filter_t *f = APR_ARRAY_IDX(q->filters, 0, be_filter_t *);
        IS_INT(f->list->nelts, 3, "three items");
        IS_STR(APR_ARRAY_IDX(f->list, 0, const char *), "Hebdon,John",
               "comma kept inside quotes");
        IS_STR(APR_ARRAY_IDX(f->list, 2, const char *), "a\"b",
               "escaped quote");
    }
    OK(be_query_parse(pool, "or=(last_name.eq.\"a.b,c\",age.gt.1)", &q)
           == NULL, "quoted value in a logic tree");
    {
        be_filter_t *f = APR_ARRAY_IDX(q->filters, 0, be_filter_t *);
        be_filter_t *c = APR_ARRAY_IDX(f->children, 0, be_filter_t *);
        IS_STR(c->value, "a.b,c", "reserved characters kept");
    }
    OK(be_query_parse(pool, "name=eq.a%20b+c%2Cd", &q) == NULL, "decoding");
    IS_STR(APR_ARRAY_IDX(q->filters, 0, be_filter_t *)->value, "a b c,d",
           "percent and plus decoded");
    OK(be_query_parse(pool, "a=eq.%00", &q) != NULL, "encoded NUL refused");
    {
        apr_array_header_t *n = be_name_list(pool, "\"a b\",c");
        IS_INT(n ? n->nelts : -1, 2, "quoted name list");
        IS_STR(APR_ARRAY_IDX(n, 0, const char *), "a b", "quoted name");
        OK(be_name_list(pool, "a,") == NULL, "trailing comma refused");
    }
}

static const char *write_file(const char *name, const char *data)
{
    const char *path = apr_psprintf(pool, "/tmp/be_unit_%d_%s", (int)getpid(),
                                    name);
    FILE *f = fopen(path, "w");
    fputs(data, f);
    fclose(f);
    return path;
}

static const char *pem_of(EVP_PKEY *k, int private)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    const char *out;

    if (private) {
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    }
    else {
        PEM_write_bio_PUBKEY(b, k);
    }
    n = BIO_get_mem_data(b, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)n);
    BIO_free(b);
    return out;
}

static const char *tok(const be_jwt_key_t *k, const char *payload)
{
    const char *t = be_jwt_sign(pool, k, payload);
    return t ? t : "(unsigned)";
}

/* Everything a token's claims say, as text. */
static const char *claims_text(const be_claims_t *c)
{
    const apr_array_header_t *t = apr_table_elts(c->claims);
    const apr_table_entry_t *e = (const apr_table_entry_t *)t->elts;
    char *s = apr_psprintf(pool, "sub=%s iss=%s aud=%s roles=%s",
                           c->sub ? c->sub : "-", c->iss ? c->iss : "-",
                           apr_array_pstrcat(pool, c->aud, ','),
                           apr_array_pstrcat(pool, c->roles, ','));
    int i;

    s = apr_psprintf(pool, "%s exp=%.0f nbf=%.0f |", s,
                     c->has_exp ? c->exp : -1, c->has_nbf ? c->nbf : -1);
    for (i = 0; i < t->nelts; i++) {
        s = apr_pstrcat(pool, s, " ", e[i].key, "=", e[i].val, NULL);
    }
    return s;
}

/* test_jwt runs twice: without and with a (small) cache of signatures,
 * which must not change any answer. */
static be_jwt_cache_t *jwt_cache;

static const char *check(const char *token, apr_array_header_t *keys,
                         apr_time_t now)
{
    be_jwt_policy_t pol = {keys, NULL, NULL, 30, NULL, jwt_cache};
    be_claims_t *c;
    const char *err = be_jwt_verify(pool, token, &pol, now, &c, NULL);

    return err ? err : apr_pstrcat(pool, "ok:", c->sub, NULL);
}

static void test_jwt(void)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    const char *secret = write_file("hs", "0123456789abcdef0123456789abcdef\n");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    const char *rs_priv = write_file("rs", pem_of(rsa, 1));
    const char *rs_pub = write_file("rspub", pem_of(rsa, 0));
    const char *es_priv = write_file("es", pem_of(ec, 1));
    be_jwt_key_t *hs, *rs, *rsp, *es, *esp, *forged;
    apr_array_header_t *keys = apr_array_make(pool, 4, sizeof(void *));
    const char *ok_payload = "{\"sub\":\"alice\",\"exp\":1700000100,"
                             "\"roles\":[\"admin\"]}";
    const char *t, *dot;
    be_claims_t *c;
    be_jwt_policy_t pol = {NULL, "me", "api", 30, NULL, jwt_cache};

    OK(be_jwt_load_key(pool, "hs256", secret, NULL, &hs) == NULL, "hs key");
    OK(be_jwt_load_key(pool, "rs256", rs_priv, "r1", &rs) == NULL, "rs key");
    OK(be_jwt_load_key(pool, "rs256", rs_pub, "r1", &rsp) == NULL, "rs pub");
    OK(be_jwt_load_key(pool, "es256", es_priv, "e1", &es) == NULL, "es key");
    OK(be_jwt_load_key(pool, "es256", rs_pub, NULL, &esp) != NULL,
       "an RSA key is not an es256 key");
    OK(be_jwt_load_key(pool, "hs256", write_file("short", "short"), NULL,
                       &esp) != NULL, "short secrets refused");
    OK(be_jwt_load_key(pool, "none", secret, NULL, &esp) != NULL,
       "alg none is no key");
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = hs;
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = rsp;
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = es;

    IS_STR(check(tok(hs, ok_payload), keys, now), "ok:alice", "HS256");
    IS_STR(check(tok(rs, ok_payload), keys, now), "ok:alice", "RS256");
    IS_STR(check(tok(es, ok_payload), keys, now), "ok:alice", "ES256");
    IS_STR(check(tok(hs, ok_payload), keys, apr_time_from_sec(1700000200)),
           "the token has expired", "expired");
    IS_STR(check(tok(hs, ok_payload), keys, apr_time_from_sec(1700000120)),
           "ok:alice", "within the leeway");
    IS_STR(check(tok(hs, "{\"sub\":\"a\",\"nbf\":1700001000}"), keys, now),
           "the token is not valid yet", "nbf");
    IS_STR(check(tok(hs, "{\"exp\":1700000100}"), keys, now),
           "the token has no sub claim", "no subject");
    IS_STR(check(tok(hs, "[1]"), keys, now),
           "the token payload is not a JSON object", "payload not object");

    /* attacks */
    IS_STR(check(apr_pstrcat(pool, be_b64url_encode(pool, (const unsigned char
           *)"{\"alg\":\"none\"}", 14), ".", be_b64url_encode(pool,
           (const unsigned char *)ok_payload, strlen(ok_payload)), ".", NULL),
                 keys, now), "no key for algorithm none", "alg none");
    {
        /* HS256 keyed with the RSA public key: algorithm confusion */
        be_jwt_key_t fake = *hs;
        apr_array_header_t *only_rsa = apr_array_make(pool, 1, sizeof(void *));
        APR_ARRAY_PUSH(only_rsa, be_jwt_key_t *) = rsp;
        fake.secret = (const unsigned char *)pem_of(rsa, 0);
        fake.secret_len = strlen((const char *)fake.secret);
        forged = &fake;
        IS_STR(check(tok(forged, ok_payload), only_rsa, now),
               "no key for algorithm HS256", "algorithm confusion");
        IS_STR(check(tok(forged, ok_payload), keys, now),
               "the signature does not verify", "confusion with an hs key");
    }
    t = tok(hs, ok_payload);
    dot = strchr(t, '.');
    IS_STR(check(apr_pstrcat(pool, apr_pstrmemdup(pool, t, (apr_size_t)(dot - t)),
                             ".", be_b64url_encode(pool, (const unsigned char *)
                             "{\"sub\":\"bob\",\"exp\":1700000100}", 33),
                             strrchr(t, '.'), NULL), keys, now),
           "the signature does not verify", "tampered payload");
    IS_STR(check("garbage", keys, now),
           "the token is not a JWT (three base64url parts)", "garbage");
    IS_STR(check("a.b.c.d", keys, now),
           "the token is not a JWT (three base64url parts)", "four parts");
    IS_STR(check("!!.b.c", keys, now), "the token is not valid base64url",
           "bad base64url");
    t = tok(rs, ok_payload);
    IS_STR(check(apr_pstrcat(pool, apr_pstrmemdup(pool, t, strlen(t) - 3),
                             "AAA", NULL), keys, now),
           "the signature does not verify", "RS256 signature changed");

    /* kid picks the key */
    {
        be_jwt_key_t other_es;
        EVP_PKEY *ec2 = EVP_EC_gen("P-256");
        be_jwt_load_key(pool, "es256", write_file("es2", pem_of(ec2, 1)),
                        "e2", &esp);
        EVP_PKEY_free(ec2);
        other_es = *esp;
        IS_STR(check(tok(&other_es, ok_payload), keys, now),
               "no key for algorithm ES256 and this kid", "unknown kid");
    }

    /* a kid with a quote and a backslash is written as a JSON string:
     * the issued token's header parses and its kid still picks the key */
    {
        be_jwt_key_t *odd;
        apr_array_header_t *just = apr_array_make(pool, 1, sizeof(void *));
        const char *hdr;
        apr_size_t hlen;

        OK(be_jwt_load_key(pool, "hs256", secret, "a\"b\\c", &odd) == NULL,
           "hs key with an odd kid");
        APR_ARRAY_PUSH(just, be_jwt_key_t *) = odd;
        t = tok(odd, ok_payload);
        dot = strchr(t, '.');
        hdr = (const char *)be_b64url_decode(pool, t,
                                             dot ? (apr_size_t)(dot - t) : 0,
                                             &hlen);
        IS_STR(hdr ? apr_pstrmemdup(pool, hdr, hlen) : "(none)",
               "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"a\\\"b\\\\c\"}",
               "kid escaped in the header");
        IS_STR(check(t, just, now), "ok:alice", "odd kid verifies");
    }

    /* issuer and audience */
    pol.keys = keys;
    OK(be_jwt_verify(pool, tok(hs, "{\"sub\":\"a\",\"iss\":\"me\","
                                   "\"aud\":[\"x\",\"api\"]}"), &pol, now,
                     &c, NULL) == NULL, "iss and aud match");
    IS_STR(be_jwt_verify(pool, tok(hs, "{\"sub\":\"a\",\"iss\":\"you\","
                                       "\"aud\":\"api\"}"), &pol, now, &c,
                         NULL),
           "the token has another issuer", "wrong iss");
    IS_STR(be_jwt_verify(pool, tok(hs, "{\"sub\":\"a\",\"iss\":\"me\","
                                       "\"aud\":\"web\"}"), &pol, now, &c,
                         NULL),
           "the token is meant for another audience", "wrong aud");
    OK(be_jwt_verify(pool, tok(hs, ok_payload), &(be_jwt_policy_t){keys, NULL,
                     NULL, 30, NULL, jwt_cache}, now, &c, NULL) == NULL
       && c->roles->nelts == 1, "roles claim");

    if (jwt_cache) {
        /* a remembered signature still has its claims checked, and only
         * for the key set that verified it */
        apr_array_header_t *only_rsa = apr_array_make(pool, 1, sizeof(void *));
        /* every claim of the rich token below, as claims_text says it */
        const char *all = "sub=alice iss=me aud=x,api roles=admin,ops "
            "exp=1700000100 nbf=1699999000 | sub=alice iss=me aud=[\"x\","
            "\"api\"] roles=[\"admin\",\"ops\"] exp=1700000100 "
            "nbf=1699999000 n=1.5 obj={\"a\":[1,2]} note=caf\xc3\xa9";
        APR_ARRAY_PUSH(only_rsa, be_jwt_key_t *) = rsp;
        t = tok(hs, ok_payload);
        IS_STR(check(t, keys, now), "ok:alice", "cached: first use");
        IS_STR(check(t, keys, now), "ok:alice", "cached: again");
        IS_STR(check(t, keys, apr_time_from_sec(1700000200)),
               "the token has expired", "cached: expired all the same");
        IS_STR(check(t, only_rsa, now), "no key for algorithm HS256",
               "cached: another key set verifies afresh");
        IS_STR(check(apr_pstrcat(pool, t, "A", NULL), keys, now),
               "the signature does not verify", "cached: one more byte");
        IS_STR(check(apr_pstrmemdup(pool, t, strlen(t) - 1), keys, now),
               "the signature does not verify", "cached: one byte less");
        /* a hit gives the claims a fresh parse gave, every one */
        t = tok(hs, "{\"sub\":\"alice\",\"iss\":\"me\",\"aud\":[\"x\","
                "\"api\"],\"roles\":[\"admin\",\"ops\"],\"exp\":1700000100,"
                "\"nbf\":1699999000,\"n\":1.5,\"obj\":{\"a\":[1,2]},"
                "\"note\":\"caf\u00e9\"}");
        OK(be_jwt_verify(pool, t, &pol, now, &c, NULL) == NULL,
           "rich: first use");
        IS_STR(claims_text(c), all, "rich: parsed");
        OK(be_jwt_verify(pool, t, &pol, now, &c, NULL) == NULL,
           "rich: again");
        IS_STR(claims_text(c), all, "rich: from the cache");
    }
    unlink(secret); unlink(rs_priv); unlink(rs_pub); unlink(es_priv);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

/* A token of any header and payload text, signed with the HS256 key k. */
static const char *hs_raw(const be_jwt_key_t *k, const char *header,
                          const char *payload)
{
    const char *input = apr_pstrcat(
        pool, be_b64url_encode(pool, (const unsigned char *)header,
                               strlen(header)),
        ".", be_b64url_encode(pool, (const unsigned char *)payload,
                              strlen(payload)), NULL);
    unsigned char mac[32];
    unsigned int len = 32;

    HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
         (const unsigned char *)input, strlen(input), mac, &len);
    return apr_pstrcat(pool, input, ".", be_b64url_encode(pool, mac, 32),
                       NULL);
}

/* "ok:USER", or the reason and the sort of refusal: "REASON (KIND)". */
static const char *hostile(const be_jwt_key_t *k, const char *header,
                           const char *payload, const char *user_claim)
{
    apr_array_header_t *keys = apr_array_make(pool, 1, sizeof(void *));
    be_jwt_policy_t pol = {keys, NULL, NULL, 30, user_claim, jwt_cache};
    apr_time_t now = apr_time_from_sec(1700000000);
    be_jwt_refusal_e kind = (be_jwt_refusal_e)-1;
    const char *t = hs_raw(k, header ? header : "{\"alg\":\"HS256\"}",
                           payload);
    be_claims_t *c;
    const char *err, *again;

    APR_ARRAY_PUSH(keys, const be_jwt_key_t *) = k;
    err = be_jwt_verify(pool, t, &pol, now, &c, &kind);
    if (!err) {
        return apr_pstrcat(pool, "ok:", c->sub, NULL);
    }
    /* the same answer the second time: the cache let nothing through */
    again = be_jwt_verify(pool, t, &pol, now, &c, NULL);
    if (!again || strcmp(again, err) != 0) {
        return "(another answer the second time)";
    }
    return apr_psprintf(pool, "%s (%d)", err, (int)kind);
}

#define HOSTILE(payload, want, name) \
    IS_STR(hostile(hs, NULL, (payload), NULL), (want), (name))
#define HOSTILE_HDR(header, want, name) \
    IS_STR(hostile(hs, (header), "{\"sub\":\"alice\"}", NULL), (want), \
           (name))

/* Claims and headers no correct issuer writes. */
static void test_hostile_tokens(void)
{
    const char *secret = write_file("hs2", "0123456789abcdef0123456789abcdef");
    be_jwt_key_t *hs;
    char *num, *str, *dup, *ctl, *hdr, *nj;
    static const char *const times[] = {"exp", "nbf", "iat"};
    int i;

    OK(be_jwt_load_key(pool, "hs256", secret, NULL, &hs) == NULL,
       "hostile: key");
    num = apr_psprintf(pool, " (%d)", BE_JWT_CLAIM_TYPE);
    str = num;
    dup = apr_psprintf(pool, " (%d)", BE_JWT_DUPLICATE);
    ctl = apr_psprintf(pool, " (%d)", BE_JWT_CONTROL_CHAR);
    hdr = apr_psprintf(pool, " (%d)", BE_JWT_HEADER_TYPE);
    nj = apr_psprintf(pool, " (%d)", BE_JWT_NOT_JSON);

    /* exp, nbf, iat: finite numbers from 1970 to 9999 */
    for (i = 0; i < 3; i++) {
        const char *n = times[i];
        const char *bad_type = apr_pstrcat(pool, "the ", n, " claim is not "
                                           "a number", num, NULL);
        const char *range = apr_pstrcat(pool, "the ", n, " claim is out of "
                                        "range", num, NULL);
#define P(v) apr_psprintf(pool, "{\"sub\":\"alice\",\"%s\":%s}", n, v)
#define NAME(what) apr_pstrcat(pool, n, " ", what, NULL)
        HOSTILE(P("\"0\""), bad_type, NAME("as a string"));
        HOSTILE(P("\"NaN\""), bad_type, NAME("as the string NaN"));
        HOSTILE(P("null"), bad_type, NAME("null"));
        HOSTILE(P("true"), bad_type, NAME("true"));
        HOSTILE(P("false"), bad_type, NAME("false"));
        HOSTILE(P("[1700000000]"), bad_type, NAME("an array"));
        HOSTILE(P("{}"), bad_type, NAME("an object"));
        HOSTILE(P("1e400"), range, NAME("1e400"));
        HOSTILE(P("-1e400"), range, NAME("-1e400"));
        HOSTILE(P("1e300"), range, NAME("past 9999"));
        HOSTILE(P("99999999999999999999"), range, NAME("past INT64_MAX"));
        HOSTILE(P("-1"), range, NAME("before 1970"));
        HOSTILE(P("NaN"), apr_pstrcat(pool, "the token payload is not valid "
                                      "JSON", nj, NULL), NAME("NaN"));
        HOSTILE(P("Infinity"), apr_pstrcat(pool, "the token payload is not "
                                           "valid JSON", nj, NULL),
                NAME("Infinity"));
        HOSTILE(P("-Infinity"), apr_pstrcat(pool, "the token payload is not "
                                            "valid JSON", nj, NULL),
                NAME("-Infinity"));
        HOSTILE(P("1."), apr_pstrcat(pool, "the token payload is not valid "
                                     "JSON", nj, NULL), NAME("1."));
#undef P
#undef NAME
    }
    HOSTILE("{\"sub\":\"alice\",\"exp\":1700000100.5,\"nbf\":0,"
            "\"iat\":1699999999}", "ok:alice", "good times, fractions");
    HOSTILE("{\"sub\":\"alice\",\"exp\":2.5e9}", "ok:alice",
            "exp with an exponent");
    HOSTILE("{\"sub\":\"alice\",\"exp\":253402300799}", "ok:alice",
            "exp at the end of 9999");

    /* iss, sub, jti strings; aud a string or an array of strings */
    HOSTILE("{\"sub\":5}", apr_pstrcat(pool, "the sub claim is not a string",
                                       str, NULL), "sub a number");
    HOSTILE("{\"sub\":null}", apr_pstrcat(pool, "the sub claim is not a "
                                          "string", str, NULL), "sub null");
    HOSTILE("{\"sub\":[\"alice\"]}", apr_pstrcat(pool, "the sub claim is not "
                                                 "a string", str, NULL),
            "sub an array");
    HOSTILE("{\"sub\":\"alice\",\"iss\":true}", apr_pstrcat(pool, "the iss "
            "claim is not a string", str, NULL), "iss a boolean");
    HOSTILE("{\"sub\":\"alice\",\"jti\":{}}", apr_pstrcat(pool, "the jti "
            "claim is not a string", str, NULL), "jti an object");
    HOSTILE("{\"sub\":\"alice\",\"aud\":5}", apr_pstrcat(pool, "the aud "
            "claim is not a string or an array of strings", str, NULL),
            "aud a number");
    HOSTILE("{\"sub\":\"alice\",\"aud\":[\"api\",1]}", apr_pstrcat(pool,
            "the aud claim is not a string or an array of strings", str,
            NULL), "aud with a number in it");
    HOSTILE("{\"sub\":\"alice\",\"aud\":[\"api\",\"web\"],\"iss\":\"me\","
            "\"jti\":\"j1\"}", "ok:alice", "good iss, aud and jti");

    /* a name twice, anywhere, however it is written */
    HOSTILE("{\"sub\":\"alice\",\"sub\":\"bob\"}", apr_pstrcat(pool,
            "a claim name appears twice", dup, NULL), "sub twice");
    HOSTILE("{\"exp\":1700000100,\"sub\":\"a\",\"exp\":\"0\"}", apr_pstrcat(
            pool, "a claim name appears twice", dup, NULL), "exp twice");
    HOSTILE("{\"sub\":\"alice\",\"\\u0073ub\":\"bob\"}", apr_pstrcat(pool,
            "a claim name appears twice", dup, NULL), "sub twice, escaped");
    HOSTILE("{\"sub\":\"alice\",\"o\":{\"x\":1,\"x\":2}}", apr_pstrcat(pool,
            "a claim name appears twice", dup, NULL), "twice, nested");
    HOSTILE("{\"sub\":\"alice\",\"o\":[{\"x\":1},{\"x\":2}],\"s\":\"a:b\"}",
            "ok:alice", "the same name in two objects");

    /* NUL anywhere; control characters in the user's name */
    HOSTILE("{\"sub\":\"alice\\u0000bob\"}", apr_pstrcat(pool, "a claim "
            "holds a NUL character", ctl, NULL), "NUL in sub");
    HOSTILE("{\"sub\\u0000x\":\"alice\"}", apr_pstrcat(pool, "a claim holds "
            "a NUL character", ctl, NULL), "NUL in a claim name");
    HOSTILE("{\"sub\":\"alice\",\"dept\":\"sales\\u0000x\"}", apr_pstrcat(
            pool, "a claim holds a NUL character", ctl, NULL),
            "NUL in another claim");
    HOSTILE("{\"sub\":\"a\\\\u0000\"}", "ok:a\\u0000",
            "an escaped backslash before u0000 is no NUL");
    HOSTILE("{\"sub\":\"alice\\nbob\"}", apr_pstrcat(pool, "the sub claim "
            "holds a control character", ctl, NULL), "newline in sub");
    HOSTILE("{\"sub\":\"alice\\u001b[2J\"}", apr_pstrcat(pool, "the sub "
            "claim holds a control character", ctl, NULL), "ESC in sub");
    HOSTILE("{\"sub\":\"alice\\u007f\"}", apr_pstrcat(pool, "the sub claim "
            "holds a control character", ctl, NULL), "DEL in sub");
    HOSTILE("{\"sub\":\"alice\\u0085\"}", apr_pstrcat(pool, "the sub claim "
            "holds a control character", ctl, NULL), "C1 NEL in sub");
    HOSTILE("{\"sub\":\"alice\tbob\"}", apr_pstrcat(pool, "the token payload "
            "is not valid JSON", nj, NULL), "a raw tab in sub");
    HOSTILE("{\"sub\":\"caf\\u00e9 \\u2028\"}", "ok:caf\xc3\xa9 \xe2\x80\xa8",
            "other characters in sub");
    IS_STR(hostile(hs, NULL, "{\"email\":5}", "email"),
           apr_pstrcat(pool, "the email claim is not a string", str, NULL),
           "user claim a number");
    IS_STR(hostile(hs, NULL, "{\"email\":\"a\\u0001@x\"}", "email"),
           apr_pstrcat(pool, "the email claim holds a control character",
                       ctl, NULL), "control character in the user claim");
    IS_STR(hostile(hs, NULL, "{\"sub\":\"a\\n\",\"email\":\"a@x\"}", "email"),
           "ok:a@x", "control characters in sub when it is not the user");

    /* the header the same way */
    HOSTILE_HDR("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "ok:alice",
                "header: good");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"alg\":\"none\"}", apr_pstrcat(pool,
                "a header parameter appears twice", dup, NULL),
                "header: alg twice");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"b\"}",
                apr_pstrcat(pool, "a header parameter appears twice", dup,
                            NULL), "header: kid twice");
    HOSTILE_HDR("{\"alg\":[\"HS256\"]}", apr_pstrcat(pool, "the alg header "
                "parameter is not a string", hdr, NULL), "header: alg array");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"kid\":5}", apr_pstrcat(pool, "the kid "
                "header parameter is not a string", hdr, NULL),
                "header: kid number");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"typ\":null}", apr_pstrcat(pool,
                "the typ header parameter is not a string", hdr, NULL),
                "header: typ null");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"cty\":{}}", apr_pstrcat(pool,
                "the cty header parameter is not a string", hdr, NULL),
                "header: cty object");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", apr_pstrcat(pool,
                "the token header names critical extensions (crit)", hdr,
                NULL), "header: crit");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}", apr_pstrcat(
                pool, "a header parameter holds a NUL character", ctl, NULL),
                "header: NUL in kid");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"x\":NaN}", apr_pstrcat(pool, "the "
                "token header is not valid JSON", nj, NULL), "header: NaN");
    HOSTILE_HDR("{\"kid\":\"a\"}", apr_psprintf(pool, "the token header is "
                "not valid (%d)", BE_JWT_REFUSED), "header: no alg");

    if (jwt_cache) {
        /* a token remembered for one user claim is checked for another */
        IS_STR(hostile(hs, NULL, "{\"sub\":\"alice\",\"email\":7}", NULL),
               "ok:alice", "cached: sub is the user");
        IS_STR(hostile(hs, NULL, "{\"sub\":\"alice\",\"email\":7}", "email"),
               apr_pstrcat(pool, "the email claim is not a string", str,
                           NULL), "cached: email is not a string");
    }
    unlink(secret);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_escape();
    test_double();
    test_parse();
    test_validate();
    test_hostile_parse();
    test_hostile_numbers();
    test_sql();
    test_render();
    test_types();
    test_query();
    test_jwt();
    test_hostile_tokens();
    jwt_cache = be_jwt_cache_create(pool, 3);
    test_jwt();
    test_hostile_tokens();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}
