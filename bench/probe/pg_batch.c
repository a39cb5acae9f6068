/* How much would batching the queries of several requests on one
 * PostgreSQL connection gain over a connection per waiting thread (what
 * mod_backend does now)?  A probe for that decision, not part of the
 * module: it runs E7's query (one product by a random id) for some
 * seconds in one of two ways and prints queries per second.
 *
 *   blocking   N threads, each with its own connection, each sending one
 *              query and waiting for its answer (PQexecPrepared), as
 *              httpd's workers do with pooled connections.
 *   batched    N threads hand their query to one of C shared connections
 *              and wait on a condition variable; whichever thread finds
 *              that connection idle sends every query queued so far in
 *              libpq's pipeline mode, reads the answers and wakes their
 *              threads.  Every thread still blocks once per query, as a
 *              worker would; only PostgreSQL's side is shared.
 *
 * Build and run (bench/run --hold 600 prints a connection string):
 *   cc -O2 -o /tmp/pg_batch bench/probe/pg_batch.c \
 *      -I"$(pg_config --includedir)" -lpq -lpthread
 *   taskset -c 0 chrt --batch 0 /tmp/pg_batch "CONNINFO" blocking 32 5
 *   taskset -c 0 chrt --batch 0 /tmp/pg_batch "CONNINFO" batched 64 5 2
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SQL "SELECT id, name, category, price, stock FROM products WHERE id = $1"

static const char *conninfo;
static volatile int stop;
static long done_total;
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;

static PGconn *connect_prepared(void)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(c));
        exit(1);
    }
    r = PQprepare(c, "q", SQL, 1, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "prepare: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    return c;
}

static void count(long n)
{
    pthread_mutex_lock(&total_lock);
    done_total += n;
    pthread_mutex_unlock(&total_lock);
}

/* ---- blocking: a connection per thread ---------------------------- */

static void *blocking(void *arg)
{
    PGconn *c = connect_prepared();
    unsigned seed = (unsigned)(size_t)arg;
    long n = 0;
    char id[16];
    const char *v[1] = {id};

    while (!stop) {
        PGresult *r;
        snprintf(id, sizeof(id), "%d", 1 + rand_r(&seed) % 10000);
        r = PQexecPrepared(c, "q", 1, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            fprintf(stderr, "query: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
        n++;
    }
    PQfinish(c);
    count(n);
    return NULL;
}

/* ---- batched: threads queue on a shared pipelined connection ------ */

typedef struct job {
    struct job *next;
    char id[16];
    int done;
    pthread_cond_t cond;
} job_t;

typedef struct {
    PGconn *conn;
    pthread_mutex_t lock;
    job_t *head, *tail;
    int busy; /* a thread is sending and reading on conn */
} shared_t;

static shared_t *shared;
static int nshared;

static void run_batch(shared_t *s, job_t *batch)
{
    job_t *j;

    for (j = batch; j; j = j->next) {
        const char *v[1] = {j->id};
        if (!PQsendQueryPrepared(s->conn, "q", 1, v, NULL, NULL, 0)
            || !PQpipelineSync(s->conn)) {
            fprintf(stderr, "send: %s", PQerrorMessage(s->conn));
            exit(1);
        }
    }
    if (PQflush(s->conn) != 0) {
        fprintf(stderr, "flush: %s", PQerrorMessage(s->conn));
        exit(1);
    }
    for (j = batch; j; j = j->next) {
        PGresult *r = PQgetResult(s->conn);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            fprintf(stderr, "result: %s", PQerrorMessage(s->conn));
            exit(1);
        }
        PQclear(r);
        PQclear(PQgetResult(s->conn)); /* NULL: end of this query */
        r = PQgetResult(s->conn);      /* the sync */
        if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
            fprintf(stderr, "sync: %s", PQerrorMessage(s->conn));
            exit(1);
        }
        PQclear(r);
    }
}

static void *batched(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    shared_t *s = &shared[(size_t)arg % nshared];
    job_t me;
    long n = 0;

    pthread_cond_init(&me.cond, NULL);
    while (!stop) {
        snprintf(me.id, sizeof(me.id), "%d", 1 + rand_r(&seed) % 10000);
        me.next = NULL;
        me.done = 0;
        pthread_mutex_lock(&s->lock);
        if (s->tail) {
            s->tail->next = &me;
        }
        else {
            s->head = &me;
        }
        s->tail = &me;
        while (!me.done) {
            if (!s->busy) {
                /* lead: take everything queued, run it unlocked */
                job_t *batch = s->head, *j, *next;
                s->head = s->tail = NULL;
                s->busy = 1;
                pthread_mutex_unlock(&s->lock);
                run_batch(s, batch);
                pthread_mutex_lock(&s->lock);
                s->busy = 0;
                for (j = batch; j; j = next) {
                    next = j->next;
                    j->done = 1;
                    if (j != &me) {
                        pthread_cond_signal(&j->cond);
                    }
                }
                /* a queued thread leads next time it wakes */
                if (s->head) {
                    pthread_cond_signal(&s->head->cond);
                }
            }
            else {
                pthread_cond_wait(&me.cond, &s->lock);
            }
        }
        pthread_mutex_unlock(&s->lock);
        n++;
    }
    count(n);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t *t;
    int i, n, seconds, is_batched;
    struct timespec a, b;

    if (argc < 5) {
        fprintf(stderr, "usage: %s CONNINFO blocking|batched THREADS "
                        "SECONDS [CONNECTIONS]\n", argv[0]);
        return 2;
    }
    conninfo = argv[1];
    is_batched = strcmp(argv[2], "batched") == 0;
    n = atoi(argv[3]);
    seconds = atoi(argv[4]);
    nshared = argc > 5 ? atoi(argv[5]) : 1;
    if (is_batched) {
        shared = calloc((size_t)nshared, sizeof(*shared));
        for (i = 0; i < nshared; i++) {
            shared[i].conn = connect_prepared();
            pthread_mutex_init(&shared[i].lock, NULL);
            if (!PQenterPipelineMode(shared[i].conn)) {
                fprintf(stderr, "pipeline mode refused\n");
                return 1;
            }
        }
    }
    t = calloc((size_t)n, sizeof(*t));
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++) {
        pthread_create(&t[i], NULL, is_batched ? batched : blocking,
                       (void *)(size_t)(i + 1));
    }
    {
        struct timespec d = {seconds, 0};
        nanosleep(&d, NULL);
    }
    stop = 1;
    for (i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%s, %d threads%s: %.0f queries/s\n", argv[2], n,
           is_batched ? (nshared > 1 ? ", several connections"
                                     : ", one connection") : "",
           done_total / ((double)(b.tv_sec - a.tv_sec)
                         + (b.tv_nsec - a.tv_nsec) / 1e9));
    return 0;
}
