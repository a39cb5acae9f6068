/*
 * be_render.c - rows and problems to JSON text, written straight into a
 * buffer: no intermediate JSON objects on the response path.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be_core.h"

/* ---------------------------------------------------------------------- */
/* Buffer                                                                  */

void be_buf_init(be_buf_t *b, apr_pool_t *p, apr_size_t initial)
{
    b->pool = p;
    b->len = 0;
    b->cap = initial < 64 ? 64 : initial;
    b->data = apr_palloc(p, b->cap);
}

void be_buf_grow(be_buf_t *b, apr_size_t need)
{
    apr_size_t cap = b->cap;
    char *nd;

    while (cap < b->len + need + 1) {
        cap *= 2;
    }
    if (cap == b->cap) {
        return;
    }
    /* The old block stays in the pool until the request ends; doubling
     * keeps the total under twice the final size. */
    nd = apr_palloc(b->pool, cap);
    memcpy(nd, b->data, b->len);
    b->data = nd;
    b->cap = cap;
}

void be_buf_add(be_buf_t *b, const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        be_buf_grow(b, n);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void be_buf_adds(be_buf_t *b, const char *s)
{
    be_buf_add(b, s, strlen(s));
}

apr_size_t be_format_int(char *out, long long v)
{
    char tmp[24];
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    apr_size_t n = 0, i = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        out[i++] = '-';
    }
    while (n) {
        out[i++] = tmp[--n];
    }
    out[i] = '\0';
    return i;
}

void be_buf_int(be_buf_t *b, long long v)
{
    char tmp[24];

    be_buf_add(b, tmp, be_format_int(tmp, v));
}

void be_buf_printf(be_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((apr_size_t)n >= b->cap - b->len) {
        be_buf_grow(b, (apr_size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (apr_size_t)n;
}

const char *be_buf_cstr(be_buf_t *b)
{
    if (b->len + 1 > b->cap) {
        be_buf_grow(b, 1);
    }
    b->data[b->len] = '\0';
    return b->data;
}

/* ---------------------------------------------------------------------- */
/* JSON scalars                                                            */

apr_size_t be_utf8_seq(const char *str, apr_size_t avail)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned int c = s[0];
    apr_size_t n, i;
    unsigned long cp;

    if (c < 0x80) {
        return 1;
    }
    else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    }
    else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

apr_size_t be_utf8_valid(const char *s, apr_size_t len)
{
    apr_size_t i = 0, n;

    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
        }
        else if ((n = be_utf8_seq(s + i, len - i)) > 0) {
            i += n;
        }
        else {
            break;
        }
    }
    return i;
}

void be_json_escape(be_buf_t *b, const char *str, apr_size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    apr_size_t i = 0, run = 0;

    /* Worst case every byte becomes \u00XX; grow once for the common
     * case of a string without escapes. */
    be_buf_grow(b, len + 2);
    be_buf_addc(b, '"');
    while (i < len) {
        unsigned char c = s[i];
        apr_size_t n;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            run++;
            continue;
        }
        if (c >= 0x80 && (n = be_utf8_seq(str + i, len - i)) > 0) {
            i += n;
            run += n;
            continue;
        }
        be_buf_add(b, (const char *)s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            be_buf_add(b, esc, 2);
        }
        else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            be_buf_add(b, esc, 6);
        }
        else {
            be_buf_add(b, "\xEF\xBF\xBD", 3); /* U+FFFD */
        }
        i++;
    }
    be_buf_add(b, (const char *)s + i - run, run);
    be_buf_addc(b, '"');
}

/* Most stored numbers (prices, measures) have a few decimals: when d is
 * the double nearest to n / 10^k for some k <= 6 and n < 10^15, those
 * digits are what "%.15g" would print, and they read back as d (the
 * division and strtod both round the same exact quotient), so they are
 * written here without printf's arbitrary-precision arithmetic.  Returns
 * 0 for the rest (tiny, huge or long numbers). */
