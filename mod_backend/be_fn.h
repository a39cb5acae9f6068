/*
 * be_fn.h - SQL a site writes in httpd.conf (BackendFunction): typed
 * arguments, statements cut around their :names, and argument values
 * checked before any SQL runs.  No httpd header.
 */
#ifndef BE_FN_H
#define BE_FN_H

#include "be_core.h"

#define BE_FN_MAX_ARGS 64  /* arguments of one function */
#define BE_FN_MAX_STMTS 32 /* statements of one function */

typedef enum {
    BE_A_INT = 0, /* 32-bit */
    BE_A_BIGINT,
    BE_A_NUMBER,
    BE_A_TEXT,
    BE_A_BOOL,
    BE_A_JSON,
    BE_A_DATE,
    BE_A_TIMESTAMP,
    BE_A_UUID
} be_atype_e;

/* NAME:TYPE, NAME:TYPE? (optional: NULL when absent), NAME:TYPE=VALUE */
typedef struct {
    const char *name;
    be_atype_e type;
    int optional;
    const char *dflt; /* the default as written, or NULL */
    be_value_t dval;  /* and as a value */
    int in_path;      /* BackendRoute: a {name} of the path */
    const char *cast; /* pg=: the PostgreSQL type it is cast to, or NULL:
                         the one of its type */
} be_arg_t;

/* Parses one argument declaration; NULL, or why it is not one. */
const char *be_arg_parse(apr_pool_t *p, const char *spec, be_arg_t *out);
const char *be_atype_name(be_atype_e t);

/* What a :name in the SQL stands for. */
typedef enum {
    BE_P_ARG = 0, /* a declared argument */
    BE_P_USER,    /* :user, the authenticated user */
    BE_P_CLAIM,   /* :claim.NAME, a claim of the request's token */
    BE_P_ROLES,   /* :roles, the user's roles as a JSON array */
    BE_P_HEADER,  /* :header.NAME, a request header */
    BE_P_GIVEN,   /* pg=: whether argument arg was given (a boolean) */
    BE_P_BYPASS   /* :rule.NAME.ACTION: 1 when the user is above the rules
                     (a BackendOwnerBypass role), else 0 */
} be_pkind_e;

#define BE_CTX_USER (1u << BE_P_USER)
#define BE_CTX_CLAIM (1u << BE_P_CLAIM)
#define BE_CTX_ROLES (1u << BE_P_ROLES)
#define BE_CTX_HEADER (1u << BE_P_HEADER)
#define BE_CTX_ALL (BE_CTX_USER | BE_CTX_CLAIM | BE_CTX_ROLES | BE_CTX_HEADER)

typedef struct {
    be_pkind_e kind;
    int arg;          /* BE_P_ARG: index into the arguments */
    const char *name; /* BE_P_CLAIM, BE_P_HEADER: which one */
    int bcrypt;       /* :NAME!bcrypt: the value is hashed first */
} be_param_t;

typedef struct {
    const char *text; /* literal SQL, or NULL: parameter number param */
    int param;        /* index into params */
} be_sqlpiece_t;

/* One statement of the site's SQL. */
typedef struct {
    apr_array_header_t *pieces; /* be_sqlpiece_t */
    apr_array_header_t *params; /* be_param_t, distinct, first use first */
    int reads;                  /* SELECT or VALUES, or a WITH that only
                                   reads: it can be a subquery */
} be_sqltext_t;

/* Cuts sql into statements (be_sqltext_t) at the semicolons outside
 * quotes and comments.  Every :name is an argument of args (be_arg_t) or
 * a context parameter ctx allows; $n and transaction statements are
 * refused.  Returns NULL, or the message. */
const char *be_sql_cut(apr_pool_t *p, const char *sql,
                       const apr_array_header_t *args, unsigned ctx,
                       apr_array_header_t **stmts);

/* The BackendRule conditions (be_sqltext_t*) of resource name for action
 * (read, insert, update, delete), or NULL with *why. */
typedef const apr_array_header_t *(*be_rule_lookup_f)(void *baton,
                                                      const char *name,
                                                      const char *action,
                                                      const char **why);
/* be_sql_cut, where :rule.NAME.ACTION also stands for the conditions
 * lookup gives, ANDed, unless the user is above the rules:
 * (bypass = 1 OR ((rule) AND (rule)...)), their parameters the
 * statement's. */
const char *be_sql_cut_rules(apr_pool_t *p, const char *sql,
                             const apr_array_header_t *args, unsigned ctx,
                             be_rule_lookup_f lookup, void *baton,
                             apr_array_header_t **stmts);

/* The statement in a dialect: parameter i (from 0) is ?i+1 or $i+1, on
 * PostgreSQL with a cast to the argument's type where the type has one. */
const char *be_sqltext_render(apr_pool_t *p, const be_sqltext_t *s,
                              const apr_array_header_t *args, be_dialect_e d);

/* A value for an argument, from a JSON member or from query-string text.
 * NULL, or the 422 message. */
const char *be_arg_from_json(apr_pool_t *p, const be_arg_t *a,
                             const be_jfield_t *f, be_value_t *v);
