/*
 * be_core.h - the portable core of mod_backend.
 *
 * Everything declared here works on APR pools and plain data and includes
 * no httpd header, so the parsers, the SQL planner and the renderer are
 * unit-tested and fuzzed without a server.  The httpd glue lives in the
 * mod_backend_*.c files.
 */
#ifndef BE_CORE_H
#define BE_CORE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include <apr_strings.h>

/* ---------------------------------------------------------------------- */
/* Growable output buffer, memory from a pool                              */

typedef struct {
    apr_pool_t *pool;
    char *data;
    apr_size_t len;
    apr_size_t cap;
} be_buf_t;

void be_buf_init(be_buf_t *b, apr_pool_t *p, apr_size_t initial);
void be_buf_grow(be_buf_t *b, apr_size_t need);
void be_buf_add(be_buf_t *b, const char *s, apr_size_t n);
void be_buf_adds(be_buf_t *b, const char *s);
/* v in decimal, without printf; be_format_int writes it and a NUL to out
 * (24 bytes are enough) and returns its length */
apr_size_t be_format_int(char *out, long long v);
void be_buf_int(be_buf_t *b, long long v);
void be_buf_printf(be_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in len. */
const char *be_buf_cstr(be_buf_t *b);

static inline void be_buf_addc(be_buf_t *b, char c)
{
    if (b->len + 1 >= b->cap) {
        be_buf_grow(b, 1);
    }
    b->data[b->len++] = c;
}

/* ---------------------------------------------------------------------- */
/* Schema: what the database says a table is                               */

/* The SQL of which database */
typedef enum { BE_DIALECT_SQLITE = 0, BE_DIALECT_PGSQL } be_dialect_e;

typedef enum {
    BE_T_TEXT = 0, /* strings, and anything the database parses from text */
    BE_T_INT,      /* 64-bit integers */
    BE_T_REAL,     /* floating point */
    BE_T_NUMERIC,  /* exact decimal: a JSON number, or a numeric string */
    BE_T_BOOL,
    BE_T_JSON, /* embedded as JSON, not as a string */
    BE_T_BLOB
} be_type_e;

typedef struct {
    const char *name;
    const char *decl; /* the declared type, as the database spells it */
    be_type_e type;
    int notnull;
    int has_default;      /* a default, identity, serial or rowid alias */
    const char *dflt_sql; /* the default expression as the schema has it
                             (SQLite writes it in an INSERT) */
    int pk;
    int max_len;       /* varchar(n)/char(n) in characters, or -1 */
    long long int_min; /* bounds of a narrow integer type */
    long long int_max;
    unsigned int oid;  /* PostgreSQL type oid, 0 on SQLite */
    int synthetic;     /* SQLite rowid of a table without a key */
    int readonly;      /* rowid, generated columns: never written */
    int hidden;        /* BackendHide: as if it did not exist */
    int set_on_insert; /* BackendSet on=insert: the server gives it */
} be_column_t;

#define BE_MAX_KEY 8 /* columns of a composite key */

/* A foreign key: cols of this table refer to ref_cols of table. */
typedef struct {
    const char *name;  /* the constraint's (SQLite: TABLE_COLUMN_fkey, as
                          PostgreSQL names one) */
    const char *table; /* the referenced table, as the database names it */
    int ncols;
    const char **cols;
    const char **ref_cols; /* NULL entries: the referenced key's */
} be_fk_t;

typedef struct {
    const char *name;         /* as configured */
    const char *resource;     /* the name clients see (NULL: name) */
    apr_array_header_t *cols; /* be_column_t */
    apr_hash_t *by_name;      /* name -> be_column_t* */
    int key;                  /* index into cols: the one key column, or
                                 -1 (a composite key, or none) */
    int nkeys;                /* columns of the key: 1, several, 0 */
    int keys[BE_MAX_KEY];     /* their indexes into cols */
    int items;                /* LOCATION/NAME/KEY routes: a key of one
                                 column, or key=A,B named */
    int is_view;
    unsigned writes;         /* BE_W_*: what the database lets us write */
    unsigned readback;       /* BE_W_*: writes whose RETURNING may not
                                  show what is stored (SQLite triggers) */
    apr_hash_t *checks;      /* CHECK constraint name -> its column names
                           (apr_array_header_t* of const char*) */
    apr_array_header_t *fks; /* be_fk_t, in the database's order */
} be_table_t;

#define BE_W_INSERT 1u
#define BE_W_UPDATE 2u
#define BE_W_DELETE 4u
#define BE_W_ALL (BE_W_INSERT | BE_W_UPDATE | BE_W_DELETE)

/* Maps a declared SQLite type, using SQLite's affinity rules plus the
 * names people use for booleans and JSON. */
be_type_e be_type_from_sqlite_decl(const char *decl);
/* Maps a PostgreSQL type oid. */
be_type_e be_type_from_pg_oid(unsigned int oid);
/* Length limit from "varchar(20)", "character varying(20)", "char(3)". */
int be_max_len_from_decl(const char *decl);

be_table_t *be_table_make(apr_pool_t *p, const char *name);
/* Adds a foreign key's column pair n (from 0) of the constraint name. */
void be_table_fk(be_table_t *t, apr_pool_t *p, const char *name,
                 const char *table, const char *col, const char *ref_col);
be_column_t *be_table_add(be_table_t *t);
const be_column_t *be_table_col(const be_table_t *t, const char *name);
/* SQLite: the named CHECK constraints of a CREATE TABLE statement and
 * the columns each covers, into t->checks (t's columns are read). */
void be_sqlite_checks(apr_pool_t *p, be_table_t *t, const char *sql);
/* The columns of the CHECK constraint a database reported failing (by
 * name, or on SQLite by its expression when it has none), or NULL when
 * unknown; *name is the constraint's name (PostgreSQL's for an unnamed
 * SQLite one: TABLE_COLUMN_check, or TABLE_check over several). */
const apr_array_header_t *be_check_columns(apr_pool_t *p, const be_table_t *t,
                                           be_dialect_e d,
                                           const char *reported,
                                           const char **name);
/* A table of result columns without a key (a function's): indexes the
 * names; NULL, or the message when two columns share one. */
const char *be_table_index(be_table_t *t, apr_pool_t *p);
/* Picks the key: the named column or columns ("a,b": items at /NAME/1,7),
 * the primary key (of several columns: a collection without items), or
 * none (a table without a key: read and insert only); NULL, or an error. */
const char *be_table_set_key(be_table_t *t, apr_pool_t *p, const char *key);
/* c is a column of t's key. */
int be_table_is_key(const be_table_t *t, const be_column_t *c);

/* ---------------------------------------------------------------------- */
/* Values: what goes into bound parameters                                 */

typedef enum {
    BE_V_NULL = 0,
    BE_V_INT,
    BE_V_REAL,
    BE_V_TEXT,
    BE_V_BOOL,
    BE_V_JSON,   /* serialized JSON text for a json column */
    BE_V_DEFAULT /* "use the column default": planner emits DEFAULT */
} be_vkind_e;

typedef struct {
    be_vkind_e kind;
    long long i;   /* INT, BOOL */
    double d;      /* REAL */
    const char *s; /* TEXT, JSON, and the literal text of a number */
    apr_size_t len;
} be_value_t;

/* ---------------------------------------------------------------------- */
/* Parsed JSON request bodies (be_json.c is the one file using json-c)     */

typedef enum {
    BE_J_NULL = 0,
    BE_J_BOOL,
    BE_J_INT,
    BE_J_REAL,
    BE_J_STRING,
    BE_J_NESTED
} be_jkind_e;

typedef struct {
    const char *key;
    be_jkind_e kind;
    long long i;
    double d;
    const char *s; /* STRING, NESTED (serialized), and number text */
    apr_size_t len;
    int wide; /* REAL: an integer literal past the 64-bit range */
} be_jfield_t;

typedef struct {
    apr_array_header_t *fields; /* be_jfield_t, in document order */
} be_jobject_t;

typedef struct {
    int is_array;
    apr_array_header_t *objects; /* be_jobject_t* */
} be_jdoc_t;

typedef enum {
    BE_JSON_OK = 0,
    BE_JSON_SYNTAX,     /* not JSON (400) */
    BE_JSON_NOT_OBJECT, /* JSON, but not an object / array of objects */
    BE_JSON_TOO_DEEP
} be_json_rc_e;

/* Parses a request body.  On failure *err says why, for the problem. */
be_json_rc_e be_json_parse_body(apr_pool_t *p, const char *text,
                                apr_size_t len, int max_depth, int allow_array,
                                be_jdoc_t **doc, const char **err);
/* True when text is one well-formed JSON value (for json columns). */
int be_json_is_valid(const char *text, apr_size_t len);

/* ---------------------------------------------------------------------- */
/* Validation of a body against a table                                    */

typedef enum {
    BE_WRITE_INSERT = 0, /* POST: required columns must be present */
    BE_WRITE_REPLACE,    /* PUT: every column is set; absent = default */
    BE_WRITE_UPDATE      /* PATCH: only what is given */
} be_write_e;

typedef struct {
    const char *field;
    const char *message;
} be_field_error_t;

typedef struct {
    int ncols;
    const be_column_t **cols; /* columns to write, table order */
    be_value_t *vals;
} be_row_t;

/* Rows to insert, aligned on one column list. */
typedef struct {
    int ncols;
    const be_column_t **cols;
    int nrows;
    be_value_t *vals; /* nrows x ncols; BE_V_DEFAULT where a row is silent */
} be_rows_t;

/* Returns 0, or 422 with errs (be_field_error_t) filled.  implied, when
 * not NULL, is a column the server fills (the owner): never required. */
int be_validate_row(apr_pool_t *p, const be_table_t *t,
                    const be_jobject_t *obj, be_write_e mode,
                    const be_column_t *implied, be_row_t *row,
                    apr_array_header_t *errs);

/* Validates the objects of a POST (be_jobject_t*) as inserts and aligns
 * them on the union of their columns (only those of columns=, a name
 * array, when given: other members are ignored).  Returns 0, or 422 with
 * errs naming "[i].field" for arrays. */
int be_validate_rows(apr_pool_t *p, const be_table_t *t,
                     const apr_array_header_t *objects, int is_array,
                     const apr_array_header_t *columns,
                     const be_column_t *implied, be_rows_t *rows,
                     apr_array_header_t *errs);

/* Parses an item id from the URL as the key column expects; returns 0
 * when it cannot be a key value (the row cannot exist). */
int be_key_value(apr_pool_t *p, const be_column_t *key, const char *text,
                 be_value_t *out);

/* ---------------------------------------------------------------------- */
/* SQL planning                                                            */

typedef struct {
    const char *sql;
    int nargs;
    const be_value_t **args;
} be_stmt_t;

/* The columns a statement returns and how they are rendered. */
typedef struct {
    int ncols;   /* columns in the SQL list */
    int nrender; /* the first nrender become JSON members */
    const be_column_t **cols;
    const char **keys;    /* "alias": per rendered column, escaped */
    const char *sql_list; /* the quoted column list */
    int key_col;          /* the table's key in cols, or -1 */
    /* select= with embedded resources: per column, the one it comes from
     * (its JSON, or a column of a spread), or NULL; no sql_list then */
    const struct be_embed_s **embeds;
    /* BackendRule on written rows: RETURNING ends with their condition
     * (be_rule_sql_t, ANDed), the last column, not rendered */
    const apr_array_header_t *check;
} be_shape_t;

/* Built once per resource at startup: the quoted names and the SQL of the
 * most common requests. */
typedef struct {
    const be_table_t *table;
    be_dialect_e dialect;
    const char *qtable;   /* quoted table name */
    be_shape_t all;       /* every column, table order */
    const char *sql_list; /* SELECT all ... ORDER BY key LIMIT ?1 OFFSET ?2 */
    const char *sql_get;  /* SELECT all ... WHERE key = ?1 */
    const be_column_t *owner; /* owner=: rows belong to a user, or NULL */
    /* A function's: its statements in the dialect; the table is the last
     * one's rows, and the plan a subquery of it when it only reads */
    const char **fn_sql;
    int fn_nsql;
    int fn_subquery;
    const struct be_function_s *fn; /* and the function as it is called */
} be_plan_t;

typedef enum {
    BE_UPSERT_NONE = 0,
    BE_UPSERT_MERGE,
    BE_UPSERT_IGNORE
} be_upsert_e;

be_plan_t *be_plan_make(apr_pool_t *p, const be_table_t *t,
                        be_dialect_e dialect);
/* A plan whose rows are those of a query (a function's last statement):
 * t has its result columns and no key; its parameters are bound first,
 * from be_where_t.from. */
be_plan_t *be_plan_subquery(apr_pool_t *p, const be_table_t *t,
                            be_dialect_e dialect, const char *sql);
/* The shape of select= (a be_select_t array; NULL for every column).  With
 * need_key, the key is appended unrendered when select= left it out. */
be_shape_t *be_shape_make(apr_pool_t *p, const be_plan_t *pl,
                          const apr_array_header_t *select, int need_key);
void be_quote_ident(be_buf_t *b, const char *name);
/* A column as SQL names it: quoted, or rowid for SQLite's synthetic key. */
void be_sql_column(be_buf_t *b, const be_column_t *c);
/* Bound parameter n (from 1) as the dialect writes it: $n or ?n. */
void be_sql_placeholder(be_buf_t *b, be_dialect_e d, int n);

/* Where a statement applies: the item key (or NULL), the filters
 * (be_filter_t*, ANDed, or NULL), and the owner scope: with owner set,
 * only rows whose pl->owner column equals it. */
typedef struct {
    const be_value_t *key;
    const apr_array_header_t *filters;
    const be_value_t *owner;
    const be_value_t *const *from; /* a subquery plan: its parameters */
    int nfrom;
    const apr_array_header_t *select; /* be_select_t whose !inner embedded
                                         resources filter the rows */
    const apr_array_header_t *rules;  /* be_rule_sql_t (BackendRule),
                                         ANDed */
} be_where_t;

/* Statements; a NULL shape means no RETURNING.  Functions returning a
 * string return NULL, or a 400 message about a filter value. */
const char *be_sql_select(apr_pool_t *p, const be_plan_t *pl,
                          const be_shape_t *shape, const be_where_t *w,
                          const apr_array_header_t *order, long long limit,
                          long long offset, be_stmt_t *st);
const char *be_sql_count(apr_pool_t *p, const be_plan_t *pl,
                         const be_where_t *w, be_stmt_t *st);
/* Rows [first, first+n) of rows; on_conflict names the conflict target
 * (NULL: the key).  With an owner, an upsert only updates the owner's
 * rows; with conflict_rules (be_rule_sql_t), only the rows that meet
 * them. */
void be_sql_insert(apr_pool_t *p, const be_plan_t *pl, const be_rows_t *rows,
                   int first, int n, be_upsert_e upsert,
                   const apr_array_header_t *on_conflict, int owned,
                   const apr_array_header_t *conflict_rules,
                   const be_shape_t *shape, be_stmt_t *st);
const char *be_sql_update(apr_pool_t *p, const be_plan_t *pl,
                          const be_row_t *row, const be_where_t *w,
                          const be_shape_t *shape, be_stmt_t *st);
const char *be_sql_delete(apr_pool_t *p, const be_plan_t *pl,
                          const be_where_t *w, const be_shape_t *shape,
                          be_stmt_t *st);

/* The next statement of a SQL script as PostgreSQL splits it, from *pos:
 * 1 with [*start, *end) the statement (no ';', no blank or comment before
 * it) and *pos past it; 0 when only blanks, comments and ';' are left. */
int be_script_next(const char *sql, apr_size_t len, apr_size_t *pos,
                   apr_size_t *start, apr_size_t *end);
/* A statement (n bytes) that starts, ends or leaves a transaction (BEGIN,
 * START, COMMIT, END, ROLLBACK but not ROLLBACK TO, ABORT): its first
 * word, or NULL. */
const char *be_script_tx_word(apr_pool_t *p, const char *stmt, apr_size_t n);

/* ---------------------------------------------------------------------- */
/* Rendering rows into JSON text                                           */

/* Length of the UTF-8 sequence at s (avail > 0 bytes), or 0 when it is not
 * valid UTF-8 as RFC 3629 has it: no overlong forms, no surrogates, nothing
 * past U+10FFFF, no 5- or 6-byte forms, no lone or missing continuation
 * bytes. */
apr_size_t be_utf8_seq(const char *s, apr_size_t avail);
/* The length of the valid UTF-8 prefix of s: len when all of it is. */
apr_size_t be_utf8_valid(const char *s, apr_size_t len);
/* Characters (not bytes) in UTF-8 text. */
apr_size_t be_utf8_chars(const char *s, apr_size_t len);

/* Appends s as a JSON string (quotes included): quote, backslash and
 * control characters escaped, valid UTF-8 kept, invalid bytes replaced
 * by U+FFFD so the output is always valid JSON. */
void be_json_escape(be_buf_t *b, const char *s, apr_size_t len);
/* Shortest text that reads back as the same double; null when not
 * finite (JSON has no NaN or Infinity). */
void be_json_double(be_buf_t *b, double d);

typedef struct {
    be_buf_t *out;
    int ncols;                      /* result columns */
    int nrender;                    /* the first nrender are written */
    const be_column_t *const *cols; /* what each result column is */
    const char **keys;              /* pre-escaped "name": per column */
    int as_array;                   /* wrap rows in [ ] */
    int bare; /* a row is its one column's value, not an object */
    long nrows;
    int key_col; /* result column whose text to remember, or -1 */
    const char *key_text;
    apr_array_header_t *key_list; /* with it, every row's key text too */
    apr_pool_t *pool;
    int check_col;    /* the shape's check column, or -1 */
    int check_failed; /* a row's check was false or NULL */
} be_sink_t;

void be_sink_init(be_sink_t *s, apr_pool_t *p, be_buf_t *out,
                  const be_shape_t *shape, int as_array);
void be_sink_begin(be_sink_t *s);
void be_sink_row_begin(be_sink_t *s);
void be_sink_row_end(be_sink_t *s);
void be_sink_end(be_sink_t *s);
/* Cells, in result-column order.  Text is rendered by the column's type:
 * a json column embeds it, a numeric column writes the number. */
void be_sink_null(be_sink_t *s, int col);
void be_sink_int(be_sink_t *s, int col, long long v);
void be_sink_real(be_sink_t *s, int col, double v);
void be_sink_text(be_sink_t *s, int col, const char *v, apr_size_t len);
void be_sink_blob(be_sink_t *s, int col, const void *v, apr_size_t len);

/* ---------------------------------------------------------------------- */
/* Problems (RFC 9457) rendered as text                                    */

const char *be_problem_json(apr_pool_t *p, int status, const char *title,
                            const char *detail,
                            const apr_array_header_t *errs);

#endif /* BE_CORE_H */
