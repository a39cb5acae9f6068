/*
 * be_fn.c - a site's SQL functions: argument declarations, the SQL cut
 * into statements and parameters, and argument values checked by type.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>

#include "be_fn.h"

/* ---------------------------------------------------------------------- */
/* Declarations                                                            */

static const char *const type_names[] = {"int",  "bigint",    "number",
                                         "text", "bool",      "json",
                                         "date", "timestamp", "uuid"};

const char *be_atype_name(be_atype_e t)
{
    return type_names[t];
}

static int is_name_start(char c)
{
    return apr_isalpha(c) || c == '_';
}

static int is_name_char(char c)
{
    return apr_isalnum(c) || c == '_';
}

const char *be_arg_parse(apr_pool_t *p, const char *spec, be_arg_t *out)
{
    const char *colon = strchr(spec, ':'), *t, *end;
    apr_size_t i, n;

    memset(out, 0, sizeof(*out));
    if (!colon || colon == spec) {
        return apr_psprintf(p, "'%s' is not NAME:TYPE", spec);
    }
    for (i = 0; spec + i < colon; i++) {
        if (!(i ? is_name_char(spec[i]) : is_name_start(spec[i]))) {
            return apr_psprintf(p,
                                "'%s': an argument name is letters, "
                                "digits and _",
                                spec);
        }
    }
    out->name = apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec));
    t = colon + 1;
    for (end = t; apr_isalpha(*end); end++) {
    }
    n = (apr_size_t)(end - t);
    for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
        if (strlen(type_names[i]) == n
            && strncasecmp(t, type_names[i], n) == 0) {
            break;
        }
    }
    if (i == sizeof(type_names) / sizeof(type_names[0])) {
        return apr_psprintf(p,
                            "'%s': unknown type (int, bigint, number, text, "
                            "bool, json, date, timestamp, uuid)",
                            spec);
    }
    out->type = (be_atype_e)i;
    if (*end == '?' && !end[1]) {
        out->optional = 1;
        out->dval.kind = BE_V_NULL;
    }
    else if (*end == '=') {
        const char *why;
        out->dflt = end + 1;
        if ((why = be_arg_from_text(p, out, out->dflt, &out->dval))) {
            return apr_psprintf(p, "'%s': the default: %s", spec, why);
        }
    }
    else if (*end) {
        return apr_psprintf(p, "'%s': after the type, ? or =DEFAULT", spec);
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* The SQL, cut                                                            */

typedef struct {
    apr_pool_t *p;
    const apr_array_header_t *args;
    unsigned ctx;
    be_sqltext_t *cur;
    const char *lit;        /* start of the literal text not yet added */
    int words;              /* words seen in this statement */
    int first_reads;        /* its first word is SELECT, VALUES or WITH */
    int writes;             /* a word that writes: INSERT, UPDATE, DELETE... */
    be_rule_lookup_f rules; /* :rule.NAME.ACTION, when given */
    void *baton;
} cut_t;

static void add_text(cut_t *c, const char *end)
{
    be_sqlpiece_t *pc;

    while (c->cur->pieces->nelts == 0 && c->lit < end
           && apr_isspace(*c->lit)) {
        c->lit++; /* a statement starts at its first word */
    }
    if (end > c->lit) {
        pc = apr_array_push(c->cur->pieces);
        pc->text = apr_pstrmemdup(c->p, c->lit, (apr_size_t)(end - c->lit));
        pc->param = -1;
    }
}

static void new_stmt(cut_t *c)
{
    c->cur = apr_pcalloc(c->p, sizeof(*c->cur));
    c->cur->pieces = apr_array_make(c->p, 8, sizeof(be_sqlpiece_t));
    c->cur->params = apr_array_make(c->p, 4, sizeof(be_param_t));
    c->words = c->first_reads = c->writes = 0;
}

static int word_is(const char *w, apr_size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static const char *end_stmt(cut_t *c, const char *at,
                            apr_array_header_t *stmts)
{
    add_text(c, at);
    if (c->words > 0) {
        if (stmts->nelts >= BE_FN_MAX_STMTS) {
            return apr_psprintf(c->p, "more than %d statements",
                                BE_FN_MAX_STMTS);
        }
        c->cur->reads = c->first_reads && !c->writes;
        APR_ARRAY_PUSH(stmts, be_sqltext_t *) = c->cur;
    }
    new_stmt(c);
    return NULL;
}

static const char *word(cut_t *c, const char *w, apr_size_t n)
{
    static const char *const tx[] = {"BEGIN",     "COMMIT",  "ROLLBACK", "END",
                                     "SAVEPOINT", "RELEASE", "START"};
    static const char *const writes[] = {"INSERT",  "UPDATE", "DELETE",
                                         "REPLACE", "MERGE",  "CREATE",
                                         "DROP",    "ALTER",  "TRUNCATE"};
    apr_size_t i;

    if (c->words++ == 0) {
        for (i = 0; i < sizeof(tx) / sizeof(tx[0]); i++) {
            if (word_is(w, n, tx[i])) {
                return apr_psprintf(
                    c->p, "%s: every call already runs in one transaction",
                    tx[i]);
            }
        }
        c->first_reads = word_is(w, n, "SELECT") || word_is(w, n, "VALUES")
            || word_is(w, n, "WITH");
    }
    for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        c->writes |= word_is(w, n, writes[i]);
    }
    return NULL;
}

/* The index of prm among the statement's parameters, added when new. */
static int add_param(cut_t *c, const be_param_t *prm)
{
    int i;

    for (i = 0; i < c->cur->params->nelts; i++) {
        const be_param_t *o = &APR_ARRAY_IDX(c->cur->params, i, be_param_t);
        if (o->kind == prm->kind && o->arg == prm->arg
            && o->bcrypt == prm->bcrypt
            && (o->name == prm->name
                || (o->name && prm->name && !strcmp(o->name, prm->name)))) {
            return i;
        }
    }
    *(be_param_t *)apr_array_push(c->cur->params) = *prm;
    return i;
}

static void add_piece(cut_t *c, const char *text, int param)
{
    be_sqlpiece_t *pc = apr_array_push(c->cur->pieces);

    pc->text = text;
    pc->param = text ? -1 : param;
}

/* :rule.NAME.ACTION at s: (bypass = 1 OR ((rule) AND ...)). */
static const char *rule_param(cut_t *c, const char *s, const char **next)
{
    const char *n = s + 6, *dot, *why = NULL, *name, *action;
    const apr_array_header_t *rules;
    be_param_t bypass;
    int i, j;

    while (is_name_char(*n)) {
        n++;
    }
    dot = n;
    if (*dot == '.') {
        n++;
        while (is_name_char(*n)) {
            n++;
        }
    }
    if (dot == s + 6 || *dot != '.' || n == dot + 1) {
        return apr_psprintf(c->p, "'%.*s': write :rule.RESOURCE.ACTION",
                            (int)(n - s), s);
    }
    name = apr_pstrmemdup(c->p, s + 6, (apr_size_t)(dot - s - 6));
    action = apr_pstrmemdup(c->p, dot + 1, (apr_size_t)(n - dot - 1));
    if (!(rules = c->rules(c->baton, name, action, &why))) {
        return apr_psprintf(c->p, "'%.*s': %s", (int)(n - s), s, why);
    }
    add_text(c, s);
    memset(&bypass, 0, sizeof(bypass));
    bypass.kind = BE_P_BYPASS;
    add_piece(c, "(", 0);
    add_piece(c, NULL, add_param(c, &bypass));
    add_piece(c, " = 1 OR (", 0);
    for (i = 0; i < rules->nelts; i++) {
        const be_sqltext_t *r = APR_ARRAY_IDX(rules, i, const be_sqltext_t *);
        add_piece(c, i ? ") AND (" : "(", 0);
        for (j = 0; j < r->pieces->nelts; j++) {
            const be_sqlpiece_t *pc =
                &APR_ARRAY_IDX(r->pieces, j, be_sqlpiece_t);
            add_piece(c, pc->text,
                      pc->text ? 0
                               : add_param(c,
                                           &APR_ARRAY_IDX(r->params, pc->param,
                                                          be_param_t)));
        }
    }
    add_piece(c, ")))", 0);
    c->lit = *next = n;
    return NULL;
}

/* :name at s (s[0] == ':'); *next is where the SQL goes on. */
static const char *param(cut_t *c, const char *s, const char **next)
{
    be_param_t prm;
    const char *n = s + 1, *dot = NULL;
    int i;

    memset(&prm, 0, sizeof(prm));
    while (is_name_char(*n)) {
        n++;
    }
    if (c->rules && strncmp(s, ":rule.", 6) == 0) {
        return rule_param(c, s, next);
    }
    if (*n == '.'
        && (strncmp(s, ":claim.", 7) == 0 || strncmp(s, ":header.", 8) == 0)) {
        dot = n++;
        while (is_name_char(*n) || (s[1] == 'h' && *n == '-')) {
            n++;
        }
        if (n == dot + 1) {
            return apr_psprintf(c->p, "'%.*s' needs a name after the dot",
                                (int)(n - s), s);
        }
        prm.kind = s[1] == 'c' ? BE_P_CLAIM : BE_P_HEADER;
        prm.name = apr_pstrmemdup(c->p, dot + 1, (apr_size_t)(n - dot - 1));
        if (!(c->ctx & (1u << prm.kind))) {
            return apr_psprintf(c->p, "'%.*s' cannot be used here",
                                (int)(n - s), s);
        }
    }
    else {
        const char *name =
            apr_pstrmemdup(c->p, s + 1, (apr_size_t)(n - s - 1));
        prm.kind = BE_P_ARG;
        prm.arg = -1;
        for (i = 0; c->args && i < c->args->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(c->args, i, be_arg_t).name, name)) {
                prm.arg = i;
            }
        }
        if (prm.arg < 0) {
            if (!strcmp(name, "user") && (c->ctx & BE_CTX_USER)) {
                prm.kind = BE_P_USER;
            }
            else if (!strcmp(name, "roles") && (c->ctx & BE_CTX_ROLES)) {
                prm.kind = BE_P_ROLES;
            }
            else {
                return apr_psprintf(c->p, "':%s' is not a declared argument",
                                    name);
            }
        }
    }
    if (strncmp(n, "!bcrypt", 7) == 0 && !is_name_char(n[7])) {
        if (prm.kind != BE_P_ARG
            || APR_ARRAY_IDX(c->args, prm.arg, be_arg_t).type != BE_A_TEXT) {
            return apr_psprintf(c->p, "'%.*s': !bcrypt hashes a text argument",
                                (int)(n + 7 - s), s);
        }
        prm.bcrypt = 1;
        n += 7;
    }
    add_text(c, s);
    add_piece(c, NULL, add_param(c, &prm));
    c->lit = *next = n;
    return NULL;
}

