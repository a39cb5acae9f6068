"""BackendResponseCache: a read answered from the child's memory until the
next commit to its database, by anyone: this child, the other child,
another httpd on the same file, another program.  Never a stale row,
never another user's answer, the same bytes and headers as without the
cache; 304 from the cache; refused on PostgreSQL and on a SQLite
database that is not in WAL mode (apachectl -t names the directive)."""

import sqlite3
import threading
import time

import pytest
import requests

from conftest import TokenSite
from harness import LIBEXEC, Database, Httpd, assert_refused, raw_http

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL,
                    owner TEXT);
INSERT INTO notes (id, body, owner) VALUES (1, 'one', 'ada'),
                                         (2, 'two', 'bob');
"""

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule slotmem_shm_module "{libexec}/mod_slotmem_shm.so"
LoadModule rewrite_module "{libexec}/mod_rewrite.so"
RewriteEngine On
RewriteCond %{{HTTP:X-Tenant}} ^(\\w+)$
RewriteRule ^/rw/notes$ /rw/notes?owner=eq.%1 [PT]
<Location /metrics>
    SetHandler backend-metrics
</Location>
<Location /api>
    SetHandler backend
    BackendResource notes
    BackendResponseCache On
    BackendMaxBody 100
</Location>
<Location /plain>
    SetHandler backend
    BackendResource notes
</Location>
<Location /tenant>
    SetHandler backend
    BackendResource notes
    BackendRule notes read "owner = :header.X-Tenant"
    BackendResponseCache On
</Location>
<Location /rw>
    SetHandler backend
    BackendResource notes
    BackendResponseCache On
</Location>
<Location /staff>
    SetHandler backend
    BackendResource notes
    BackendResponseCache On
    BackendMaxRows 1
    <If "%{{HTTP:X-Staff}} == 'yes'">
        BackendMaxRows 1000
    </If>
</Location>
<Location /mine>
    SetHandler backend
    BackendResource notes owner=owner
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendResponseCache On
</Location>
"""

# the headers an answer carries that do not depend on the moment
SAME = ("Content-Type", "Content-Length", "ETag", "Cache-Control", "Vary",
        "Content-Range", "Preference-Applied")


@pytest.fixture(scope="module")
def site():
    s = TokenSite("sqlite", None, "rcache", SCHEMA, CONF)
    yield s
    s.close()


def kept_reads(site, path, n=6):
    """n GETs on one keep-alive connection (both children answer some
    over several connections): the answers, as (status, headers, body)."""
    out = []
    for _ in range(n):
        with requests.Session() as s:
            r = s.get(site.url + path)
            out.append((r.status_code, {h: r.headers.get(h) for h in SAME},
                        r.content))
    return out


@pytest.mark.parametrize("path", [
    "/notes/1", "/notes?order=id.desc", "/notes?select=body&id=eq.2",
    "/notes?limit=1&offset=1", "/notes?id=eq.1&select=id,body"])
def test_the_same_answer_as_without_the_cache(site, path):
    plain = requests.get(site.url + "/plain" + path)
    assert plain.status_code == 200
    want = {h: plain.headers.get(h) for h in SAME}
    for status, headers, body in kept_reads(site, "/api" + path):
        assert status == 200
        assert headers == want
        assert body == plain.content


def cache_counts(site):
    """(hits, misses) of backend_response_cache_total"""
    text = requests.get(site.url + "/metrics").text
    got = {}
    for line in text.splitlines():
        if line.startswith("backend_response_cache_total{"):
            got[line.split('"')[1]] = int(line.split()[-1])
    return got.get("hit", 0), got.get("miss", 0)


