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
    BE_P_HEADER   /* :header.NAME, a request header */
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

#endif /* BE_FN_H */
