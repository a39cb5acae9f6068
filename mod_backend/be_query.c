/*
 * be_query.c - parses PostgREST's query grammar:
 *
 *   col=[not.]op.value        eq neq gt gte lt lte like ilike in is
 *   or=(a.eq.1,b.gt.2)        and=(...), not.or=(...), nested and(...)
 *   order=a.desc.nullsfirst,b limit=N offset=N select=a,alias:b
 *   columns=a,b on_conflict=a,b
 *
 * Values in logic trees and in lists may be double-quoted to hold the
 * reserved characters , . : ( ) and quotes (escaped with a backslash).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be_query.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int be_url_decode(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (*s == '+') {
            *w++ = ' ';
        }
        else if (*s == '%') {
            int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                return 0; /* a bad escape, or an encoded NUL */
            }
            *w++ = (char)(h * 16 + l);
            s += 2;
        }
        else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Small scanners                                                          */

typedef struct {
    apr_pool_t *p;
    const char *s;  /* the whole text, for messages */
    const char *at; /* current position */
    const char *err;
    int depth;
    int nconds;
} scan_t;

/* A double-quoted string at sc->at (the quote included); backslash
 * escapes the next character. */
static const char *quoted(scan_t *sc)
{
    be_buf_t b;

    be_buf_init(&b, sc->p, 32);
    sc->at++; /* opening quote */
    while (*sc->at && *sc->at != '"') {
        if (*sc->at == '\\' && sc->at[1]) {
            sc->at++;
        }
        be_buf_addc(&b, *sc->at++);
    }
    if (*sc->at != '"') {
        sc->err = apr_psprintf(sc->p, "unterminated quote in '%s'", sc->s);
        return NULL;
    }
    sc->at++;
    return be_buf_cstr(&b);
}

/* A bare word up to any of the stop characters. */
static const char *word(scan_t *sc, const char *stops)
{
    const char *start = sc->at;

    while (*sc->at && !strchr(stops, *sc->at)) {
        sc->at++;
    }
    return apr_pstrmemdup(sc->p, start, (apr_size_t)(sc->at - start));
}

static const char *name_or_quoted(scan_t *sc, const char *stops)
{
    return *sc->at == '"' ? quoted(sc) : word(sc, stops);
}

apr_array_header_t *be_name_list(apr_pool_t *p, const char *s)
{
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(const char *));
    scan_t sc = {p, s, s, NULL, 0, 0};

    while (*sc.at) {
        const char *n = name_or_quoted(&sc, ",");
        if (!n || !*n) {
            return NULL;
        }
        APR_ARRAY_PUSH(names, const char *) = n;
        if (*sc.at == ',') {
            sc.at++;
            if (!*sc.at) {
                return NULL;
            }
        }
        else if (*sc.at) {
            return NULL;
        }
    }
    return names;
}

/* ---------------------------------------------------------------------- */
/* Conditions                                                              */

static const struct {
    const char *name;
    be_op_e op;
} ops[] = {{"eq", BE_OP_EQ},     {"neq", BE_OP_NEQ},     {"gt", BE_OP_GT},
           {"gte", BE_OP_GTE},   {"lt", BE_OP_LT},       {"lte", BE_OP_LTE},
           {"like", BE_OP_LIKE}, {"ilike", BE_OP_ILIKE}, {"in", BE_OP_IN},
           {"is", BE_OP_IS},     {NULL, BE_OP_EQ}};

static const char *like_pattern(apr_pool_t *p, const char *v)
{
    char *s = apr_pstrdup(p, v), *c;

    for (c = s; *c; c++) {
        if (*c == '*') {
            *c = '%';
        }
    }
    return s;
}

/* "(a,"b,c",d)" at sc->at: the items of an in list. */
static apr_array_header_t *in_list(scan_t *sc)
{
    apr_array_header_t *items = apr_array_make(sc->p, 8, sizeof(char *));

    if (*sc->at != '(') {
        sc->err = apr_psprintf(
            sc->p, "in needs a list in parentheses: in.(a,b) in '%s'", sc->s);
        return NULL;
    }
    sc->at++;
    if (*sc->at == ')') {
        sc->at++;
        return items;
    }
    for (;;) {
        const char *v = *sc->at == '"' ? quoted(sc) : word(sc, ",)");
        if (!v) {
            return NULL;
        }
        APR_ARRAY_PUSH(items, const char *) = v;
        if (*sc->at == ',') {
            sc->at++;
            continue;
        }
        if (*sc->at == ')') {
            sc->at++;
            return items;
        }
        sc->err = apr_psprintf(sc->p, "unterminated in list in '%s'", sc->s);
        return NULL;
    }
}