/* The end of a quoted or commented run starting at s, or NULL when it
 * does not end. */
static const char *skip_quoted(const char *s)
{
    const char *e;

    switch (*s) {
    case '\'':
    case '"':
        /* a doubled quote inside is the quote itself: two runs */
        e = strchr(s + 1, *s);
        return e ? e + 1 : NULL;
    case '-':
        e = strchr(s, '\n');
        return e ? e + 1 : s + strlen(s);
    default: /* a block comment */
        e = strstr(s + 2, "*/");
        return e ? e + 2 : NULL;
    }
}

/* $tag$...$tag$ at s, or NULL when s does not start one; *end is where it
 * ends (NULL: never). */
static int dollar_quote(const char *s, const char **end)
{
    const char *t = s + 1;
    apr_size_t n;
    const char *e;

    if (is_name_start(*t)) {
        while (is_name_char(*t)) {
            t++;
        }
    }
    if (*t != '$') {
        return 0;
    }
    n = (apr_size_t)(t - s) + 1; /* the tag with both dollars */
    for (e = t + 1; (e = strchr(e, '$')); e++) {
        if (strncmp(e, s, n) == 0) {
            *end = e + n;
            return 1;
        }
    }
    *end = NULL;
    return 1;
}

const char *be_sql_cut(apr_pool_t *p, const char *sql,
                       const apr_array_header_t *args, unsigned ctx,
                       apr_array_header_t **stmts)
{
    return be_sql_cut_rules(p, sql, args, ctx, NULL, NULL, stmts);
}

