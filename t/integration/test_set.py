"""BackendSet on both drivers: columns the server sets (the author from
the user, a claim, timestamps), whatever the body says."""

import re

import pytest
import requests

from conftest import site_per_driver
from harness import Database, Httpd, refused_in_location, make_tmpdir
import tokens

SCHEMA = """
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                    author TEXT, dept TEXT, created TEXT, updated TEXT,
                    n INTEGER);
"""

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    BackendResource posts
    BackendSet posts author on=insert :user
    BackendSet posts dept on=insert :claim.dept
    BackendSet posts created on=insert now
    BackendSet posts updated on=both now
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
</Location>
"""
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class Site:
    def __init__(self, driver, pg):
        self.db = Database(driver, pg, "set")
        self.db.script(SCHEMA)
        self.keys = tokens.Keys(make_tmpdir("mb-keys-"))
        from harness import LIBEXEC
        self.httpd = Httpd(CONF.format(hs=self.keys.hs, libexec=LIBEXEC),
                           self.db).start_ok()
        self.url = self.httpd.url + "/api/posts"

    def auth(self, user, **claims):
        return self.keys.bearer(user, **claims)

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


def test_the_server_sets_them_on_insert(site):
    r = requests.post(site.url, headers=site.auth("alice", dept="sales"),
                      json={"id": 1, "title": "t", "author": "mallory",
                            "dept": "it", "created": "1999-01-01",
                            "updated": "1999-01-01"})
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["author"], p["dept"]) == ("alice", "sales")
    assert STAMP.match(p["created"]) and p["created"] == p["updated"]
    row = site.db.rows("SELECT author, dept, created FROM posts WHERE id = 1")
    assert row == [("alice", "sales", p["created"])]
    # a claim the token does not have is NULL; arrays get it on every row
    r = requests.post(site.url, headers=site.auth("bob"),
                      json=[{"id": 2, "title": "a"}, {"id": 3, "title": "b",
                                                      "author": "x"}])
    assert r.status_code == 201, r.text
    assert site.db.rows("SELECT id, author, dept FROM posts WHERE id > 1 "
                        "ORDER BY id") == [(2, "bob", None), (3, "bob", None)]


def test_on_update_only_what_is_set_on_update(site):
    site.db.script("INSERT INTO posts (id, title, author, created, updated) "
                   "VALUES (9, 'old', 'ann', '2000-01-01', '2000-01-01')")
    r = requests.patch(site.url + "/9", headers=site.auth("bob"),
                       json={"title": "new", "author": "bob",
                             "created": "2001-01-01"})
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["title"], p["author"], p["created"]) == \
        ("new", "ann", "2000-01-01")
    assert STAMP.match(p["updated"])
    # an empty PATCH still stamps the row
    site.db.script("UPDATE posts SET updated = 'x' WHERE id = 9")
    r = requests.patch(site.url + "/9", headers=site.auth("bob"), json={})
    assert STAMP.match(r.json()["updated"])


@pytest.mark.parametrize("line,message", [
    ("BackendSet posts nope on=insert now",
     "BackendSet posts: table 'posts' has no column 'nope'"),
    ("BackendSet posts n on=insert now",
     "BackendSet posts: now needs a text or timestamp column, not 'n'"),
    ("BackendSet posts author on=always :user",
     "BackendSet posts author: on= is insert, update or both, not 'always'"),
    ("BackendSet posts author on=insert bob",
     "BackendSet posts author: the value is :user, :claim.NAME or now"),
    ("BackendSet posts id on=insert :user",
     "BackendSet posts: 'id' is the key or the owner= column"),
    ("BackendSet posts author :user",
     "BackendSet needs NAME COLUMN on=insert|update|both VALUE"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA, "BackendResource posts\n" + line,
                        message)
