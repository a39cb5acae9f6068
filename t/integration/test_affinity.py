"""BackendCPUAffinity On: each child process, every thread of it, keeps to
one CPU of the set httpd may use, the child in scoreboard slot N to the
(N mod count)th; Off (the default) leaves them on the whole set.  Server
config only (apachectl -t names the directive in a <VirtualHost>); a
warning when there are fewer children than CPUs.

BackendBatchWorkers On: the threads that answer requests run under
SCHED_BATCH, the MPM's listener (and the rest of the child) under the
default policy, whatever httpd was started under; Off leaves the policy
httpd was started under to every thread."""

import os
import time

import pytest
import requests

from harness import Database, Httpd, children_of

SCHEMA = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO notes (id, body) VALUES (1, 'one');
"""

API = """
<Location /api>
    SetHandler backend
    BackendResource notes
</Location>
"""

ALLOWED = sorted(os.sched_getaffinity(0))  # httpd inherits this set


def cpus_of(pid):
    """{thread id: the CPUs it may run on} for every thread of pid"""
    found = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        found[int(tid)] = frozenset(os.sched_getaffinity(int(tid)))
    return found


@pytest.fixture(scope="module")
def db(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    d = Database(driver, pg, "affinity")
    d.script(SCHEMA)
    yield d
    d.close()


def serving(db, extra):
    h = Httpd(extra + API, db).start_ok()
    r = requests.get(h.url + "/api/notes/1")
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 1, "body": "one"}
    return h


def started(h, threads=16):
    """the children's pids once each runs its ThreadsPerChild workers"""
    deadline = time.time() + 10
    while time.time() < deadline:
        kids = children_of(h.pid())
        if len(kids) == 2 and all(len(os.listdir("/proc/%d/task" % k))
                                  > threads for k in kids):
            return kids
        time.sleep(0.05)
    raise AssertionError("the children did not start their threads")


@pytest.mark.skipif(len(ALLOWED) < 2, reason="needs two CPUs")
def test_each_child_keeps_to_one_cpu(db):
    h = serving(db, "BackendCPUAffinity On\n")
    try:
        kids = started(h)
        held = set()
        for pid in kids:
            threads = cpus_of(pid)
            # every thread: those the MPM started after child_init and
            # those mod_backend's child_init started (the checkpointer)
            sets = set(threads.values())
            assert len(sets) == 1, sets
            (one,) = sets
            assert len(one) == 1 and one <= set(ALLOWED), one
            held |= one
        # slots 0 and 1: the first two CPUs of the allowed set
        assert held == set(ALLOWED[:2])
        assert "BE00086" not in h.log_text()
    finally:
        h.destroy()


def test_off_leaves_children_on_every_cpu(db):
    h = serving(db, "")
    try:
        for pid in started(h):
            assert set(cpus_of(pid).values()) == {frozenset(ALLOWED)}
    finally:
        h.destroy()


@pytest.mark.skipif(len(ALLOWED) < 2, reason="needs two CPUs")
def test_fewer_children_than_cpus_is_warned(db):
    h = serving(db, "BackendCPUAffinity On\nStartServers 1\nServerLimit 1\n"
                "MaxRequestWorkers 16\n")
    try:
        assert ("BE00087: BackendCPUAffinity on %d CPUs with room for "
                "1 child(ren) (ServerLimit, MaxRequestWorkers / "
                "ThreadsPerChild): only 1 CPU(s) get httpd work"
                % len(ALLOWED)) in h.log_text()
        (kid,) = children_of(h.pid())
        assert set(cpus_of(kid).values()) == {frozenset(ALLOWED[:1])}
    finally:
        h.destroy()


@pytest.mark.parametrize("directive", ["BackendCPUAffinity",
                                       "BackendBatchWorkers"])
def test_not_in_a_virtual_host(db, directive):
    h = Httpd("<VirtualHost 127.0.0.1:1>\n%s On\n</VirtualHost>\n"
              % directive + API, db)
    try:
        t = h.configtest()
        assert t.returncode != 0, t.stdout
        assert "%s cannot occur within <VirtualHost> section" % directive \
            in t.stdout, t.stdout
    finally:
        h.destroy()


def in_epoll(task):
    """whether the thread at /proc/PID/task/TID sleeps in epoll_wait: the
    kernel function it sleeps in (any architecture), else the number of
    its system call (x86-64: epoll_wait, epoll_pwait)"""
    with open(task + "/wchan") as f:
        wchan = f.read().strip()
    if wchan not in ("", "0"):
        return "epoll" in wchan or wchan == "ep_poll"
    with open(task + "/syscall") as f:
        return f.read().split(" ")[0] in ("232", "281")


def policies(pid):
    """{thread id: (scheduling policy, whether it waits in epoll_wait)}"""
    found = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        found[int(tid)] = (os.sched_getscheduler(int(tid)),
                           in_epoll("/proc/%d/task/%s" % (pid, tid)))
    return found


def listener_of(pid):
    """(the thread of pid that waits in epoll: the MPM's listener, which
    wakes now and then, so looked for again until seen), its threads"""
    for _ in range(100):
        threads = policies(pid)
        waiting = [t for t, (_, epoll) in threads.items() if epoll]
        if len(waiting) == 1:
            return waiting[0], threads
        time.sleep(0.02)
    raise AssertionError("no one thread in epoll_wait: %r" % threads)


def batch_site(db, extra):
    h = Httpd(extra + API, db)
    h.prefix = ["chrt", "--batch", "0"]
    h.start_ok()
    kids = started(h)
    for _ in range(40):
        # a new connection each: both children, many threads answer
        r = requests.get(h.url + "/api/notes/1",
                         headers={"Connection": "close"})
        assert r.status_code == 200 and r.json() == {"id": 1, "body": "one"}
    return h, kids


def test_batch_workers_leave_the_listener_to_the_default_policy(db):
    h, kids = batch_site(db, "BackendBatchWorkers On\n")
    try:
        batch = 0
        for pid in kids:
            listener, threads = listener_of(pid)
            assert threads[listener][0] == os.SCHED_OTHER
            assert threads[pid][0] == os.SCHED_OTHER  # the main thread
            assert {p for p, _ in threads.values()} <= {os.SCHED_OTHER,
                                                        os.SCHED_BATCH}
            batch += sum(p == os.SCHED_BATCH for p, _ in threads.values())
        # the threads that answered the 40 requests
        assert 1 <= batch <= 40
        assert "BE00090" not in h.log_text()
    finally:
        h.destroy()


def test_batch_workers_off_leaves_the_policy_alone(db):
    h, kids = batch_site(db, "")
    try:
        for pid in kids:
            assert {p for p, _ in policies(pid).values()} == \
                {os.SCHED_BATCH}
    finally:
        h.destroy()
