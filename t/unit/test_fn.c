/*
 * test_fn.c - unit tests of be_fn.c: argument declarations, the SQL of a
 * function cut into statements and parameters and written per dialect,
 * argument values by type.  No httpd, no database.
 */
#include "tap.h"
#include "unit.h"
#include "be_fn.h"

static apr_array_header_t *declare(const char *const *specs)
{
    apr_array_header_t *args = apr_array_make(pool, 4, sizeof(be_arg_t));

    for (; *specs; specs++) {
        const char *err = be_arg_parse(pool, *specs, apr_array_push(args));
        if (err) {
            printf("# %s\n", err);
        }
    }
    return args;
}

/* The statements of sql, rendered in d and joined with " | ", or the
 * error. */
static const char *cut(const apr_array_header_t *args, const char *sql,
                       be_dialect_e d)
{
    apr_array_header_t *stmts;
    const char *err = be_sql_cut(pool, sql, args, BE_CTX_ALL, &stmts), *all;
    int i;

    if (err) {
        return err;
    }
    all = "";
    for (i = 0; i < stmts->nelts; i++) {
        const be_sqltext_t *s = APR_ARRAY_IDX(stmts, i, const be_sqltext_t *);
        all = apr_pstrcat(pool, all, i ? " | " : "",
                          be_sqltext_render(pool, s, args, d),
                          s->reads ? " (reads)" : "", NULL);
    }
    return all;
}

static void test_declarations(void)
{
    be_arg_t a;

    OK(!be_arg_parse(pool, "qty:int", &a) && a.type == BE_A_INT && !a.optional
           && !a.dflt,
       "NAME:TYPE");
    OK(!be_arg_parse(pool, "note:TEXT?", &a) && a.type == BE_A_TEXT
           && a.optional && a.dval.kind == BE_V_NULL,
       "optional, type in any case");
    OK(!be_arg_parse(pool, "n:int=-3", &a) && a.dval.kind == BE_V_INT
           && a.dval.i == -3,
       "a default");
    IS_STR(be_arg_parse(pool, "n:int=x", &a),
           "'n:int=x': the default: must be an integer (int)", "bad default");
    IS_STR(be_arg_parse(pool, "1n:int", &a),
           "'1n:int': an argument name is letters, digits and _", "bad name");
    IS_STR(be_arg_parse(pool, "n:int!", &a),
           "'n:int!': after the type, ? or =DEFAULT", "junk after the type");
    IS_STR(be_arg_parse(pool, "n", &a), "'n' is not NAME:TYPE", "no type");
}

static void test_cut(void)
{
    static const char *const specs[] = {"id:int", "note:text", "pw:text",
                                        "at:timestamp", NULL};
    apr_array_header_t *args = declare(specs);

    IS_STR(cut(args, "UPDATE t SET n = :note WHERE id = :id; SELECT :id",
               BE_DIALECT_SQLITE),
           "UPDATE t SET n = ?1 WHERE id = ?2 | SELECT ?1 (reads)",
           "two statements, numbered apart, sqlite");
    IS_STR(cut(args, "UPDATE t SET n = :note WHERE id = :id; SELECT :id",
               BE_DIALECT_PGSQL),
           "UPDATE t SET n = $1 WHERE id = ($2::integer) | "
           "SELECT ($1::integer) (reads)",
           "pgsql: typed arguments cast, text left to the context");
    IS_STR(cut(args, "SELECT :id, :id, :user, :user", BE_DIALECT_SQLITE),
           "SELECT ?1, ?1, ?2, ?2 (reads)", "a name bound once");
    IS_STR(cut(args,
               "SELECT ':id', \":id\", $$ :id $$, $x$ ; $x$, x::text, "
               "/* :id; */ 1 -- :id;\n",
               BE_DIALECT_PGSQL),
           "SELECT ':id', \":id\", $$ :id $$, $x$ ; $x$, x::text, "
           "/* :id; */ 1 -- :id;\n (reads)",
           "quotes, comments, dollar quotes and casts are not parameters");
    IS_STR(cut(args, "INSERT INTO u (h) VALUES (:pw!bcrypt) RETURNING id",
               BE_DIALECT_PGSQL),
           "INSERT INTO u (h) VALUES ($1) RETURNING id",
           "bcrypt: no cast, the hash is text");
    IS_STR(cut(args, "SELECT :claim.sub, :header.X-Tenant, :roles, :at; ;",
               BE_DIALECT_PGSQL),
           "SELECT $1, $2, $3, ($4::timestamptz) (reads)",
           "context parameters; empty statements dropped");
    IS_STR(cut(args, "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
               BE_DIALECT_PGSQL),
           "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
           "a WITH that writes does not only read");
    IS_STR(cut(args, "SELECT :nope", BE_DIALECT_SQLITE),
           "':nope' is not a declared argument", "unknown name");
    IS_STR(cut(args, "SELECT :id!bcrypt", BE_DIALECT_SQLITE),
           "':id!bcrypt': !bcrypt hashes a text argument", "bcrypt an int");
    IS_STR(cut(args, "SELECT :claim.", BE_DIALECT_SQLITE),
           "':claim.' needs a name after the dot", "claim without a name");
    IS_STR(cut(args, "SELECT $1", BE_DIALECT_SQLITE),
           "write :name for a parameter, not $n", "$n refused");
    IS_STR(cut(args, "commit", BE_DIALECT_SQLITE),
           "COMMIT: every call already runs in one transaction",
           "transaction statements refused");
    IS_STR(cut(args, "SELECT 'x", BE_DIALECT_SQLITE), "unterminated quote",
           "unterminated quote");
    IS_STR(cut(args, "SELECT /* x", BE_DIALECT_SQLITE),
           "unterminated /* comment", "unterminated comment");
    IS_STR(cut(args, "SELECT $a$ x", BE_DIALECT_SQLITE),
           "unterminated $$ quote", "unterminated dollar quote");
    IS_STR(cut(args, " ; -- nothing", BE_DIALECT_SQLITE), "no SQL statement",
           "no statement");
}

