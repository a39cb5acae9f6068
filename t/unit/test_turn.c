/*
 * test_turn.c - unit tests of be_turn.c: turns go to the threads in the
 * order they asked, and one that gives the turn back and asks again at
 * once waits behind those already waiting.
 */
#include <sched.h>
#include <time.h>

#include "tap.h"
#include "be_turn.h"

#define N 4

static be_turns_t turns = BE_TURNS_INIT;
static pthread_mutex_t order_mutex = PTHREAD_MUTEX_INITIALIZER;
static int order[N + 1], norder;

static void took(int who)
{
    pthread_mutex_lock(&order_mutex);
    order[norder++] = who;
    pthread_mutex_unlock(&order_mutex);
}

static void *asker(void *arg)
{
    be_turn_take(&turns);
    took((int)(long)arg);
    be_turn_give(&turns);
    return NULL;
}

/* Waits until n threads wait for the turn. */
static void until_waiting(unsigned n)
{
    while (be_turn_waiting(&turns) < n) {
        sched_yield();
    }
}

static void test_first_come_first_served(void)
{
    pthread_t t[N];
    char got[32] = "";
    int i;

    be_turn_take(&turns);
    OK(be_turn_waiting(&turns) == 0, "nobody waits for a free turn");
    for (i = 0; i < N; i++) {
        pthread_create(&t[i], NULL, asker, (void *)(long)(i + 1));
        until_waiting((unsigned)i + 1);
    }
    /* given back and asked for again at once: behind the four */
    be_turn_give(&turns);
    be_turn_take(&turns);
    took(0);
    be_turn_give(&turns);
    for (i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
    }
    for (i = 0; i < norder; i++) {
        got[i] = (char)('0' + order[i]);
    }
    IS_STR(got, "12340", "in the order asked; the giver asks last");
    OK(be_turn_waiting(&turns) == 0, "nobody left waiting");
    be_turn_take(&turns);
    OK(1, "the turn is free again");
    be_turn_give(&turns);
}

/* asks for the turn, giving up after arg ms */
static void *impatient(void *arg)
{
    struct timespec by;
    long ms = (long)arg;

    clock_gettime(CLOCK_REALTIME, &by);
    by.tv_sec += ms / 1000;
    by.tv_nsec += (ms % 1000) * 1000000L;
    if (by.tv_nsec >= 1000000000L) {
        by.tv_sec++;
        by.tv_nsec -= 1000000000L;
    }
    if (be_turn_take_by(&turns, &by)) {
        be_turn_give(&turns);
        return (void *)1L;
    }
    return NULL;
}

static void test_waiters_that_give_up(void)
{
    pthread_t a, b, c, d, e;
    void *took_b, *took_d;
    char got[32] = "";
    int i;

    norder = 0;
    be_turn_take(&turns);
    pthread_create(&a, NULL, asker, (void *)1L);
    until_waiting(1);
    pthread_create(&b, NULL, impatient, (void *)50L);
    until_waiting(2);
    pthread_create(&c, NULL, asker, (void *)3L);
    until_waiting(3);
    pthread_create(&d, NULL, impatient, (void *)100L); /* the last */
    until_waiting(4);
    pthread_join(b, &took_b);
    pthread_join(d, &took_d);
    OK(took_b == NULL && took_d == NULL, "both gave up while it was held");
    OK(be_turn_waiting(&turns) == 2, "the two others still wait");
    pthread_create(&e, NULL, asker, (void *)5L);
    until_waiting(3);
    be_turn_give(&turns);
    pthread_join(a, NULL);
    pthread_join(c, NULL);
    pthread_join(e, NULL);
    for (i = 0; i < norder; i++) {
        got[i] = (char)('0' + order[i]);
    }
    IS_STR(got, "135", "the others in the order asked, one asking after");
    pthread_create(&b, NULL, impatient, (void *)50L);
    pthread_join(b, &took_b);
    OK(took_b != NULL, "a free turn is taken before the deadline");
    OK(be_turn_waiting(&turns) == 0, "nobody left waiting");
}

int main(void)
{
    test_first_come_first_served();
    test_waiters_that_give_up();
    return tap_done();
}
