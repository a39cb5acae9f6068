/*
 * fuzz_fn.c - libFuzzer target for the SQL and rules a site writes: the
 * bytes are, line by line, an argument declaration (also read as a
 * BackendValidate rule), the function's SQL (also read as a SQLite
 * CREATE TABLE for its CHECK constraints), query-string text for every
 * argument (also a reported CHECK failure), and the rest a JSON body of
 * arguments.  The SQL is cut and rendered in both dialects; the
 * arguments are checked from the text and from the body, and every rule
 * against every value that got through.  Besides crashes, it aborts when a
 * parameter points nowhere, when a statement does not render, or when a
 * value that got through does not fit its argument's type.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "be_fn.h"

static const char *const decls[] = {
    "i:int",        "b:bigint", "n:number", "t:text?",
    "f:bool=false", "j:json?",  "d:date",   "ts:timestamp?",
    "u:uuid?",      "x:text=x", NULL};

static void check_value(const be_arg_t *a, const be_value_t *v)
{
    switch (v->kind) {
    case BE_V_NULL:
        return;
    case BE_V_INT:
        if (a->type == BE_A_INT
            && (v->i < -2147483648LL || v->i > 2147483647LL)) {
            abort(); /* out of int's range */
        }
        if (a->type != BE_A_INT && a->type != BE_A_BIGINT
            && a->type != BE_A_NUMBER) {
            abort();
        }
        return;
    case BE_V_REAL:
        if (a->type != BE_A_NUMBER || !isfinite(v->d)) {
            abort();
        }
        return;
    case BE_V_BOOL:
        if (a->type != BE_A_BOOL) {
            abort();
        }
        return;
    case BE_V_JSON:
        if (a->type != BE_A_JSON || !be_json_is_valid(v->s, v->len)) {
            abort(); /* a json argument that is not JSON */
        }
        return;
    case BE_V_TEXT:
        if (a->type < BE_A_TEXT || a->type == BE_A_BOOL || a->type == BE_A_JSON
            || memchr(v->s, '\0', v->len) || strlen(v->s) != v->len) {
            abort();
        }
        return;
    default:
        abort();
    }
}

static int match_all(const void *re, const char *s)
{
    (void)re;
    return s[0] != 'x'; /* (no regex here: the rule's plumbing is fuzzed) */
}

static void rules(apr_pool_t *p, const char *spec, const be_value_t *vals,
                  int n)
{
    be_rule_t r;
    int i;

    if (be_rule_parse(p, spec, &r)) {
        return;
    }
    if ((r.kind == BE_R_LENGTH || r.kind == BE_R_RANGE) && r.has_min
        && r.has_max && r.min > r.max) {
        abort(); /* refused when read */
    }
    for (i = 0; i < n; i++) {
        const char *why = be_rule_check(p, &r, &vals[i], match_all);
        if (why && !*why) {
            abort(); /* a failure says why */
        }
    }
    if (!be_rule_check(p, &r, NULL, match_all) != (r.kind != BE_R_REQUIRED)) {
        abort(); /* only required looks at an absent value */
    }
}

/* SQLite's CHECK constraints, read from sql; reported as text fails. */
static void checks(apr_pool_t *p, const char *sql, const char *reported)
{
    static const char *const names[] = {"id", "qty", "lo", "hi", NULL};
    be_table_t *t = be_table_make(p, "t");
    const apr_array_header_t *cols;
    const char *name;
    apr_hash_index_t *hi;
    int i, d;

    for (i = 0; names[i]; i++) {
        be_column_t *c = be_table_add(t);
        c->name = names[i];
    }
    be_table_set_key(t, p, "id");
    be_sqlite_checks(p, t, sql);
    for (hi = apr_hash_first(p, t->checks); hi; hi = apr_hash_next(hi)) {
        const apr_array_header_t *a = apr_hash_this_val(hi);
        for (i = 0; i < a->nelts; i++) {
            if (!be_table_col(t, APR_ARRAY_IDX(a, i, const char *))) {
                abort(); /* a check covers columns of the table only */
            }
        }
    }
    for (d = BE_DIALECT_SQLITE; d <= BE_DIALECT_PGSQL; d++) {
        cols = be_check_columns(p, t, (be_dialect_e)d, reported, &name);
        if (!name || (cols && cols->nelts == 0)) {
            abort();
        }
    }
}

