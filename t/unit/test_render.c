/*
 * test_render.c - unit tests of be_render.c: JSON escaping, numbers, rows rendered as JSON.
 * No httpd, no database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "unit.h"

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
    IS_STR(esc("bad\xff"
               "x",
               5),
           "\"bad\xef\xbf\xbdx\"", "invalid byte becomes U+FFFD");
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
               && strcmp(tmp, "9223372036854775807") == 0,
           "largest integer");
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
            case 0:
                d = (double)(x >> 40 & 0xfffff) / 100;
                break;
            case 1:
                d = -(double)(x >> 33 & 0xffffff) / 1000000;
                break;
            case 2:
                d = (double)(x >> 11) / 9007199254740992.0 * 1e6;
                break;
            default:
                d = (double)(x >> 44) / 7;
                break;
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
           "{\"type\":\"about:blank\",\"title\":\"Not "
           "Found\",\"status\":404,\"detail\":\"no \\\"row\\\"\"}",
           "problem");
    {
        apr_array_header_t *errs =
            apr_array_make(pool, 1, sizeof(be_field_error_t));
        be_field_error_t *e = apr_array_push(errs);
        e->field = "name";
        e->message = "is required";
        IS_STR(be_problem_json(pool, 422, "Unprocessable", "d", errs),
               "{\"type\":\"about:blank\",\"title\":\"Unprocessable\","
               "\"status\":422,\"detail\":\"d\",\"errors\":[{\"field\":"
               "\"name\",\"message\":\"is required\"}]}",
               "problem + errors");
    }
}

int main(void)
{
    unit_start();
    test_escape();
    test_double();
    test_render();
    unit_end();
    return tap_done();
}