static int decimal_fast(char *out, double d)
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = d < 0 ? -d : d;
    char num[24];
    apr_size_t len, whole;
    int k;

    if (d == 0 && !signbit(d)) {
        strcpy(out, "0");
        return 1;
    }
    if (!(a >= 1e-4 && a < 1e9)) {
        return 0; /* (and -0, which printf writes as "-0") */
    }
    for (k = 0; k <= 6; k++) {
        double x = a * pow10[k];
        unsigned long long n;

        if (x >= 1e15) {
            return 0;
        }
        n = (unsigned long long)(x + 0.5);
        if ((double)n / pow10[k] != a) {
            continue;
        }
        len = be_format_int(num, (long long)n);
        whole = len > (apr_size_t)k ? len - (apr_size_t)k : 0;
        if (d < 0) {
            *out++ = '-';
        }
        if (whole) {
            memcpy(out, num, whole);
            out += whole;
        }
        else {
            *out++ = '0';
        }
        if (k) {
            /* the decimals, after the zeros that lead them (0.05) */
            *out++ = '.';
            memset(out, '0', (apr_size_t)k - (len - whole));
            out += (apr_size_t)k - (len - whole);
            memcpy(out, num + whole, len - whole);
            out += len - whole;
        }
        *out = '\0';
        return 1;
    }
    return 0;
}

void be_json_double(be_buf_t *b, double d)
{
    char tmp[40];

    if (!isfinite(d)) {
        be_buf_add(b, "null", 4);
        return;
    }
    if (decimal_fast(tmp, d)) {
        be_buf_adds(b, tmp);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d) {
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    }
    be_buf_adds(b, tmp);
}

/* ---------------------------------------------------------------------- */
/* Row sink                                                                */

void be_sink_init(be_sink_t *s, apr_pool_t *p, be_buf_t *out,
                  const be_shape_t *shape, int as_array)
{
    s->out = out;
    s->pool = p;
    s->ncols = shape->ncols;
    s->nrender = shape->nrender;
    s->cols = shape->cols;
    s->keys = shape->keys;
    s->as_array = as_array;
    s->bare = 0;
    s->nrows = 0;
    s->key_col = shape->key_col;
    s->key_text = NULL;
    s->key_list = NULL;
    s->check_col = shape->check ? shape->ncols - 1 : -1;
    s->check_failed = 0;
}

void be_sink_begin(be_sink_t *s)
{
    if (s->as_array) {
        be_buf_addc(s->out, '[');
    }
}

void be_sink_row_begin(be_sink_t *s)
{
    if (s->nrows > 0) {
        be_buf_addc(s->out, ',');
    }
    if (!s->bare) {
        be_buf_addc(s->out, '{');
    }
}

void be_sink_row_end(be_sink_t *s)
{
    if (!s->bare) {
        be_buf_addc(s->out, '}');
    }
    s->nrows++;
}

void be_sink_end(be_sink_t *s)
{
    if (s->as_array) {
        be_buf_addc(s->out, ']');
    }
}

static void remember_key(be_sink_t *s, int col, const char *text,
                         apr_size_t len)
{
    if (col == s->key_col && s->nrows == 0) {
        s->key_text = apr_pstrmemdup(s->pool, text, len);
    }
    if (col == s->key_col && s->key_list) {
        APR_ARRAY_PUSH(s->key_list, const char *) =
            s->nrows == 0 ? s->key_text : apr_pstrmemdup(s->pool, text, len);
    }
}

/* Writes the member name; 0 for a column fetched only for its key. */
static int cell_key(be_sink_t *s, int col)
{
    if (col >= s->nrender || (s->bare && col > 0)) {
        return 0;
    }
    if (s->bare) {
        return 1;
    }
    if (col > 0) {
        be_buf_addc(s->out, ',');
    }
    be_buf_adds(s->out, s->keys[col]);
    return 1;
}

void be_sink_null(be_sink_t *s, int col)
{
    s->check_failed |= col == s->check_col;
    if (cell_key(s, col)) {
        be_buf_add(s->out, "null", 4);
    }
}

void be_sink_int(be_sink_t *s, int col, long long v)
{
    char tmp[24];
    apr_size_t n = be_format_int(tmp, v);

    s->check_failed |= col == s->check_col && v == 0;
    remember_key(s, col, tmp, n);
    if (!cell_key(s, col)) {
        return;
    }
    if (s->cols[col]->type == BE_T_BOOL) {
        be_buf_adds(s->out, v ? "true" : "false");
    }
    else {
        be_buf_add(s->out, tmp, n);
    }
}