/* "[not.]op.value" at sc->at for column col.  In a logic tree the value
 * ends at a top-level , or ); at the top level it is the rest. */
static be_filter_t *condition(scan_t *sc, const char *col, int in_tree)
{
    be_filter_t *f = apr_pcalloc(sc->p, sizeof(*f));
    const char *opname;
    int i;

    if (++sc->nconds > BE_MAX_FILTERS) {
        sc->err = apr_psprintf(sc->p, "too many filters (at most %d)",
                               BE_MAX_FILTERS);
        return NULL;
    }
    f->kind = BE_F_COND;
    f->column = col;
    if (strncmp(sc->at, "not.", 4) == 0) {
        f->negate = 1;
        sc->at += 4;
    }
    opname = word(sc, ".,()");
    for (i = 0; ops[i].name; i++) {
        if (strcmp(ops[i].name, opname) == 0) {
            break;
        }
    }
    if (!ops[i].name) {
        sc->err = apr_psprintf(
            sc->p, "unknown operator '%s' in the filter on '%s'", opname, col);
        return NULL;
    }
    f->op = ops[i].op;
    if (*sc->at != '.') {
        sc->err = apr_psprintf(
            sc->p, "the filter on '%s' needs a value: %s.VALUE", col, opname);
        return NULL;
    }
    sc->at++;
    if (f->op == BE_OP_IN) {
        f->list = in_list(sc);
        return f->list ? f : NULL;
    }
    if (!in_tree) {
        f->value = apr_pstrdup(sc->p, sc->at);
        sc->at += strlen(sc->at);
    }
    else {
        f->value = *sc->at == '"' ? quoted(sc) : word(sc, ",)");
        if (!f->value) {
            return NULL;
        }
    }
    if (f->op == BE_OP_LIKE || f->op == BE_OP_ILIKE) {
        f->value = like_pattern(sc->p, f->value);
    }
    if (f->op == BE_OP_IS) {
        static const char *const words[] = {"null",  "not_null", "true",
                                            "false", "unknown",  NULL};
        for (i = 0; words[i]; i++) {
            if (strcasecmp(words[i], f->value) == 0) {
                f->value = words[i];
                break;
            }
        }
        if (!words[i]) {
            sc->err = apr_psprintf(sc->p,
                                   "is takes null, not_null, true, false or "
                                   "unknown, not '%s' (filter on '%s')",
                                   f->value, col);
            return NULL;
        }
    }
    return f;
}

static be_filter_t *logic(scan_t *sc, be_fkind_e kind, int negate);

/* One item of a logic tree: a nested and/or, or col.[not.]op.value. */
static be_filter_t *tree_item(scan_t *sc)
{
    static const struct {
        const char *prefix;
        be_fkind_e kind;
        int negate;
    } nested[] = {{"and(", BE_F_AND, 0},
                  {"or(", BE_F_OR, 0},
                  {"not.and(", BE_F_AND, 1},
                  {"not.or(", BE_F_OR, 1},
                  {NULL, BE_F_AND, 0}};
    const char *col;
    int i;

    for (i = 0; nested[i].prefix; i++) {
        apr_size_t n = strlen(nested[i].prefix) - 1;
        if (strncmp(sc->at, nested[i].prefix, n + 1) == 0) {
            sc->at += n;
            return logic(sc, nested[i].kind, nested[i].negate);
        }
    }
    col = name_or_quoted(sc, ".,()");
    if (!col) {
        return NULL;
    }
    if (!*col || *sc->at != '.') {
        sc->err = apr_psprintf(sc->p, "expected column.operator.value in '%s'",
                               sc->s);
        return NULL;
    }
    sc->at++;
    return condition(sc, col, 1);
}