static void check_stmts(apr_pool_t *p, const apr_array_header_t *stmts,
                        const apr_array_header_t *args)
{
    int i, j, d;

    for (i = 0; i < stmts->nelts; i++) {
        const be_sqltext_t *s = APR_ARRAY_IDX(stmts, i, const be_sqltext_t *);
        for (j = 0; j < s->pieces->nelts; j++) {
            const be_sqlpiece_t *pc =
                &APR_ARRAY_IDX(s->pieces, j, be_sqlpiece_t);
            if (!pc->text
                && (pc->param < 0 || pc->param >= s->params->nelts)) {
                abort(); /* a parameter that points nowhere */
            }
        }
        for (j = 0; j < s->params->nelts; j++) {
            const be_param_t *prm = &APR_ARRAY_IDX(s->params, j, be_param_t);
            if (prm->kind == BE_P_ARG
                && (prm->arg < 0 || prm->arg >= args->nelts)) {
                abort();
            }
        }
        for (d = BE_DIALECT_SQLITE; d <= BE_DIALECT_PGSQL; d++) {
            if (!be_sqltext_render(p, s, args, (be_dialect_e)d)) {
                abort();
            }
        }
    }
}

/* :rule.posts.read: two conditions with context parameters */
static const apr_array_header_t *posts_rules(void *baton, const char *name,
                                             const char *action,
                                             const char **why)
{
    apr_pool_t *p = baton;
    apr_array_header_t *a, *b;

    if (strcmp(name, "posts") || strcmp(action, "read")) {
        *why = "no such rules";
        return NULL;
    }
    if (be_sql_cut(p, "status = 'published' OR author = :user", NULL,
                   BE_CTX_ALL, &a)
        || be_sql_cut(p, ":claim.team = team AND :user IS NOT NULL", NULL,
                      BE_CTX_ALL, &b)) {
        abort();
    }
    apr_array_cat(a, b);
    return a;
}

static const char *line(apr_pool_t *p, const char **at, const char *end)
{
    const char *nl = memchr(*at, '\n', (size_t)(end - *at));
    const char *s;

    if (!nl) {
        nl = end;
    }
    s = apr_pstrmemdup(p, *at, (apr_size_t)(nl - *at));
    *at = nl < end ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    apr_pool_t *p;
    apr_array_header_t *args, *stmts, *errs, *names, *texts;
    const char *at = (const char *)data, *end = at + size, *spec, *sql, *text;
    be_arg_t extra;
    be_value_t *vals;
    be_jdoc_t *doc;
    const char *err;
    int i;

    if (!ready) {
        apr_initialize();
        ready = 1;
    }
    apr_pool_create(&p, NULL);
    args = apr_array_make(p, 12, sizeof(be_arg_t));
    for (i = 0; decls[i]; i++) {
        if (be_arg_parse(p, decls[i], apr_array_push(args))) {
            abort();
        }
    }
    spec = line(p, &at, end);
    if (!be_arg_parse(p, spec, &extra) && extra.dflt) {
        check_value(&extra, &extra.dval);
    }
    sql = line(p, &at, end);
    if (!be_sql_cut_rules(p, sql, args, BE_CTX_ALL, posts_rules, p, &stmts)) {
        check_stmts(p, stmts, args);
    }
    /* the same text for every argument, as a GET would give it */
    text = line(p, &at, end);
    checks(p, sql, text);
    names = apr_array_make(p, 12, sizeof(const char *));
    texts = apr_array_make(p, 12, sizeof(const char *));
    for (i = 0; i < args->nelts; i++) {
        be_value_t v;
        const be_arg_t *a = &APR_ARRAY_IDX(args, i, be_arg_t);
        if (!be_arg_from_text(p, a, text, &v)) {
            check_value(a, &v);
        }
        APR_ARRAY_PUSH(names, const char *) = a->name;
        APR_ARRAY_PUSH(texts, const char *) = text;
    }
    vals = apr_pcalloc(p, sizeof(*vals) * (apr_size_t)args->nelts);
    errs = apr_array_make(p, 4, sizeof(be_field_error_t));
    if (!be_args_bind(p, args, NULL, names, texts, vals, errs)) {
        for (i = 0; i < args->nelts; i++) {
            check_value(&APR_ARRAY_IDX(args, i, be_arg_t), &vals[i]);
        }
        rules(p, spec, vals, args->nelts);
    }
    /* the rest: a POST body */
    text = apr_pstrmemdup(p, at, (apr_size_t)(end - at));
    if (be_json_parse_body(p, text, (apr_size_t)(end - at), 32, 0, &doc, &err)
        == BE_JSON_OK) {
        apr_array_clear(errs);
        if (!be_args_bind(p, args,
                          APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *), NULL,
                          NULL, vals, errs)) {
            for (i = 0; i < args->nelts; i++) {
                check_value(&APR_ARRAY_IDX(args, i, be_arg_t), &vals[i]);
            }
            rules(p, spec, vals, args->nelts);
        }
        else if (errs->nelts == 0) {
            abort(); /* a refusal names what is wrong */
        }
    }
    apr_pool_destroy(p);
    return 0;
}
