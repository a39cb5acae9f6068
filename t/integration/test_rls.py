"""BackendDBIdentity and BackendDBRole: on PostgreSQL, every statement of
a request runs in a transaction that knows its identity as PostgREST sets
it (request.jwt.claims, request.user) and, with BackendDBRole, as the
role the token names, so that row-level security policies hold.  On
SQLite the directives are refused at startup."""

import json

import pytest
import requests

from conftest import TokenSite, site_per_driver
from expected import assert_problem
from harness import refused_in_location

PG_SCHEMA = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mb_web') THEN
    CREATE ROLE mb_web NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mb_admin') THEN
    CREATE ROLE mb_admin NOLOGIN;
  END IF;
END $$;
CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL,
    owner text NOT NULL DEFAULT current_setting('request.user', true));
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO mb_web, mb_admin;
GRANT USAGE ON SEQUENCE notes_id_seq TO mb_web, mb_admin;
CREATE POLICY own ON notes TO mb_web
    USING (owner = current_setting('request.user', true))
    WITH CHECK (owner = current_setting('request.user', true));
CREATE POLICY everything ON notes TO mb_admin USING (true) WITH CHECK (true);
"""
SQLITE_SCHEMA = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL,
                    owner TEXT NOT NULL DEFAULT 'nobody');
"""
SEED = """
DELETE FROM notes;
INSERT INTO notes (id, body, owner) VALUES (1, 'a1', 'alice'),
    (2, 'b1', 'bob'), (3, 'a2', 'alice');
"""
WHOAMI = {
    "pgsql": "SELECT current_setting('request.user', true) AS u, "
             "current_setting('request.jwt.claims', true) AS claims, "
             "current_user AS role",
    "sqlite": "SELECT :user AS u, NULL AS claims, 'main' AS role",
}
# SQLite has neither: the same site without them
IDENTITY = {
    "pgsql": "    BackendDBIdentity On\n    BackendDBRole claim=db_role mb_web",
    "sqlite": "",
}
CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    BackendResource notes
    BackendFunction whoami "{whoami}"
{identity}
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
</Location>
<Location /plain>
    SetHandler backend
    BackendResource notes
</Location>
"""


class Site(TokenSite):
    def __init__(self, driver, pg):
        super().__init__(driver, pg, "rls",
                         PG_SCHEMA if driver == "pgsql" else SQLITE_SCHEMA,
                         CONF, whoami=WHOAMI[driver],
                         identity=IDENTITY[driver])


site = site_per_driver(Site)


@pytest.fixture
def s(site):
    site.db.script(SEED)
    if site.driver == "pgsql":
        site.db.script("SELECT setval('notes_id_seq', 100)")
    return site


def bodies(r):
    assert r.status_code == 200, r.text
    return sorted(n["body"] for n in r.json())


def test_policies_hold(s):
    alice = s.auth("alice", dept="x")
    if s.driver == "sqlite":
        # nothing to hold there: the directives change nothing
        assert bodies(requests.get(s.url + "/api/notes", headers=alice)) \
            == ["a1", "a2", "b1"]
        return
    assert bodies(requests.get(s.url + "/api/notes", headers=alice)) == \
        ["a1", "a2"]
    assert bodies(requests.get(s.url + "/api/notes", headers=s.auth("bob"))) \
        == ["b1"]
    # without the identity, the connection's own user sees every row
    assert bodies(requests.get(s.url + "/plain/notes")) == ["a1", "a2", "b1"]
    # a role the token names
    assert bodies(requests.get(s.url + "/api/notes", headers=s.auth(
        "carol", db_role="mb_admin"))) == ["a1", "a2", "b1"]
    # writes: the owner comes from request.user; another's row is refused
    r = requests.post(s.url + "/api/notes", headers=alice,
                      json={"body": "a3"})
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == "alice"
    r = requests.post(s.url + "/api/notes", headers=alice,
                      json={"body": "x", "owner": "bob"})
    assert_problem(r, 403, "Forbidden", "you may not do this")
    r = requests.patch(s.url + "/api/notes/2", headers=alice,
                       json={"body": "taken"})
    assert r.status_code == 404, r.text
    assert s.db.rows("SELECT body, owner FROM notes ORDER BY body") == [
        ("a1", "alice"), ("a2", "alice"), ("a3", "alice"), ("b1", "bob")]


def test_the_identity_the_database_sees(s):
    r = requests.get(s.url + "/api/rpc/whoami",
                     headers=s.auth("alice", dept="x", n=[1, 2]))
    assert r.status_code == 200, r.text
    row = r.json()[0]
    assert row["u"] == "alice"
    if s.driver == "pgsql":
        assert row["role"] == "mb_web"
        claims = json.loads(row["claims"])
        assert (claims["sub"], claims["dept"], claims["n"]) == \
            ("alice", "x", [1, 2])


@pytest.mark.allow_log("BE00075")
def test_a_role_the_database_refuses(s):
    r = requests.get(s.url + "/api/notes",
                     headers=s.auth("alice", db_role="mb_nosuch"))
    if s.driver == "sqlite":
        assert r.status_code == 200
        return
    assert_problem(r, 403, "Forbidden", "you may not do this")
    assert "BE00075" in s.httpd.log_text()


@pytest.mark.parametrize("line,name", [
    ("BackendDBIdentity On", "BackendDBIdentity"),
    ("BackendDBRole claim=db_role mb_web", "BackendDBRole"),
    ("BackendDBRole mb_web", "BackendDBRole"),
])
def test_sqlite_refuses_them_at_startup(line, name):
    refused_in_location("sqlite", None, SQLITE_SCHEMA,
                        "BackendResource notes\n" + line,
                        "%s (" % name)
    refused_in_location("sqlite", None, SQLITE_SCHEMA,
                        "BackendResource notes\n" + line,
                        ": needs a PostgreSQL database, and this server's "
                        "DBDriver is sqlite3")
