/*
 * exec.c - picks the executor for an apr_dbd driver name.
 */
#include <string.h>

#include "exec.h"

void (*be_exec_lock_waited)(const char *sql, apr_interval_time_t waited);
int (*be_exec_write_turn)(int file, int take, apr_time_t by);

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

const char *be_exec_refuse_tx(apr_pool_t *p, const char *stmt, apr_size_t n,
                              be_dberr_t *err)
{
    const char *word = be_script_tx_word(p, stmt, n);

    if (word) {
        err->rc = BE_DB_ERROR;
        err->detail = err->sqlstate = NULL;
        err->message = apr_psprintf(p,
                                    "%s: a migration runs in a transaction "
                                    "of its own",
                                    word);
    }
    return word;
}

void be_exec_raised(be_dberr_t *err, apr_pool_t *p, const char *message,
                    int status)
{
    const char *m = message ? message : "";

    if (m[0] == '4' && m[1] >= '0' && m[1] <= '9' && m[2] >= '0' && m[2] <= '9'
        && m[3] == ':') {
        status = (m[0] - '0') * 100 + (m[1] - '0') * 10 + (m[2] - '0');
        m += 4;
        while (*m == ' ') {
            m++;
        }
    }
    err->rc = BE_DB_RAISED;
    err->status = status >= 400 && status <= 499 ? status : 400;
    err->detail = apr_pstrdup(p, m);
}
