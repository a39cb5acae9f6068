"""BackendFunction NAME pg=SCHEMA.FUNCTION: a function the PostgreSQL
database already has, called as PostgREST calls it (named arguments from
the body or the query string, absent ones taking their defaults), its
arguments and answer read from the catalog at startup; refused at startup
on SQLite and for functions that cannot be called."""

import pytest
import requests

from expected import assert_problem
from harness import Database, Httpd, refused_in_location

SCHEMA = r"""
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL,
                    qty integer NOT NULL DEFAULT 0);
CREATE FUNCTION add_them(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT a + b $$;
CREATE FUNCTION greet(name text, greeting text DEFAULT 'hello')
    RETURNS text LANGUAGE sql STABLE AS $$ SELECT greeting || ', ' || name $$;
CREATE FUNCTION low(most integer DEFAULT 5) RETURNS SETOF items
    LANGUAGE sql STABLE AS $$ SELECT * FROM items WHERE qty <= most $$;
CREATE FUNCTION add_item(name text, qty integer DEFAULT 1) RETURNS items
    LANGUAGE sql AS $$ INSERT INTO items (name, qty) VALUES (name, qty)
                       RETURNING * $$;
CREATE FUNCTION stats(OUT n bigint, OUT total bigint) LANGUAGE sql STABLE
    AS $$ SELECT count(*), coalesce(sum(qty), 0) FROM items $$;
CREATE FUNCTION names() RETURNS SETOF text LANGUAGE sql STABLE
    AS $$ SELECT name FROM items ORDER BY id $$;
CREATE FUNCTION touch(item integer) RETURNS void LANGUAGE sql
    AS $$ UPDATE items SET qty = qty + 1 WHERE id = item $$;
CREATE FUNCTION take(item integer, n integer) RETURNS void LANGUAGE plpgsql
    AS $$ BEGIN
        UPDATE items SET qty = qty - n WHERE id = item;
        IF (SELECT qty FROM items WHERE id = item) < 0 THEN
            RAISE EXCEPTION 'not enough in stock' USING ERRCODE = 'PT409';
        END IF;
    END $$;
CREATE FUNCTION feel(m mood) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'feeling ' || m::text $$;
CREATE FUNCTION squares(lo integer, hi integer)
    RETURNS TABLE (n integer, sq integer) LANGUAGE sql IMMUTABLE
    AS $$ SELECT g, g * g FROM generate_series(lo, hi) g $$;
CREATE FUNCTION doc() RETURNS json LANGUAGE sql IMMUTABLE
    AS $$ SELECT '{"a": [1, 2], "b": null}'::json $$;
CREATE FUNCTION twice(a integer) RETURNS integer LANGUAGE sql
    AS $$ SELECT 2 * a $$;
CREATE FUNCTION twice(a text) RETURNS text LANGUAGE sql
    AS $$ SELECT a || a $$;
CREATE FUNCTION anon(integer) RETURNS integer LANGUAGE sql
    AS $$ SELECT $1 $$;
CREATE FUNCTION many(VARIADIC a integer[]) RETURNS integer LANGUAGE sql
    AS $$ SELECT 1 $$;
CREATE FUNCTION anyrec() RETURNS record LANGUAGE sql AS $$ SELECT 1, 2 $$;
CREATE PROCEDURE proc() LANGUAGE sql AS $$ SELECT 1 $$;
"""

SEED = """
TRUNCATE items RESTART IDENTITY;
INSERT INTO items (name, qty) VALUES ('pen', 10), ('ink', 2), ('pad', 0);
"""

CONF = """
<Location /api>
    SetHandler backend
    BackendFunction add_them pg=public.add_them
    BackendFunction greet pg=greet
    BackendFunction low pg=public.low
    BackendFunction add_item pg=public.add_item
    BackendValidate add_item name length=1..20
    BackendFunction stats pg=public.stats
    BackendFunction names pg=public.names
    BackendFunction touch pg=public.touch
    BackendFunction take pg=public.take
    BackendFunction feel pg=public.feel
    BackendFunction squares pg=public.squares
    BackendFunction doc pg=public.doc
</Location>
"""


class Site:
    def __init__(self, pg):
        self.db = Database("pgsql", pg, "pgfn")
        self.db.script(SCHEMA)
        self.httpd = Httpd(CONF, self.db).start_ok()
        self.url = self.httpd.url + "/api/rpc/"

    def close(self):
        self.httpd.destroy()
        self.db.close()


@pytest.fixture(scope="module")
def site(pg):
    s = Site(pg)
    yield s
    s.close()


@pytest.fixture
def s(site):
    site.db.script(SEED)
    return site


def post(s, name, body):
    return requests.post(s.url + name, json=body)


def test_a_scalar_is_its_bare_value(s):
    r = post(s, "add_them", {"a": 1, "b": 2})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.text == "3"
    # IMMUTABLE: GET with the arguments in the query string
    r = requests.get(s.url + "add_them?a=40&b=2")
    assert (r.status_code, r.text) == (200, "42")


def test_an_absent_argument_takes_the_functions_default(s):
    assert post(s, "greet", {"name": "ada"}).json() == "hello, ada"
    assert post(s, "greet", {"name": "ada", "greeting": "hi"}).json() == \
        "hi, ada"
    # null is a value, not the default
    r = post(s, "greet", {"name": "ada", "greeting": None})
    assert (r.status_code, r.text) == (200, "null")
    r = requests.get(s.url + "greet", params={"name": "x'); DROP TABLE "
                                                      "items; --"})
    assert r.json() == "hello, x'); DROP TABLE items; --"
    assert s.db.rows("SELECT count(*) FROM items") == [(3,)]


