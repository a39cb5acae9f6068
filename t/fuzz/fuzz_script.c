/*
 * fuzz_script.c - libFuzzer target for be_script_next, which splits a
 * BackendMigrations file into the statements PostgreSQL runs one by one,
 * and be_script_tx_word on each.  Besides crashes, it aborts when a
 * statement lies outside the script or overlaps the one before, when the
 * position does not move forward, when a statement is empty or starts
 * with a blank or a ';', or when a statement split again alone does not
 * start where it did.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "be_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    apr_pool_t *p;
    const char *s = (const char *)data;
    apr_size_t pos = 0, a, b, prev_end = 0, last;
    int n = 0;

    if (!ready) {
        apr_initialize();
        ready = 1;
    }
    apr_pool_create(&p, NULL);
    for (;;) {
        last = pos;
        if (!be_script_next(s, size, &pos, &a, &b)) {
            if (pos != size) {
                abort(); /* the end is the end of the script */
            }
            break;
        }
        if (a < prev_end || a < last || b < a + 1 || b > size || pos < b
            || pos > size || pos <= last) {
            abort();
        }
        if (memchr(" \t\r\n\f\v;", s[a], 7)) {
            abort();
        }
        /* the statement alone splits into itself, or into pieces inside
         * it (a ';' it holds in BEGIN ATOMIC needs the words before) */
        {
            apr_size_t q = 0, x, y;
            if (!be_script_next(s + a, b - a, &q, &x, &y) || x != 0
                || y > b - a) {
                abort();
            }
        }
        be_script_tx_word(p, s + a, b - a);
        prev_end = b;
        n++;
    }
    (void)n;
    apr_pool_destroy(p);
    return 0;
}
