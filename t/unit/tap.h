/*
 * tap.h - a minimal TAP producer for the unit tests of the portable core.
 */
#ifndef BE_TAP_H
#define BE_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* (a test program may use only some of these) */

static __attribute__((unused)) int tap_ok(int ok, const char *name,
                                          const char *file, int line)
{
    printf("%s %d - %s\n", ok ? "ok" : "not ok", ++tap_n, name);
    if (!ok) {
        tap_failed++;
        printf("#   at %s:%d\n", file, line);
    }
    return ok;
}

static __attribute__((unused)) void tap_is_str(const char *got,
                                               const char *want,
                                               const char *name,
                                               const char *file, int line)
{
    if (!tap_ok(got && want && strcmp(got, want) == 0, name, file, line)) {
        printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)",
               want ? want : "(null)");
    }
}

static __attribute__((unused)) void tap_is_int(long long got, long long want,
                                               const char *name,
                                               const char *file, int line)
{
    if (!tap_ok(got == want, name, file, line)) {
        printf("#   got:  %lld\n#   want: %lld\n", got, want);
    }
}

#define OK(cond, name) tap_ok((cond) ? 1 : 0, (name), __FILE__, __LINE__)
#define IS_STR(got, want, name) \
    tap_is_str((got), (want), (name), __FILE__, __LINE__)
#define IS_INT(got, want, name) \
    tap_is_int((got), (want), (name), __FILE__, __LINE__)

static __attribute__((unused)) int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
