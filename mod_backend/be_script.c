/*
 * be_script.c - the statements of a SQL script (a BackendMigrations file)
 * as PostgreSQL reads them, so that each runs alone and a failure names
 * its own statement.  A ';' ends a statement unless it is inside a string
 * ('...', E'...' with backslash escapes), a quoted name ("..."), a
 * dollar-quoted body ($$...$$, $tag$...$tag$), a comment (-- to the end
 * of the line, or a nested C-style block), or a SQL-standard function body
 * (BEGIN ATOMIC ... END, whose CASE ... END nest).  Text that does not
 * end (an open string) runs to the end of the script: the database then
 * says what is wrong with it.
 */
#include <string.h>

#include "be_core.h"

static int word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9') || ch == '_' || ch == '$'
        || (unsigned char)ch >= 0x80;
}

static int is_word(const char *s, apr_size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* The end of a quoted run that started at i (the opening quote q); with
 * backslashes, a backslash escapes the next character. */
static apr_size_t skip_quoted(const char *s, apr_size_t len, apr_size_t i,
                              char q, int backslashes)
{
    for (i++; i < len; i++) {
        if (backslashes && s[i] == '\\') {
            i++;
        }
        else if (s[i] == q) {
            if (i + 1 < len && s[i + 1] == q) {
                i++; /* a doubled quote stands for itself */
            }
            else {
                return i + 1;
            }
        }
    }
    return len;
}

/* $tag$ at i: the end of the body, or 0 when i starts no dollar quote. */
static apr_size_t skip_dollar(const char *s, apr_size_t len, apr_size_t i)
{
    apr_size_t t = i + 1, n;
    const char *close;

    if (t < len && s[t] >= '0' && s[t] <= '9') {
        return 0; /* $1: a parameter */
    }
    while (t < len && s[t] != '$' && word_char(s[t])) {
        t++;
    }
    if (t >= len || s[t] != '$') {
        return 0;
    }
    n = t + 1 - i; /* the tag with both dollars */
    for (t++; t + n <= len; t++) {
        close = s + t;
        if (*close == '$' && memcmp(close, s + i, n) == 0) {
            return t + n;
        }
    }
    return len;
}

static apr_size_t skip_block_comment(const char *s, apr_size_t len,
                                     apr_size_t i)
{
    int depth = 0;

    while (i + 1 < len) {
        if (s[i] == '/' && s[i + 1] == '*') {
            depth++;
            i += 2;
        }
        else if (s[i] == '*' && s[i + 1] == '/') {
            i += 2;
            if (--depth == 0) {
                return i;
            }
        }
        else {
            i++;
        }
    }
    return len;
}

int be_script_next(const char *s, apr_size_t len, apr_size_t *pos,
                   apr_size_t *start, apr_size_t *end)
{
    apr_size_t i = *pos, w, last = 0, lastn = 0;
    int atomic = 0, content = 0;

    *start = *end = len;
    while (i < len) {
        char ch = s[i];
        if (ch == ';' && atomic == 0) {
            if (content) {
                *end = i;
                *pos = i + 1;
                return 1;
            }
            i++;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f'
            || ch == '\v') {
            i++;
            continue;
        }
        if (ch == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n') {
                i++;
            }
            continue;
        }
        if (ch == '/' && i + 1 < len && s[i + 1] == '*') {
            i = skip_block_comment(s, len, i);
            continue;
        }
        if (!content) {
            content = 1;
            *start = i;
        }
        if (ch == '\'' || ch == '"') {
            i = skip_quoted(s, len, i, ch, 0);
        }
        else if (ch == '$' && (w = skip_dollar(s, len, i)) != 0) {
            i = w;
        }
        else if (word_char(ch)) {
            for (w = i; w < len && word_char(s[w]); w++) {
            }
            if (w < len && s[w] == '\'' && w - i == 1
                && (ch == 'e' || ch == 'E')) {
                i = skip_quoted(s, len, w, '\'', 1); /* E'...' */
                continue;
            }
            if (atomic > 0
                && (is_word(s + i, w - i, "CASE")
                    || is_word(s + i, w - i, "BEGIN"))) {
                atomic++;
            }
            else if (atomic > 0 && is_word(s + i, w - i, "END")) {
                atomic--;
            }
            else if (atomic == 0 && is_word(s + i, w - i, "ATOMIC")
                     && is_word(s + last, lastn, "BEGIN")) {
                atomic = 1;
            }
            last = i;
            lastn = w - i;
            i = w;
        }
        else {
            i++;
        }
    }
    *pos = len;
    if (content) {
        *end = len;
        return 1;
    }
    return 0;
}

const char *be_script_tx_word(apr_pool_t *p, const char *s, apr_size_t n)
{
    static const char *const words[] = {"BEGIN", "START",    "COMMIT", "END",
                                        "ABORT", "ROLLBACK", NULL};
    apr_size_t pos = 0, a, b, w, v;
    int i;

    if (!be_script_next(s, n, &pos, &a, &b)) {
        return NULL;
    }
    for (w = a; w < b && word_char(s[w]); w++) {
    }
    for (i = 0; words[i] && !is_word(s + a, w - a, words[i]); i++) {
    }
    if (!words[i]) {
        return NULL;
    }
    for (v = w; v < b && memchr(" \t\r\n\f\v", s[v], 6); v++) {
    }
    if (!strcmp(words[i], "ROLLBACK") && b - v >= 2
        && strncasecmp(s + v, "TO", 2) == 0
        && (b - v == 2 || !word_char(s[v + 2]))) {
        return NULL; /* ROLLBACK TO SAVEPOINT stays inside */
    }
    return apr_pstrmemdup(p, s + a, w - a);
}
