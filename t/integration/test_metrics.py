"""SetHandler backend-metrics on both drivers: the Prometheus text
exposition of every child's counters (shared memory through
mod_slotmem_shm), checked by promtool (Prometheus' own linter); requests
by resource, method and status class, a latency histogram, database time,
pool acquisitions, the token and password caches, log lines by tag; the
same counters in mod_status's server-status; refused without
mod_slotmem_shm."""

import os
import re
import subprocess
import time

import pytest
import requests

from conftest import TokenSite, site_per_driver
from expected import assert_problem
from test_hostile import PAYLOADS
from harness import (LIBEXEC, Database, Httpd, assert_refused, bcrypt,
                     give_to_run_user, make_tmpdir)

SCHEMA = """
CREATE TABLE users (name TEXT NOT NULL PRIMARY KEY,
                    password_hash TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO notes (id, body) VALUES (1, 'a');
"""

CONF = """
LoadModule slotmem_shm_module "{libexec}/mod_slotmem_shm.so"
LoadModule status_module "{libexec}/mod_status.so"
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule socache_shmcb_module "{libexec}/mod_socache_shmcb.so"
BackendAuthnCacheSOCache "shmcb:{dir}/authn(65536)"
LogFormat "%{{backend-resource}}n %{{backend-db-us}}n %{{backend-rows}}n %>s %U" backend
CustomLog "{dir}/backend.log" backend
<Location /api>
    SetHandler backend
    BackendResource notes
    BackendFunction double x:int "SELECT :x * 2 AS y"
</Location>
<Location /private>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
</Location>
<Location /basic>
    SetHandler backend
    BackendResource notes
    AuthType Basic
    AuthName metrics
    AuthBasicProvider backend-cache
    BackendAuthnCache dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
<Location /metrics>
    SetHandler backend-metrics
</Location>
<Location /server-status>
    SetHandler server-status
</Location>
"""


class Site(TokenSite):
    def __init__(self, driver, pg):
        self.dir = make_tmpdir("mb-metrics-")
        give_to_run_user(self.dir)
        super().__init__(driver, pg, "metrics", SCHEMA, CONF, dir=self.dir)
        self.db.script("INSERT INTO users VALUES ('ann', '%s')"
                       % bcrypt("pw"))


site = site_per_driver(Site)


def scrape(site):
    """site: anything with a url (a Site, an Httpd)."""
    r = requests.get(site.url + "/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == \
        "text/plain; version=0.0.4; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-store"
    return r.text


def value(text, name, labels=""):
    """The sample `name{labels}` of the exposition (0 when absent)."""
    key = name + ("{%s}" % labels if labels else "")
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split(" ")[1])
    return 0.0