void be_sink_real(be_sink_t *s, int col, double v)
{
    s->check_failed |= col == s->check_col && v == 0;
    apr_size_t at = s->out->len;
    int shown = cell_key(s, col);

    if (shown) {
        at = s->out->len;
    }
    be_json_double(s->out, v);
    remember_key(s, col, s->out->data + at, s->out->len - at);
    if (!shown) {
        s->out->len = at;
    }
}

/* A number as the database printed it is valid JSON when it looks like
 * one; "NaN", "Infinity" and the like are not. */
static int json_number_text(const char *v, apr_size_t len)
{
    apr_size_t i = 0;

    if (len == 0) {
        return 0;
    }
    if (v[i] == '-') {
        i++;
    }
    if (i >= len || v[i] < '0' || v[i] > '9') {
        return 0;
    }
    if (v[i] == '0' && i + 1 < len && v[i + 1] >= '0' && v[i + 1] <= '9') {
        return 0;
    }
    for (; i < len; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E'
              || c == '+' || c == '-')) {
            return 0;
        }
    }
    return v[len - 1] >= '0' && v[len - 1] <= '9';
}

void be_sink_text(be_sink_t *s, int col, const char *v, apr_size_t len)
{
    const be_column_t *c = s->cols[col];

    s->check_failed |= col == s->check_col && (!len || *v == 'f' || *v == '0');
    remember_key(s, col, v, len);
    if (!cell_key(s, col)) {
        return;
    }
    switch (c->type) {
    case BE_T_INT:
    case BE_T_REAL:
    case BE_T_NUMERIC:
        if (json_number_text(v, len)) {
            be_buf_add(s->out, v, len);
            return;
        }
        if (c->type != BE_T_NUMERIC || c->oid != 0) {
            /* NaN / Infinity from PostgreSQL: JSON cannot say it */
            be_buf_add(s->out, "null", 4);
            return;
        }
        break; /* SQLite text in a numeric column: keep it a string */
    case BE_T_BOOL:
        if (len == 1 && (v[0] == 't' || v[0] == 'f')) {
            be_buf_adds(s->out, v[0] == 't' ? "true" : "false");
            return;
        }
        break;
    case BE_T_JSON:
        /* PostgreSQL only returns valid JSON; SQLite stores any text */
        if (c->oid != 0 || be_json_is_valid(v, len)) {
            be_buf_add(s->out, v, len);
            return;
        }
        break;
    default:
        break;
    }
    be_json_escape(s->out, v, len);
}

void be_sink_blob(be_sink_t *s, int col, const void *v, apr_size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = v;
    apr_size_t i;

    /* The text PostgreSQL gives bytea: \x followed by hex digits. */
    if (!cell_key(s, col)) {
        return;
    }
    be_buf_grow(s->out, 2 * len + 5);
    be_buf_add(s->out, "\"\\\\x", 4);
    for (i = 0; i < len; i++) {
        be_buf_addc(s->out, hex[u[i] >> 4]);
        be_buf_addc(s->out, hex[u[i] & 15]);
    }
    be_buf_addc(s->out, '"');
}

/* ---------------------------------------------------------------------- */
/* Problems                                                                */

const char *be_problem_json(apr_pool_t *p, int status, const char *title,
                            const char *detail, const apr_array_header_t *errs)
{
    be_buf_t b;
    int i;

    be_buf_init(&b, p, 256);
    be_buf_adds(&b, "{\"type\":\"about:blank\",\"title\":");
    be_json_escape(&b, title, strlen(title));
    be_buf_printf(&b, ",\"status\":%d,\"detail\":", status);
    be_json_escape(&b, detail, strlen(detail));
    if (errs && errs->nelts > 0) {
        be_buf_adds(&b, ",\"errors\":[");
        for (i = 0; i < errs->nelts; i++) {
            const be_field_error_t *e =
                &APR_ARRAY_IDX(errs, i, be_field_error_t);
            be_buf_adds(&b, i ? ",{\"field\":" : "{\"field\":");
            be_json_escape(&b, e->field, strlen(e->field));
            be_buf_adds(&b, ",\"message\":");
            be_json_escape(&b, e->message, strlen(e->message));
            be_buf_addc(&b, '}');
        }
        be_buf_addc(&b, ']');
    }
    be_buf_addc(&b, '}');
    return be_buf_cstr(&b);
}