/* "(item,item,...)" at sc->at. */
static be_filter_t *logic(scan_t *sc, be_fkind_e kind, int negate)
{
    be_filter_t *f = apr_pcalloc(sc->p, sizeof(*f));

    if (++sc->depth > BE_MAX_NESTING) {
        sc->err = apr_psprintf(sc->p, "logic nested deeper than %d levels",
                               BE_MAX_NESTING);
        return NULL;
    }
    f->kind = kind;
    f->negate = negate;
    f->children = apr_array_make(sc->p, 4, sizeof(be_filter_t *));
    if (*sc->at != '(') {
        sc->err = apr_psprintf(
            sc->p, "%s needs a list in parentheses: %s=(a.eq.1,b.eq.2)",
            kind == BE_F_AND ? "and" : "or", kind == BE_F_AND ? "and" : "or");
        return NULL;
    }
    sc->at++;
    for (;;) {
        be_filter_t *child = tree_item(sc);
        if (!child) {
            return NULL;
        }
        APR_ARRAY_PUSH(f->children, be_filter_t *) = child;
        if (*sc->at == ',') {
            sc->at++;
            continue;
        }
        if (*sc->at == ')') {
            sc->at++;
            break;
        }
        sc->err = apr_psprintf(sc->p, "expected , or ) in '%s'", sc->s);
        return NULL;
    }
    sc->depth--;
    return f;
}

/* ---------------------------------------------------------------------- */
/* Parameters                                                              */

static const char *too_many(apr_pool_t *p, const char *what)
{
    return apr_psprintf(p, "%s names more than %d columns", what,
                        BE_MAX_NAMES);
}

static const char *parse_order(apr_pool_t *p, const char *v, be_query_t *q)
{
    scan_t sc = {p, v, v, NULL, 0, 0};

    q->order = apr_array_make(p, 4, sizeof(be_order_t));
    while (*sc.at) {
        be_order_t *o;
        if (q->order->nelts == BE_MAX_NAMES) {
            return too_many(p, "order");
        }
        o = apr_array_push(q->order);
        memset(o, 0, sizeof(*o));
        o->column = name_or_quoted(&sc, ".,");
        if (!o->column || !*o->column) {
            return sc.err ? sc.err : apr_psprintf(p, "bad order '%s'", v);
        }
        while (*sc.at == '.') {
            const char *w;
            sc.at++;
            w = word(&sc, ".,");
            if (strcmp(w, "asc") == 0) {
                o->desc = 0;
            }
            else if (strcmp(w, "desc") == 0) {
                o->desc = 1;
            }
            else if (strcmp(w, "nullsfirst") == 0) {
                o->nulls = 1;
            }
            else if (strcmp(w, "nullslast") == 0) {
                o->nulls = 2;
            }
            else {
                return apr_psprintf(p,
                                    "unknown order modifier '%s' for '%s' "
                                    "(asc, desc, nullsfirst, nullslast)",
                                    w, o->column);
            }
        }
        if (*sc.at == ',') {
            sc.at++;
        }
    }
    return NULL;
}

static be_query_t *query_make(apr_pool_t *p)
{
    be_query_t *q = apr_pcalloc(p, sizeof(*q));

    q->filters = apr_array_make(p, 4, sizeof(be_filter_t *));
    q->limit = q->offset = -1;
    return q;
}

/* One level of select=: items up to the end, or up to the ')' that closes
 * an embedded resource's list (left for the caller).  *nitems counts the
 * items of every level. */