def test_reads_are_answered_from_memory(site):
    """A read kept by a child is not read again: at most one miss per
    child (two), then hits; after a commit, a miss again."""
    hits, misses = cache_counts(site)
    for _ in range(12):
        with requests.Session() as s:
            assert s.get(site.url + "/api/notes?select=id&order=id").json() \
                == [{"id": 1}, {"id": 2}]
    h2, m2 = cache_counts(site)
    assert m2 - misses in (1, 2) and h2 - hits == 12 - (m2 - misses)
    # (a commit that changes nothing writes nothing: SQLite skips it)
    site.db.script("UPDATE notes SET body = body || '!' WHERE id = 1;"
                   "UPDATE notes SET body = rtrim(body, '!') WHERE id = 1")
    with requests.Session() as s:
        assert s.get(site.url + "/api/notes?select=id&order=id").json() \
            == [{"id": 1}, {"id": 2}]
    assert cache_counts(site) == (h2, m2 + 1)
    with requests.Session() as s:
        s.get(site.url + "/api/notes?select=id&order=id")
    assert cache_counts(site)[1] in (m2 + 1, m2 + 2)


def test_prefer_and_accept_are_part_of_the_key(site):
    s = requests.Session()
    a = s.get(site.url + "/api/notes")
    b = s.get(site.url + "/api/notes", headers={"Prefer": "count=exact"})
    c = s.get(site.url + "/api/notes?id=eq.1", headers={
        "Accept": "application/vnd.pgrst.object+json"})
    for _ in range(3):
        assert s.get(site.url + "/api/notes").headers.get(
            "Content-Range") == a.headers.get("Content-Range") == "0-1/*"
        again = s.get(site.url + "/api/notes",
                      headers={"Prefer": "count=exact"})
        assert again.headers["Content-Range"] == \
            b.headers["Content-Range"] == "0-1/2"
        obj = s.get(site.url + "/api/notes?id=eq.1", headers={
            "Accept": "application/vnd.pgrst.object+json"})
        assert obj.json() == c.json() == {"id": 1, "body": "one",
                                          "owner": "ada"}
        assert obj.headers["Content-Type"].startswith(
            "application/vnd.pgrst.object+json")


def test_304_and_head_from_the_cache(site):
    s = requests.Session()
    first = s.get(site.url + "/api/notes/2")
    tag = first.headers["ETag"]
    for _ in range(4):
        r = s.get(site.url + "/api/notes/2", headers={"If-None-Match": tag})
        assert r.status_code == 304 and r.content == b""
        assert r.headers["ETag"] == tag
        h = s.head(site.url + "/api/notes/2")
        assert h.status_code == 200 and h.content == b""
        assert h.headers["Content-Length"] == str(len(first.content))
        assert h.headers["ETag"] == tag


def test_a_write_through_the_api_is_read_at_once(site):
    """Each write through the other location (either child) is seen by
    the next read, on every connection."""
    s = requests.Session()
    for i in range(40):
        w = s.patch(site.url + "/plain/notes/1", json={"body": "v%d" % i})
        assert w.status_code == 200, w.text
        for _ in range(2):
            with requests.Session() as fresh:
                assert fresh.get(site.url + "/api/notes/1").json()[
                    "body"] == "v%d" % i
        assert s.get(site.url + "/api/notes?id=eq.1").json()[0][
            "body"] == "v%d" % i


