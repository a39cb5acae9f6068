"""BackendFunction on both drivers: POST/GET LOCATION/rpc/NAME, typed
arguments checked before any SQL, context parameters, one transaction per
call, PostgREST's answers (select=, filters, order, limit, count, one
object), :NAME!bcrypt that mod_authn_dbd accepts, and mistakes refused
by apachectl -t."""

import pytest
import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import (Database, Httpd, LIBEXEC, make_tmpdir,
                     refused_in_location)
import tokens

SCHEMA = {
    "sqlite": """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                       stock INTEGER NOT NULL CHECK (stock >= 0));
CREATE TABLE orders (id INTEGER PRIMARY KEY, product INTEGER NOT NULL,
                     qty INTEGER NOT NULL, note TEXT, buyer TEXT);
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
                    password_hash TEXT NOT NULL);
""",
    "pgsql": """
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL,
                       stock integer NOT NULL CHECK (stock >= 0));
CREATE TABLE orders (id serial PRIMARY KEY, product integer NOT NULL,
                     qty integer NOT NULL, note text, buyer text);
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE,
                    password_hash text NOT NULL);
""",
}
SEED = """
DELETE FROM orders; DELETE FROM products; DELETE FROM users;
INSERT INTO products (id, name, stock) VALUES (1, 'pen', 10), (2, 'ink', 2),
                                              (3, 'pad', 0);
"""

CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    BackendFunction checkout returns=one product:int qty:int note:text? \\
        "UPDATE products SET stock = stock - :qty WHERE id = :product; \\
         INSERT INTO orders (product, qty, note, buyer) \\
         SELECT id, :qty, :note, :user FROM products WHERE id = :product \\
         RETURNING id, product, qty, note, buyer"
    BackendFunction in_stock min:int=1 \\
        "SELECT id, name, stock FROM products WHERE stock >= :min"
    BackendFunction restock returns=none product:int qty:int \\
        "UPDATE products SET stock = stock + :qty WHERE id = :product"
    BackendFunction whoami "SELECT :user AS name, :claim.dept AS dept, \\
        :header.X-Tenant AS tenant, :roles AS roles"
    BackendFunction echo i:int n:number t:text d:date ts:timestamp u:uuid \\
        j:json? flag:bool=false "SELECT :i AS i, :t AS t, :d AS d"
    BackendFunction product id:int file={sql}
    BackendFunction restock_all returns=one \\
        "UPDATE products SET stock = stock + 1 RETURNING id"
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
</Location>
<Location /public>
    SetHandler backend
    BackendFunction signup returns=one email:text password:text \\
        "INSERT INTO users (email, password_hash) \\
         VALUES (:email, :password!bcrypt) RETURNING id, email"
</Location>
<Location /private>
    SetHandler backend
    BackendFunction me "SELECT :user AS name"
    AuthType Basic
    AuthName private
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE email = %s"
    Require valid-user
