/*
 * be_turn.h - turns taken first come, first served, among the threads of
 * a process: the thread that gives a turn back hands it to the one that
 * has waited longest, so a running thread cannot take it again and again
 * ahead of woken ones (as it can a mutex).
 */
#ifndef BE_TURN_H
#define BE_TURN_H

#include <pthread.h>
#include <time.h>

typedef struct be_turn_waiter_t be_turn_waiter_t;

typedef struct {
    pthread_mutex_t mutex;
    int taken;
    unsigned waiting;
    be_turn_waiter_t *first, *last;
} be_turns_t;

#define BE_TURNS_INIT                               \
    {                                               \
        PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL, NULL \
    }

/* Waits until the turn is this thread's. */
void be_turn_take(be_turns_t *t);
/* The same, waiting no later than deadline (CLOCK_REALTIME, as
 * pthread_cond_timedwait; NULL: no limit): 1 when the turn is this
 * thread's, 0 when the deadline came first (the thread no longer waits;
 * those behind it keep their order). */
int be_turn_take_by(be_turns_t *t, const struct timespec *deadline);
/* Gives the turn to the longest waiting thread, or back. */
void be_turn_give(be_turns_t *t);
/* How many threads wait (for tests). */
unsigned be_turn_waiting(be_turns_t *t);

#endif /* BE_TURN_H */
