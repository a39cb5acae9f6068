/*
 * be_query.h - the PostgREST query grammar: query string in, query tree
 * out (be_query.c), and the tree checked against a table and turned into
 * SQL (be_where.c).  No httpd header.
 */
#ifndef BE_QUERY_H
#define BE_QUERY_H

#include "be_core.h"

/* Limits that hold before anything runs. */
#define BE_MAX_FILTERS 100 /* conditions in one request */
#define BE_MAX_NESTING 8   /* and(or(not.and(...))) depth */
#define BE_MAX_NAMES \
    256                          /* names in select=, order=, columns= and
                                  on_conflict= (a table has fewer) */
#define BE_MAX_COUNT (1LL << 53) /* limit=, offset=, Range: bounds */
#define BE_MAX_QUERY \
    6144 /* query string bytes (414 beyond), under
                                * httpd's own LimitRequestLine of 8190 */

typedef enum {
    BE_OP_EQ = 0,
    BE_OP_NEQ,
    BE_OP_GT,
    BE_OP_GTE,
    BE_OP_LT,
    BE_OP_LTE,
    BE_OP_LIKE,
    BE_OP_ILIKE,
    BE_OP_IN,
    BE_OP_IS
} be_op_e;

typedef enum { BE_F_COND = 0, BE_F_AND, BE_F_OR } be_fkind_e;

typedef struct be_filter_t be_filter_t;
struct be_filter_t {
    be_fkind_e kind;
    int negate;
    /* BE_F_COND */
    const char *column;
    be_op_e op;
    const char *value;        /* like patterns already use % for * */
    apr_array_header_t *list; /* in: const char* items */
    /* BE_F_AND / BE_F_OR */
    apr_array_header_t *children; /* be_filter_t* */
};

typedef struct {
    const char *column;
    int desc;
    int nulls; /* 0 default, 1 first, 2 last */
} be_order_t;

typedef struct be_embed_s be_embed_t;

typedef struct {
    const char *column; /* or the embedded resource's name */
    const char *alias;  /* the JSON key: alias or the column */
    be_embed_t *embed;  /* NAME(...): an embedded resource, or NULL */
} be_select_t;

typedef struct be_query_s {
    apr_array_header_t *filters;     /* be_filter_t*, all must hold */
    apr_array_header_t *order;       /* be_order_t, or NULL */
    apr_array_header_t *select;      /* be_select_t, or NULL for all */
    apr_array_header_t *columns;     /* ?columns= names, or NULL */
    apr_array_header_t *on_conflict; /* names, or NULL */
    long long limit;                 /* -1: none */
    long long offset;                /* -1: none */
} be_query_t;

#define BE_MAX_EMBED 4 /* levels of embedded resources */

/* select=alias:NAME!hint!inner(...) or ...NAME(...), with NAME.filter=,
 * NAME.order=, NAME.limit= and NAME.offset= for its rows (q). */
struct be_embed_s {
    const char *name;
    const char *hint; /* !hint: a foreign key's name or column, or NULL */
    int inner;        /* !inner: only parents with a matching row */
    int spread;       /* ...NAME: its columns are the parent's */
    be_query_t *q;    /* select (never NULL), filters, order, window */
    /* Bound to the database (the glue's be_embed_bind) */
    const be_plan_t *plan; /* the embedded resource's */
    int many;              /* rows that refer to the parent: an array */
    /* The relation: parent.pcols[i] = (via ? via.jp[i] : this.ccols[i])
     * for i < npairs; through a junction also via.jc[i] = this.ccols[i]
     * for i < nvia. */
    int npairs, nvia;
    const be_column_t **pcols, **ccols, **jp, **jc;
    const be_plan_t *via;            /* many-to-many: the junction's plan */
    const be_value_t *owner;         /* its owner scope, or NULL */
    const apr_array_header_t *rules; /* its BackendRule read rules
                                        (be_rule_sql_t), or NULL */
    const be_value_t *via_owner;     /* the junction's owner scope */
    const apr_array_header_t *via_rules; /* and read rules, or NULL */
};

/* The SQL value of an embedded resource at depth (its rows are "_depth",
 * the parent's "_depth-1"): JSON text, an object or NULL, or an array.
 * Values are bound into args.  NULL, or a 400 message. */
const char *be_sql_embed(be_buf_t *b, be_dialect_e d, const be_embed_t *e,
                         int depth, apr_array_header_t *args);
/* ...NAME(col): the embedded row's column c, at depth 1. */
const char *be_sql_spread(be_buf_t *b, be_dialect_e d, const be_embed_t *e,
                          const be_column_t *c, apr_array_header_t *args);
/* " AND EXISTS (...)" for every !inner embedded resource of select. */
const char *be_sql_inner(be_buf_t *b, be_dialect_e d,
                         const apr_array_header_t *select, int depth, int *any,
                         apr_array_header_t *args);

/* Parses a raw (still URL-encoded) query string.  Returns NULL on success,
 * or the message of a 400 problem.  Unknown column names are not checked
 * here; be_query_check does that against the table. */
const char *be_query_parse(apr_pool_t *p, const char *args, be_query_t **q);

/* Splits a comma list of names, each maybe double-quoted (select=,
 * columns=, on_conflict=); NULL on a syntax error. */
apr_array_header_t *be_name_list(apr_pool_t *p, const char *s);

/* The query string again, each parameter but limit= and offset= decoded
 * and percent-encoded anew, each followed by '&': safe to put inside the
 * <...> of a Link header whatever the client sent. */
const char *be_query_link_args(apr_pool_t *p, const char *args);

/* URL-decodes in place ('+' is a space); returns 0 on a bad escape. */
int be_url_decode(char *s);

/* ---------------------------------------------------------------------- */
/* Checking and SQL (be_where.c)                                           */

/* Checks every column the query names against the table (hidden columns
 * count as absent).  Returns NULL, or the 400 message naming the column. */
const char *be_query_check(apr_pool_t *p, const be_table_t *t,
                           const be_query_t *q);

/* Appends " WHERE ..." (nothing when there are no filters), binding
 * values into args.  Returns NULL, or a 400 message for a value that
 * cannot be one of the column's type. */
const char *be_sql_where(apr_pool_t *p, be_buf_t *b, const be_table_t *t,
                         be_dialect_e d, const apr_array_header_t *filters,
                         apr_array_header_t *args);

/* Appends " ORDER BY ..." from q->order, or by the key when none; the key
 * always ends the list so that pages are stable.  Columns are those of
 * the rows aliased "_depth", or unqualified when depth is -1 (never
 * taken for a select list's name). */
void be_sql_order(be_buf_t *b, const be_table_t *t, be_dialect_e d,
                  const apr_array_header_t *order, int depth);

/* Converts filter text to a bound value as the column's type expects. */
const char *be_filter_value(apr_pool_t *p, const be_column_t *c,
                            const char *text, be_value_t *v);

#endif /* BE_QUERY_H */