static const char *parse_select_list(scan_t *sc, int level, int *nitems,
                                     apr_array_header_t **out)
{
    apr_pool_t *p = sc->p;
    apr_array_header_t *list = apr_array_make(p, 8, sizeof(be_select_t));
    static const char stops[] = ":,()!";

    *out = list;
    while (*sc->at && *sc->at != ')') {
        be_select_t *s;
        be_embed_t *e = NULL;
        const char *first;
        int i, spread = 0, join;

        if (++*nitems > BE_MAX_NAMES) {
            return too_many(p, "select");
        }
        s = apr_array_push(list);
        memset(s, 0, sizeof(*s));
        if (strncmp(sc->at, "...", 3) == 0) {
            spread = 1;
            sc->at += 3;
        }
        if (!(first = name_or_quoted(sc, stops))) {
            return sc->err;
        }
        s->column = s->alias = first;
        if (*sc->at == ':' && sc->at[1] != ':' && !spread) {
            sc->at++;
            if (!(s->column = name_or_quoted(sc, stops))) {
                return sc->err;
            }
            if (strncmp(s->column, "...", 3) == 0) {
                return apr_psprintf(p, "select '%s': a spread has no alias",
                                    sc->s);
            }
        }
        if (*sc->at == ':') {
            return apr_psprintf(p, "select '%s': casts are not supported",
                                sc->s);
        }
        if (!*s->column || !*s->alias) {
            return apr_psprintf(p, "select '%s' has an empty name", sc->s);
        }
        if (*sc->at == '!' || *sc->at == '(' || spread) {
            e = apr_pcalloc(p, sizeof(*e));
            e->name = s->column;
            e->spread = spread;
            e->q = query_make(p);
            join = 0;
            while (*sc->at == '!') {
                const char *w;
                sc->at++;
                w = name_or_quoted(sc, stops);
                if (!w || !*w) {
                    return w
                        ? apr_psprintf(p, "select '%s': an empty !hint", sc->s)
                        : sc->err;
                }
                if (!strcmp(w, "inner") || !strcmp(w, "left")) {
                    if (join) {
                        return apr_psprintf(p,
                                            "select '%s': '%s' has two "
                                            "join types (!inner, !left)",
                                            sc->s, e->name);
                    }
                    join = 1;
                    e->inner = w[0] == 'i';
                }
                else {
                    if (e->hint) {
                        return apr_psprintf(p,
                                            "select '%s': '%s' has two "
                                            "!hints",
                                            sc->s, e->name);
                    }
                    e->hint = w;
                }
            }
            if (*sc->at != '(') {
                return apr_psprintf(p,
                                    "select '%s': '%s' needs its columns in "
                                    "parentheses: %s(*)",
                                    sc->s, e->name, e->name);
            }
            if (level + 1 > BE_MAX_EMBED) {
                return apr_psprintf(p,
                                    "select '%s': resources are embedded at "
                                    "most %d levels deep",
                                    sc->s, BE_MAX_EMBED);
            }
            sc->at++;
            if ((sc->err = parse_select_list(sc, level + 1, nitems,
                                             &e->q->select))) {
                return sc->err;
            }
            if (*sc->at != ')') {
                return apr_psprintf(p, "select '%s': a '(' is not closed",
                                    sc->s);
            }
            if (!e->q->select->nelts) {
                return apr_psprintf(p, "select '%s': '%s()' names no column",
                                    sc->s, e->name);
            }
            sc->at++;
            s->embed = e;
        }
        /* (a JSON object has each name once) */
        for (i = 0; !spread && i < list->nelts - 1; i++) {
            const be_select_t *o = &APR_ARRAY_IDX(list, i, be_select_t);
            if (!(o->embed && o->embed->spread)
                && strcmp(o->alias, s->alias) == 0) {
                return apr_psprintf(p, "select: '%s' is named twice",
                                    s->alias);
            }
        }
        if (*sc->at == ',') {
            sc->at++;
            if (!*sc->at || *sc->at == ')') {
                return apr_psprintf(p, "select '%s' ends with a comma", sc->s);
            }
        }
        else if (*sc->at && *sc->at != ')') {
            return apr_psprintf(p, "select '%s': unexpected '%c'", sc->s,
                                *sc->at);
        }
    }
    if (*sc->at == ')' && level == 0) {
        return apr_psprintf(p, "select '%s': a ')' without its '('", sc->s);
    }
    return NULL;
}

static const char *parse_select(apr_pool_t *p, const char *v, be_query_t *q)
{
    scan_t sc = {p, v, v, NULL, 0, 0};
    int n = 0;

    if (!*v) {
        q->select = NULL; /* select= alone: every column */
        return NULL;
    }
    return parse_select_list(&sc, 0, &n, &q->select);
}

static const char *parse_count(apr_pool_t *p, const char *name, const char *v,
                               long long *out)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || *end || !*v || n < 0 || !isdigit((unsigned char)*v)) {
        return apr_psprintf(p, "%s must be a non-negative integer, not '%s'",
                            name, v);
    }
    if (n > BE_MAX_COUNT) {
        /* bounded, so that offset + limit never overflows */
        return apr_psprintf(
            p, "%s must be at most %" APR_INT64_T_FMT ", not '%s'", name,
            (apr_int64_t)BE_MAX_COUNT, v);
    }
    *out = n;
    return NULL;
}

