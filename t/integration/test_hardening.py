"""Regressions of the hardening issue: requests that crashed a child,
answered a wrong type or let client text into headers, on both drivers.
Each test failed on the code before its fix."""

import os

import pytest
import requests

from expected import P1, P3, assert_problem
from harness import raw_http


def get(api, query, headers=None, path="/api/products"):
    return requests.get(api.url + path + "?" + query, headers=headers or {})


def test_limit_zero_is_an_empty_page_not_a_crash(fresh):
    # the last-page Link divided by the limit: SIGFPE killed the child
    r = get(fresh, "limit=0&offset=1")
    assert r.status_code == 206
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/3"
    assert "Link" not in r.headers
    r = get(fresh, "limit=0", {"Prefer": "count=exact"})
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/3"
    assert r.headers["Preference-Applied"] == "count=exact"
    assert "Link" not in r.headers
    r = get(fresh, "limit=0")
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/*"
    # the child that answered is still there: a last page still works
    r = get(fresh, "limit=2&offset=2", {"Prefer": "count=exact"})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "2-2/3"


def test_huge_limit_offset_and_range_cannot_overflow(fresh):
    big = "9223372036854775807"
    r = get(fresh, "offset=" + big)
    assert_problem(r, 400, "Bad Request", "offset must be at most "
                   "9007199254740992, not '%s'" % big)
    r = get(fresh, "limit=" + big)
    assert_problem(r, 400, "Bad Request", "limit must be at most "
                   "9007199254740992, not '%s'" % big)
    r = get(fresh, "limit=9007199254740992&offset=9007199254740992",
            {"Prefer": "count=exact"})
    assert_problem(r, 416, "Requested Range Not Satisfiable",
                   "offset 9007199254740992 is past the 3 rows")
    # an out-of-range Range is ignored, as an unparsable one is
    r = requests.get(fresh.url + "/api/products",
                     headers={"Range": "0-" + big})
    assert r.status_code == 200
    assert len(r.json()) == 3


def test_link_cannot_be_injected_through_the_query(fresh):
    q = 'limit=1&name=neq.x>;rel="evil";x=<http://evil.example/'
    r = get(fresh, q)
    assert r.status_code == 200
    assert [p["id"] for p in r.json()] == [1]
    base = ("/api/products?name=neq.x%3E%3Brel%3D%22evil%22%3Bx%3D%3C"
            "http:%2F%2Fevil.example%2F&")
    assert r.headers["Link"] == (
        '<%slimit=1&offset=0>; rel="first", '
        '<%slimit=1&offset=1>; rel="next"' % (base, base))
    assert sorted(r.links) == ["first", "next"]
    # the encoded links are the same query: following one gives page 2
    r = requests.get(fresh.url + r.links["next"]["url"])
    assert [p["id"] for p in r.json()] == [2]
    # encoded limit/offset parameters are replaced, not repeated
    r = get(fresh, "%6Cimit=1&order=id.desc&select=id,name")
    assert r.headers["Link"] == (
        '</api/products?order=id.desc&select=id,name&limit=1&offset=0>; '
        'rel="first", </api/products?order=id.desc&select=id,name&limit=1'
        '&offset=1>; rel="next"')


def test_integer_zero_one_columns_take_is_true_on_sqlite(fresh):
    r = get(fresh, "stock=is.true&select=id")
    if fresh.driver == "sqlite":
        assert r.status_code == 200, r.text
        assert r.json() == [{"id": 1}, {"id": 3}]
        r = get(fresh, "stock=is.false&select=id")
        assert r.json() == [{"id": 2}]
        r = get(fresh, "stock=not.is.true&select=id")
        assert r.json() == [{"id": 2}]
    else:
        # PostgreSQL has no IS TRUE on an integer
        assert_problem(r, 400, "Bad Request", "is.true needs a boolean "
                       "column; stock is not one")
    # text is never a boolean
    r = get(fresh, "name=is.true")
    assert_problem(r, 400, "Bad Request", "is.true needs a boolean column; "
                   "name is not one")


OBJ = {"Accept": "application/vnd.pgrst.object+json"}
OBJ_TYPE = "application/vnd.pgrst.object+json"


def test_single_object_answers_in_its_own_media_type(fresh):
    r = get(fresh, "id=eq.1", OBJ)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json() == P1
    r = requests.get(fresh.url + "/api/products/3", headers=OBJ)
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json() == P3
    r = requests.patch(fresh.url + "/api/products?id=eq.1",
                       json={"stock": 11},
                       headers=dict(OBJ, Prefer="return=representation"))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json() == dict(P1, stock=11)
    r = requests.post(fresh.url + "/api/products", json={"name": "kettle"},
                      headers=OBJ)
    assert r.status_code == 201
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json()["name"] == "kettle"
    # without it, plain JSON
    r = get(fresh, "id=eq.1")
    assert r.headers["Content-Type"] == "application/json"
    # its failures are problems
    r = get(fresh, "id=gt.0", OBJ)
    assert_problem(r, 406, "Not Acceptable", "application/vnd.pgrst.object"
                   "+json needs exactly one row; several matched")


def raw(api, data):
    return raw_http(api.httpd.port, data)


def test_chunked_body_over_limit_request_body_is_a_problem(fresh):
    # httpd's input filter found the limit and sent its own HTML page
    def chunks():
        yield b'{"name": "x", "note": "'
        for _ in range(10):
            yield b"y" * 50
        yield b'"}'
    r = requests.post(fresh.url + "/limited/products", data=chunks(),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "Request Entity Too Large",
                   "the request body is larger than 100 bytes")
    # PATCH and PUT too, and the item is unchanged
    for method in ("PATCH", "PUT"):
        r = requests.request(method, fresh.url + "/limited/products/1",
                             data=chunks(),
                             headers={"Content-Type": "application/json"})
        assert_problem(r, 413, "Request Entity Too Large",
                       "the request body is larger than 100 bytes")
    assert requests.get(fresh.url + "/api/products/1").json() == P1
    assert fresh.db.value("SELECT count(*) FROM products") == 3
    # a small chunked body still goes through
    r = requests.post(fresh.url + "/limited/products",
                      data=iter([b'{"name": ', b'"ok"}']),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    assert r.json()["name"] == "ok"


def test_broken_chunked_body_is_a_problem(fresh):
    status, headers, body = raw(
        fresh, b"POST /api/products HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\n{\"nam\r\nzz\r\n")
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["Content-Type"] == "application/problem+json"
    import json
    assert json.loads(body) == {
        "type": "about:blank", "title": "Bad Request", "status": 400,
        "detail": "the request body could not be read"}
    assert fresh.db.value("SELECT count(*) FROM products") == 3


def _wait_generation(h, n):
    import time
    for _ in range(300):
        if h.log_text().count("AH00489") >= n:
            return
        time.sleep(0.05)
    raise AssertionError("no generation %d:\n%s" % (n, h.log_text()))


def test_graceful_restarts_with_another_module_set_under_load():
    """The SQLite auto-extension pointed into the unloaded mapping of the
    module: a graceful restart that changed the module set killed the
    parent (segfault, nothing in error.log).  Four restarts, adding and
    removing modules, while clients read and write: every request is
    answered and the parent is the same process."""
    import threading
    import time
    from conftest import API_CONF, make_db, reset
    from harness import LIBEXEC, Httpd
    db = make_db("sqlite", None, "graceful_modules")
    db.script("PRAGMA journal_mode = WAL;")
    reset(db)
    h = Httpd(API_CONF, db).start_ok()
    base = open(h.conf).read()
    sets = [["rewrite"], ["rewrite", "alias"], [], ["alias"]]
    failures, answered = [], [0]
    stop = threading.Event()

    def load(k):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 5 == 0:
                    r = requests.post(h.url + "/api/tags",
                                      json={"code": "t%d-%d" % (k, n),
                                            "label": "x"}, timeout=10)
                    ok = r.status_code == 201
                else:
                    r = requests.get(h.url + "/api/products?id=eq.1",
                                     timeout=10)
                    ok = r.status_code == 200 and r.json()[0]["id"] == 1
                if not ok:
                    failures.append((r.status_code, r.text))
                answered[0] += 1
            except requests.RequestException as e:
                failures.append(repr(e))
    threads = [threading.Thread(target=load, args=(k,)) for k in range(3)]
    for _ in range(100):
        parent = h.pid()
        if parent:
            break
        time.sleep(0.05)
    try:
        for t in threads:
            t.start()
        for gen, mods in enumerate(sets):
            # loaded before mod_backend, so that it maps elsewhere
            with open(h.conf, "w") as f:
                f.write(base.replace("LoadModule backend_module", "".join(
                    'LoadModule %s_module "%s/mod_%s.so"\n' % (m, LIBEXEC, m)
                    for m in mods) + "LoadModule backend_module"))
            assert h._ctl("-k", "graceful").returncode == 0
            _wait_generation(h, gen + 2)
            time.sleep(0.5)
            assert h.pid() == parent
            r = requests.get(h.url + "/api/products?id=eq.2", timeout=10)
            assert r.status_code == 200, (gen, r.text)
    finally:
        stop.set()
        for t in threads:
            t.join()
        h.stop()
        db.close()
    assert failures == []
    assert answered[0] > 20
    dead = [l for l in h.log_text().splitlines()
            if "exit signal" in l or "AH00052" in l]
    assert dead == [], dead


FOREIGN_CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    DBDriver sqlite3
    DBDParams "{foreign}"
    <Location /secret>
        AuthType Basic
        AuthName foreign
        AuthBasicProvider dbd
        # the password only when the connection is as SQLite opened it
        AuthDBDUserPWQuery "SELECT pw FROM users WHERE name = %s AND \
(SELECT foreign_keys FROM pragma_foreign_keys) = 0 AND \
(SELECT synchronous FROM pragma_synchronous) = 2"
        Require valid-user
    </Location>
</VirtualHost>
"""


def test_sqlite_databases_of_other_modules_keep_their_settings():
    """Foreign keys and synchronous=NORMAL were forced on every SQLite
    connection of the process: mod_authn_dbd's connection to a database
    of its own (WAL) must see SQLite's defaults, while mod_backend's
    still enforce foreign keys."""
    import base64
    import hashlib
    import sqlite3
    from conftest import API_CONF, make_db, reset
    from harness import LIBEXEC, Httpd, free_port, give_to_run_user, \
        make_tmpdir
    db = make_db("sqlite", None, "ours")
    db.script("PRAGMA journal_mode = WAL;")
    reset(db)
    where = make_tmpdir("mb-foreign-")
    foreign = os.path.join(where, "foreign.db")
    c = sqlite3.connect(foreign)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("CREATE TABLE users (name TEXT PRIMARY KEY, pw TEXT)")
    c.execute("INSERT INTO users VALUES ('ann', ?)", (
        "{SHA}" + base64.b64encode(hashlib.sha1(b"pw1").digest()).decode(),))
    c.commit()
    c.close()
    give_to_run_user(where)
    for f in os.listdir(where):
        give_to_run_user(os.path.join(where, f))
    port = free_port()
    h = Httpd(API_CONF + FOREIGN_CONF.format(
        libexec=LIBEXEC, port=port, foreign=foreign), db).start_ok()
    try:
        r = requests.get("http://127.0.0.1:%d/secret/" % port,
                         auth=("ann", "pw1"))
        assert r.status_code == 404, (r.status_code, h.log_text())
        r = requests.get("http://127.0.0.1:%d/secret/" % port,
                         auth=("ann", "wrong"))
        assert r.status_code == 401
        # ours: a product in a category that does not exist is refused
        r = requests.post(h.url + "/api/products",
                          json={"name": "x", "category_id": 999})
        assert r.status_code == 409, r.text
    finally:
        h.stop()
        db.close()


def test_errors_name_the_resource_not_the_table(fresh):
    # items is the table products under another name: the table behind a
    # resource is never named to a client
    r = get(fresh, "zzz=eq.1", path="/api/items")
    assert_problem(r, 400, "Bad Request",
                   "filter: 'zzz' is not a column of items")
    r = get(fresh, "select=id,zzz", path="/api/items")
    assert_problem(r, 400, "Bad Request",
                   "select: 'zzz' is not a column of items")
    r = get(fresh, "order=zzz", path="/api/items")
    assert_problem(r, 400, "Bad Request",
                   "order: 'zzz' is not a column of items")
    r = requests.post(fresh.url + "/api/items?columns=name,zzz",
                      json={"name": "x"})
    assert_problem(r, 400, "Bad Request",
                   "columns: 'zzz' is not a column of items")


def test_on_conflict_on_a_column_that_is_not_unique(fresh):
    # the database refuses the statement: a client's mistake, not a 500
    r = requests.post(fresh.url + "/api/products?on_conflict=name",
                      headers={"Prefer": "resolution=merge-duplicates"},
                      json={"name": "hammer", "stock": 9})
    assert_problem(r, 400, "Bad Request",
                   "on_conflict: (name) is not a primary key or unique "
                   "constraint of products")
    r = requests.post(fresh.url + "/api/items?on_conflict=name,stock",
                      headers={"Prefer": "resolution=ignore-duplicates"},
                      json=[{"name": "hammer", "stock": 9}])
    assert_problem(r, 400, "Bad Request",
                   "on_conflict: (name,stock) is not a primary key or "
                   "unique constraint of items")
    assert fresh.db.value("SELECT count(*) FROM products") == 3
    # a unique column is a conflict target
    r = requests.post(fresh.url + "/api/products?on_conflict=sku",
                      headers={"Prefer": "resolution=merge-duplicates"},
                      json={"name": "hammer2", "sku": "H-1"})
    assert r.status_code == 201, r.text


@pytest.mark.allow_log("BE00080")
def test_a_column_dropped_under_the_running_server(driver, request):
    """SQLite read a dropped column's quoted name as a string (every row
    showed 'extra' as its value, a filter on it matched everything);
    PostgreSQL answered 500.  Now 503 and the log says why, and a
    graceful restart reads the schema again."""
    from conftest import make_db
    from harness import Httpd
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg, "dropped")
    db.script("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, "
              "extra TEXT); INSERT INTO notes VALUES (1, 'a', 'x'), "
              "(2, 'b', 'y');")
    h = Httpd("<Location /api>\n SetHandler backend\n"
              " BackendResource notes\n</Location>\n", db).start_ok()
    try:
        r = requests.get(h.url + "/api/notes?order=id")
        assert r.json()[0] == {"id": 1, "body": "a", "extra": "x"}
        db.script("ALTER TABLE notes DROP COLUMN extra;")
        for q in ("order=id", "extra=eq.nothing", "select=id,extra",
                  "id=eq.1"):
            for _ in range(3):  # every connection of the pool
                r = requests.get(h.url + "/api/notes?" + q)
                assert_problem(r, 503, "Service Unavailable",
                               "the database's schema changed since the "
                               "server read it; retry later")
                assert r.headers["Retry-After"]
        r = requests.patch(h.url + "/api/notes/1", json={"body": "c"})
        assert r.status_code == 503
        r = requests.post(h.url + "/api/notes", json={"id": 3, "body": "d"})
        assert r.status_code == 503, r.text
        assert db.value("SELECT count(*) FROM notes") == 2
        assert db.value("SELECT body FROM notes WHERE id = 1") == "a"
        assert "BE00080" in h.log_text()
        n = h.log_text().count("AH00489")
        assert h._ctl("-k", "graceful").returncode == 0
        import time
        for _ in range(200):
            if h.log_text().count("AH00489") > n:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        r = requests.get(h.url + "/api/notes?order=id")
        assert r.status_code == 200, r.text
        assert r.json() == [{"id": 1, "body": "a"}, {"id": 2, "body": "b"}]
    finally:
        h.stop()
        db.close()


def test_select_with_thousands_of_columns(fresh):
    # SQLite answered 500 (too many result columns), PostgreSQL an object
    # with 2000 members named id
    r = get(fresh, "select=" + ",".join(["id"] * 2000))
    assert_problem(r, 400, "Bad Request", "select: 'id' is named twice")
    r = get(fresh, "select=" + ",".join("c%d:id" % i for i in range(300)))
    assert_problem(r, 400, "Bad Request",
                   "select names more than 256 columns")
    r = get(fresh, "select=" + ",".join(["name"] * 3))
    assert_problem(r, 400, "Bad Request", "select: 'name' is named twice")
    r = get(fresh, "select=id,id:name")
    assert_problem(r, 400, "Bad Request", "select: 'id' is named twice")
    r = get(fresh, "order=" + ",".join(["id"] * 300))
    assert_problem(r, 400, "Bad Request",
                   "order names more than 256 columns")
    r = requests.post(fresh.url + "/api/products?columns=" +
                      ",".join(["name"] * 300), json={"name": "x"})
    assert_problem(r, 400, "Bad Request",
                   "columns names more than 256 columns")
    assert fresh.db.value("SELECT count(*) FROM products") == 3
    r = get(fresh, "select=" + ",".join(["id"] * 1) + ",n:name&id=eq.1")
    assert r.json() == [{"id": 1, "n": "hammer"}]


def test_an_encoded_slash_in_a_key_is_a_problem(fresh):
    # httpd refuses %2F before any module runs (AllowEncodedSlashes Off):
    # its HTML 404 became the resource's problem
    for method in ("GET", "PATCH", "DELETE"):
        r = requests.request(method, fresh.url + "/api/products/a%2Fb",
                             json={"name": "x"} if method == "PATCH"
                             else None)
        assert_problem(r, 404, "Not Found", "products: a key in the path "
                       "cannot hold an encoded slash (%2F)")
    assert fresh.db.value("SELECT count(*) FROM products") == 3


def test_invalid_utf8_in_the_query_is_400(fresh):
    # SQLite answered 200 [] (the bytes matched nothing), PostgreSQL 400
    for q in ("name=eq.%C0%AF", "name=like.%ED%A0%80*", "n%FFame=eq.x",
              "select=%F4%90%80%80", "or=(name.eq.%80)"):
        r = get(fresh, q)
        assert_problem(r, 400, "Bad Request",
                       "a query parameter is not valid UTF-8")
    r = get(fresh, "name=eq.%C3%A9t%C3%A9")  # valid: été
    assert r.status_code == 200 and r.json() == []
