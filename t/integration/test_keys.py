"""Keys: INTEGER PRIMARY KEY and rowid on SQLite, serial and identity on
PostgreSQL, text keys, key= for views and composite keys."""

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


def test_tables_without_a_usable_key_are_refused(keys):
    _, db = keys
    for line, msg in (
            ("BackendResource pairs",
             "table 'pairs' has a composite primary key; name one unique "
             "column with key=COLUMN"),
            ("BackendResource cheap",
             "table 'cheap' has no primary key; name the key column with "
             "key=COLUMN")):
        assert_refused("<Location /x>\nSetHandler backend\n%s\n</Location>\n"
                       % line, db, msg)
