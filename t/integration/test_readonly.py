"""BackendReadOnly on both drivers: columns a client reads but never
writes (a user's role, a row's creation time), whatever the method."""

import pytest
import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import Database, Httpd, refused_in_location

SCHEMA = """
CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                      role TEXT NOT NULL DEFAULT 'reader',
                      created TEXT NOT NULL DEFAULT '2026-01-01');
INSERT INTO members (id, name) VALUES (1, 'ann'), (2, 'bob');
"""

CONF = """
<Location /api>
    SetHandler backend
    BackendResource members bulk=all
    BackendReadOnly members role created
</Location>
"""


class Site:
    def __init__(self, driver, pg):
        self.db = Database(driver, pg, "readonly")
        self.db.script(SCHEMA)
        self.httpd = Httpd(CONF, self.db).start_ok()
        self.url = self.httpd.url + "/api/members"

    def rows(self):
        return [list(r) for r in self.db.rows(
            "SELECT id, name, role, created FROM members ORDER BY id")]

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)
ROLE = [{"field": "role", "message": "is read-only"}]


def test_read_only_columns_are_read(site):
    r = requests.get(site.url + "/1")
    assert r.json() == {"id": 1, "name": "ann", "role": "reader",
                        "created": "2026-01-01"}
    r = requests.get(site.url + "?role=eq.reader&select=name&order=id")
    assert r.json() == [{"name": "ann"}, {"name": "bob"}]


def test_read_only_columns_are_never_written(site):
    before = site.rows()
    for method, path, body in (
            ("PATCH", "/1", {"role": "admin"}),
            ("PUT", "/1", {"id": 1, "name": "ann", "role": "admin"}),
            ("PATCH", "?id=eq.1", {"role": "admin"}),
            ("PATCH", "", {"role": "admin"}),
            ("POST", "", {"id": 3, "name": "eve", "role": "admin"}),
            ("POST", "", [{"id": 3, "name": "eve", "role": "admin"}])):
        r = requests.request(method, site.url + path, json=body)
        detail = "[0].role: is read-only" if isinstance(body, list) \
            else "role: is read-only"
        errors = [{"field": "[0].role", "message": "is read-only"}] \
            if isinstance(body, list) else ROLE
        assert_problem(r, 422, "Unprocessable Entity", detail, errors)
    r = requests.patch(site.url + "/1", json={"name": "x",
                                              "created": "2000-01-01",
                                              "role": "admin"})
    assert_problem(r, 422, "Unprocessable Entity", "2 fields are not valid",
                   [{"field": "created", "message": "is read-only"}] + ROLE)
    # an upsert cannot reach them either
    r = requests.post(site.url, headers={
        "Prefer": "resolution=merge-duplicates"},
        json={"id": 1, "name": "ann", "role": "admin"})
    assert r.status_code == 422
    assert site.rows() == before


def test_writes_without_them_take_the_defaults(site):
    r = requests.post(site.url, json={"id": 5, "name": "cy"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": 5, "name": "cy", "role": "reader",
                        "created": "2026-01-01"}
    r = requests.patch(site.url + "/5", json={"name": "cyd"})
    assert r.json()["role"] == "reader"
    site.db.script("UPDATE members SET role = 'admin' WHERE id = 5")
    r = requests.put(site.url + "/5", json={"id": 5, "name": "cy"})
    assert r.status_code == 200, r.text
    # PUT replaces what the client may write, and leaves the rest
    assert r.json()["role"] == "admin"
    site.db.script("DELETE FROM members WHERE id = 5")


@pytest.mark.parametrize("body,message", [
    ("BackendResource members\nBackendReadOnly members nope",
     "BackendReadOnly members: table 'members' has no column 'nope'"),
    ("BackendReadOnly members role",
     "BackendReadOnly members: no BackendResource members is declared"),
    ("BackendResource members\nBackendReadOnly members",
     "BackendReadOnly needs a resource NAME and at least one COLUMN"),
    ("BackendResource members owner=name\nBackendReadOnly members name",
     "BackendReadOnly members: 'name' is the owner= column"),
])
def test_mistakes_are_refused_at_startup(driver, request, body, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA, body, message)
