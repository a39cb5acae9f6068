"""Keys: INTEGER PRIMARY KEY and rowid on SQLite, serial and identity on
PostgreSQL, text keys, key= for views, composite keys (a collection, or
items at /NAME/1,7 with key=A,B) and tables without a key (read and
insert only)."""

import pytest
import requests

from conftest import make_db, reset
from expected import assert_problem
from harness import Httpd, assert_refused

EXTRA = {
    "sqlite": """
CREATE TABLE notes (body TEXT NOT NULL);
CREATE TABLE pairs (a INTEGER, b INTEGER, label TEXT, PRIMARY KEY (a, b));
CREATE VIEW cheap AS SELECT id, name FROM products WHERE price < 10;
""",
    "pgsql": """
CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
CREATE TABLE pairs (a integer, b integer, label text, PRIMARY KEY (a, b));
CREATE VIEW cheap AS SELECT id, name FROM products WHERE price < 10;
""",
}

CONF = """
<Location /keys>
    SetHandler backend
    BackendResource notes
    BackendResource pairs key=a
    BackendResource cheap key=id
    BackendResource products
    BackendResource pairs_all table=pairs
    BackendResource pairs_ab table=pairs key=a,b
    BackendResource cheap_all table=cheap
</Location>
"""


@pytest.fixture(scope="module")
def keys(driver, request):
    pg_server = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg_server, "keys")
    db.script(EXTRA[driver])
    reset(db)
    db.script("INSERT INTO pairs (a, b, label) VALUES (1, 2, 'one-two')")
    h = Httpd(CONF, db).start_ok()
    yield h, db
    h.destroy()
    db.close()


def test_generated_key_on_insert(keys):
    h, db = keys
    r = requests.post(h.url + "/keys/notes", json={"body": "first"})
    assert r.status_code == 201
    key = "rowid" if db.driver == "sqlite" else "id"
    assert r.json() == {key: 1, "body": "first"}
    assert r.headers["Location"] == "/keys/notes/1"
    r = requests.put(h.url + "/keys/notes/1", json={"body": "changed"})
    assert r.json() == {key: 1, "body": "changed"}
    assert requests.get(h.url + "/keys/notes").json() == \
        [{key: 1, "body": "changed"}]
    assert requests.delete(h.url + "/keys/notes/1").status_code == 204
    assert requests.get(h.url + "/keys/notes/1").status_code == 404


def test_sqlite_rowid_is_read_only(keys):
    h, db = keys
    if db.driver != "sqlite":
        # PostgreSQL has no rowid; its serial key takes a value like any
        # column, which test_generated_key_on_insert covers
        r = requests.post(h.url + "/keys/notes",
                          json={"id": 50, "body": "explicit"})
        assert r.status_code == 201
        assert r.json() == {"id": 50, "body": "explicit"}
        return
    r = requests.post(h.url + "/keys/notes",
                      json={"rowid": 5, "body": "x"})
    assert_problem(r, 422, "Unprocessable Entity", "rowid: is read-only",
                   [{"field": "rowid", "message": "is read-only"}])


def test_key_option_on_a_composite_key(keys):
    h, _ = keys
    r = requests.get(h.url + "/keys/pairs/1")
    assert r.status_code == 200
    assert r.json() == {"a": 1, "b": 2, "label": "one-two"}


def test_view_with_key_option(keys):
    h, _ = keys
    assert requests.get(h.url + "/keys/cheap").json() == \
        [{"id": 1, "name": "hammer"}]
    assert requests.get(h.url + "/keys/cheap/1").json() == \
        {"id": 1, "name": "hammer"}


