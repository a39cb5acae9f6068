"""A database that cannot be reached answers 503 with Retry-After, and the
API recovers by itself when the database is back."""

import os
import threading
import time

import pytest
import requests

from conftest import make_db, reset
from expected import JSON, P1, assert_problem
from harness import LIBEXEC, Httpd, Postgres, bcrypt, make_tmpdir
import tokens

CONF = """
DBDPersist {persist}
<Location /api>
    SetHandler backend
    BackendResource products
</Location>
"""
DETAIL = "the database is unavailable; retry later"
# what mod_dbd and mod_backend log while the database is away
OUTAGE_TAGS = ("BE00011", "BE00030", "AH00629", "AH00630", "AH00632",
               "AH00633", "AH00634", "AH00635", "AH00636", "AH00637",
               "AH00623", "AH00624", "AH00625", "AH00626")


def assert_unavailable(r):
    assert_problem(r, 503, "Service Unavailable", DETAIL)
    assert r.headers["Retry-After"] == "5"


def eventually_ok(url, tries=40, method="GET", want=200, **kw):
    """Asks again while the answer is 503 (any other error fails); the
    first `want`, or the last 503."""
    r = None
    for _ in range(tries):
        r = requests.request(method, url, **kw)
        if r.status_code == want:
            return r
        assert_unavailable(r)
        time.sleep(0.25)
    return r


@pytest.fixture(scope="module")
def own_pg():
    server = Postgres()
    yield server
    server.destroy()


@pytest.mark.allow_log(*OUTAGE_TAGS)
def test_pgsql_going_away_is_503_then_recovers(own_pg):
    db = make_db("pgsql", own_pg, "outage")
    reset(db)
    h = Httpd(CONF.format(persist="On"), db).start_ok()
    try:
        assert requests.get(h.url + "/api/products/1").json() == P1
        own_pg.stop()
        try:
            assert_unavailable(requests.get(h.url + "/api/products/1"))
            assert_unavailable(requests.post(h.url + "/api/products",
                                             json={"name": "x"}))
            assert_unavailable(requests.get(h.url + "/api/products"))
        finally:
            own_pg.start()
        r = eventually_ok(h.url + "/api/products/1")
        assert r.status_code == 200 and r.json() == P1
        # statements prepared before the restart are prepared again (a
        # child whose pooled connection went stale without a request during
        # the outage answers 503 once, as in any restart)
        r = eventually_ok(h.url + "/api/products", method="POST", want=201,
                          json={"name": "after"})
        assert r.status_code == 201
    finally:
        h.destroy()


