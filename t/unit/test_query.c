/*
 * test_query.c - unit tests of be_query.c and be_where.c: the query grammar (PostgREST's documented
 * examples) planned as SQL.
 * No httpd, no database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tap.h"
#include "unit.h"

/* The query string planned as SQLite SQL, or "ERR: message". */
static const char *plan_sql(const char *args, be_dialect_e d)
{
    be_table_t *t = be_table_make(pool, "people");
    be_column_t *c;
    be_plan_t *pl;
    be_query_t *q;
    be_stmt_t st;
    const char *err;
    static const char *const names[] = {"id",        "age",       "student",
                                        "grade",     "last_name", "height",
                                        "full_name", NULL};
    static const be_type_e types[] = {BE_T_INT, BE_T_INT,  BE_T_BOOL,
                                      BE_T_INT, BE_T_TEXT, BE_T_REAL,
                                      BE_T_TEXT};
    int i;

    for (i = 0; names[i]; i++) {
        c = be_table_add(t);
        c->name = names[i];
        c->type = types[i];
        c->pk = i == 0;
    }
    be_table_set_key(t, pool, NULL);
    pl = be_plan_make(pool, t, d);
    if ((err = be_query_parse(pool, args, &q))
        || (err = be_query_check(pool, t, q))
        || (err = be_sql_select(
                pool, pl, be_shape_make(pool, pl, q->select, 0),
                &(be_where_t){NULL, q->filters, NULL, NULL, 0, NULL, NULL},
                q->order, q->limit, q->offset, &st))) {
        return apr_pstrcat(pool, "ERR: ", err, NULL);
    }
    return st.sql;
}

#define ALL                                                      \
    "SELECT \"id\",\"age\",\"student\",\"grade\",\"last_name\"," \
    "\"height\",\"full_name\" FROM \"people\""
#define BY_ID " ORDER BY \"id\""

/* Examples from PostgREST's API documentation (tables_views, url
 * grammar), planned for both dialects. */
static void test_query(void)
{
    be_query_t *q;

    IS_STR(plan_sql("age=gte.18&student=is.true", BE_DIALECT_SQLITE),
           ALL " WHERE \"age\" >= ?1 AND \"student\" IS TRUE" BY_ID,
           "horizontal filtering");
    IS_STR(plan_sql("or=(age.lt.18,age.gt.21)", BE_DIALECT_PGSQL),
           ALL " WHERE (\"age\" < $1 OR \"age\" > $2)" BY_ID, "or");
    IS_STR(plan_sql("grade=gte.90&student=is.true&or=(age.eq.14,not.and(age."
                    "gte.11,age.lte.17))",
                    BE_DIALECT_SQLITE),
           ALL " WHERE \"grade\" >= ?1 AND \"student\" IS TRUE AND (\"age\" = "
               "?2 OR NOT ((\"age\" >= ?3 AND \"age\" <= ?4)))" BY_ID,
           "nested logic");
    IS_STR(plan_sql("last_name=like.O*", BE_DIALECT_SQLITE),
           ALL " WHERE \"last_name\" GLOB ?1" BY_ID, "like, sqlite: GLOB");
    IS_STR(plan_sql("last_name=ilike.O*", BE_DIALECT_PGSQL),
           ALL " WHERE \"last_name\"::text ILIKE $1" BY_ID, "ilike, pgsql");
    IS_STR(plan_sql("last_name=ilike.O*", BE_DIALECT_SQLITE),
           ALL " WHERE \"last_name\" LIKE ?1 ESCAPE '\\'" BY_ID,
           "ilike, sqlite");
    IS_STR(plan_sql("age=not.in.(1,2)&id=is.null", BE_DIALECT_PGSQL),
           ALL " WHERE NOT (\"age\" IN ($1,$2)) AND \"id\" IS NULL" BY_ID,
           "not.in and is.null");
    IS_STR(plan_sql("order=age.desc,height.asc", BE_DIALECT_SQLITE),
           ALL " ORDER BY \"age\" DESC NULLS FIRST, \"height\" ASC NULLS "
               "LAST, \"id\"",
           "ordering with PostgreSQL's null order");
    IS_STR(plan_sql("order=age.nullsfirst,id.desc", BE_DIALECT_PGSQL),
           ALL " ORDER BY \"age\" ASC NULLS FIRST, \"id\" DESC NULLS FIRST",
           "nullsfirst, key already ordered");
    IS_STR(plan_sql("select=fullName:full_name,age&limit=15&offset=30",
                    BE_DIALECT_PGSQL),
           "SELECT \"full_name\",\"age\" FROM \"people\"" BY_ID
           " LIMIT $1 OFFSET $2",
           "select, limit, offset");
    IS_STR(plan_sql("offset=5", BE_DIALECT_SQLITE),
           ALL BY_ID " LIMIT -1 OFFSET ?1", "offset alone, sqlite");
    IS_STR(plan_sql("offset=5", BE_DIALECT_PGSQL), ALL BY_ID " OFFSET $1",
           "offset alone, pgsql");
    IS_STR(plan_sql("id=in.()", BE_DIALECT_SQLITE), ALL " WHERE 1 = 0" BY_ID,
           "empty in");

    IS_STR(plan_sql("nope=eq.1", BE_DIALECT_SQLITE),
           "ERR: filter: 'nope' is not a column of people", "unknown column");
    IS_STR(plan_sql("age=eq.x", BE_DIALECT_SQLITE),
           "ERR: 'x' is not an integer (column age)", "typed values");
    IS_STR(plan_sql("age=approx.1", BE_DIALECT_SQLITE),
           "ERR: unknown operator 'approx' in the filter on 'age'",
           "unknown operator");

    OK(be_query_parse(
           pool, "last_name=in.(\"Hebdon,John\",\"Williams,Mary\",\"a\\\"b\")",
           &q)
           == NULL,
       "quoted in list");
    {
        be_filter_t *f = APR_ARRAY_IDX(q->filters, 0, be_filter_t *);
        IS_INT(f->list->nelts, 3, "three items");
        IS_STR(APR_ARRAY_IDX(f->list, 0, const char *), "Hebdon,John",
               "comma kept inside quotes");
        IS_STR(APR_ARRAY_IDX(f->list, 2, const char *), "a\"b",
               "escaped quote");
    }
    OK(be_query_parse(pool, "or=(last_name.eq.\"a.b,c\",age.gt.1)", &q)
           == NULL,
       "quoted value in a logic tree");
    {
        be_filter_t *f = APR_ARRAY_IDX(q->filters, 0, be_filter_t *);
        be_filter_t *c = APR_ARRAY_IDX(f->children, 0, be_filter_t *);
        IS_STR(c->value, "a.b,c", "reserved characters kept");
    }
    OK(be_query_parse(pool, "name=eq.a%20b+c%2Cd", &q) == NULL, "decoding");
    IS_STR(APR_ARRAY_IDX(q->filters, 0, be_filter_t *)->value, "a b c,d",
           "percent and plus decoded");
    OK(be_query_parse(pool, "a=eq.%00", &q) != NULL, "encoded NUL refused");
    {
        apr_array_header_t *n = be_name_list(pool, "\"a b\",c");
        IS_INT(n ? n->nelts : -1, 2, "quoted name list");
        IS_STR(APR_ARRAY_IDX(n, 0, const char *), "a b", "quoted name");
        OK(be_name_list(pool, "a,") == NULL, "trailing comma refused");
    }
}

int main(void)
{
    unit_start();
    test_query();
    unit_end();
    return tap_done();
}