static const char *from_text(const char *spec, const char *text)
{
    be_arg_t a;
    be_value_t v;
    const char *err;

    be_arg_parse(pool, spec, &a);
    err = be_arg_from_text(pool, &a, text, &v);
    return err ? err : "ok";
}

static void test_values(void)
{
    IS_STR(from_text("d:date", "2024-02-29"), "ok", "leap day");
    IS_STR(from_text("d:date", "2023-02-29"), "is not a date (YYYY-MM-DD)",
           "no leap day in 2023");
    IS_STR(from_text("d:date", "1900-02-29"), "is not a date (YYYY-MM-DD)",
           "nor in 1900");
    IS_STR(from_text("d:date", "2000-02-29"), "ok", "but in 2000");
    IS_STR(from_text("d:date", "2024-04-31"), "is not a date (YYYY-MM-DD)",
           "April has 30 days");
    IS_STR(from_text("t:timestamp", "2024-01-01 10:00"), "ok",
           "a space for the T, no seconds");
    IS_STR(from_text("t:timestamp", "2024-01-01T10:00:00.123456-05:30"), "ok",
           "fraction and offset");
    IS_STR(from_text("t:timestamp", "2024-01-01T24:00:00Z"),
           "is not a timestamp (YYYY-MM-DDTHH:MM:SS, a zone optional)",
           "hour 24");
    IS_STR(from_text("u:uuid", "123E4567-e89b-12d3-a456-426614174000"), "ok",
           "uuid");
    IS_STR(from_text("u:uuid", "123e4567e89b12d3a456426614174000"),
           "is not a UUID", "uuid without dashes");
    IS_STR(from_text("i:int", "2147483648"),
           "is out of range for int (-2147483648 to 2147483647)", "int range");
    IS_STR(from_text("i:bigint", "9223372036854775808"),
           "must be an integer (bigint)", "bigint overflow");
    IS_STR(from_text("i:int", " 1"), "must be an integer (int)", "no spaces");
    IS_STR(from_text("n:number", "1e400"), "must be a number", "not finite");
    IS_STR(from_text("n:number", "nan"), "must be a number", "not a NaN");
    IS_STR(from_text("b:bool", "TRUE"), "must be true or false",
           "booleans are lower case");
    IS_STR(from_text("j:json", "{\"a\":"), "is not JSON", "json");
}

static void test_bind(void)
{
    static const char *const specs[] = {"a:int", "b:text?", "c:bool=true",
                                        NULL};
    apr_array_header_t *args = declare(specs);
    apr_array_header_t *errs =
        apr_array_make(pool, 4, sizeof(be_field_error_t));
    be_value_t vals[3];
    be_json_rc_e rc;
    const char *err;

    OK(be_args_bind(pool, args, parse("{\"a\": 7}", &rc, &err), NULL, NULL,
                    vals, errs)
               == 0
           && vals[0].i == 7 && vals[1].kind == BE_V_NULL
           && vals[2].kind == BE_V_BOOL && vals[2].i == 1,
       "given, optional and default");
    IS_INT(be_args_bind(pool, args,
                        parse("{\"b\": 1, \"z\": 1, \"c\": null}", &rc, &err),
                        NULL, NULL, vals, errs),
           422, "refused");
    IS_STR(err_at(errs, 0), "b: must be a text", "mistyped");
    IS_STR(err_at(errs, 1), "z: is not an argument of this function",
           "unknown");
    IS_INT(vals[2].kind, BE_V_NULL, "null for an argument with a default");
    IS_STR(err_at(errs, 2), "a: is required", "missing");
}