def test_a_set_of_rows_takes_the_query_grammar(s):
    r = requests.get(s.url + "low")
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 2, "name": "ink", "qty": 2},
                        {"id": 3, "name": "pad", "qty": 0}]
    r = requests.get(s.url + "low?most=100&select=name&qty=gt.0"
                     "&order=qty.desc&limit=1",
                     headers={"Prefer": "count=exact"})
    assert r.status_code == 206, r.text
    assert r.json() == [{"name": "pen"}]
    assert r.headers["Content-Range"] == "0-0/2"
    r = requests.get(s.url + "squares?lo=1&hi=4&sq=gt.1&order=n.desc")
    assert r.json() == [{"n": 4, "sq": 16}, {"n": 3, "sq": 9},
                        {"n": 2, "sq": 4}]
    r = requests.get(s.url + "low", headers={
        "Accept": "application/vnd.pgrst.object+json"})
    assert_problem(r, 406, "Not Acceptable",
                   "application/vnd.pgrst.object+json needs exactly one row; "
                   "several matched")


def test_one_row_is_an_object(s):
    r = post(s, "add_item", {"name": "cap"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 4, "name": "cap", "qty": 1}
    r = requests.get(s.url + "stats")
    assert r.json() == {"n": 4, "total": 13}


def test_a_set_of_scalars_is_an_array_of_values(s):
    r = requests.get(s.url + "names")
    assert r.json() == ["pen", "ink", "pad"]
    r = requests.get(s.url + "doc")
    assert r.json() == {"a": [1, 2], "b": None}


def test_void_is_204_and_a_volatile_function_is_post_only(s):
    r = post(s, "touch", {"item": 3})
    assert (r.status_code, r.text) == (204, "")
    assert s.db.rows("SELECT qty FROM items WHERE id = 3") == [(1,)]
    r = requests.get(s.url + "touch?item=3")
    assert_problem(r, 405, "Method Not Allowed",
                   "GET is not allowed on /api/rpc/touch (POST)")
    assert r.headers["Allow"] == "POST, OPTIONS"
    assert requests.options(s.url + "low").headers["Allow"] == \
        "GET, HEAD, POST, OPTIONS"


def test_what_the_function_raises_is_the_answer_and_nothing_stays(s):
    r = post(s, "take", {"item": 2, "n": 5})
    assert_problem(r, 409, "Conflict", "not enough in stock")
    assert s.db.rows("SELECT qty FROM items WHERE id = 2") == [(2,)]
    assert post(s, "take", {"item": 2, "n": 2}).status_code == 204
    assert s.db.rows("SELECT qty FROM items WHERE id = 2") == [(0,)]


def test_arguments_are_checked_against_the_catalogs_types(s):
    r = post(s, "add_them", {"a": "one", "c": 3})
    assert_problem(r, 422, "Unprocessable Entity",
                   "3 arguments of add_them are not valid", [
                       {"field": "a", "message": "must be an int"},
                       {"field": "c",
                        "message": "is not an argument of this function"},
                       {"field": "b", "message": "is required"}])
    r = post(s, "add_item", {"name": ""})
    assert_problem(r, 422, "Unprocessable Entity",
                   "name: must be 1 to 20 characters long",
                   [{"field": "name",
                     "message": "must be 1 to 20 characters long"}])
    # an enum goes as its text; the database says what it takes
    assert post(s, "feel", {"m": "sad"}).json() == "feeling sad"
    r = post(s, "feel", {"m": "glad"})
    assert_problem(r, 422, "Unprocessable Entity",
                   "a value is not valid for its column")
    assert s.db.rows("SELECT count(*) FROM items") == [(3,)]


@pytest.mark.parametrize("line,message", [
    ("BackendFunction f pg=public.nosuch",
     "pg=public.nosuch: no such function"),
    ("BackendFunction f pg=public.twice",
     "pg=public.twice: the name has several functions (overloads)"),
    ("BackendFunction f pg=public.anon",
     "pg=public.anon: argument 1 has no name"),
    ("BackendFunction f pg=public.many",
     "pg=public.many: a VARIADIC function cannot be called"),
    ("BackendFunction f pg=public.anyrec",
     "pg=public.anyrec: it returns record without naming its columns"),
    ("BackendFunction f pg=public.proc",
     "pg=public.proc: it is not a function (a procedure or an aggregate)"),
    ("BackendFunction f pg=public.greet\nBackendValidate f nick required",
     "BackendValidate f nick: pg=public.greet has no argument 'nick'"),
    ('BackendFunction f pg=public.greet "SELECT 1"',
     "BackendFunction f: pg=public.greet takes no SQL, arguments or "
     "returns=: they are the function's own"),
    ("BackendFunction f pg=public.greet a:int",
     "takes no SQL, arguments or returns="),
])
def test_functions_that_cannot_be_called_are_refused(pg, line, message):
    refused_in_location("pgsql", pg, SCHEMA, line, message)


def test_sqlite_refuses_pg_functions():
    refused_in_location("sqlite", None, "CREATE TABLE t (id INTEGER "
                        "PRIMARY KEY);", "BackendFunction f pg=public.f",
                        "pg= needs a PostgreSQL database (DBDriver pgsql)")
