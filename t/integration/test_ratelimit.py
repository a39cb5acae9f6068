"""BackendRateLimit and BackendLoginLimit on both drivers: N requests per
PERIOD per client (address, user or claim), for a location or one
resource, counted across httpd's children in the shared cache; answers
carry RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers),
a refused one is 429 problem+json with Retry-After.  Failed logins of the
token endpoint are limited per user name and per address, and the lock
wears off.  Misconfiguration is refused by apachectl -t."""

import threading
import time

import pytest
import requests

from conftest import TokenSite, site_per_driver
from expected import assert_problem
from harness import LIBEXEC, Database, assert_refused, bcrypt, make_tmpdir

SCHEMA = """
CREATE TABLE users (name TEXT NOT NULL PRIMARY KEY,
                    password_hash TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO notes (id, body) VALUES (1, 'a');
INSERT INTO tags (id, name) VALUES (1, 'x');
"""

# a token endpoint over the users table
TOKEN = """    SetHandler backend-token
    BackendTokenKey hs256 {hs}
    AuthType Basic
    AuthName tokens
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user"""

CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule socache_shmcb_module "{libexec}/mod_socache_shmcb.so"
LoadModule remoteip_module "{libexec}/mod_remoteip.so"
# the tests play several client addresses through X-Forwarded-For
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
{socache}
<Location /ip>
    SetHandler backend
    BackendResource notes
    BackendRateLimit 3/minute
</Location>
<Location /one>
    SetHandler backend
    BackendResource notes
    BackendResource tags
    BackendRateLimit tags 2/minute
    BackendFunction double x:int "SELECT :x * 2 AS y"
    BackendRateLimit double 1/minute
    BackendRoute GET /tag/{{id:int}} returns=one "SELECT name FROM tags WHERE id = :id"
    BackendRoute DELETE /tag/{{id:int}} returns=none "DELETE FROM tags WHERE id = :id AND 0 = 1"
    BackendRateLimit /tag/{{id}} 1/minute
</Location>
<Location /users>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendRateLimit 2/hour by=user
</Location>
<Location /tenants>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendRateLimit 2/day by=claim.tenant
</Location>
<Location /burst>
    SetHandler backend
    BackendResource notes
    BackendRateLimit 10/s burst=1
</Location>
<Location /token>
{token}
    BackendLoginLimit 3/minute
</Location>
<Location /quick-token>
{token}
    BackendLoginLimit 2/2s