const char *be_sql_cut_rules(apr_pool_t *p, const char *sql,
                             const apr_array_header_t *args, unsigned ctx,
                             be_rule_lookup_f lookup, void *baton,
                             apr_array_header_t **stmts)
{
    cut_t c;
    const char *s = sql, *err, *e;

    memset(&c, 0, sizeof(c));
    c.p = p;
    c.args = args;
    c.ctx = ctx;
    c.rules = lookup;
    c.baton = baton;
    c.lit = sql;
    *stmts = apr_array_make(p, 2, sizeof(be_sqltext_t *));
    new_stmt(&c);
    while (*s) {
        char ch = *s;
        if (ch == '\'' || ch == '"' || (ch == '-' && s[1] == '-')
            || (ch == '/' && s[1] == '*')) {
            if (!(e = skip_quoted(s))) {
                return ch == '/' ? "unterminated /* comment"
                                 : "unterminated quote";
            }
            s = e;
            continue;
        }
        if (ch == '$' && (s == sql || !is_name_char(s[-1]))) {
            if (apr_isdigit(s[1])) {
                return "write :name for a parameter, not $n";
            }
            if (dollar_quote(s, &e)) {
                if (!e) {
                    return "unterminated $$ quote";
                }
                s = e;
                continue;
            }
        }
        if (ch == ':' && s[1] == ':') {
            s += 2; /* PostgreSQL's cast */
            continue;
        }
        if (ch == ':' && is_name_start(s[1])
            && (s == sql || !is_name_char(s[-1]))) {
            if ((err = param(&c, s, &s))) {
                return err;
            }
            continue;
        }
        if (ch == ';') {
            if ((err = end_stmt(&c, s, *stmts))) {
                return err;
            }
            c.lit = ++s;
            continue;
        }
        if (is_name_start(ch)) {
            const char *w = s;
            while (is_name_char(*s) || *s == '$') {
                s++;
            }
            if ((err = word(&c, w, (apr_size_t)(s - w)))) {
                return err;
            }
            continue;
        }
        s++;
    }
    if ((err = end_stmt(&c, s, *stmts))) {
        return err;
    }
    if ((*stmts)->nelts == 0) {
        return "no SQL statement";
    }
    return NULL;
}

