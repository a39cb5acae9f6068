"""Hostile requests against every route mod_backend serves, on both drivers:
injection through every input, other users' rows, hidden columns, bad
tokens and bad bodies.  Whatever comes in, the answer is a clear status
(never 500, never a dropped connection), an error is problem+json, no row
changes that should not, and nothing hidden comes out.  On SQLite every
read goes through BackendResponseCache, so none of that may come out of
the cache either.

A new route joins by adding a line to ROUTES (and, when it writes, to
WRITES); each test below then runs against it."""

import json

import pytest
import requests

from conftest import make_db, site_per_driver
from harness import Httpd, bcrypt, make_tmpdir
import tokens

SCHEMA = {
    "sqlite": """
PRAGMA journal_mode = WAL;
CREATE TABLE users (name TEXT NOT NULL PRIMARY KEY,
                    password_hash TEXT NOT NULL, email TEXT);
CREATE TABLE notes (id INTEGER PRIMARY KEY,
                    owner TEXT NOT NULL REFERENCES users (name),
                    body TEXT NOT NULL, tag TEXT UNIQUE);
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                    secret TEXT, qty INTEGER NOT NULL DEFAULT 0);
CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, label TEXT,
                    PRIMARY KEY (a, b));
""",
    "pgsql": """
CREATE TABLE users (name text PRIMARY KEY, password_hash text NOT NULL,
                    email text);
CREATE TABLE notes (id serial PRIMARY KEY,
                    owner text NOT NULL REFERENCES users (name),
                    body text NOT NULL, tag text UNIQUE);
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL,
                    secret text, qty integer NOT NULL DEFAULT 0);
CREATE TABLE pairs (a integer NOT NULL, b integer NOT NULL, label text,
                    PRIMARY KEY (a, b));
CREATE FUNCTION pg_items(q text, most integer DEFAULT 100)
    RETURNS TABLE (id integer, name text, qty integer) LANGUAGE sql STABLE
    AS $$ SELECT i.id, i.name, i.qty FROM items i WHERE i.name LIKE q
          LIMIT most $$;
""",
}
# the response cache (SQLite only)
RCACHE = {"sqlite": "BackendResponseCache On", "pgsql": ""}
# pg_items: the database's own function on PostgreSQL (pg=), the same
# query written in httpd.conf on SQLite
PG_ITEMS = {
    "sqlite": 'BackendFunction pg_items q:text most:int=100 "SELECT id, '
              'name, qty FROM items WHERE name LIKE :q LIMIT :most"',
    "pgsql": "BackendFunction pg_items pg=public.pg_items",
}

CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    {rcache}
    BackendCORS https://app.example credentials
    BackendResource items
    BackendHide items secret
    BackendResource notes owner=owner
    BackendResource people table=users key=name
    BackendResource pairs key=a,b
    BackendHide people password_hash
    BackendFunction find_items q:text \
        "SELECT id, name, qty FROM items WHERE name LIKE :q"
    BackendFunction add_item returns=one name:text qty:int \
        "INSERT INTO items (name, qty) VALUES (:name, :qty) \
         RETURNING id, name, qty"
    {pg_items}
    BackendFunction my_notes \
        "SELECT id, owner, body FROM notes WHERE owner = :user"
    BackendRoute GET /by-name/{{name}} \
        "SELECT id, name, qty FROM items WHERE name = :name"
    BackendRoute POST /by-name/{{name}}/qty returns=one qty:int \
        "UPDATE items SET qty = :qty WHERE name = :name RETURNING id, qty"
</Location>
<Location /api/rpc/my_notes>
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    Require valid-user
</Location>
<Location /api/notes>
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    Require valid-user
</Location>
<Location /api/people>
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    Require valid-user
</Location>
<Location /api/token>
    SetHandler backend-token
    AuthType Basic
    AuthName hostile
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
    BackendTokenKey hs256 {k.hs}
