/*
 * test_json.c - unit tests of be_json.c: request bodies parsed strictly.
 * No httpd, no database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "unit.h"

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

static void test_parse(void)
{
    be_json_rc_e rc;
    const char *err = NULL;
    be_jobject_t *o;
    be_jdoc_t *doc;

    o = parse("{\"name\":\"a\",\"n\":3,\"x\":1.5,\"b\":true,\"z\":null,\"j\":{"
              "\"k\":[1,\"/\"]}}",
              &rc, &err);
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

static void test_hostile_parse(void)
{
    static const struct {
        const char *body;
        const char *what;
    } utf8[] = {{"{\"a\":\"\xc0\xaf\"}", "overlong 2-byte form"},
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
           "without its low surrogate at byte 6",
           "lone high surrogate");
    IS_STR(REFUSED("{\"a\":\"\\ud800\\u0041\"}"),
           "the body is not valid JSON: a \\u escape is a high surrogate "
           "without its low surrogate at byte 6",
           "high surrogate before a non-surrogate");
    IS_STR(REFUSED("{\"x\\uDBFF\":1}"),
           "the body is not valid JSON: a \\u escape is a high surrogate "
           "without its low surrogate at byte 3",
           "lone surrogate in a key");
    IS_STR(REFUSED("{\"a\":\"\\udc00\"}"),
           "the body is not valid JSON: a \\u escape is a lone low surrogate "
           "at byte 6",
           "lone low surrogate");
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

    IS_STR(REFUSED("{\"a\":NaN}"),
           "the body is not valid JSON: NaN and Infinity are not JSON numbers "
           "at byte 5",
           "NaN");
    IS_STR(REFUSED("{\"a\":Infinity}"),
           "the body is not valid JSON: NaN and Infinity are not JSON numbers "
           "at byte 5",
           "Infinity");
    IS_STR(REFUSED("{\"a\":-Infinity}"),
           "the body is not valid JSON: NaN and Infinity are not JSON numbers "
           "at byte 6",
           "-Infinity");
    IS_STR(REFUSED("{\"a\":[1,NaN]}"),
           "the body is not valid JSON: NaN and Infinity are not JSON numbers "
           "at byte 8",
           "nested NaN");
    IS_STR(REFUSED("{\"a\":0123}"),
           "the body is not valid JSON: a number with a leading zero "
           "at byte 5",
           "a leading zero");
    IS_STR(REFUSED("[{\"j\":-000000000000000000018446744073709551614}]"),
           "the body is not valid JSON: a number with a leading zero "
           "at byte 6",
           "leading zeros before digits past the 64-bit range");
    o = parse("{\"a\":0,\"b\":-0.5,\"c\":0e1}", &rc, &err);
    IS_INT(rc, BE_JSON_OK, "a zero, a fraction and an exponent after 0");
    OK(!be_json_is_valid("[NaN]", 5), "NaN is not valid json text");
    OK(!be_json_is_valid("\"\xc0\xaf\"", 4), "nor overlong UTF-8");

    IS_STR(refused("{\"a\":1}\0", 8),
           "the body is not valid JSON: unexpected character",
           "a NUL byte after the document");
    IS_STR(refused("{\"a\":1} \0 ", 10),
           "the body is not valid JSON: unexpected character",
           "a NUL byte among trailing whitespace");
    IS_INT(strncmp(refused("{\"a\":\"x\0\"}", 10),
                   "the body is not valid JSON: ", 28),
           0, "a raw NUL byte inside a string");
}

int main(void)
{
    unit_start();
    test_parse();
    test_hostile_parse();
    unit_end();
    return tap_done();
}