def test_a_composite_key_is_a_collection(keys):
    h, db = keys
    u = h.url + "/keys/pairs_all"
    db.script("DELETE FROM pairs; INSERT INTO pairs VALUES (1, 2, 'one-two'),"
              " (1, 3, 'one-three'), (2, 2, 'two-two')")
    assert requests.get(u + "?a=eq.1&select=b,label").json() == [
        {"b": 2, "label": "one-two"}, {"b": 3, "label": "one-three"}]
    # ordered by the whole key when nothing else is asked
    assert [(p["a"], p["b"]) for p in requests.get(u).json()] == \
        [(1, 2), (1, 3), (2, 2)]
    r = requests.get(u + "/1")
    assert_problem(r, 404, "Not Found", "pairs_all has no items: its key "
                   "has several columns; key=COLUMN,... names them")
    # an upsert meets the composite key, named or not
    r = requests.post(u, json={"a": 1, "b": 2, "label": "merged"},
                      headers={"Prefer": "resolution=merge-duplicates"})
    assert r.status_code in (200, 201), r.text
    r = requests.post(u + "?on_conflict=a,b",
                      json=[{"a": 2, "b": 2, "label": "again"},
                            {"a": 3, "b": 1, "label": "new"}],
                      headers={"Prefer": "resolution=merge-duplicates"})
    assert r.status_code in (200, 201), r.text
    r = requests.patch(u + "?a=eq.1&b=eq.3", json={"label": "patched"},
                       headers={"Prefer": "return=representation"})
    assert r.status_code == 200, r.text
    assert r.json() == [{"a": 1, "b": 3, "label": "patched"}]
    assert requests.delete(u + "?a=eq.3").status_code == 204
    assert db.rows("SELECT a, b, label FROM pairs ORDER BY a, b") == [
        (1, 2, "merged"), (1, 3, "patched"), (2, 2, "again")]


def test_named_key_columns_give_items(keys):
    h, db = keys
    u = h.url + "/keys/pairs_ab/"
    db.script("DELETE FROM pairs; INSERT INTO pairs VALUES (1, 2, 'one-two'),"
              " (1, 3, 'one-three')")
    assert requests.get(u + "1,3").json() == \
        {"a": 1, "b": 3, "label": "one-three"}
    r = requests.patch(u + "1,2", json={"label": "changed"})
    assert r.status_code == 200, r.text
    assert r.json() == {"a": 1, "b": 2, "label": "changed"}
    assert requests.delete(u + "1,3").status_code == 204
    for bad in ("1,3", "1", "1,2,3", "x,2", "1,", "1,2,", ",1,2", "1,,2"):
        r = requests.get(u + bad)
        assert_problem(r, 404, "Not Found",
                       "pairs_ab has no row with key '%s'" % bad)
    r = requests.put(u + "1,2", json={"a": 1, "b": 2, "label": "x"})
    assert_problem(r, 405, "Method Not Allowed", "PUT is not allowed on an "
                   "item of pairs_ab: its key has several columns (PATCH)")
    assert r.headers["Allow"] == "GET, HEAD, PATCH, DELETE, OPTIONS"
    r = requests.options(u + "1,2")
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, PATCH, DELETE, OPTIONS"
    assert requests.options(u[:-1]).headers["Allow"] == \
        "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
    assert db.rows("SELECT a, b, label FROM pairs") == [(1, 2, "changed")]


def test_a_table_without_a_key_is_read_and_insert_only(keys):
    h, _ = keys
    u = h.url + "/keys/cheap_all"
    assert requests.get(u).json() == [{"id": 1, "name": "hammer"}]
    r = requests.get(u + "/1")
    assert_problem(r, 404, "Not Found", "cheap_all has no items: it has no "
                   "key; key=COLUMN,... names them")
    for method in ("PATCH", "DELETE"):
        r = requests.request(method, u + "?id=eq.1", json={"name": "x"})
        assert r.status_code == 405, (method, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
    r = requests.post(u, json={"name": "x"},
                      headers={"Prefer": "resolution=merge-duplicates"})
    if h_driver(keys) == "sqlite":
        # a SQLite view without INSTEAD OF triggers takes no insert
        assert_problem(r, 405, "Method Not Allowed",
                       "POST is not allowed on /keys/cheap_all")
    else:
        assert_problem(r, 400, "Bad Request", "cheap_all has no key: an "
                       "upsert names its unique columns with on_conflict=")


def h_driver(keys):
    return keys[1].driver


def test_a_key_that_cannot_be_is_refused(keys):
    _, db = keys
    assert_refused("<Location /x>\nSetHandler backend\nBackendResource "
                   "pairs key=a,nope\n</Location>\n", db,
                   "table 'pairs' has no column 'nope'")