/* columns= or on_conflict=: a list of names. */
static const char *parse_names(apr_pool_t *p, const char *key, const char *val,
                               be_query_t *q)
{
    apr_array_header_t *names = be_name_list(p, val);

    if (!names || names->nelts == 0) {
        return apr_psprintf(p, "%s must be a list of column names", key);
    }
    if (names->nelts > BE_MAX_NAMES) {
        return too_many(p, key);
    }
    if (*key == 'c') {
        q->columns = names;
    }
    else {
        q->on_conflict = names;
    }
    return NULL;
}

/* Any other parameter is a filter: column=op.value, or [not.]and/or=(...).
 * *nconds counts the conditions of the whole query. */
static const char *parse_filter(apr_pool_t *p, const char *key,
                                const char *val, be_query_t *q, int *nconds)
{
    scan_t sc = {p, val, val, NULL, 0, *nconds};
    be_filter_t *f;
    int negate = strncmp(key, "not.", 4) == 0;
    const char *k = negate ? key + 4 : key;

    if (strcmp(k, "and") == 0 || strcmp(k, "or") == 0) {
        f = logic(&sc, *k == 'a' ? BE_F_AND : BE_F_OR, negate);
        if (f && *sc.at) {
            return apr_psprintf(p, "unexpected text after the list in '%s'",
                                val);
        }
    }
    else {
        f = condition(&sc, key, 0);
    }
    if (!f) {
        return sc.err;
    }
    *nconds = sc.nconds;
    APR_ARRAY_PUSH(q->filters, be_filter_t *) = f;
    return NULL;
}

/* The embedded resource a dotted parameter's path names ("author" or
 * "posts.comments"), by alias, in select=. */
static be_embed_t *embed_at(apr_pool_t *p, const be_query_t *q,
                            const char *path)
{
    char *copy = apr_pstrdup(p, path), *part, *next;
    be_embed_t *e = NULL;

    /* every dot counted: "a..b" and "a." name no resource */
    for (part = copy; part; part = next) {
        int i;
        const apr_array_header_t *list = q->select;
        if ((next = strchr(part, '.')) != NULL) {
            *next++ = '\0';
        }
        e = NULL;
        for (i = 0; list && i < list->nelts; i++) {
            const be_select_t *s = &APR_ARRAY_IDX(list, i, be_select_t);
            if (s->embed && !strcmp(s->alias, part)) {
                e = s->embed;
                break;
            }
        }
        if (!e) {
            return NULL;
        }
        q = e->q;
    }
    return e;
}

/* PATH.order=, PATH.limit=, PATH.offset= or a filter PATH.column=: for
 * the rows of an embedded resource. */
static const char *parse_embedded(apr_pool_t *p, be_query_t *q,
                                  const char *key, const char *val,
                                  int *nconds)
{
    const char *dot = strrchr(key, '.'), *path, *sub;
    be_embed_t *e;

    /* not.or / not.and end a path as one word */
    if (dot && (!strcmp(dot, ".or") || !strcmp(dot, ".and")) && dot - key > 4
        && !strncmp(dot - 4, ".not", 4)) {
        dot -= 4;
    }
    path = apr_pstrmemdup(p, key, (apr_size_t)(dot - key));
    sub = dot + 1;
    if (!(e = embed_at(p, q, path))) {
        return apr_psprintf(p,
                            "'%s': '%s' is not an embedded resource of "
                            "select=",
                            key, path);
    }
    if (e->spread) {
        return apr_psprintf(p,
                            "'%s': the columns of a spread are the "
                            "parent's",
                            key);
    }
    if (!strcmp(sub, "order")) {
        return parse_order(p, val, e->q);
    }
    if (!strcmp(sub, "limit")) {
        return parse_count(p, key, val, &e->q->limit);
    }
    if (!strcmp(sub, "offset")) {
        return parse_count(p, key, val, &e->q->offset);
    }
    if (!strcmp(sub, "select") || !strcmp(sub, "columns")
        || !strcmp(sub, "on_conflict")) {
        return apr_psprintf(p,
                            "'%s': an embedded resource's columns are "
                            "chosen in select=",
                            key);
    }
    return parse_filter(p, sub, val, e->q, nconds);
}

