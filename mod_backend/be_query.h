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

typedef struct {
    const char *column;
    const char *alias; /* the JSON key: alias or the column */
} be_select_t;

typedef struct {
    apr_array_header_t *filters;     /* be_filter_t*, all must hold */
    apr_array_header_t *order;       /* be_order_t, or NULL */
    apr_array_header_t *select;      /* be_select_t, or NULL for all */
    apr_array_header_t *columns;     /* ?columns= names, or NULL */
    apr_array_header_t *on_conflict; /* names, or NULL */
    long long limit;                 /* -1: none */
    long long offset;                /* -1: none */
} be_query_t;

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
 * always ends the list so that pages are stable. */
void be_sql_order(be_buf_t *b, const be_table_t *t, be_dialect_e d,
                  const apr_array_header_t *order);

/* Converts filter text to a bound value as the column's type expects. */
const char *be_filter_value(apr_pool_t *p, const be_column_t *c,
                            const char *text, be_value_t *v);

#endif /* BE_QUERY_H */
