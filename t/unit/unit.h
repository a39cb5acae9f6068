/*
 * unit.h - what the unit tests of the portable core share (unit.c).  Each
 * test_*.c is a program of its own, reporting TAP through tap.h.
 */
#ifndef BE_UNIT_H
#define BE_UNIT_H

#include <apr_general.h>

#include "be_core.h"
#include "be_query.h"

extern apr_pool_t *pool;

void unit_start(void);
void unit_end(void);

/* products(id key, name varchar(5) not null, price real, active bool
 * default, meta json, qty smallint) */
be_table_t *products(void);
/* The first object of a JSON body (NULL if none), as a write parses it. */
be_jobject_t *parse(const char *json, be_json_rc_e *rc, const char **err);
/* Validates a body against t; the number of errors. */
int validate(be_table_t *t, const char *json, be_write_e mode, be_row_t *row,
             apr_array_header_t **errs);
/* "field: message" of error i, or "(none)". */
const char *err_at(apr_array_header_t *errs, int i);

#endif /* BE_UNIT_H */