def test_a_write_by_another_program_is_read_at_once(site):
    """sqlite3 in this process writes the file; httpd's next read has it,
    whichever child answers, while other clients keep reading."""
    db = sqlite3.connect(site.db.path, isolation_level=None, timeout=10)
    stop = threading.Event()
    seen_errors = []

    def readers():
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(site.url + "/api/notes/2")
                if r.status_code != 200:
                    seen_errors.append(r.text)

    threads = [threading.Thread(target=readers) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        s = requests.Session()
        for i in range(150):
            db.execute("UPDATE notes SET body = ? WHERE id = 2",
                       ("p%d" % i,))
            for _ in range(2):
                assert s.get(site.url + "/api/notes/2").json()[
                    "body"] == "p%d" % i
            assert requests.get(site.url + "/api/notes?id=eq.2").json()[
                0]["body"] == "p%d" % i
    finally:
        stop.set()
        for t in threads:
            t.join()
        db.close()
    assert seen_errors == []


def test_a_write_by_another_httpd_is_read_at_once(site):
    other = Httpd(CONF.format(libexec=LIBEXEC, hs=site.keys.hs),
                  site.db).start_ok()
    try:
        for i in range(30):
            w = requests.patch(other.url + "/plain/notes/2",
                               json={"body": "h%d" % i})
            assert w.status_code == 200, w.text
            assert requests.get(site.url + "/api/notes/2").json()[
                "body"] == "h%d" % i
            assert requests.get(other.url + "/api/notes/2").json()[
                "body"] == "h%d" % i
    finally:
        other.destroy()


def test_never_another_users_answer(site):
    ada = site.auth("ada")
    bob = site.auth("bob")
    for _ in range(4):
        assert [n["id"] for n in requests.get(
            site.url + "/mine/notes", headers=ada).json()] == [1]
        assert [n["id"] for n in requests.get(
            site.url + "/mine/notes", headers=bob).json()] == [2]
        assert requests.get(site.url + "/mine/notes/1",
                            headers=bob).status_code == 404
        assert requests.get(site.url + "/mine/notes/1",
                            headers=ada).status_code == 200
        # no token: authentication still runs before the cache
        r = requests.get(site.url + "/mine/notes")
        assert r.status_code == 401
        assert r.headers["Content-Type"] == "application/problem+json"


def bodies(site, path, n=8, **kw):
    """what n GETs on fresh connections (both children) answered"""
    out = set()
    for _ in range(n):
        with requests.Session() as s:
            r = s.get(site.url + path, **kw)
            assert r.status_code == 200, r.text
            out.add(r.content)
    return out


ADA = b'[{"id":1,"body":"one","owner":"ada"}]'
BOB = b'[{"id":2,"body":"two","owner":"bob"}]'


@pytest.mark.parametrize("where", [
    "/tenant",  # a BackendRule reads the header: it is part of the key
    "/rw",      # mod_rewrite puts it in the query: the key is the URI after
])
def test_one_tenant_never_gets_anothers_answer(site, where):
    site.db.script("UPDATE notes SET body = 'one' WHERE id = 1;"
                   "UPDATE notes SET body = 'two' WHERE id = 2")
    for _ in range(3):
        assert bodies(site, where + "/notes", 4,
                      headers={"X-Tenant": "ada"}) == {ADA}
        assert bodies(site, where + "/notes", 4,
                      headers={"X-Tenant": "bob"}) == {BOB}


def test_a_location_with_if_is_not_cached(site):
    for _ in range(3):
        assert bodies(site, "/staff/notes?select=id", 4,
                      headers={"X-Staff": "yes"}) == {b'[{"id":1},{"id":2}]'}
        assert bodies(site, "/staff/notes?select=id", 4) == {b'[{"id":1}]'}


def test_a_failed_write_is_not_answered_from_the_cache(site):
    """A chunked body httpd cannot read comes back to the resource as an
    internal GET (the error's answer): a 400, not the kept collection."""
    bodies(site, "/api/notes", 6)
    for _ in range(6):
        # (the Host of the GETs above: the key has it)
        status, headers, _ = raw_http(
            site.httpd.port,
            b"POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: application/json\r\nAccept: */*\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n"
            b"\r\n10\r\n[{\"body\":\"xx\"}]\r\nZZ\r\n\r\n" % site.httpd.port)
        assert status.startswith("HTTP/1.1 400 "), status
        assert headers["Content-Type"] == "application/problem+json"
    assert site.db.value("SELECT count(*) FROM notes") == 2


ROLES = """
PRAGMA journal_mode = WAL;
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL,
                    owner TEXT);
INSERT INTO notes (id, body, owner) VALUES (1, 'one', 'ada'),
                                         (2, 'two', 'bob'), (3, 'c', 'carol');
CREATE TABLE user_roles (username TEXT, role TEXT);
INSERT INTO user_roles VALUES ('carol', 'user');
"""

ROLES_CONF = """
<Location /rr>
    SetHandler backend
    BackendResource notes owner=owner
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    BackendRoleQuery "SELECT role FROM user_roles WHERE username = :user"
    BackendOwnerBypass admin
    Require backend-role user admin
    BackendResponseCache On
</Location>
"""


def test_a_revoked_role_is_not_kept():
    """Roles read from the database before the answer was made: the
    answer is kept under the database as it was before they were read, so
    once the role is revoked no later request gets what it allowed (the
    answer made with it is kept under an older state, which the revoke
    changed).  Another program grants and revokes in a loop while
    readers compare."""
    site = TokenSite("sqlite", None, "rcache_roles", ROLES, ROLES_CONF)
    db = sqlite3.connect(site.db.path, isolation_level=None, timeout=30,
                         check_same_thread=False)
    auth = site.auth("carol")
    state = [("revoked", 0)]
    stop = threading.Event()
    bad, seen = [], {"admin": 0, "user": 0}

    def writer():
        v = 0
        while not stop.is_set():
            v += 1
            state[0] = ("granting", v)
            db.execute("INSERT INTO user_roles VALUES ('carol', 'admin')")
            time.sleep(0.003)
            db.execute("DELETE FROM user_roles WHERE role = 'admin'")
            state[0] = ("revoked", v)
            time.sleep(0.03)

    def reader():
        with requests.Session() as s:
            while not stop.is_set():
                before = state[0]
                r = s.get(site.url + "/rr/notes?select=id", headers=auth)
                after = state[0]
                ids = [x["id"] for x in r.json()]
                seen["admin" if len(ids) == 3 else "user"] += 1
                if before == after and before[0] == "revoked" \
                        and ids != [3]:
                    bad.append((before, ids))

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader) for _ in range(12)]
    try:
        for t in threads:
            t.start()
        time.sleep(12)
    finally:
        stop.set()
        for t in threads:
            t.join()
        db.close()
        site.close()
    assert bad == []
    assert seen["admin"] > 0 and seen["user"] > 0