</Location>
"""

PRODUCT_SQL = """-- a function from a file: comments, quotes and a cast
SELECT id, name /* the name; not :a parameter */, 'it''s :x' AS quote
FROM products WHERE id = :id
"""


class Site:
    def __init__(self, driver, pg):
        self.driver = driver
        self.db = Database(driver, pg, "fn")
        self.db.script(SCHEMA[driver])
        self.keys = tokens.Keys(make_tmpdir("mb-keys-"))
        sql = make_tmpdir("mb-sql-") + "/product.sql"
        with open(sql, "w") as f:
            f.write(PRODUCT_SQL)
        conf = CONF.format(hs=self.keys.hs, libexec=LIBEXEC, sql=sql)
        self.httpd = Httpd(conf, self.db).start_ok()
        self.url = self.httpd.url

    def auth(self, user="alice", **claims):
        return self.keys.bearer(user, **claims)

    def reset(self):
        self.db.script(SEED)

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


@pytest.fixture
def s(site):
    site.reset()
    return site


def call(s, name, body=None, headers=None, **kw):
    h = dict(s.auth())
    h.update(headers or {})
    return requests.post(s.url + "/api/rpc/" + name, json=body, headers=h,
                         **kw)


def test_a_call_writes_every_statement_and_answers_the_last(s):
    r = call(s, "checkout", {"product": 1, "qty": 3, "note": "gift"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    order = r.json()
    assert order == {"id": order["id"], "product": 1, "qty": 3,
                     "note": "gift", "buyer": "alice"}
    assert s.db.rows("SELECT stock FROM products WHERE id = 1") == [(7,)]
    assert s.db.rows("SELECT product, qty, note, buyer FROM orders") == \
        [(1, 3, "gift", "alice")]


def test_a_failing_statement_rolls_the_whole_call_back(s):
    # the UPDATE breaks CHECK (stock >= 0): no order, no stock change
    r = call(s, "checkout", {"product": 2, "qty": 5})
    assert_problem(r, 422, "Unprocessable Entity",
                   "a value breaks a check constraint")
    assert s.db.rows("SELECT stock FROM products WHERE id = 2") == [(2,)]
    assert s.db.rows("SELECT count(*) FROM orders") == [(0,)]


def test_returns_one_without_a_row_is_404_and_undone(s):
    r = call(s, "checkout", {"product": 99, "qty": 1})
    assert_problem(r, 404, "Not Found", "checkout found no row")
    assert s.db.rows("SELECT count(*) FROM orders") == [(0,)]


def test_returns_one_with_several_rows_is_500_and_undone(s):
    r = call(s, "restock_all", {})
    assert_problem(r, 500, "Internal Server Error",
                   "restock_all returned several rows; it is declared "
                   "returns=one")
    assert s.db.rows("SELECT stock FROM products ORDER BY id") == \
        [(10,), (2,), (0,)]


def test_returns_none_is_204(s):
    r = call(s, "restock", {"product": 3, "qty": 4})
    assert r.status_code == 204, r.text
    assert r.text == ""
    assert s.db.rows("SELECT stock FROM products WHERE id = 3") == [(4,)]


def test_a_set_result_takes_the_query_grammar(s):
    r = call(s, "in_stock", {"min": 2})
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 1, "name": "pen", "stock": 10},
                        {"id": 2, "name": "ink", "stock": 2}]
    # GET: the arguments from the query string, the rest is the query
    r = requests.get(s.url + "/api/rpc/in_stock?min=1&select=name,stock"
                     "&order=stock.asc&name=neq.pad", headers=s.auth())
    assert r.status_code == 200, r.text
    assert r.json() == [{"name": "ink", "stock": 2},
                        {"name": "pen", "stock": 10}]
    # the default of min is 1
    r = requests.get(s.url + "/api/rpc/in_stock?limit=1&order=id",
                     headers=dict(s.auth(), Prefer="count=exact"))
    assert r.status_code == 206, r.text
    assert r.json() == [{"id": 1, "name": "pen", "stock": 10}]
    assert r.headers["Content-Range"] == "0-0/2"
    r = requests.get(s.url + "/api/rpc/in_stock?id=eq.2", headers=dict(
        s.auth(), Accept="application/vnd.pgrst.object+json"))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/vnd.pgrst.object+json"
    assert r.json() == {"id": 2, "name": "ink", "stock": 2}
    r = requests.get(s.url + "/api/rpc/in_stock", headers=dict(
        s.auth(), Accept="application/vnd.pgrst.object+json"))
    assert_problem(r, 406, "Not Acceptable",
                   "application/vnd.pgrst.object+json needs exactly one "
                   "row; several matched")
    r = requests.get(s.url + "/api/rpc/in_stock?nope=eq.1", headers=s.auth())
    assert_problem(r, 400, "Bad Request",
                   "filter: 'nope' is not a column of in_stock")


def test_context_parameters(s):
    r = requests.get(s.url + "/api/rpc/whoami",
                     headers=dict(s.auth("bob", dept="sales",
                                         roles=["a", "b\""]),
                                  **{"X-Tenant": "t1"}))
    assert r.status_code == 200, r.text
    assert r.json() == [{"name": "bob", "dept": "sales", "tenant": "t1",
                         "roles": '["a","b\\""]'}]
    r = requests.get(s.url + "/api/rpc/whoami", headers=s.auth("carol"))
    assert r.json() == [{"name": "carol", "dept": None, "tenant": None,
                         "roles": "[]"}]


def test_sql_from_a_file(s):
    r = requests.get(s.url + "/api/rpc/product?id=2", headers=s.auth())
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 2, "name": "ink", "quote": "it's :x"}]


def test_arguments_are_checked_before_any_sql(s):
    r = call(s, "echo", {"i": 2 ** 31, "n": True, "d": "2023-02-29",
                         "ts": "2024-01-01 25:00", "u": "nope",
                         "j": {"a": [1]}, "extra": 1})
    assert_problem(r, 422, "Unprocessable Entity",
                   "7 arguments of echo are not valid", [
                       {"field": "i", "message":
                        "is out of range for int (-2147483648 to "
                        "2147483647)"},
                       {"field": "n", "message": "must be a number"},
                       {"field": "d", "message":
                        "is not a date (YYYY-MM-DD)"},
                       {"field": "ts", "message":
                        "is not a timestamp (YYYY-MM-DDTHH:MM:SS, a zone "
                        "optional)"},
                       {"field": "u", "message": "is not a UUID"},
                       {"field": "extra", "message":
                        "is not an argument of this function"},
                       {"field": "t", "message": "is required"}])
    r = call(s, "echo", {"i": -5, "n": 1.5, "t": "x", "d": "2024-02-29",
                         "ts": "2024-02-29T23:59:59.5+01:00",
                         "u": "123e4567-e89b-12d3-a456-426614174000",
                         "flag": True})
    assert r.status_code == 200, r.text
    assert r.json() == [{"i": -5, "t": "x", "d": "2024-02-29"}]
    r = requests.get(s.url + "/api/rpc/echo?i=1.5&n=x&t=a&d=2024-01-01"
                     "&ts=2024-01-01T00:00Z&u=123e4567-e89b-12d3-a456-"
                     "426614174000&flag=yes", headers=s.auth())
    assert_problem(r, 422, "Unprocessable Entity",
                   "3 arguments of echo are not valid", [
                       {"field": "i", "message": "must be an integer (int)"},
                       {"field": "n", "message": "must be a number"},
                       {"field": "flag", "message":
                        "must be true or false"}])
    r = call(s, "echo", {"i": None, "t": 5, "d": "x", "ts": "x", "u": "x",
                         "n": 1})
    assert r.status_code == 422
    assert r.json()["errors"][:2] == [
        {"field": "i", "message": "is required and cannot be null"},
        {"field": "t", "message": "must be a text"}]


def test_bodies_and_methods(s):
    r = requests.post(s.url + "/api/rpc/checkout", headers=s.auth(),
                      json=[{"product": 1, "qty": 1}])
    assert r.status_code == 400, r.text
    # no body: no arguments
    r = requests.post(s.url + "/api/rpc/whoami", headers=s.auth("dan"))
    assert r.status_code == 200, r.text
    assert r.json()[0]["name"] == "dan"
    r = requests.post(s.url + "/api/rpc/in_stock", data="min=1",
                      headers=dict(s.auth(), **{
                          "Content-Type": "application/x-www-form-urlencoded"
                      }))
    assert_problem(r, 415, "Unsupported Media Type",
                   "the request body must be application/json")
    # a function that writes: POST only
    r = requests.get(s.url + "/api/rpc/checkout?product=1&qty=1",
                     headers=s.auth())
    assert_problem(r, 405, "Method Not Allowed",
                   "GET is not allowed on /api/rpc/checkout (POST)")
    assert r.headers["Allow"] == "POST, OPTIONS"
    assert s.db.rows("SELECT count(*) FROM orders") == [(0,)]
    r = requests.options(s.url + "/api/rpc/in_stock", headers=s.auth())
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    r = requests.delete(s.url + "/api/rpc/in_stock", headers=s.auth())
    assert r.status_code == 405
    for path in ("/api/rpc/nope", "/api/rpc/in_stock/1", "/api/rpc"):
        r = requests.get(s.url + path, headers=s.auth())
        assert r.status_code == 404, path
        assert r.headers["Content-Type"] == "application/problem+json"
    # the rows of a write cannot be filtered
    r = call(s, "checkout", {"product": 1, "qty": 1}, params={"id": "eq.1"})
    assert_problem(r, 400, "Bad Request",
                   "the rows of checkout cannot be chosen, filtered, "
                   "ordered or paged: its last statement is not a query")
    assert s.db.rows("SELECT count(*) FROM orders") == [(0,)]
    # access control applies: no token, no call
    r = requests.post(s.url + "/api/rpc/restock",
                      json={"product": 1, "qty": 1})
    assert r.status_code == 401
    assert s.db.rows("SELECT stock FROM products WHERE id = 1") == [(10,)]


@pytest.mark.allow_log("AH01617")
def test_a_hashed_password_is_one_mod_authn_dbd_accepts(s):
    r = requests.post(s.url + "/public/rpc/signup",
                      json={"email": "eve@example.com", "password": "s3cret"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": r.json()["id"], "email": "eve@example.com"}
    stored = s.db.rows("SELECT password_hash FROM users")[0][0]
    assert stored.startswith("$2y$10$") and "s3cret" not in stored
    r = requests.get(s.url + "/private/rpc/me",
                     auth=("eve@example.com", "s3cret"))
    assert r.status_code == 200, r.text
    assert r.json() == [{"name": "eve@example.com"}]
    r = requests.get(s.url + "/private/rpc/me",
                     auth=("eve@example.com", "wrong"))
    assert r.status_code == 401
    # the same address twice: 409, the first row kept
    r = requests.post(s.url + "/public/rpc/signup",
                      json={"email": "eve@example.com", "password": "x"})
    assert r.status_code == 409, r.text
    assert s.db.rows("SELECT count(*) FROM users") == [(1,)]
    assert "s3cret" not in s.httpd.log_text()


@pytest.mark.parametrize("line,message", [
    ('BackendFunction f "SELECT :nope"',
     "BackendFunction f: ':nope' is not a declared argument"),
    ('BackendFunction f a:integer "SELECT :a"',
     "BackendFunction f: 'a:integer': unknown type"),
    ('BackendFunction f a:int=x "SELECT :a"',
     "BackendFunction f: 'a:int=x': the default: must be an integer (int)"),
    ('BackendFunction f "BEGIN; SELECT 1"',
     "BackendFunction f: BEGIN: every call already runs in one transaction"),
    ('BackendFunction f "SELECT $1"',
     "BackendFunction f: write :name for a parameter, not $n"),
    ('BackendFunction f "SELECT \'open"',
     "BackendFunction f: unterminated quote"),
    ('BackendFunction f a:int a:text "SELECT :a"',
     "BackendFunction f: argument 'a' is declared twice"),
    ('BackendFunction f a:int',
     "BackendFunction f: no SQL"),
    ('BackendFunction f file=/nonexistent/f.sql',
     "BackendFunction f: cannot read /nonexistent/f.sql"),
    ('BackendFunction f returns=all "SELECT 1"',
     "BackendFunction f: returns= is many, one or none"),
    ('BackendFunction f a:int "SELECT :a!bcrypt"',
     "BackendFunction f: ':a!bcrypt': !bcrypt hashes a text argument"),
    ('BackendFunction f "SELECT 1 AS a, 2 AS a"',
     "two result columns are named 'a'"),
    ('BackendFunction f "SELEC 1"', "BackendFunction f ("),
    ('BackendFunction f "SELECT * FROM nosuch"', "statement 1:"),
    ('BackendResource rpc table=products\nBackendFunction f "SELECT 1"',
     "BackendFunction f: functions live under <Location>/rpc/, where a "
     "BackendResource rpc is"),
    ('BackendFunction f "SELECT 1"\nBackendFunction f "SELECT 2"',
     "BackendFunction f: declared twice at /api/rpc/f"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], line, message)