const char *be_arg_from_text(apr_pool_t *p, const be_arg_t *a,
                             const char *text, be_value_t *v);

/* The arguments of a call: from the members of obj (may be NULL) or,
 * when names/texts are given, from those query-string pairs.  Fills
 * vals[i] for every argument; returns 0, or 422 with errs
 * (be_field_error_t) naming every argument that is missing, unknown or
 * not of its type. */
int be_args_bind(apr_pool_t *p, const apr_array_header_t *args,
                 const be_jobject_t *obj, const apr_array_header_t *names,
                 const apr_array_header_t *texts, be_value_t *vals,
                 apr_array_header_t *errs);

/* BackendRule: a condition the site wrote, with its context parameters'
 * values for one request. */
typedef struct {
    const be_sqltext_t *text;
    const be_value_t **vals; /* per parameter of text */
} be_rule_sql_t;

/* Appends " AND (rule)" (or " WHERE (rule)" when *any is 0) for each
 * be_rule_sql_t of rules, binding its values into args. */
void be_sql_rules(be_buf_t *b, be_dialect_e d, const apr_array_header_t *rules,
                  int *any, apr_array_header_t *args);

/* ---------------------------------------------------------------------- */
/* Functions                                                               */

typedef enum {
    BE_RETURNS_MANY = 0,
    BE_RETURNS_ONE,
    BE_RETURNS_NONE
} be_returns_e;

/* BackendFunction (and a BackendRoute's SQL): arguments and statements. */
typedef struct be_function_s {
    apr_array_header_t *args;  /* be_arg_t */
    apr_array_header_t *stmts; /* be_sqltext_t* */
    be_returns_e returns;
    int reads;      /* every statement only reads: GET may call it */
    int scalar;     /* the answer is the one column's bare value */
    const char *pg; /* pg=SCHEMA.FN as written: args and stmts are read
                       from the catalog with the schema */
} be_function_t;

/* A PostgreSQL function as its catalog has it (BackendFunction pg=). */
typedef struct {
    const char *name;
    const char *type; /* format_type() of it */
    const char *dflt; /* its default expression, or NULL */
} be_routine_arg_t;

typedef struct {
    const char *schema, *name;
    apr_array_header_t *args; /* be_routine_arg_t: the IN arguments */
    int retset;               /* RETURNS SETOF or TABLE */
    int composite;            /* rows of named columns */
    int returns_void;
    int writes; /* VOLATILE */
} be_routine_t;

/* The function that calls rt with named arguments, absent ones taking
 * their defaults: NULL, or why it cannot be called. */
const char *be_routine_function(apr_pool_t *p, const be_routine_t *rt,
                                be_function_t **out);

/* ---------------------------------------------------------------------- */
/* Declared rules (BackendValidate) on a column or an argument             */

typedef enum {
    BE_R_REQUIRED = 0,
    BE_R_LENGTH,  /* length=MIN..MAX characters */
    BE_R_RANGE,   /* range=MIN..MAX */
    BE_R_PATTERN, /* pattern=REGEX */
    BE_R_FORMAT,  /* format=email|uri|uuid|date|date-time */
    BE_R_ENUM     /* enum=A,B,C */
} be_rkind_e;

typedef enum {
    BE_FMT_EMAIL = 0,
    BE_FMT_URI,
    BE_FMT_UUID,
    BE_FMT_DATE,
    BE_FMT_DATETIME
} be_format_e;

typedef struct {
    be_rkind_e kind;
    int has_min, has_max;
    double min, max;            /* length, range */
    be_format_e format;         /* format */
    apr_array_header_t *values; /* enum: const char* */
    const char *text;           /* as written (pattern: the regex) */
    void *re;                   /* pattern: compiled by whoever matches */
} be_rule_t;

/* The rules of one column or argument. */
typedef struct {
    const char *field;
    apr_array_header_t *rules; /* be_rule_t */
} be_rules_t;

/* Matches a pattern rule's compiled regex (the glue's ap_regex). */
typedef int (*be_match_fn)(const void *re, const char *s);

/* Parses length=, range=, pattern=, format=, enum= or required; NULL or
 * why not. */
const char *be_rule_parse(apr_pool_t *p, const char *spec, be_rule_t *out);

/* What is wrong with v (NULL: absent) under the rule, or NULL.  Only
 * required looks at an absent or NULL value. */
const char *be_rule_check(apr_pool_t *p, const be_rule_t *r,
                          const be_value_t *v, be_match_fn match);

/* Checks a row of n values, vals[i] named names[i], against the rules of
 * every field (be_rules_t): a field the row does not have is absent, or
 * with partial (a PATCH) not checked at all.  Each failure is added to
 * errs, its field written "PREFIXfield"; a field errs names already (its
 * value was not of its type) is not checked again. */
void be_rules_check_row(apr_pool_t *p, const apr_array_header_t *fields,
                        const char *const *names, const be_value_t *vals,
                        int n, int partial, const char *prefix,
                        be_match_fn match, apr_array_header_t *errs);

#endif /* BE_FN_H */