/* "a.b" but not "not.or": a parameter for an embedded resource */
static int dotted(const char *key)
{
    return strchr(key, '.') && strcmp(key, "not.or") && strcmp(key, "not.and");
}

const char *be_query_parse(apr_pool_t *p, const char *args, be_query_t **qp)
{
    be_query_t *q = query_make(p);
    char *copy, *pair, *state = NULL;
    int nconds = 0, i;
    apr_array_header_t *later = NULL; /* dotted keys and values */

    *qp = q;
    if (!args || !*args) {
        return NULL;
    }
    copy = apr_pstrdup(p, args);
    for (pair = apr_strtok(copy, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(pair, '=');
        /* a bare "name" has an empty value: the NUL of the writable copy */
        char *key = pair, *val = eq ? eq + 1 : pair + strlen(pair);
        const char *err = NULL;

        if (eq) {
            *eq = '\0';
        }
        if (!be_url_decode(key) || !be_url_decode(val)) {
            return apr_psprintf(
                p, "bad percent-encoding in the query parameter '%s'", key);
        }
        if (be_utf8_valid(key, strlen(key)) < strlen(key)
            || be_utf8_valid(val, strlen(val)) < strlen(val)) {
            /* (SQLite compared the bytes and matched nothing; PostgreSQL
             * refused them) */
            return "a query parameter is not valid UTF-8";
        }
        if (!*key) {
            continue;
        }
        if (strcmp(key, "select") == 0) {
            err = parse_select(p, val, q);
        }
        else if (strcmp(key, "order") == 0) {
            err = parse_order(p, val, q);
        }
        else if (strcmp(key, "limit") == 0) {
            err = parse_count(p, "limit", val, &q->limit);
        }
        else if (strcmp(key, "offset") == 0) {
            err = parse_count(p, "offset", val, &q->offset);
        }
        else if (strcmp(key, "columns") == 0
                 || strcmp(key, "on_conflict") == 0) {
            err = parse_names(p, key, val, q);
        }
        else if (dotted(key)) {
            /* once select= is read, wherever it is */
            if (!later) {
                later = apr_array_make(p, 4, sizeof(const char *));
            }
            APR_ARRAY_PUSH(later, const char *) = key;
            APR_ARRAY_PUSH(later, const char *) = val;
        }
        else {
            err = parse_filter(p, key, val, q, &nconds);
        }
        if (err) {
            return err;
        }
    }
    for (i = 0; later && i < later->nelts; i += 2) {
        const char *err =
            parse_embedded(p, q, APR_ARRAY_IDX(later, i, const char *),
                           APR_ARRAY_IDX(later, i + 1, const char *), &nconds);
        if (err) {
            return err;
        }
    }
    return NULL;
}

/* Characters kept as they are in a re-encoded query: unreserved ones and
 * the punctuation of PostgREST's grammar that cannot end a URI reference
 * in a Link header (no <, >, ", ;, space or quote). */
static int link_safe(unsigned char c)
{
    return isalnum(c) || strchr("-._~(),:*!", c) != NULL;
}

static void link_encode(be_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (link_safe(c)) {
            be_buf_addc(b, (char)c);
        }
        else {
            be_buf_addc(b, '%');
            be_buf_addc(b, hex[c >> 4]);
            be_buf_addc(b, hex[c & 15]);
        }
    }
}

const char *be_query_link_args(apr_pool_t *p, const char *args)
{
    be_buf_t b;
    char *copy, *pair, *state = NULL;

    be_buf_init(&b, p, 128);
    copy = apr_pstrdup(p, args ? args : "");
    for (pair = apr_strtok(copy, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(pair, '=');
        char *val = eq ? eq + 1 : NULL;

        if (eq) {
            *eq = '\0';
        }
        if (!be_url_decode(pair) || (val && !be_url_decode(val)) || !*pair
            || !strcmp(pair, "limit") || !strcmp(pair, "offset")) {
            continue;
        }
        link_encode(&b, pair);
        if (val) {
            be_buf_addc(&b, '=');
            link_encode(&b, val);
        }
        be_buf_addc(&b, '&');
    }
    return be_buf_cstr(&b);
}