def test_errors_are_not_kept(site):
    for _ in range(3):
        r = requests.get(site.url + "/api/notes?nope=eq.1")
        assert r.status_code == 400
        assert r.headers["Content-Type"] == "application/problem+json"
        assert requests.get(site.url + "/api/notes/999").status_code == 404


CACHED = """
<Location /api>
    SetHandler backend
    BackendResource notes
    BackendResponseCache On
</Location>
"""
# the directive on the outer location, the resource on a nested one
NESTED = """
<Location /api>
    BackendResponseCache On
</Location>
<Location /api/v1>
    SetHandler backend
    BackendResource notes
</Location>
"""


@pytest.mark.parametrize("driver,conf,message", [
    ("pgsql", CACHED, "BackendResponseCache ("),
    ("pgsql", CACHED, "notes is on PostgreSQL"),
    ("sqlite", CACHED, "is not in WAL mode"),
    ("sqlite", NESTED, "is not in WAL mode"),
])
def test_refused_where_commits_cannot_be_seen(request, driver, conf,
                                              message):
    """PostgreSQL, and SQLite in another journal mode than WAL: apachectl
    -t and a start fail naming the directive."""
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = Database(driver, pg, "rcache_refused")
    db.script("CREATE TABLE notes (id %s PRIMARY KEY, body TEXT)" % (
        "serial" if pg else "INTEGER"))
    try:
        assert_refused(conf, db, message, start=True)
    finally:
        db.close()


@pytest.mark.parametrize("value", ["0", "-1", "lots", "65537"])
def test_size_refused(value):
    db = Database("sqlite", name="rcache_size")
    db.script(SCHEMA)
    try:
        assert_refused("BackendResponseCacheSize %s\n" % value, db,
                       "BackendResponseCacheSize: a number of megabytes")
    finally:
        db.close()
