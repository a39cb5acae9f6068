/* BackendCPUAffinity On: each child process keeps to one CPU.
 *
 * A child of the event MPM is one process of many threads: a listener
 * that hands each readable connection to a worker through a queue, and
 * workers that share the child's pools, mutexes and pooled connections.
 * Left to the kernel, a child's threads run on every CPU, so each
 * hand-off wakes a thread on another CPU and the child's shared memory
 * moves between caches.  With one child per CPU, each kept to its own,
 * a request stays on the CPU that took its connection (docs/tuning.md
 * has the measurements and says when to use it).
 *
 * The child in scoreboard slot N takes the (N mod count)th CPU of the set
 * httpd was allowed (taskset, systemd's CPUAffinity=), so a child started
 * in a freed slot takes the CPU its predecessor had.  Set at child_init,
 * before the MPM starts the child's threads, and on the threads that
 * other modules' child_init started already. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#endif
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <scoreboard.h>
#include <apr_strings.h>
#include <apr_time.h>

#ifdef __linux__
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#endif

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

static int affinity;      /* BackendCPUAffinity */
static int batch_workers; /* BackendBatchWorkers */

const char *be_affinity_set(cmd_parms *cmd, void *d, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)d;
    if (err) {
        return err;
    }
#ifndef __linux__
    if (on) {
        return "BackendCPUAffinity: not supported on this system";
    }
#endif
    affinity = on;
    return NULL;
}

void be_affinity_pre_config(void)
{
    affinity = 0;
    batch_workers = 0;
}

/* BackendBatchWorkers On: the threads that answer requests run under
 * SCHED_BATCH, and the child's other threads (the event MPM's listener)
 * under the default policy.  Under SCHED_BATCH a woken thread does not
 * preempt the one running, so a worker half-way through a request
 * finishes it first and requests end in about the order they came; but
 * the listener, woken by a readable connection, then waits for every
 * runnable worker before it hands the next request out, and the slowest
 * requests wait for it (docs/tuning.md has the measurements).  The
 * child's threads start under the default policy (child_init, before the
 * MPM starts them, whatever httpd was started under), and each thread
 * takes SCHED_BATCH as it meets its first request (create_request). */
const char *be_batch_workers_set(cmd_parms *cmd, void *d, int on)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)d;
    if (err) {
        return err;
    }
#if !defined(__linux__) || !defined(SCHED_BATCH)
    if (on) {
        return "BackendBatchWorkers: not supported on this system";
    }
#endif
    batch_workers = on;
    return NULL;
}

#ifdef __linux__
/* this child's scoreboard slot: the parent records a child's pid right
 * after fork(), so the child may look before it is there */
static int my_slot(void)
{
    apr_proc_t me;
    int slot, waited;

    me.pid = getpid();
    for (waited = 0; waited < 1000; waited++) {
        if ((slot = ap_find_child_by_pid(&me)) >= 0) {
            return slot;
        }
        apr_sleep(apr_time_from_msec(1));
    }
    return -1;
}

/* the nth CPU of set (from 0), or -1 */
static int nth_cpu(const cpu_set_t *set, int n)
{
    int cpu;

    for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, set) && n-- == 0) {
            return cpu;
        }
    }
    return -1;
}

/* Calls each(tid, arg) for every thread of this process (without /proc:
 * for the calling thread, 0); a thread that ended meanwhile is no
 * failure.  0 or the first errno. */
static int each_thread(int (*each)(pid_t tid, const void *arg),
                       const void *arg)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int failed = 0;

    if (!d) {
        return each(0, arg) ? errno : 0;
    }
    while ((e = readdir(d))) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (tid > 0 && !*end && each((pid_t)tid, arg) != 0 && errno != ESRCH
            && !failed) {
            failed = errno;
        }
    }
    closedir(d);
    return failed;
}

static int keep_to(pid_t tid, const void *set)
{
    return sched_setaffinity(tid, sizeof(cpu_set_t), set);
}

/* every thread of this process to set: threads inherit the mask of the
 * thread that creates them, but some may exist already */
static int keep_threads_to(const cpu_set_t *set)
{
    return each_thread(keep_to, set);
}
#endif

#if defined(__linux__) && defined(SCHED_BATCH)
static int to_default(pid_t tid, const void *arg)
{
    struct sched_param none = {0};

    (void)arg;
    return sched_getscheduler(tid) == SCHED_BATCH
        ? sched_setscheduler(tid, SCHED_OTHER, &none)
        : 0;
}

/* every thread of this process under the default policy (those that
 * run under SCHED_BATCH; real-time and idle ones are left alone) */
static int threads_to_default(void)
{
    return each_thread(to_default, NULL);
}

static _Thread_local int batched; /* this thread met BackendBatchWorkers */
static int batch_failed;          /* said once per child */

int be_batch_create_request(request_rec *r)
{
    struct sched_param none = {0};

    if (!batch_workers || batched) {
        return OK;
    }
    batched = 1;
    if (sched_getscheduler(0) == SCHED_OTHER
        && sched_setscheduler(0, SCHED_BATCH, &none) != 0
        && !__atomic_exchange_n(&batch_failed, 1, __ATOMIC_RELAXED)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, r->server,
                     "BE00090: BackendBatchWorkers: a thread could not take "
                     "the SCHED_BATCH policy; it keeps its own");
    }
    return OK;
}
#else
int be_batch_create_request(request_rec *r)
{
    (void)r;
    return OK;
}
#endif

void be_affinity_child_init(apr_pool_t *pchild, server_rec *s)
{
#ifdef __linux__
    cpu_set_t allowed, one;
    int slot, cpu, failed;

    (void)pchild;
#ifdef SCHED_BATCH
    batch_failed = 0;
    if (batch_workers && (failed = threads_to_default()) != 0
        && !__atomic_exchange_n(&batch_failed, 1, __ATOMIC_RELAXED)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, failed, s,
                     "BE00090: BackendBatchWorkers: the child's threads "
                     "could not return to the default policy");
    }
#endif
    if (!affinity) {
        return;
    }
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0
        || (slot = my_slot()) < 0
        || (cpu = nth_cpu(&allowed, slot % CPU_COUNT(&allowed))) < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "BE00086: BackendCPUAffinity: this child found no "
                     "scoreboard slot or no CPU; it runs on every CPU");
        return;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if ((failed = keep_threads_to(&one)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, failed, s,
                     "BE00086: BackendCPUAffinity: the child in slot %d "
                     "could not keep to CPU %d; it runs on every CPU",
                     slot, cpu);
        keep_threads_to(&allowed); /* none of its threads half-pinned */
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "BE00088: BackendCPUAffinity: the child in slot %d keeps "
                 "to CPU %d",
                 slot, cpu);
#else
    (void)pchild;
    (void)s;
#endif
}

/* post_config: children fewer than the CPUs leave some of them idle */
void be_affinity_check(apr_pool_t *ptemp, server_rec *s)
{
#ifdef __linux__
    cpu_set_t allowed;
    int children = 0;

    (void)ptemp;
    /* (said once: not in the configuration's first, trial, reading) */
    if (!affinity
        || ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || sched_getaffinity(0, sizeof(allowed), &allowed) != 0
        || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &children) != APR_SUCCESS
        || children <= 0 || children >= CPU_COUNT(&allowed)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "BE00087: BackendCPUAffinity on %d CPUs with room for "
                 "%d child(ren) (ServerLimit, MaxRequestWorkers / "
                 "ThreadsPerChild): only %d CPU(s) get httpd work",
                 CPU_COUNT(&allowed), children, children);
#else
    (void)ptemp;
    (void)s;
#endif
}