const char *be_sqltext_render(apr_pool_t *p, const be_sqltext_t *s,
                              const apr_array_header_t *args, be_dialect_e d)
{
    static const char *const casts[] = {"integer", "bigint",      "numeric",
                                        NULL,      "boolean",     NULL,
                                        "date",    "timestamptz", "uuid"};
    be_buf_t b;
    int i;

    be_buf_init(&b, p, 256);
    for (i = 0; i < s->pieces->nelts; i++) {
        const be_sqlpiece_t *pc = &APR_ARRAY_IDX(s->pieces, i, be_sqlpiece_t);
        const be_param_t *prm;
        const char *cast = NULL;
        if (pc->text) {
            be_buf_adds(&b, pc->text);
            continue;
        }
        prm = &APR_ARRAY_IDX(s->params, pc->param, be_param_t);
        if (d == BE_DIALECT_PGSQL && prm->kind == BE_P_ARG && !prm->bcrypt) {
            const be_arg_t *a = &APR_ARRAY_IDX(args, prm->arg, be_arg_t);
            cast = a->cast ? a->cast : casts[a->type];
        }
        else if (d == BE_DIALECT_PGSQL && prm->kind == BE_P_GIVEN) {
            cast = "boolean";
        }
        if (cast) {
            be_buf_addc(&b, '(');
        }
        be_sql_placeholder(&b, d, pc->param + 1);
        if (cast) {
            be_buf_printf(&b, "::%s)", cast);
        }
    }
    return be_buf_cstr(&b);
}

void be_sql_rules(be_buf_t *b, be_dialect_e d, const apr_array_header_t *rules,
                  int *any, apr_array_header_t *args)
{
    int i, j;

    for (i = 0; rules && i < rules->nelts; i++) {
        const be_rule_sql_t *r = &APR_ARRAY_IDX(rules, i, be_rule_sql_t);
        be_buf_adds(b, (*any)++ ? " AND (" : " WHERE (");
        for (j = 0; j < r->text->pieces->nelts; j++) {
            const be_sqlpiece_t *pc =
                &APR_ARRAY_IDX(r->text->pieces, j, be_sqlpiece_t);
            if (pc->text) {
                be_buf_adds(b, pc->text);
                continue;
            }
            APR_ARRAY_PUSH(args, const be_value_t *) = r->vals[pc->param];
            be_sql_placeholder(b, d, args->nelts);
        }
        be_buf_addc(b, ')');
    }
}

/* ---------------------------------------------------------------------- */
/* PostgreSQL functions (pg=)                                              */

/* The argument type that checks a value of a PostgreSQL type before it is
 * cast to it; other types (enums, arrays, domains...) go as their text. */
static be_atype_e atype_of_pg(const char *type)
{
    static const struct {
        const char *name;
        be_atype_e type;
    } map[] = {{"smallint", BE_A_INT},
               {"integer", BE_A_INT},
               {"bigint", BE_A_BIGINT},
               {"numeric", BE_A_NUMBER},
               {"real", BE_A_NUMBER},
               {"double precision", BE_A_NUMBER},
               {"boolean", BE_A_BOOL},
               {"json", BE_A_JSON},
               {"jsonb", BE_A_JSON},
               {"date", BE_A_DATE},
               {"timestamp without time zone", BE_A_TIMESTAMP},
               {"timestamp with time zone", BE_A_TIMESTAMP},
               {"uuid", BE_A_UUID}};
    apr_size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!strcmp(map[i].name, type)) {
            return map[i].type;
        }
    }
    return BE_A_TEXT;
}

static void piece_text(apr_array_header_t *pieces, const char *text)
{
    be_sqlpiece_t *pc = apr_array_push(pieces);
    pc->text = text;
    pc->param = 0;
}

static void piece_param(apr_array_header_t *pieces, apr_array_header_t *params,
                        be_pkind_e kind, int arg)
{
    be_param_t *prm = apr_array_push(params);
    be_sqlpiece_t *pc = apr_array_push(pieces);

    memset(prm, 0, sizeof(*prm));
    prm->kind = kind;
    prm->arg = arg;
    pc->text = NULL;
    pc->param = params->nelts - 1;
}

