/*
 * test_turn.c - unit tests of be_turn.c: turns go to the threads in the
 * order they asked, and one that gives the turn back and asks again at
 * once waits behind those already waiting.
 */
#include <sched.h>

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

int main(void)
{
    test_first_come_first_served();
    return tap_done();
}
