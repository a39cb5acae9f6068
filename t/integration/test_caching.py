"""Cache-Control and Vary on reads, and mod_cache (mod_cache_disk) in
front on both drivers: a public resource the site lets caches keep is
revalidated with its ETag (304 from mod_backend, the body from the cache,
a changed row seen at once); an authenticated user's answers are private
by default, so a shared cache never gives one user's rows to another.
(mod_cache_socache of httpd 2.4 loses the body of an entry revalidated
twice, whatever the origin: docs/http-api.md says to use disk.)"""

import pytest
import requests

from conftest import TokenSite, site_per_driver
from harness import give_to_run_user, make_tmpdir, refused_in_location

SCHEMA = {
    "sqlite": """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL,
                    body TEXT NOT NULL);
INSERT INTO products VALUES (1, 'hammer'), (2, 'saw');
INSERT INTO notes VALUES (1, 'ann', 'ann''s'), (2, 'bob', 'bob''s');
""",
    "pgsql": """
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE notes (id integer PRIMARY KEY, owner text NOT NULL,
                    body text NOT NULL);
INSERT INTO products VALUES (1, 'hammer'), (2, 'saw');
INSERT INTO notes VALUES (1, 'ann', 'ann''s'), (2, 'bob', 'bob''s');
""",
}

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule cache_module "{libexec}/mod_cache.so"
LoadModule cache_disk_module "{libexec}/mod_cache_disk.so"
CacheRoot "{cache}"
CacheHeader on
CacheEnable disk /pub
CacheEnable disk /mine
<Location /pub>
    SetHandler backend
    BackendResource products
    BackendResource names table=products
    BackendCacheControl "max-age=0, must-revalidate"
    BackendCacheControl names none
</Location>
<Location /mine>
    SetHandler backend
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendResource notes owner=owner
</Location>
"""


def vary(r):
    return [v.strip() for v in r.headers["Vary"].split(",")]


class Site(TokenSite):
    def __init__(self, driver, pg):
        cache = make_tmpdir("mb-cache-")
        give_to_run_user(cache)
        super().__init__(driver, pg, "caching", SCHEMA[driver], CONF,
                         cache=cache)


site = site_per_driver(Site)


def test_reads_say_how_they_may_be_cached(site):
    r = requests.get(site.url + "/pub/products/1")
    assert r.headers["Cache-Control"] == "max-age=0, must-revalidate"
    assert vary(r) == ["Accept", "Prefer", "Authorization"]
    r = requests.get(site.url + "/pub/names/1")
    assert "Cache-Control" not in r.headers
    r = requests.get(site.url + "/mine/notes",
                     headers=site.auth("ann"))
    assert r.headers["Cache-Control"] == "private"
    assert vary(r) == ["Accept", "Prefer", "Authorization"]


def test_mod_cache_revalidates_with_the_etag(site):
    site.db.script("UPDATE products SET name = 'hammer' WHERE id = 1")
    u = site.url + "/pub/products/1"
    first = requests.get(u)
    assert first.json() == {"id": 1, "name": "hammer"}
    again = requests.get(u)
    # stale at once: mod_cache asked again with If-None-Match, mod_backend
    # said 304, and the body came from the cache
    assert again.headers["X-Cache"].startswith("REVALIDATE"), again.headers
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    third = requests.get(u)
    assert third.headers["X-Cache"].startswith("REVALIDATE")
    assert third.content == first.content
    # a row changed by another program is seen at once
    site.db.script("UPDATE products SET name = 'mallet' WHERE id = 1")
    changed = requests.get(u)
    assert changed.json() == {"id": 1, "name": "mallet"}
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_a_shared_cache_never_gives_one_user_s_rows_to_another(site):
    u = site.url + "/mine/notes"
    for _ in range(2):
        for user in ("ann", "bob"):
            r = requests.get(u, headers=site.auth(user))
            assert r.status_code == 200
            assert [n["owner"] for n in r.json()] == [user]
            assert not r.headers.get("X-Cache", "").startswith("HIT")


@pytest.mark.parametrize("line,message", [
    ('BackendCacheControl nope "no-store"',
     "BackendCacheControl nope: no BackendResource nope is declared above "
     "it"),
    ('BackendResource products\nBackendCacheControl products "a\tb"',
     "BackendCacheControl: the value holds a control character"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], line, message)