</Location>
"""

# Every route: (name, collection path, an item path, needs a token)
ROUTES = [
    ("items", "/api/items", "/api/items/1", False),
    ("notes", "/api/notes", "/api/notes/1", True),
    ("people", "/api/people", "/api/people/alice", True),
    ("pairs", "/api/pairs", "/api/pairs/1,1", False),
    ("find_items", "/api/rpc/find_items", "/api/rpc/find_items/1", False),
    ("add_item", "/api/rpc/add_item", "/api/rpc/add_item/1", False),
    ("my_notes", "/api/rpc/my_notes", "/api/rpc/my_notes/1", True),
    ("pg_items", "/api/rpc/pg_items", "/api/rpc/pg_items/1", False),
    ("by_name", "/api/by-name/one", "/api/by-name/one/x/y", False),
    ("set_qty", "/api/by-name/one/qty", "/api/by-name/one/qty/1", False),
]
def route(name):
    return next(r for r in ROUTES if r[0] == name)


# Functions and routes have no items: a path under one is 404
FUNCTIONS = {"find_items", "add_item", "my_notes", "pg_items", "by_name",
             "set_qty"}
# What each route's writes look like: a valid body for POST and PATCH
WRITES = {
    "items": ({"name": "new", "qty": 1}, {"qty": 2}),
    "notes": ({"body": "new"}, {"body": "changed"}),
    "people": ({"name": "zed", "password_hash": "x"}, {"email": "e"}),
    "pairs": ({"a": 5, "b": 5, "label": "new"}, {"label": "changed"}),
    "find_items": ({"q": "o%"}, {"q": "x"}),
    "add_item": ({"name": "new", "qty": 1}, {"qty": 2}),
    "my_notes": ({}, {}),
    "pg_items": ({"q": "o%", "most": 1}, {"q": "x"}),
    "by_name": ({}, {}),
    "set_qty": ({"qty": 5}, {"qty": 6}),
}
HIDDEN = {"items": "secret", "people": "password_hash"}
SECRETS = ("s3cr3t-item", "$2y$04$")   # values that must never come out

PAYLOADS = [
    "'", '"', "`", ";", "--", "/*", "\\", "%", "*", "_", "(", ")", ",", ".",
    "' OR '1'='1", "1 OR 1=1", "1; DROP TABLE items; --",
    "x') OR ('1'='1", "\") OR (\"1\"=\"1", "$1", "?1", ":user", "@x",
    "\u00e9\u4e2d\U0001F600", "\x7f", "a" * 3000, "%00", "%ZZ", "%25",
    "eq.1", "not.is.null", "in.(1,2)", "or=(id.eq.1)", "&id=gt.0",
    "id,secret", "password_hash", "rowid", "oid", "ctid", "sqlite_master",
]

# Inputs a client controls, each as a function of a payload returning
# (method, path suffix, query string, headers, body)
INPUTS = {
    "item key": lambda p: ("GET", "/" + requests.utils.quote(p, safe=""),
                           "", {}, None),
    "filter column": lambda p: ("GET", "", q(p, "eq.1"), {}, None),
    "filter value": lambda p: ("GET", "", q("id", "eq." + p), {}, None),
    "like value": lambda p: ("GET", "", q("id", "like." + p), {}, None),
    "in list": lambda p: ("GET", "", q("id", "in.(" + p + ")"), {}, None),
    "or logic": lambda p: ("GET", "", q("or", "(id.eq." + p + ")"), {},
                           None),
    "select": lambda p: ("GET", "", q("select", p), {}, None),
    "embedded name": lambda p: ("GET", "", q("select", "id," + p + "(*)"),
                                {}, None),
    "embedded filter": lambda p: ("GET", "", q("select", "*,notes(*)") + "&"
                                  + q("notes." + p, "eq.1"), {}, None),
    "order": lambda p: ("GET", "", q("order", p), {}, None),
    "limit": lambda p: ("GET", "", q("limit", p), {}, None),
    "offset": lambda p: ("GET", "", q("offset", p), {}, None),
    "Range": lambda p: ("GET", "", "", {"Range": hdr(p)}, None),
    "Prefer": lambda p: ("GET", "", "", {"Prefer": hdr(p)}, None),
    "Accept": lambda p: ("GET", "", "", {"Accept": hdr(p)}, None),
    "columns": lambda p: ("POST", "", q("columns", p), {}, "post"),
    "on_conflict": lambda p: ("POST", "", q("on_conflict", p),
                              {"Prefer": "resolution=merge-duplicates"},
                              "post"),
    "body key": lambda p: ("POST", "", "", {}, {p: "x"}),
    "body value": lambda p: ("POST", "", "", {}, "value:" + p),
    "patch value": lambda p: ("PATCH", "", q("id", "eq." + p), {},
                              "patch:" + p),
    "If-None-Match": lambda p: ("GET", "/1", "", {"If-None-Match": hdr(p)},
                                None),
    "If-Match": lambda p: ("PATCH", "/1", "", {"If-Match": hdr(p)},
                           "patch:" + p),
    # (a bare * is If-Match's "any": that delete would be right)
    "If-Match delete": lambda p: ("DELETE", "/1", "", {
        "If-Match": hdr(p) if p != "*" else '"*"'}, None),
    "Origin": lambda p: ("GET", "", "", {"Origin": hdr(p)}, None),
    "preflight": lambda p: ("OPTIONS", "", "", {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": hdr(p),
        "Access-Control-Request-Headers": hdr(p)}, None),
}


def q(key, value):
    return requests.utils.quote(key, safe="") + "=" + \
        requests.utils.quote(value, safe="")


def hdr(p):
    # header values cannot hold control characters or non-Latin-1
    return p.encode("utf-8").decode("latin-1").replace("\x7f", "x")


class Site:
    def __init__(self, driver, pg):
        from harness import LIBEXEC
        self.driver = driver
        self.db = make_db(driver, pg, "hostile")
        self.db.script(SCHEMA[driver])
        self.keys = tokens.Keys(make_tmpdir("mb-keys-"))
        for name in ("alice", "bob"):
            self.db.script("INSERT INTO users VALUES ('%s', '%s', "
                           "'%s@example.com')" % (name, bcrypt(name), name))
        self.httpd = Httpd(CONF.format(k=self.keys, libexec=LIBEXEC,
                                       pg_items=PG_ITEMS[driver],
                                       rcache=RCACHE[driver]),
                           self.db).start_ok()
        self.url = self.httpd.url

    def reset(self):
        self.db.script(
            "DELETE FROM items; DELETE FROM notes;"
            "INSERT INTO items (id, name, secret, qty) VALUES "
            "(1, 'one', 's3cr3t-item', 1), (2, 'two', 's3cr3t-item', 2);"
            "INSERT INTO notes (id, owner, body, tag) VALUES "
            "(1, 'alice', 'alice note', 'a'), (2, 'bob', 'bob note', 'b');"
            "DELETE FROM pairs; INSERT INTO pairs VALUES (1, 1, 'one'), "
            "(2, 2, 'two');")
        self.db.script("DELETE FROM users WHERE name NOT IN ('alice', 'bob')")
        if self.driver == "pgsql":
            self.db.script("SELECT setval('items_id_seq', 100);"
                           "SELECT setval('notes_id_seq', 100);")

    def token(self, user):
        return tokens.hs256(self.keys.secret, tokens.claims(user))

    def state(self):
        return (self.db.rows("SELECT id, name, secret, qty FROM items "
                             "ORDER BY id"),
                self.db.rows("SELECT id, owner, body, tag FROM notes "
                             "ORDER BY id"),
                self.db.rows("SELECT name, password_hash, email FROM users "
                             "ORDER BY name"),
                self.db.rows("SELECT a, b, label FROM pairs ORDER BY a, b"))

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


@pytest.fixture
def hostile(site):
    site.reset()
    return site


def send(site, route, method, path, query, headers, body, user="alice"):
    name, coll, item, auth = route
    h = dict(headers)
    if auth and user:
        h["Authorization"] = "Bearer " + site.token(user)
    data = None
    if isinstance(body, str):
        post, patch = WRITES[name]
        if body == "post":
            body = post
        elif body.startswith("value:"):
            body = {k: body[6:] for k in post}
        elif body.startswith("patch:"):
            body = {k: body[6:] for k in patch}
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    url = site.url + coll + path + ("?" + query if query else "")
    return requests.request(method, url, headers=h, data=data, timeout=30)


def check_answer(r, route):
    """A clear answer: not a server fault, an error as problem+json, and
    no hidden value in it."""
    assert r.status_code < 500, (r.status_code, r.url, r.text)
    if r.status_code >= 400:
        assert r.headers["Content-Type"] == "application/problem+json", \
            (r.url, r.text)
        p = r.json()
        assert p["status"] == r.status_code
        assert isinstance(p["detail"], str)
    for s in SECRETS:
        assert s not in r.text, (r.url, r.text)
    hidden = HIDDEN.get(route[0])
    if hidden and r.status_code < 300 and r.text:
        assert '"%s"' % hidden not in r.text, (r.url, r.text)


@pytest.mark.parametrize("input_name", sorted(INPUTS))
@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_injection_through_every_input(hostile, route, input_name):
    before = hostile.state()
    wrote = set()
    for p in PAYLOADS:
        method, path, query, headers, body = INPUTS[input_name](p)
        r = send(hostile, route, method, path, query, headers, body)
        check_answer(r, route)
        if method != "GET" and r.status_code < 300:
            wrote.add(p)
    after = hostile.state()
    # the tables are all there, and only writes that succeeded as what
    # they are (a value stored as text) changed anything
    if not wrote:
        assert after == before
    else:
        assert len(after[0]) >= len(before[0]) - 0
        assert hostile.db.value("SELECT count(*) FROM users") >= 2


def test_the_openapi_document_takes_no_input(hostile):
    # whatever the query, Accept or If-None-Match, the same document or a
    # 304, and nothing hidden in it
    want = requests.get(hostile.url + "/api/openapi.json")
    assert want.status_code == 200
    for p in PAYLOADS:
        for path, headers in (
                ("/api/openapi.json?" + q("x", p), {}),
                ("/api/openapi.json", {"If-None-Match": hdr(p)}),
                ("/api/", {"Accept": "application/openapi+json, "
                           + hdr(p)})):
            r = requests.get(hostile.url + path, headers=headers)
            assert r.status_code in (200, 304), (path, r.text)
            if r.status_code == 200:
                assert r.content == want.content
    for s in SECRETS + ("password_hash", '"secret"'):
        assert s not in want.text


def test_other_users_rows(hostile):
    notes = ROUTES[1]
    bob = hostile.token("bob")
    auth = {"Authorization": "Bearer " + bob}
    u = hostile.url + "/api/notes"
    before = hostile.state()
    # bob sees his rows only, whatever he filters on
    for query in ("", "owner=eq.alice", "id=eq.1", "or=(owner.eq.alice)",
                  "select=id,owner&owner=neq.bob", "id=in.(1,2)"):
        r = requests.get(u + "?" + query, headers=auth)
        assert r.status_code == 200, r.text
        assert all(n["owner"] == "bob" for n in r.json()), (query, r.text)
        assert "alice note" not in r.text
    r = requests.get(u, headers=dict(auth, Prefer="count=exact"))
    assert r.headers["Content-Range"] == "0-0/1"
    # alice's row is not there for him, to read or to write
    for method, body in (("GET", None), ("PATCH", {"body": "x"}),
                         ("PUT", {"id": 1, "owner": "bob", "body": "x"}),
                         ("DELETE", None)):
        r = requests.request(method, u + "/1", headers=auth, json=body)
        assert r.status_code == 404, (method, r.text)
        check_answer(r, notes)
    for method, query, body in (("PATCH", "id=eq.1", {"body": "x"}),
                                ("DELETE", "id=eq.1", None),
                                ("PATCH", "owner=eq.alice", {"body": "x"})):
        r = requests.request(method, u + "?" + query, headers=auth, json=body)
        assert r.status_code in (200, 204), r.text
    # he cannot write rows as alice, nor give his row to her
    r = requests.post(u, headers=auth, json={"owner": "alice", "body": "x"})
    assert r.status_code == 403, r.text
    check_answer(r, notes)
    r = requests.patch(u + "/2", headers=auth, json={"owner": "alice"})
    assert r.status_code == 403, r.text
    # an upsert on alice's key does not take her row
    r = requests.post(u, headers=dict(auth, Prefer="resolution=merge-"
                                      "duplicates"),
                      json={"id": 1, "body": "taken"})
    assert r.status_code in (201, 403, 409), r.text
    assert hostile.state() == before


def test_other_users_rows_through_embedding(hostile):
    # people embeds notes (notes.owner refers to users.name): the notes
    # are still only the caller's, however they are asked for
    bob = {"Authorization": "Bearer " + hostile.token("bob")}
    u = hostile.url + "/api/people"
    for query in ("select=name,notes(body,owner)",
                  "select=name,notes(*)&notes.owner=eq.alice",
                  "select=name,notes!inner(body)&notes.owner=eq.alice",
                  "select=name,notes!notes_owner_fkey(*)&notes.or=(owner.eq."
                  "alice,id.eq.1)",
                  "select=name,...notes(body)"):
        r = requests.get(u + "?" + query, headers=bob)
        assert r.status_code in (200, 400), (query, r.text)
        check_answer(r, ROUTES[2])
        assert "alice note" not in r.text, (query, r.text)
        assert "password_hash" not in r.text
    got = requests.get(u + "?select=name,notes(body)&order=name",
                       headers=bob).json()
    assert got == [{"name": "alice", "notes": []},
                   {"name": "bob", "notes": [{"body": "bob note"}]}]
    # and the hidden column of the users behind a note stays hidden
    r = requests.get(hostile.url + "/api/notes?select=id,"
                     "people(password_hash)", headers=bob)
    assert r.status_code == 400, r.text
    check_answer(r, ROUTES[1])


def test_hidden_columns_never_come_out(hostile):
    for name, coll, item, auth in ROUTES:
        hidden = HIDDEN.get(name)
        if not hidden:
            continue
        h = {"Authorization": "Bearer " + hostile.token("alice")} \
            if auth else {}
        route = (name, coll, item, auth)
        for query in ("", "select=*", "select=" + hidden,
                      "select=x:" + hidden, hidden + "=like.*",
                      hidden + "=not.is.null", "order=" + hidden,
                      "or=(%s.eq.s3cr3t-item)" % hidden,
                      "columns=" + hidden):
            r = requests.get(hostile.url + coll + "?" + query, headers=h)
            check_answer(r, route)
            if query and query != "select=*":
                assert r.status_code == 400, (query, r.text)
                assert r.json()["detail"].endswith(
                    "'%s' is not a column of %s" % (hidden, name)), r.text
        r = requests.get(hostile.url + item, headers=h)
        assert r.status_code == 200
        check_answer(r, route)
        # a write cannot set it, and its answer does not show it
        post, patch = WRITES[name]
        r = requests.post(hostile.url + coll, headers=dict(
            h, Prefer="return=representation"),
            json=dict(post, **{hidden: "s3cr3t-item"}))
        check_answer(r, route)
        r = requests.patch(hostile.url + item, headers=h,
                           json={hidden: "s3cr3t-item"})
        assert r.status_code == 422, r.text
        check_answer(r, route)


BAD_TOKENS = [
    "", "x", "a.b", "a.b.c", "a.b.c.d", "....", "." * 5000,
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.AAAA",
    "\u00e9", "Bearer x", "null", "{}", "%00", "' OR '1'='1",
]


@pytest.mark.allow_log("BE00042")
@pytest.mark.parametrize("route", [r for r in ROUTES if r[3]],
                         ids=[r[0] for r in ROUTES if r[3]])
def test_bad_tokens_on_every_protected_route(hostile, route):
    name, coll, item, auth = route
    before = hostile.state()
    k = hostile.keys
    made = [tokens.unsigned(tokens.claims("alice")),
            tokens.hs256(b"another secret of 32 bytes......",
                         tokens.claims("alice")),
            tokens.hs256(k.secret, tokens.claims("alice", ttl=-60)),
            tokens.hs256(k.secret, {"exp": 4102444800})]
    for t in BAD_TOKENS + made:
        for method, path, body in (("GET", coll, None), ("GET", item, None),
                                   ("POST", coll, WRITES[name][0]),
                                   ("PATCH", item, WRITES[name][1]),
                                   ("DELETE", item, None)):
            h = {"Authorization": "Bearer " + hdr(t)}
            r = requests.request(method, hostile.url + path, headers=h,
                                 json=body)
            assert r.status_code == 401, (t, method, path, r.text)
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
            check_answer(r, route)
    for scheme in ("Basic YWxpY2U6YWxpY2U=", "Bearer", "bearer  x", "Digest"):
        r = requests.get(hostile.url + coll,
                         headers={"Authorization": scheme})
        assert r.status_code == 401, (scheme, r.text)
        check_answer(r, route)
    assert hostile.state() == before


BAD_BODIES = [
    b"", b"{", b"}", b"[", b"null", b"1", b"\"x\"", b"true", b"[1]",
    b"[[]]", b"{\"a\":}", b"{'a':1}", b"{\"a\":1,}", b"{\"a\" 1}",
    b"[" * 100 + b"]" * 100, b"{\"a\":" * 40 + b"1" + b"}" * 40,
    b"\xff\xfe{}", b"{\"name\":\"\xc0\xaf\"}", b"{\"name\":\"x\"}\x00",
    b"{\"name\":\"x\"} {}", b"{\"qty\":1e400}", b"{\"qty\":NaN}",
    b"{\"qty\":-99999999999999999999}", b"{\"qty\":\"1\"}",
    b"{\"qty\":[1]}", b"{\"qty\":{\"a\":1}}", b"{\"id\":true}",
    b"{\"name\":null}", b"{\"\":1}", b"{\"a\\u0000b\":1}",
]


@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_bad_bodies_on_every_write(hostile, route):
    name, coll, item, auth = route
    before = hostile.state()
    h = {"Content-Type": "application/json"}
    if auth:
        h["Authorization"] = "Bearer " + hostile.token("alice")
    for body in BAD_BODIES:
        for method, path in (("POST", coll), ("PATCH", item),
                             ("PUT", item), ("PATCH", coll + "?id=eq.1")):
            r = requests.request(method, hostile.url + path, headers=h,
                                 data=body)
            assert r.status_code in (400, 405, 415, 422) or (
                name in FUNCTIONS and r.status_code == 404), \
                (body, method, path, r.status_code, r.text)
            check_answer(r, route)
    for ctype in ("text/plain", "application/x-www-form-urlencoded",
                  "application/json; charset=latin1", ""):
        r = requests.post(hostile.url + coll, headers=dict(
            h, **{"Content-Type": ctype}), data=json.dumps(WRITES[name][0]))
        assert r.status_code in (201, 400, 415, 422) or (
            name in FUNCTIONS and r.status_code in (200, 405)), \
            (ctype, r.text)
        check_answer(r, route)
        if r.status_code in (200, 201):
            hostile.reset()
    assert hostile.state() == before


@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_encoded_slash_without_a_token(hostile, route):
    # httpd refuses %2F before any <Location> (and its auth) applies: the
    # answer is the resource's problem, not an HTML page with a challenge
    name, coll, item, auth = route
    for method in ("GET", "HEAD", "DELETE", "PATCH"):
        r = requests.request(method, hostile.url + coll + "/a%2Fb",
                             json={"x": 1} if method == "PATCH" else None)
        assert r.status_code == 404, (method, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
        assert "WWW-Authenticate" not in r.headers
        if method != "HEAD":
            assert r.json()["detail"] == (
                "no resource at this path" if name in FUNCTIONS else
                "%s: a key in the path cannot hold an encoded slash (%%2F)"
                % name)
    # outside a resource, httpd's own 404 stays
    r = requests.get(hostile.url + "/elsewhere/a%2Fb")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")


def test_functions_see_the_callers_rows_and_take_no_sql(hostile):
    """:user is the caller, whatever the arguments say; an argument is a
    value, never SQL."""
    before = hostile.state()
    u = hostile.url + "/api/rpc/my_notes"
    for user, body in (("bob", "bob note"), ("alice", "alice note")):
        r = requests.post(u, headers={
            "Authorization": "Bearer " + hostile.token(user)},
            json={}, params={"owner": "neq." + user})
        assert r.status_code == 200, r.text
        assert r.json() == []  # a filter narrows the caller's rows only
        r = requests.get(u + "?or=(owner.eq.alice,owner.eq.bob)", headers={
            "Authorization": "Bearer " + hostile.token(user)})
        assert r.status_code == 200, r.text
        assert [n["body"] for n in r.json()] == [body]
    # arguments it does not declare are refused, not bound
    r = requests.post(u, headers={
        "Authorization": "Bearer " + hostile.token("bob")},
        json={"user": "alice"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"field": "user", "message": "is not an argument of this function"}]
    for p in PAYLOADS:
        r = requests.get(hostile.url + "/api/rpc/find_items",
                         params={"q": p})
        check_answer(r, route("find_items"))
        # PostgreSQL refuses a LIKE pattern that ends in a backslash
        assert r.status_code == 200 or (p == "\\" and r.status_code == 422), \
            (p, r.text)
        r = requests.post(hostile.url + "/api/rpc/add_item",
                          json={"name": p, "qty": 1})
        check_answer(r, route("add_item"))
        assert r.status_code == 200, (p, r.text)
        assert r.json()["name"] == p
    assert hostile.db.value("SELECT count(*) FROM items") == \
        len(before[0]) + len(PAYLOADS)
    assert hostile.state()[1:] == before[1:]