/* BackendFunction pg=: the call of a function as its catalog has it. */
static void test_routine(void)
{
    be_routine_t rt = {"public", "gr\"eet", NULL, 0, 0, 0, 0};
    be_routine_arg_t *a;
    be_function_t *fn;
    const be_sqltext_t *st;

    rt.args = apr_array_make(pool, 2, sizeof(be_routine_arg_t));
    a = apr_array_push(rt.args);
    a->name = "name";
    a->type = "character varying";
    a->dflt = NULL;
    a = apr_array_push(rt.args);
    a->name = "n";
    a->type = "integer";
    a->dflt = "1 + 1";
    OK(!be_routine_function(pool, &rt, &fn), "a scalar function");
    st = APR_ARRAY_IDX(fn->stmts, 0, const be_sqltext_t *);
    IS_STR(be_sqltext_render(pool, st, fn->args, BE_DIALECT_PGSQL),
           "SELECT \"public\".\"gr\"\"eet\"(\"name\" => ($1::character "
           "varying), \"n\" => CASE WHEN ($2::boolean) THEN ($3::integer) "
           "ELSE (1 + 1) END) AS \"gr\"\"eet\"",
           "named arguments; a default where one is left out");
    OK(fn->scalar && fn->returns == BE_RETURNS_ONE && fn->reads && !st->reads,
       "one bare value, GET may call it, no subquery");
    OK(APR_ARRAY_IDX(fn->args, 0, be_arg_t).type == BE_A_TEXT
           && APR_ARRAY_IDX(fn->args, 1, be_arg_t).type == BE_A_INT
           && APR_ARRAY_IDX(fn->args, 1, be_arg_t).optional
           && APR_ARRAY_IDX(fn->args, 1, be_arg_t).dval.kind == BE_V_DEFAULT,
       "argument types from the catalog's");
    rt.retset = rt.composite = rt.writes = 1;
    OK(!be_routine_function(pool, &rt, &fn), "a set of rows");
    st = APR_ARRAY_IDX(fn->stmts, 0, const be_sqltext_t *);
    OK(!fn->scalar && fn->returns == BE_RETURNS_MANY && !fn->reads
           && st->reads,
       "rows of a subquery, POST only");
    a->name = "";
    IS_STR(be_routine_function(pool, &rt, &fn), "argument 2 has no name",
           "an unnamed argument");
}

static const apr_array_header_t *posts_rules(void *baton, const char *name,
                                             const char *action,
                                             const char **why)
{
    apr_array_header_t *a, *b;

    (void)baton;
    if (strcmp(name, "posts") || strcmp(action, "update")) {
        *why = "none here";
        return NULL;
    }
    be_sql_cut(pool, "author = :user", NULL, BE_CTX_ALL, &a);
    be_sql_cut(pool, "team = :claim.team OR :user = 'root'", NULL, BE_CTX_ALL,
               &b);
    apr_array_cat(a, b);
    return a;
}

static void test_rule_params(void)
{
    apr_array_header_t *args = declare((const char *const[]){"id:int", NULL});
    apr_array_header_t *stmts;
    const be_sqltext_t *s;
    const char *err;

    err = be_sql_cut_rules(pool,
                           "UPDATE posts SET n = n + 1 WHERE id = :id AND "
                           ":rule.posts.update RETURNING :user",
                           args, BE_CTX_ALL, posts_rules, NULL, &stmts);
    OK(err == NULL, "a rule placeholder");
    s = err ? NULL : APR_ARRAY_IDX(stmts, 0, const be_sqltext_t *);
    IS_STR(s ? be_sqltext_render(pool, s, args, BE_DIALECT_PGSQL) : NULL,
           "UPDATE posts SET n = n + 1 WHERE id = ($1::integer) AND ($2 = 1 "
           "OR ((author = $3) AND (team = $4 OR $3 = 'root'))) RETURNING $3",
           "the rules ANDed, unless bypassed; :user once");
    IS_INT(s ? s->params->nelts : 0, 4, "id, bypass, user, claim");
    IS_INT(s ? APR_ARRAY_IDX(s->params, 1, be_param_t).kind : 0, BE_P_BYPASS,
           "the bypass");
    IS_STR(be_sql_cut_rules(pool, "SELECT :rule.posts.read", args, BE_CTX_ALL,
                            posts_rules, NULL, &stmts),
           "':rule.posts.read': none here", "no such rules");
    IS_STR(be_sql_cut_rules(pool, "SELECT :rule.posts", args, BE_CTX_ALL,
                            posts_rules, NULL, &stmts),
           "':rule.posts': write :rule.RESOURCE.ACTION", "no action");
    OK(!be_sql_cut_rules(pool, "SELECT ':rule.posts.x'", args, BE_CTX_ALL,
                         posts_rules, NULL, &stmts),
       "not in a quoted string");
    IS_STR(be_sql_cut(pool, "SELECT :rule.posts.update", args, BE_CTX_ALL,
                      &stmts),
           "':rule' is not a declared argument", "not where no rules are");
}

int main(void)
{
    unit_start();
    test_declarations();
    test_cut();
    test_values();
    test_bind();
    test_routine();
    test_rule_params();
    unit_end();
    return tap_done();
}