@pytest.mark.allow_log(*OUTAGE_TAGS)
def test_pgsql_backends_ended_under_load_answer_503_or_their_row(own_pg):
    """The statements of concurrent requests share connections in batches.
    When PostgreSQL ends the backends of httpd's connections in the middle
    of the load, each request answers its own row or 503 (problem+json),
    never another request's row nor a 500; then its row again."""
    db = make_db("pgsql", own_pg, "ended")
    reset(db)
    h = Httpd(CONF.format(persist="On"), db).start_ok()
    stop = threading.Event()
    answers, bad = [], []

    def client(n):
        s = requests.Session()
        i = 1 + n % 3
        while not stop.is_set():
            r = s.get(h.url + "/api/products/%d" % i)
            if r.status_code == 200 and r.json()["id"] == i:
                answers.append(200)
            elif r.status_code == 503 and r.headers["Content-Type"] == \
                    "application/problem+json":
                answers.append(503)
            else:
                bad.append("%d: %d %s" % (i, r.status_code, r.text[:120]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    try:
        for t in threads:
            t.start()
        for _ in range(3):
            time.sleep(0.4)
            db.script("SELECT pg_terminate_backend(pid) FROM "
                      "pg_stat_activity WHERE datname = current_database() "
                      "AND pid <> pg_backend_pid()")
        time.sleep(0.4)
    finally:
        stop.set()
        for t in threads:
            t.join()
    try:
        assert bad == []
        assert 503 in answers and 200 in answers
        for i in (1, 2, 3):
            r = eventually_ok(h.url + "/api/products/%d" % i)
            assert r.status_code == 200 and r.json()["id"] == i
    finally:
        h.destroy()


@pytest.mark.allow_log(*OUTAGE_TAGS)
def test_pgsql_down_at_startup_reads_schema_later(own_pg):
    db = make_db("pgsql", own_pg, "late")
    reset(db)
    db.close()
    own_pg.stop()
    h = Httpd(CONF.format(persist="On"), db)
    try:
        res = h.start()
        assert res.returncode == 0, res.stdout + h.log_text()
        assert "BE00002" in h.log_text()
        assert_unavailable(requests.get(h.url + "/api/products/1"))
        own_pg.start()
        r = eventually_ok(h.url + "/api/products/1")
        assert r.status_code == 200 and r.json() == P1
    finally:
        own_pg.start()
        h.destroy()


@pytest.mark.allow_log(*OUTAGE_TAGS)
def test_sqlite_unreachable_is_503_then_recovers():
    db = make_db("sqlite", None, "outage")
    reset(db)
    h = Httpd(CONF.format(persist="Off"), db).start_ok()
    try:
        assert requests.get(h.url + "/api/products/1").json() == P1
        os.chmod(db.dir, 0)
        try:
            assert_unavailable(requests.get(h.url + "/api/products/1"))
            assert_unavailable(requests.patch(h.url + "/api/products/1",
                                              json={"stock": 1}))
        finally:
            os.chmod(db.dir, 0o755)
        r = eventually_ok(h.url + "/api/products/1")
        assert r.json() == P1
    finally:
        h.destroy()
        db.close()


def test_sqlite_write_lock_held_elsewhere():
    """Another process holding SQLite's write lock: a write waits for it
    (and says how long in the log), and after 5 s gives up with 503,
    having changed nothing."""
    import sqlite3
    import threading
    db = make_db("sqlite", None, "locked")
    reset(db)
    h = Httpd(CONF.format(persist="On"), db).start_ok()
    other = sqlite3.connect(db.path, isolation_level=None,
                            check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        threading.Timer(0.3, other.execute, ("COMMIT",)).start()
        r = requests.post(h.url + "/api/products", json={"name": "waited"})
        assert r.status_code == 201, r.text
        waits = [l for l in h.log_text().splitlines() if "BE00058" in l]
        assert len(waits) == 1, waits
        ms = int(waits[0].split("waited ")[1].split(" ms")[0])
        assert 200 <= ms < 5000, waits[0]
        assert "another connection's lock: INSERT INTO \"products\" " \
            "(\"name\") VALUES (?1) RETURNING" in waits[0]

        before = db.value("SELECT count(*) FROM products")
        other.execute("BEGIN IMMEDIATE")
        try:
            r = requests.post(h.url + "/api/products", json={"name": "late"})
        finally:
            other.execute("ROLLBACK")
        assert_unavailable(r)
        assert db.value("SELECT count(*) FROM products") == before
        r = requests.get(h.url + "/api/products?name=eq.late")
        assert r.status_code == 200 and r.json() == []
    finally:
        other.close()
        h.destroy()
        db.close()


def test_sqlite_queued_writes_give_up_within_the_same_5_s():
    """While another program holds SQLite's write lock, writes queued
    behind the first one do not wait 5 s each once their turn comes: every
    write answers 503 within 5 s of asking (in whichever child), and none
    is stored."""
    import sqlite3
    db = make_db("sqlite", None, "queued")
    reset(db)
    h = Httpd(CONF.format(persist="On"), db).start_ok()
    other = sqlite3.connect(db.path, isolation_level=None,
                            check_same_thread=False)
    answers = {}

    def write(i):
        answers[i] = requests.post(h.url + "/api/products",
                                   json={"name": "queued-%d" % i},
                                   headers={"Connection": "close"})

    writes = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    try:
        before = db.value("SELECT count(*) FROM products")
        other.execute("BEGIN IMMEDIATE")
        try:
            until = time.monotonic() + 9
            for t in writes:
                t.start()
                time.sleep(0.1)
            # one after another, the last would answer after 20 s
            for t in writes:
                t.join(max(0, until - time.monotonic()))
            assert [t.is_alive() for t in writes] == [False] * 4
        finally:
            other.execute("ROLLBACK")
        for i in range(4):
            assert_unavailable(answers[i])
        assert db.value("SELECT count(*) FROM products") == before
        r = requests.post(h.url + "/api/products", json={"name": "after"})
        assert r.status_code == 201, r.text
    finally:
        for t in writes:
            t.join()
        other.close()
        h.destroy()
        db.close()


SECOND_FILE = """
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    DBDriver sqlite3
    DBDParams "{path}"
    DBDPersist On
    <Location /api>
        SetHandler backend
        BackendResource products
    </Location>
</VirtualHost>
"""


def test_sqlite_writes_to_another_file_do_not_wait():
    """The writers' turns are per database file: while a write to one file
    waits for another program's lock (holding that file's turn), writes
    to a second file of the same server, in every child, are answered at
    once; then the first one is stored too."""
    import sqlite3
    from harness import free_port
    a = make_db("sqlite", None, "turn-a")
    reset(a)
    b = make_db("sqlite", None, "turn-b")
    reset(b)
    port = free_port()
    h = Httpd(CONF.format(persist="On")
              + SECOND_FILE.format(port=port, path=b.path), a).start_ok()
    other = sqlite3.connect(a.path, isolation_level=None,
                            check_same_thread=False)
    answers = {}
    waiting = threading.Thread(target=lambda: answers.update(
        a=requests.post(h.url + "/api/products", json={"name": "held"})))
    try:
        other.execute("BEGIN IMMEDIATE")
        try:
            waiting.start()
            time.sleep(0.5)  # the write to a.db has its turn and waits
            for i in range(8):
                # a new connection each: the children take turns answering
                r = requests.post("http://127.0.0.1:%d/api/products" % port,
                                  json={"name": "b%d" % i},
                                  headers={"Connection": "close"})
                assert r.status_code == 201, r.text
                assert r.json()["name"] == "b%d" % i
            # (without a turn per file, the writes to b.db waited for the
            # one to a.db to give up, 5 s, and it had answered 503)
            assert waiting.is_alive()
        finally:
            other.execute("ROLLBACK")
        waiting.join()
        assert answers["a"].status_code == 201, answers["a"].text
        assert a.value("SELECT count(*) FROM products WHERE name = 'held'") \
            == 1
        assert b.value("SELECT count(*) FROM products "
                       "WHERE name LIKE 'b_'") == 8
    finally:
        other.close()
        h.destroy()
        a.close()
        b.close()


def test_sqlite_wal_checkpointed_off_the_request_path():
    """On a WAL database, requests never checkpoint (no commit waits for a
    copy and an fsync); a thread of each child does, within about 100 ms:
    a row written through the API reaches the database file itself, not
    only the WAL, though the WAL is far below SQLite's own 1000 pages."""
    db = make_db("sqlite", None, "wal")
    db.script("PRAGMA journal_mode = WAL;")
    reset(db)
    h = Httpd(CONF.format(persist="On"), db).start_ok()
    marker = "checkpointed-%d" % os.getpid()
    try:
        with open(db.path, "rb") as f:
            assert marker.encode() not in f.read()
        r = requests.post(h.url + "/api/products", json={"name": marker})
        assert r.status_code == 201, r.text
        with open(db.path + "-wal", "rb") as f:
            assert marker.encode() in f.read()
        found = False
        for _ in range(40):
            time.sleep(0.05)
            with open(db.path, "rb") as f:
                if marker.encode() in f.read():
                    found = True
                    break
        assert found, "the row is still only in the WAL after 2 s"
    finally:
        h.destroy()
        db.close()


@pytest.mark.allow_log(*OUTAGE_TAGS)
def test_sqlite_disk_full_is_503_loses_nothing_then_recovers():
    """The disk holding a WAL database fills up: a write answers 503 and
    leaves nothing behind; once there is room again writes succeed (the
    connection that does the process's writes is opened again)."""
    import subprocess
    from conftest import read
    from harness import Database, give_to_run_user
    d = make_tmpdir("mb-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", d],
                   check=True)
    h = db = None
    try:
        give_to_run_user(d)
        db = Database("sqlite", None, "full", dir=d)
        db.script("PRAGMA journal_mode = WAL;" + read("schema_sqlite.sql"))
        reset(db)
        h = Httpd(CONF.format(persist="On"), db).start_ok()
        r = requests.post(h.url + "/api/products", json={"name": "small"})
        assert r.status_code == 201, r.text
        filler = os.path.join(d, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        big = {"name": "big", "note": "x" * 600000}
        assert_unavailable(requests.post(h.url + "/api/products", json=big))
        r = requests.get(h.url + "/api/products?select=name&order=id")
        assert r.json() == [{"name": n} for n in
                            ("hammer", "saw", "kite", "small")]
        os.unlink(filler)
        r = requests.post(h.url + "/api/products", json=big)
        assert r.status_code == 201, r.text
        r = requests.get(h.url + "/api/products?name=eq.big&select=note")
        assert r.json() == [{"note": big["note"]}]
    finally:
        if h:
            h.destroy()
        if db:
            db.close()
        subprocess.run(["umount", d], check=True)


TOKEN_CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule socache_shmcb_module "{libexec}/mod_socache_shmcb.so"
DBDPersist {persist}
BackendAuthnCacheSOCache "shmcb:{dir}/authn(65536)"
<Location /token>
    SetHandler backend-token
    BackendTokenKey hs256 {key}
    BackendRoleQuery "SELECT role FROM user_roles WHERE username = :user"
    AuthType Basic
    AuthName tokens
    AuthBasicProvider backend-cache
    BackendAuthnCache dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
"""


@pytest.mark.allow_log(*OUTAGE_TAGS, "BE00041")
@pytest.mark.parametrize("driver", ["sqlite", "pgsql"])
def test_token_roles_while_the_database_is_away_is_503(driver, own_pg):
    """The password is still known to backend-cache, but the roles cannot
    be read: 503 with Retry-After (not 500), and tokens again once the
    database is back."""
    db = make_db(driver, own_pg if driver == "pgsql" else None, "tokenout")
    db.script("CREATE TABLE users (name TEXT PRIMARY KEY, password_hash "
              "TEXT NOT NULL); CREATE TABLE user_roles (username TEXT NOT "
              "NULL, role TEXT NOT NULL); INSERT INTO users VALUES ('ann', "
              "'%s'); INSERT INTO user_roles VALUES ('ann', 'editor');"
              % bcrypt("secret"))
    keys = tokens.Keys(make_tmpdir("mb-keys-"))
    cache = make_tmpdir("mb-socache-")
    os.chmod(cache, 0o777)
    h = Httpd(TOKEN_CONF.format(
        libexec=LIBEXEC, key=keys.hs, dir=cache,
        persist="Off" if driver == "sqlite" else "On"), db).start_ok()
    url = h.url + "/token"
    try:
        r = requests.post(url, auth=("ann", "secret"))
        assert r.status_code == 200, r.text
        if driver == "sqlite":
            os.chmod(db.dir, 0)
        else:
            own_pg.stop()
        try:
            r = requests.post(url, auth=("ann", "secret"))
            assert_unavailable(r)
        finally:
            if driver == "sqlite":
                os.chmod(db.dir, 0o755)
            else:
                own_pg.start()
        r = eventually_ok(url, method="POST", auth=("ann", "secret"))
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "Bearer"
    finally:
        h.destroy()
        db.close()