const char *be_routine_function(apr_pool_t *p, const be_routine_t *rt,
                                be_function_t **out)
{
    int n = rt->args->nelts, i;
    be_function_t *fn = apr_pcalloc(p, sizeof(*fn));
    be_sqltext_t *st = apr_pcalloc(p, sizeof(*st));
    be_buf_t b;

    if (n > BE_FN_MAX_ARGS) {
        return apr_psprintf(p, "it has more than %d arguments",
                            BE_FN_MAX_ARGS);
    }
    fn->args = apr_array_make(p, n + 1, sizeof(be_arg_t));
    fn->stmts = apr_array_make(p, 1, sizeof(be_sqltext_t *));
    st->pieces = apr_array_make(p, 2 * n + 2, sizeof(be_sqlpiece_t));
    st->params = apr_array_make(p, 2 * n + 1, sizeof(be_param_t));
    fn->scalar = !rt->composite && !rt->returns_void;
    fn->returns = rt->returns_void ? BE_RETURNS_NONE
        : rt->retset               ? BE_RETURNS_MANY
                                   : BE_RETURNS_ONE;
    fn->reads = !rt->writes;
    /* rows of named columns can be chosen, filtered and ordered */
    st->reads = rt->composite;

    be_buf_init(&b, p, 128);
    be_buf_adds(&b, rt->composite ? "SELECT * FROM " : "SELECT ");
    be_quote_ident(&b, rt->schema);
    be_buf_addc(&b, '.');
    be_quote_ident(&b, rt->name);
    be_buf_addc(&b, '(');
    for (i = 0; i < n; i++) {
        const be_routine_arg_t *ra =
            &APR_ARRAY_IDX(rt->args, i, be_routine_arg_t);
        be_arg_t *a = apr_array_push(fn->args);
        memset(a, 0, sizeof(*a));
        if (!ra->name || !*ra->name) {
            return apr_psprintf(p, "argument %d has no name", i + 1);
        }
        a->name = ra->name;
        a->type = atype_of_pg(ra->type);
        a->cast = ra->type;
        if (i) {
            be_buf_adds(&b, ", ");
        }
        be_quote_ident(&b, ra->name);
        be_buf_adds(&b, " => ");
        if (!ra->dflt) {
            piece_text(st->pieces, be_buf_cstr(&b));
            piece_param(st->pieces, st->params, BE_P_ARG, i);
            be_buf_init(&b, p, 128);
        }
        else {
            /* left out, it is what the function would have made it */
            a->optional = 1;
            a->dval.kind = BE_V_DEFAULT;
            be_buf_adds(&b, "CASE WHEN ");
            piece_text(st->pieces, be_buf_cstr(&b));
            piece_param(st->pieces, st->params, BE_P_GIVEN, i);
            piece_text(st->pieces, " THEN ");
            piece_param(st->pieces, st->params, BE_P_ARG, i);
            be_buf_init(&b, p, 128);
            be_buf_printf(&b, " ELSE (%s) END", ra->dflt);
        }
    }
    be_buf_addc(&b, ')');
    if (fn->scalar) {
        be_buf_adds(&b, " AS ");
        be_quote_ident(&b, rt->name);
    }
    piece_text(st->pieces, be_buf_cstr(&b));
    APR_ARRAY_PUSH(fn->stmts, be_sqltext_t *) = st;
    *out = fn;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Values                                                                  */

static int digits(const char *s, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* YYYY-MM-DD, a day that exists; returns its length or 0 */
static int is_date(const char *s)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-'
        || !digits(s + 8, 2)) {
        return 0;
    }
    y = num(s, 4);
    m = num(s + 5, 2);
    d = num(s + 8, 2);
    if (m < 1 || m > 12 || d < 1 || d > days[m - 1]) {
        return 0;
    }
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        return 0;
    }
    return 10;
}

/* RFC 3339 date-time (a space for the T, seconds and zone optional) */
static int is_timestamp(const char *s)
{
    const char *t;

    if (!is_date(s) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')) {
        return 0;
    }
    t = s + 11;
    if (!digits(t, 2) || t[2] != ':' || !digits(t + 3, 2) || num(t, 2) > 23
        || num(t + 3, 2) > 59) {
        return 0;
    }
    t += 5;
    if (*t == ':') {
        if (!digits(t + 1, 2) || num(t + 1, 2) > 60) {
            return 0;
        }
        t += 3;
        if (*t == '.') {
            if (!apr_isdigit(t[1])) {
                return 0;
            }
            for (t++; apr_isdigit(*t); t++) {
            }
        }
    }
    if (*t == 'Z' || *t == 'z') {
        t++;
    }
    else if (*t == '+' || *t == '-') {
        if (!digits(t + 1, 2) || num(t + 1, 2) > 23) {
            return 0;
        }
        t += 3;
        if (*t == ':') {
            t++;
        }
        if (!digits(t, 2) || num(t, 2) > 59) {
            return 0;
        }
        t += 2;
    }
    return *t == '\0';
}

static int is_uuid(const char *s)
{
    int i;

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-'
                                                    : !apr_isxdigit(s[i])) {
            return 0;
        }
    }
    return s[36] == '\0';
}

static void text_value(be_value_t *v, const char *s, apr_size_t len)
{
    v->kind = BE_V_TEXT;
    v->s = s;
    v->len = len;
}

static const char *integer(const be_arg_t *a, long long i, be_value_t *v)
{
    if (a->type == BE_A_INT && (i < -2147483648LL || i > 2147483647LL)) {
        return "is out of range for int (-2147483648 to 2147483647)";
    }
    v->kind = BE_V_INT;
    v->i = i;
    return NULL;
}

/* A string for the text-like types: checked by format. */
static const char *string(apr_pool_t *p, const be_arg_t *a, const char *s,
                          apr_size_t len, be_value_t *v)
{
    if (memchr(s, '\0', len)) {
        return "contains a NUL character";
    }
    switch (a->type) {
    case BE_A_DATE:
        if (len != 10 || !is_date(s)) {
            return "is not a date (YYYY-MM-DD)";
        }
        break;
    case BE_A_TIMESTAMP:
        if (!is_timestamp(s)) {
            return "is not a timestamp (YYYY-MM-DDTHH:MM:SS, a zone "
                   "optional)";
        }
        break;
    case BE_A_UUID:
        if (len != 36 || !is_uuid(s)) {
            return "is not a UUID";
        }
        break;
    case BE_A_TEXT:
        break;
    default:
        return apr_psprintf(p, "must be a %s", be_atype_name(a->type));
    }
    text_value(v, s, len);
    return NULL;
}