def test_promtool_accepts_it(site):
    requests.get(site.url + "/api/notes")
    text = scrape(site)
    res = subprocess.run(["promtool", "check", "metrics"], input=text,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    assert res.returncode == 0, res.stdout
    # every family is announced once, with its type
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    assert dict(types) == {
        "backend_requests_total": "counter",
        "backend_request_duration_seconds": "histogram",
        "backend_db_seconds_total": "counter",
        "backend_pool_acquires_total": "counter",
        "backend_pool_acquire_seconds_total": "counter",
        "backend_pool_waits_total": "counter",
        "backend_sqlite_busy_total": "counter",
        "backend_sqlite_lock_waits_total": "counter",
        "backend_sqlite_lock_wait_seconds_total": "counter",
        "backend_token_cache_total": "counter",
        "backend_authn_cache_total": "counter",
        "backend_response_cache_total": "counter",
        "backend_log_messages_total": "counter",
    }
    assert len(types) == 13


def test_requests_counted_over_all_children(site):
    before = scrape(site)
    notes = 'resource="/api/notes",method="GET",code="2xx"'
    missing = 'resource="/api/notes",method="GET",code="4xx"'
    posts = 'resource="/api/notes",method="POST",code="4xx"'
    fn = 'resource="/api/rpc/double",method="GET",code="2xx"'
    # a new connection each: both children answer
    for _ in range(10):
        assert requests.get(site.url + "/api/notes",
                            headers={"Connection": "close"}).status_code \
            == 200
    for _ in range(3):
        assert requests.get(site.url + "/api/notes/99").status_code == 404
    r = requests.post(site.url + "/api/notes", data="{",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = requests.get(site.url + "/api/rpc/double?x=4")
    assert r.json() == [{"y": 8}]
    after = scrape(site)

    def grew(name, labels):
        return value(after, name, labels) - value(before, name, labels)

    assert grew("backend_requests_total", notes) == 10
    assert grew("backend_requests_total", missing) == 3
    assert grew("backend_requests_total", posts) == 1
    assert grew("backend_requests_total", fn) == 1
    count = 'resource="/api/notes"'
    assert grew("backend_request_duration_seconds_count", count) == 14
    assert grew("backend_request_duration_seconds_bucket",
                'resource="/api/notes",le="+Inf"') == 14
    assert grew("backend_request_duration_seconds_sum", count) > 0
    assert grew("backend_db_seconds_total", count) > 0
    # the buckets never decrease and end at the count
    buckets = [value(after, "backend_request_duration_seconds_bucket",
                     'resource="/api/notes",le="%s"' % le)
               for le in ("0.0005", "0.001", "0.0025", "0.005", "0.01",
                          "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
                          "+Inf")]
    assert buckets == sorted(buckets)
    assert buckets[-1] == value(after,
                                "backend_request_duration_seconds_count",
                                count)
    assert grew("backend_pool_acquires_total", "") >= 11


WRITERS = """
LoadModule slotmem_shm_module "{libexec}/mod_slotmem_shm.so"
LogFormat "%%P %%m" pids
CustomLog "{dir}/pids.log" pids
%s
<Location /api>
    SetHandler backend
    BackendResource notes
</Location>
<Location /metrics>
    SetHandler backend-metrics
</Location>
"""


def test_writers_of_every_child_take_turns(driver, request):
    """Concurrent writes through both children: every one lands, and, on
    a WAL database, none meets another connection's lock in SQLite (the
    children's writers take turns on a lock of the server's, Mutex
    backend-sqlite-write, instead of polling in SQLite's busy handler).
    A program writing beside httpd is met, and counted."""
    import sqlite3
    import threading
    from concurrent.futures import ThreadPoolExecutor

    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = Database(driver, pg, "metrics_writers")
    if driver == "sqlite":
        db.script("PRAGMA journal_mode=WAL")
    db.script(SCHEMA)
    logs = make_tmpdir("mb-writers-")
    give_to_run_user(logs)
    h = Httpd(WRITERS.format(libexec=LIBEXEC, dir=logs) % "", db).start_ok()

    def writer(n):
        s = requests.Session()
        codes = []
        for i in range(25):
            # a new connection now and then, so that both children write
            codes.append(s.post(h.url + "/api/notes",
                                json={"id": 1000 + 25 * n + i,
                                      "body": "w%d-%d" % (n, i)},
                                headers={"Connection": "close"} if i % 5 == 0
                                else {}).status_code)
        return codes

    def busy(text):
        return value(text, "backend_sqlite_busy_total")

    try:
        before = scrape(h)
        with ThreadPoolExecutor(12) as ex:
            codes = [c for cs in ex.map(writer, range(12)) for c in cs]
        assert codes == [201] * 300
        assert db.value("SELECT count(*) FROM notes") == 301
        after = scrape(h)
        assert busy(after) == busy(before)
        # both children wrote
        with open(os.path.join(logs, "pids.log")) as f:
            writers = {line.split()[0] for line in f
                       if line.split()[1] == "POST"}
        assert len(writers) == 2, writers
        if driver != "sqlite":
            return
        other = sqlite3.connect(db.path, isolation_level=None,
                                check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            threading.Timer(0.3, other.execute, ("COMMIT",)).start()
            r = requests.post(h.url + "/api/notes",
                              json={"id": 999, "body": "late"})
            assert r.status_code == 201, r.text
        finally:
            other.close()
        last = scrape(h)
        assert busy(last) == 1
        # over 10 ms: a stall too
        assert value(last, "backend_sqlite_lock_waits_total") == 1
        assert value(last, "backend_sqlite_lock_wait_seconds_total") >= 0.2
    finally:
        h.destroy()
        db.close()


def test_writers_mutex_that_cannot_be_made(driver, request):
    """Mutex backend-sqlite-write in a directory that does not exist:
    httpd does not start, and says which mutex; a site without SQLite
    makes none."""
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = Database(driver, pg, "metrics_mutex")
    db.script(SCHEMA)
    # a directory httpd's check accepts, where no file can be made
    logs = make_tmpdir("mb-writers-")
    give_to_run_user(logs)
    h = Httpd(WRITERS.format(libexec=LIBEXEC, dir=logs)
              % "Mutex fcntl:/proc backend-sqlite-write", db)
    try:
        assert h.configtest().returncode == 0
        s = h.start()
        if driver == "sqlite":
            assert s.returncode != 0
            assert "BE00089: cannot create the SQLite writers' mutex " \
                "(Mutex backend-sqlite-write)" in s.stdout + h.log_text()
        else:
            assert s.returncode == 0, s.stdout
            assert requests.get(h.url + "/api/notes/1").json() == \
                {"id": 1, "body": "a"}
    finally:
        h.destroy()
        db.close()


def test_token_and_password_caches(site):
    before = scrape(site)
    auth = site.auth("ann")
    for _ in range(3):
        assert requests.get(site.url + "/private/notes",
                            headers=auth).status_code == 200
    for _ in range(3):
        assert requests.get(site.url + "/basic/notes",
                            auth=("ann", "pw")).status_code == 200
    after = scrape(site)

    def grew(name, labels):
        return value(after, name, labels) - value(before, name, labels)

    # each child verifies the signature once, then remembers it
    assert grew("backend_token_cache_total", 'result="hit"') \
        + grew("backend_token_cache_total", 'result="miss"') == 3
    assert 1 <= grew("backend_token_cache_total", 'result="miss"') <= 2
    # the password cache is shared: one miss, then hits
    assert grew("backend_authn_cache_total", 'result="miss"') == 1
    assert grew("backend_authn_cache_total", 'result="hit"') == 2


@pytest.mark.allow_log("BE00080")
def test_log_lines_by_tag(site):
    tag = 'tag="BE00080"'
    before = value(scrape(site), "backend_log_messages_total", tag)
    # a table gone under the running server: an error line, BE00080
    site.db.script("ALTER TABLE notes RENAME TO notes_gone")
    try:
        for _ in range(2):
            assert requests.get(site.url + "/api/notes").status_code == 503
    finally:
        site.db.script("ALTER TABLE notes_gone RENAME TO notes")
    text = scrape(site)
    assert value(text, "backend_log_messages_total", tag) - before == 2
    assert re.findall(r'^backend_log_messages_total\{tag="(BE\d{5})"\} ',
                      text, re.M) == ["BE00080"]


def test_server_status_has_the_counters(site):
    requests.get(site.url + "/api/notes")
    r = requests.get(site.url + "/server-status")
    assert r.status_code == 200
    assert "<h2>mod_backend</h2>" in r.text
    assert "backend_requests_total{resource=&quot;/api/notes&quot;," \
        "method=&quot;GET&quot;,code=&quot;2xx&quot;}" in r.text
    r = requests.get(site.url + "/server-status?auto")
    lines = dict(line.split(": ", 1) for line in r.text.splitlines()
                 if ": " in line)
    assert int(lines["BackendRequests"]) >= 1
    assert float(lines["BackendDBSeconds"]) > 0
    assert "BackendPoolWaits" in lines and "BackendSQLiteLockWaits" in lines


def test_log_format_notes(site):
    requests.get(site.url + "/api/notes?id=eq.1")
    requests.get(site.url + "/api/rpc/double?x=1")
    requests.get(site.url + "/metrics")
    path = os.path.join(site.dir, "backend.log")
    lines = []
    for _ in range(50):
        with open(path) as f:
            lines = f.read().splitlines()
        if lines and lines[-1].endswith(" /metrics"):
            break
        time.sleep(0.05)
    notes, fn, metrics = [line.split(" ") for line in lines[-3:]]
    assert notes[0] == "/api/notes" and notes[2:] == ["1", "200",
                                                      "/api/notes"]
    assert int(notes[1]) > 0
    assert fn[0] == "/api/rpc/double" and fn[2:] == ["1", "200",
                                                     "/api/rpc/double"]
    assert metrics == ["-", "-", "-", "200", "/metrics"]


def test_other_methods(site):
    r = requests.post(site.url + "/metrics")
    assert_problem(r, 405, "Method Not Allowed",
                   "POST is not allowed on /metrics")
    assert r.headers["Allow"] == "GET, HEAD"
    r = requests.head(site.url + "/metrics")
    assert r.status_code == 200 and r.text == ""


def test_needs_mod_slotmem_shm(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = Database(driver, pg, "metrics_noslot")
    db.script(SCHEMA)
    try:
        assert_refused("<Location /metrics>\nSetHandler backend-metrics\n"
                       "</Location>\n", db,
                       "SetHandler backend-metrics needs httpd's shared "
                       "memory slots: LoadModule slotmem_shm_module",
                       start=True)
    finally:
        db.close()


def test_hostile_paths_and_queries(site):
    for p in PAYLOADS:
        q = requests.utils.quote(p, safe="")
        for url in ("/metrics/" + q, "/metrics?" + q):
            r = requests.get(site.url + url)
            if r.status_code == 200:
                assert r.headers["Content-Type"] == \
                    "text/plain; version=0.0.4; charset=utf-8"
                assert r.text.startswith("# HELP backend_requests_total ")
            else:
                # an encoded slash: httpd's own 404 before any handler
                assert r.status_code == 404 and "/" in p, (p, r.status_code)
