/*
 * exec.c - picks the executor for an apr_dbd driver name.
 */
#include <string.h>

#include "exec.h"

void (*be_exec_stalled)(const char *sql, apr_interval_time_t waited);

const be_executor_t *be_executor_for(const char *driver)
{
    if (!driver) {
        return NULL;
    }
    if (strcmp(driver, "sqlite3") == 0) {
        return &be_exec_sqlite;
    }
    if (strcmp(driver, "pgsql") == 0) {
        return &be_exec_pgsql;
    }
    return NULL;
}