const char *be_arg_from_json(apr_pool_t *p, const be_arg_t *a,
                             const be_jfield_t *f, be_value_t *v)
{
    memset(v, 0, sizeof(*v));
    if (a->type == BE_A_JSON) {
        be_buf_t b;
        switch (f->kind) {
        case BE_J_NESTED:
            v->kind = BE_V_JSON;
            v->s = f->s;
            v->len = f->len;
            return NULL;
        case BE_J_STRING:
            be_buf_init(&b, p, f->len + 8);
            be_json_escape(&b, f->s, f->len);
            v->kind = BE_V_JSON;
            v->s = be_buf_cstr(&b);
            v->len = b.len;
            return NULL;
        case BE_J_NULL:
            break;
        default:
            v->kind = BE_V_JSON;
            v->s = f->kind == BE_J_BOOL ? (f->i ? "true" : "false") : f->s;
            v->len = strlen(v->s);
            return NULL;
        }
    }
    switch (f->kind) {
    case BE_J_NULL:
        if (!a->optional && !a->dflt) {
            return "is required and cannot be null";
        }
        v->kind = BE_V_NULL;
        return NULL;
    case BE_J_INT:
        if (a->type == BE_A_INT || a->type == BE_A_BIGINT) {
            return integer(a, f->i, v);
        }
        if (a->type == BE_A_NUMBER) {
            v->kind = BE_V_INT;
            v->i = f->i;
            return NULL;
        }
        break;
    case BE_J_REAL:
        if (a->type == BE_A_NUMBER && !f->wide && isfinite(f->d)) {
            v->kind = BE_V_REAL;
            v->d = f->d;
            return NULL;
        }
        if (a->type == BE_A_NUMBER || a->type == BE_A_INT
            || a->type == BE_A_BIGINT) {
            return a->type == BE_A_NUMBER
                ? "is out of range for a number"
                : apr_psprintf(p, "must be an integer (%s)",
                               be_atype_name(a->type));
        }
        break;
    case BE_J_BOOL:
        if (a->type == BE_A_BOOL) {
            v->kind = BE_V_BOOL;
            v->i = f->i != 0;
            return NULL;
        }
        break;
    case BE_J_STRING:
        if (a->type >= BE_A_TEXT && a->type != BE_A_BOOL) {
            return string(p, a, f->s, f->len, v);
        }
        break;
    default:
        break;
    }
    return apr_psprintf(p, "must be a%s %s",
                        a->type == BE_A_INT || a->type == BE_A_UUID ? "n" : "",
                        be_atype_name(a->type));
}

const char *be_arg_from_text(apr_pool_t *p, const be_arg_t *a,
                             const char *text, be_value_t *v)
{
    char *end;

    memset(v, 0, sizeof(*v));
    switch (a->type) {
    case BE_A_INT:
    case BE_A_BIGINT: {
        long long i;
        errno = 0;
        i = strtoll(text, &end, 10);
        if (!*text || *end || errno || apr_isspace(*text)) {
            return apr_psprintf(p, "must be an integer (%s)",
                                be_atype_name(a->type));
        }
        return integer(a, i, v);
    }
    case BE_A_NUMBER: {
        double d;
        errno = 0;
        d = strtod(text, &end);
        if (!*text || *end || apr_isspace(*text) || !isfinite(d)
            || !(apr_isdigit(*text) || *text == '-')) {
            return "must be a number";
        }
        v->kind = BE_V_REAL;
        v->d = d;
        return NULL;
    }
    case BE_A_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "false")) {
            v->kind = BE_V_BOOL;
            v->i = text[0] == 't';
            return NULL;
        }
        return "must be true or false";
    case BE_A_JSON:
        if (!be_json_is_valid(text, strlen(text))) {
            return "is not JSON";
        }
        v->kind = BE_V_JSON;
        v->s = text;
        v->len = strlen(text);
        return NULL;
    default:
        return string(p, a, text, strlen(text), v);
    }
}

static void arg_error(apr_array_header_t *errs, const char *field,
                      const char *msg)
{
    be_field_error_t *e = apr_array_push(errs);

    e->field = field;
    e->message = msg;
}