</Location>
"""


class Site(TokenSite):
    """The counters in the table of this machine's shared memory (no
    BackendRateLimitSOCache), or in a socache provider."""

    def __init__(self, driver, pg, socache="", name="limits"):
        super().__init__(driver, pg, name, SCHEMA,
                         CONF.replace("{token}", TOKEN),
                         dir=make_tmpdir("mb-limits-"), socache=socache)
        for user in ("alice", "bob", "carol", "dave"):
            self.db.script("INSERT INTO users VALUES ('%s', '%s')"
                           % (user, bcrypt("right")))


site = site_per_driver(Site)


def get(site, path, ip="10.0.0.1", **kw):
    headers = kw.pop("headers", {})
    headers["X-Forwarded-For"] = ip
    return requests.get(site.url + path, headers=headers, **kw)


def test_n_per_period_per_address_with_the_fields(site):
    seen = []
    for _ in range(3):
        r = get(site, "/ip/notes", ip="10.1.0.1")
        assert r.status_code == 200, r.text
        assert r.headers["RateLimit-Policy"] == '"default";q=3;w=60'
        seen.append(r.headers["RateLimit"])
    assert seen == ['"default";r=2;t=20', '"default";r=1;t=40',
                    '"default";r=0;t=60']
    r = get(site, "/ip/notes", ip="10.1.0.1")
    assert_problem(r, 429, "Too Many Requests",
                   "too many requests: the limit is 3/minute; retry in 20 s")
    assert r.headers["Retry-After"] == "20"
    assert r.headers["RateLimit-Policy"] == '"default";q=3;w=60'
    assert r.headers["RateLimit"] == '"default";r=0;t=60'
    # another address has its own
    r = get(site, "/ip/notes", ip="10.1.0.2")
    assert r.status_code == 200
    assert r.headers["RateLimit"] == '"default";r=2;t=20'


def test_in_a_socache_provider(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    s = Site(driver, pg, 'BackendRateLimitSOCache "shmcb:%s/limits(65536)"'
             % make_tmpdir("mb-limits-shmcb-"), "limits_shmcb")
    try:
        seen = []
        for _ in range(4):
            r = requests.get(s.url + "/ip/notes",
                             headers={"X-Forwarded-For": "10.1.9.1",
                                      "Connection": "close"})
            seen.append((r.status_code, r.headers["RateLimit"]))
        assert seen == [(200, '"default";r=2;t=20'),
                        (200, '"default";r=1;t=40'),
                        (200, '"default";r=0;t=60'),
                        (429, '"default";r=0;t=60')]
        assert r.headers["Retry-After"] == "20"
    finally:
        s.close()


def test_errors_count_and_carry_the_fields(site):
    r = get(site, "/ip/notes/999", ip="10.1.1.1")
    assert_problem(r, 404, "Not Found", "notes has no row with key '999'")
    assert r.headers["RateLimit"] == '"default";r=2;t=20'
    r = requests.post(site.url + "/ip/notes", data="{",
                      headers={"Content-Type": "application/json",
                               "X-Forwarded-For": "10.1.1.1"})
    assert r.status_code == 400
    assert r.headers["RateLimit"] == '"default";r=1;t=40'


def test_counted_across_children(site):
    # a new connection each time: httpd's two children both answer
    passed = 0
    for _ in range(8):
        r = requests.get(site.url + "/ip/notes",
                         headers={"X-Forwarded-For": "10.1.2.1",
                                  "Connection": "close"})
        assert r.status_code in (200, 429)
        passed += r.status_code == 200
    assert passed == 3


def test_concurrent_requests_of_one_client(site):
    # 24 at once over both children: the table's compare-and-swap lets
    # exactly the quota through
    codes = []

    def one():
        r = requests.get(site.url + "/ip/notes",
                         headers={"X-Forwarded-For": "10.1.3.1",
                                  "Connection": "close"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 3 + [429] * 21


def test_one_resource_limited(site):
    for _ in range(5):
        r = get(site, "/one/notes", ip="10.2.0.1")
        assert r.status_code == 200
        assert "RateLimit" not in r.headers
    codes = [get(site, "/one/tags", ip="10.2.0.1").status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    r = get(site, "/one/tags/1", ip="10.2.0.1")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "30"
    r = get(site, "/one/tags", ip="10.2.0.2")
    assert r.headers["RateLimit-Policy"] == '"tags";q=2;w=60'


def test_one_function_and_one_route_limited(site):
    r = get(site, "/one/rpc/double?x=2", ip="10.2.1.1")
    assert r.json() == [{"y": 4}]
    assert r.headers["RateLimit-Policy"] == '"double";q=1;w=60'
    assert get(site, "/one/rpc/double?x=2", ip="10.2.1.1").status_code == 429
    r = get(site, "/one/tag/1", ip="10.2.1.1")
    assert r.json() == {"name": "x"}
    assert r.headers["RateLimit-Policy"] == '"/tag/{id}";q=1;w=60'
    assert get(site, "/one/tag/1", ip="10.2.1.1").status_code == 429
    # each method of the route counts against the same client's quota
    r = requests.delete(site.url + "/one/tag/1",
                        headers={"X-Forwarded-For": "10.2.1.1"})
    assert r.status_code == 429
    # the resources of the location are not limited
    assert "RateLimit" not in get(site, "/one/notes", ip="10.2.1.1").headers


def test_by_user(site):
    alice = site.auth("alice")
    bob = site.auth("bob")
    codes = [get(site, "/users/notes", ip="10.3.0.%d" % i,
                 headers=dict(alice)).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert get(site, "/users/notes", headers=dict(bob)).status_code == 200
    # the 401 of a request without a token is not counted against anyone
    assert get(site, "/users/notes").status_code == 401


def test_by_claim(site):
    t1 = site.auth("alice", tenant="t1")
    t1b = site.auth("bob", tenant="t1")
    t2 = site.auth("carol", tenant="t2")
    assert get(site, "/tenants/notes", headers=dict(t1)).status_code == 200
    assert get(site, "/tenants/notes", headers=dict(t1b)).status_code == 200
    r = get(site, "/tenants/notes", headers=dict(t1))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == str(12 * 3600)
    assert get(site, "/tenants/notes", headers=dict(t2)).status_code == 200
    # without the claim: the address counts
    plain = site.auth("dave")
    codes = [get(site, "/tenants/notes", ip="10.4.0.1",
                 headers=dict(plain)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_burst(site):
    assert get(site, "/burst/notes", ip="10.5.0.1").status_code == 200
    r = get(site, "/burst/notes", ip="10.5.0.1")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    time.sleep(0.15)
    r = get(site, "/burst/notes", ip="10.5.0.1")
    assert r.status_code == 200
    assert r.headers["RateLimit-Policy"] == '"default";q=10;w=1'


def login(site, user, password, ip, path="/token"):
    return requests.get(site.url + path, auth=(user, password),
                        headers={"X-Forwarded-For": ip})


def json_login(site, user, password, ip, path="/token"):
    return requests.post(site.url + path,
                         json={"username": user, "password": password},
                         headers={"X-Forwarded-For": ip})


@pytest.mark.allow_log("AH01617", "AH01618")
def test_failed_logins_per_user(site):
    # three addresses try alice's password: alice is locked everywhere
    for i in range(3):
        assert login(site, "alice", "wrong", "10.6.0.%d" % i).status_code \
            == 401
    r = login(site, "alice", "right", "10.6.0.9")
    assert_problem(r, 429, "Too Many Requests",
                   "too many failed logins; retry in 20 s")
    assert r.headers["Retry-After"] == "20"
    assert "RateLimit" not in r.headers
    r = json_login(site, "alice", "right", "10.6.0.9")
    assert r.status_code == 429
    # others from those addresses are not
    assert login(site, "bob", "right", "10.6.0.1").status_code == 200


@pytest.mark.allow_log("AH01617", "AH01618")
def test_failed_logins_per_address(site):
    for user in ("u1", "u2"):
        assert login(site, user, "wrong", "10.7.0.1").status_code == 401
    assert json_login(site, "u3", "wrong", "10.7.0.1").status_code == 401
    r = login(site, "carol", "right", "10.7.0.1")
    assert r.status_code == 429
    assert login(site, "carol", "right", "10.7.0.2").status_code == 200


def test_successes_do_not_count(site):
    for _ in range(6):
        assert login(site, "dave", "right", "10.8.0.1").status_code == 200


@pytest.mark.allow_log("AH01617", "AH01618")
def test_the_lock_wears_off(site):
    for _ in range(2):
        assert login(site, "bob", "wrong", "10.9.0.1",
                     "/quick-token").status_code == 401
    assert login(site, "bob", "right", "10.9.0.1",
                 "/quick-token").status_code == 429
    time.sleep(1.1)
    r = login(site, "bob", "right", "10.9.0.1", "/quick-token")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("line,message", [
    ("BackendRateLimit", "BackendRateLimit needs N/PERIOD"),
    ("BackendRateLimit 0/minute", "BackendRateLimit 0/minute: not N/PERIOD"),
    ("BackendRateLimit 5/fortnight", "BackendRateLimit 5/fortnight: not "
     "N/PERIOD"),
    ("BackendRateLimit 5/m by=host", "BackendRateLimit: unknown option "
     "'by=host'"),
    ("BackendRateLimit 5/m burst=0", "BackendRateLimit 5/m: burst=M needs "
     "M >= 1"),
    ("BackendRateLimit nope 5/m", "nope"),
    ("BackendRateLimit /nowhere 5/m", "BackendRateLimit /nowhere: no "
     "BackendRoute at that path is declared above it"),
    ("BackendLoginLimit 5/m by=user", "BackendLoginLimit: unknown option "
     "'by=user'"),
    ("BackendRateLimit 2000000/s", "more than one per microsecond"),
    ("BackendAuthnCacheSecret /nonexistent/secret",
     "BackendAuthnCacheSecret /nonexistent/secret: cannot read it"),
    ("BackendAuthnCacheSecret /etc/hostname",
     "BackendAuthnCacheSecret /etc/hostname: needs 32 to 4096 bytes"),
])
def test_misconfiguration_is_refused(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = Database(driver, pg, "limits_bad")
    db.script(SCHEMA)
    # (server-wide directives go before the location)
    top, inside = (line, "") if line.startswith("BackendAuthnCacheSecret") \
        else ("", line)
    try:
        assert_refused(
            'LoadModule socache_shmcb_module "%s/mod_socache_shmcb.so"\n%s\n'
            "<Location /api>\nSetHandler backend\nBackendResource notes\n"
            "%s\n</Location>\n" % (LIBEXEC, top, inside), db, message)
    finally:
        db.close()


def test_a_provider_not_loaded_is_refused(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = Database(driver, pg, "limits_noprov")
    db.script(SCHEMA)
    try:
        assert_refused("BackendRateLimitSOCache shmcb\n"
                       "<Location /api>\nSetHandler backend\n"
                       "BackendResource notes\nBackendRateLimit 5/m\n"
                       "</Location>\n", db,
                       "BE00050: BackendRateLimit needs the socache provider "
                       "'shmcb'", start=True)
    finally:
        db.close()
