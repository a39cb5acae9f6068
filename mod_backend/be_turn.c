/*
 * be_turn.c - first come, first served turns (be_turn.h).  A waiter
 * queues a condition of its own and sleeps on it; the giver takes the
 * first from the queue, marks it granted and wakes it: the turn never
 * becomes free in between, so no thread takes it out of order.
 */
#include <errno.h>

#include "be_turn.h"

struct be_turn_waiter_t {
    pthread_cond_t cond;
    int granted;
    be_turn_waiter_t *next;
};

/* Takes me out of the queue (it has not been granted). */
static void leave_queue(be_turns_t *t, be_turn_waiter_t *me)
{
    be_turn_waiter_t **at = &t->first, *before = NULL;

    while (*at && *at != me) {
        before = *at;
        at = &(*at)->next;
    }
    if (*at) {
        *at = me->next;
        if (t->last == me) {
            t->last = before;
        }
        t->waiting--;
    }
}

int be_turn_take_by(be_turns_t *t, const struct timespec *deadline)
{
    be_turn_waiter_t me;

    pthread_mutex_lock(&t->mutex);
    if (!t->taken) {
        t->taken = 1;
        pthread_mutex_unlock(&t->mutex);
        return 1;
    }
    pthread_cond_init(&me.cond, NULL);
    me.granted = 0;
    me.next = NULL;
    if (t->last) {
        t->last->next = &me;
    }
    else {
        t->first = &me;
    }
    t->last = &me;
    t->waiting++;
    while (!me.granted) {
        if (!deadline) {
            pthread_cond_wait(&me.cond, &t->mutex);
        }
        else if (pthread_cond_timedwait(&me.cond, &t->mutex, deadline)
                     == ETIMEDOUT
                 && !me.granted) {
            leave_queue(t, &me);
            break;
        }
    }
    pthread_mutex_unlock(&t->mutex);
    pthread_cond_destroy(&me.cond);
    return me.granted;
}

void be_turn_take(be_turns_t *t)
{
    be_turn_take_by(t, NULL);
}

/* The waiter is woken under the mutex: once it sees granted it may
 * return, and its condition goes with its stack. */
void be_turn_give(be_turns_t *t)
{
    be_turn_waiter_t *next;

    pthread_mutex_lock(&t->mutex);
    if ((next = t->first) != NULL) {
        t->first = next->next;
        if (!t->first) {
            t->last = NULL;
        }
        t->waiting--;
        next->granted = 1;
        pthread_cond_signal(&next->cond);
    }
    else {
        t->taken = 0;
    }
    pthread_mutex_unlock(&t->mutex);
}

unsigned be_turn_waiting(be_turns_t *t)
{
    unsigned n;

    pthread_mutex_lock(&t->mutex);
    n = t->waiting;
    pthread_mutex_unlock(&t->mutex);
    return n;
}