int be_args_bind(apr_pool_t *p, const apr_array_header_t *args,
                 const be_jobject_t *obj, const apr_array_header_t *names,
                 const apr_array_header_t *texts, be_value_t *vals,
                 apr_array_header_t *errs)
{
    int i, j, n = names ? names->nelts : obj ? obj->fields->nelts : 0;
    char *seen = apr_pcalloc(p, (apr_size_t)args->nelts + 1);
    const char *why;

    for (j = 0; j < n; j++) {
        const char *key = names
            ? APR_ARRAY_IDX(names, j, const char *)
            : APR_ARRAY_IDX(obj->fields, j, be_jfield_t).key;
        for (i = 0; i < args->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(args, i, be_arg_t).name, key)) {
                break;
            }
        }
        if (i == args->nelts) {
            arg_error(errs, key, "is not an argument of this function");
            continue;
        }
        if (seen[i]++) {
            arg_error(errs, key, "is given twice");
            continue;
        }
        why = names
            ? be_arg_from_text(p, &APR_ARRAY_IDX(args, i, be_arg_t),
                               APR_ARRAY_IDX(texts, j, const char *), &vals[i])
            : be_arg_from_json(p, &APR_ARRAY_IDX(args, i, be_arg_t),
                               &APR_ARRAY_IDX(obj->fields, j, be_jfield_t),
                               &vals[i]);
        if (why) {
            arg_error(errs, key, why);
        }
    }
    for (i = 0; i < args->nelts; i++) {
        const be_arg_t *a = &APR_ARRAY_IDX(args, i, be_arg_t);
        if (seen[i]) {
            continue;
        }
        if (a->optional || a->dflt) {
            vals[i] = a->dval;
        }
        else {
            arg_error(errs, a->name, "is required");
        }
    }
    return errs->nelts ? 422 : 0;
}

/* ---------------------------------------------------------------------- */
/* Declared rules                                                          */

/* MIN..MAX, either side optional */
static const char *bounds(apr_pool_t *p, const char *spec, const char *s,
                          be_rule_t *r)
{
    const char *dots = strstr(s, "..");
    char *end;

    if (!dots || (dots == s && !dots[2])) {
        return apr_psprintf(p, "'%s': MIN..MAX, either may be left out", spec);
    }
    if (dots > s) {
        /* (strtod would read "2." of "2..20") */
        r->min = strtod(apr_pstrmemdup(p, s, (apr_size_t)(dots - s)), &end);
        if (*end || !isfinite(r->min)) {
            return apr_psprintf(p, "'%s': MIN is not a number", spec);
        }
        r->has_min = 1;
    }
    if (dots[2]) {
        r->max = strtod(dots + 2, &end);
        if (*end || !isfinite(r->max)) {
            return apr_psprintf(p, "'%s': MAX is not a number", spec);
        }
        r->has_max = 1;
    }
    if (r->has_min && r->has_max && r->min > r->max) {
        return apr_psprintf(p, "'%s': MIN is above MAX", spec);
    }
    return NULL;
}

const char *be_rule_parse(apr_pool_t *p, const char *spec, be_rule_t *out)
{
    static const char *const formats[] = {"email", "uri", "uuid", "date",
                                          "date-time"};
    const char *eq = strchr(spec, '='), *v = eq ? eq + 1 : "";
    apr_size_t n = eq ? (apr_size_t)(eq - spec) : strlen(spec);
    int i;

    memset(out, 0, sizeof(*out));
    out->text = v;
    if (!eq && strcasecmp(spec, "required") == 0) {
        out->kind = BE_R_REQUIRED;
        return NULL;
    }
    if (n == 6 && strncasecmp(spec, "length", 6) == 0) {
        out->kind = BE_R_LENGTH;
        return bounds(p, spec, v, out);
    }
    if (n == 5 && strncasecmp(spec, "range", 5) == 0) {
        out->kind = BE_R_RANGE;
        return bounds(p, spec, v, out);
    }
    if (n == 7 && strncasecmp(spec, "pattern", 7) == 0 && *v) {
        out->kind = BE_R_PATTERN;
        return NULL;
    }
    if (n == 6 && strncasecmp(spec, "format", 6) == 0) {
        out->kind = BE_R_FORMAT;
        for (i = 0; i < 5; i++) {
            if (strcasecmp(v, formats[i]) == 0) {
                out->format = (be_format_e)i;
                return NULL;
            }
        }
        return apr_psprintf(p,
                            "'%s': format= is email, uri, uuid, date or "
                            "date-time",
                            spec);
    }
    if (n == 4 && strncasecmp(spec, "enum", 4) == 0 && *v) {
        char *list = apr_pstrdup(p, v), *item, *last;
        out->kind = BE_R_ENUM;
        out->values = apr_array_make(p, 4, sizeof(const char *));
        for (item = apr_strtok(list, ",", &last); item;
             item = apr_strtok(NULL, ",", &last)) {
            APR_ARRAY_PUSH(out->values, const char *) = item;
        }
        return NULL;
    }
    return apr_psprintf(p,
                        "'%s' is not a rule (length=MIN..MAX, range=MIN..MAX, "
                        "pattern=REGEX, format=F, enum=A,B or required)",
                        spec);
}

static int is_email(const char *s)
{
    const char *at = strchr(s, '@'), *dot;

    if (!at || at == s || strchr(at + 1, '@')
        || strpbrk(s, " \t\r\n<>()[],;:\"")) {
        return 0;
    }
    dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1] != '\0';
}

static int is_uri(const char *s)
{
    const char *c = s;

    if (!apr_isalpha(*c)) {
        return 0;
    }
    while (apr_isalnum(*c) || *c == '+' || *c == '-' || *c == '.') {
        c++;
    }
    if (*c != ':' || !c[1]) {
        return 0;
    }
    for (; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '"' || *c == '<'
            || *c == '>' || *c == '\\' || *c == '^' || *c == '`' || *c == '{'
            || *c == '|' || *c == '}') {
            return 0;
        }
    }
    return 1;
}

static const char *bounds_text(apr_pool_t *p, const be_rule_t *r,
                               const char *unit)
{
    if (r->has_min && r->has_max) {
        return apr_psprintf(p, "%g to %g%s", r->min, r->max, unit);
    }
    return apr_psprintf(p, "%s %g%s", r->has_min ? "at least" : "at most",
                        r->has_min ? r->min : r->max, unit);
}

static int outside(const be_rule_t *r, double x)
{
    return (r->has_min && x < r->min) || (r->has_max && x > r->max);
}

const char *be_rule_check(apr_pool_t *p, const be_rule_t *r,
                          const be_value_t *v, be_match_fn match)
{
    const char *text = NULL;
    double x;
    char *end;
    int i;

    if (!v || v->kind == BE_V_NULL || v->kind == BE_V_DEFAULT) {
        return r->kind == BE_R_REQUIRED ? "is required" : NULL;
    }
    if (v->kind == BE_V_TEXT) {
        text = apr_pstrmemdup(p, v->s, v->len);
    }
    switch (r->kind) {
    case BE_R_LENGTH:
        if (text && outside(r, (double)be_utf8_chars(text, v->len))) {
            return apr_pstrcat(p, "must be ",
                               bounds_text(p, r, " characters long"), NULL);
        }
        return NULL;
    case BE_R_RANGE:
        if (v->kind == BE_V_INT) {
            x = (double)v->i;
        }
        else if (v->kind == BE_V_REAL) {
            x = v->d;
        }
        else if (text && *text && ((x = strtod(text, &end)), !*end)) {
            /* a number kept as text (numeric columns) */
        }
        else {
            return NULL;
        }
        return outside(r, x)
            ? apr_pstrcat(p, "must be ",
                          r->has_min && r->has_max ? "from " : "",
                          bounds_text(p, r, ""), NULL)
            : NULL;
    case BE_R_PATTERN:
        return text && !match(r->re, text)
            ? apr_psprintf(p, "must match %s", r->text)
            : NULL;
    case BE_R_FORMAT:
        if (!text) {
            return NULL;
        }
        switch (r->format) {
        case BE_FMT_EMAIL:
            return is_email(text) ? NULL : "is not an email address";
        case BE_FMT_URI:
            return is_uri(text) ? NULL : "is not a URI";
        case BE_FMT_UUID:
            return v->len == 36 && is_uuid(text) ? NULL : "is not a UUID";
        case BE_FMT_DATE:
            return v->len == 10 && is_date(text)
                ? NULL
                : "is not a date (YYYY-MM-DD)";
        default:
            return is_timestamp(text)
                ? NULL
                : "is not a date-time (YYYY-MM-DDTHH:MM:SS, a zone optional)";
        }
    case BE_R_ENUM:
        if (v->kind == BE_V_INT) {
            text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v->i);
        }
        else if (!text && v->s) {
            text = apr_pstrmemdup(p, v->s, v->len); /* a number's literal */
        }
        for (i = 0; text && i < r->values->nelts; i++) {
            if (strcmp(text, APR_ARRAY_IDX(r->values, i, const char *)) == 0) {
                return NULL;
            }
        }
        return apr_pstrcat(p, "must be one of ",
                           apr_array_pstrcat(p, r->values, ','), NULL);
    default:
        return NULL;
    }
}

void be_rules_check_row(apr_pool_t *p, const apr_array_header_t *fields,
                        const char *const *names, const be_value_t *vals,
                        int n, int partial, const char *prefix,
                        be_match_fn match, apr_array_header_t *errs)
{
    int f, i, j, had = errs->nelts;

    for (f = 0; f < fields->nelts; f++) {
        const be_rules_t *fr = &APR_ARRAY_IDX(fields, f, be_rules_t);
        const char *field =
            prefix ? apr_pstrcat(p, prefix, fr->field, NULL) : fr->field;
        const be_value_t *v = NULL;
        for (i = 0; i < had; i++) {
            if (!strcmp(APR_ARRAY_IDX(errs, i, be_field_error_t).field,
                        field)) {
                break; /* its type is wrong already: one message */
            }
        }
        if (i < had) {
            continue;
        }
        for (i = 0; i < n; i++) {
            if (strcmp(names[i], fr->field) == 0) {
                v = &vals[i];
                break;
            }
        }
        if (!v && partial) {
            continue;
        }
        for (j = 0; j < fr->rules->nelts; j++) {
            const char *why = be_rule_check(
                p, &APR_ARRAY_IDX(fr->rules, j, be_rule_t), v, match);
            if (why) {
                be_field_error_t *e = apr_array_push(errs);
                e->field = field;
                e->message = why;
                break; /* one message per field */
            }
        }
    }
}
