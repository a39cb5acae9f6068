"""Access-control mistakes are refused by apachectl -t (and at startup)
with a message naming the directive, not answered with a 500 by every
request; owner= on a column no user name fits is warned about."""

import os

import pytest
import requests

from conftest import make_db
from harness import LIBEXEC, Httpd, assert_refused, bcrypt, make_tmpdir

MODULES = "".join('LoadModule %s_module "%s/mod_%s.so"\n' % (m, LIBEXEC, m)
                  for m in ("auth_basic", "authn_dbd", "authz_user",
                            "socache_shmcb"))


@pytest.fixture(scope="module")
def db(driver, request):
    pg_server = request.getfixturevalue("pg") if driver == "pgsql" else None
    d = make_db(driver, pg_server, "cfgauth")
    d.script("CREATE TABLE owned (id INTEGER PRIMARY KEY, owner INTEGER, "
             "body TEXT)")
    yield d
    d.close()


@pytest.fixture(scope="module")
def keyfile():
    d = make_tmpdir("mb-cfgauth-")
    path = os.path.join(d, "token.key")
    with open(path, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(path, 0o644)
    return path


def refused(body, db, message):
    assert_refused(MODULES + body, db, message, start=True)


def passes(body, db):
    h = Httpd(MODULES + body, db)
    try:
        t = h.configtest()
        assert t.returncode == 0, t.stdout
        assert "BE000" not in t.stdout, t.stdout
    finally:
        h.destroy()


def loc(path, *lines):
    return "<Location %s>\n%s\n</Location>\n" % (
        path, "\n".join("    " + l for l in lines))


API = loc("/api", "SetHandler backend", "BackendResource products")


def test_backend_cache_without_backendauthncache_is_refused(db):
    refused(API + loc("/api/token", "SetHandler backend-token",
                      "AuthType Basic", "AuthName shop",
                      "AuthBasicProvider backend-cache",
                      "Require valid-user"),
            db, "AuthBasicProvider backend-cache needs BackendAuthnCache")
    # the message says where
    h = Httpd(MODULES + API + loc("/x", "AuthType Basic", "AuthName x",
                                  "AuthBasicProvider backend-cache",
                                  "Require valid-user"), db)
    try:
        t = h.configtest()
        assert "BE00071" in t.stdout and "httpd.conf:" in t.stdout, t.stdout
    finally:
        h.destroy()


def test_backend_cache_with_backendauthncache_passes(db):
    passes(API + loc("/api/token", "SetHandler backend-token",
                     "AuthType Basic", "AuthName shop",
                     "AuthBasicProvider backend-cache",
                     "BackendAuthnCache dbd",
                     "AuthDBDUserPWQuery \"SELECT 'x' WHERE 1 = 0 AND "
                     "'a' = %s\"",
                     "Require valid-user"), db)
    # BackendAuthnCache in an enclosing <Location> applies
    passes(loc("/api", "SetHandler backend", "BackendResource products",
               "BackendAuthnCache dbd") +
           loc("/api/products", "AuthType Basic", "AuthName shop",
               "AuthBasicProvider backend-cache", "Require valid-user"), db)


def test_bearer_without_token_key_is_refused(db, keyfile):
    refused(loc("/api", "SetHandler backend", "BackendResource products",
                "AuthType Bearer", "Require valid-user"),
            db, "AuthType Bearer needs a BackendTokenKey")
    # a key below /api does not cover /api itself
    refused(loc("/api", "SetHandler backend", "BackendResource products",
                "AuthType Bearer", "Require valid-user") +
            loc("/api/products", 'BackendTokenKey hs256 "%s"' % keyfile),
            db, "AuthType Bearer needs a BackendTokenKey")
    # in a virtual host as well
    refused(API + "<VirtualHost *>\nServerName v.test\n" +
            loc("/v", "AuthType Bearer", "Require valid-user") +
            "</VirtualHost>\n", db, "AuthType Bearer needs a BackendTokenKey")


def test_bearer_with_token_key_passes(db, keyfile):
    key = 'BackendTokenKey hs256 "%s"' % keyfile
    passes(loc("/api", "SetHandler backend", "BackendResource products",
               "AuthType Bearer", key, "Require valid-user"), db)
    passes(loc("/api", "SetHandler backend", "BackendResource products",
               key) +
           loc("/api/products", "AuthType Bearer", "Require valid-user"), db)


def test_unknown_authn_cache_provider_is_refused(db):
    refused(API + loc("/api/token", "SetHandler backend-token",
                      "AuthType Basic", "AuthName shop",
                      "AuthBasicProvider backend-cache",
                      "BackendAuthnCache nosuch", "Require valid-user"),
            db, "BackendAuthnCache: no authn provider 'nosuch'")
    # mod_authn_file is not loaded here
    refused(API + loc("/x", "AuthType Basic", "AuthName x",
                      "AuthBasicProvider backend-cache",
                      "BackendAuthnCache dbd file", "Require valid-user"),
            db, "BackendAuthnCache: no authn provider 'file'")


def test_role_query_with_too_many_parameters_is_refused(db, keyfile):
    def conf(n):
        where = " OR ".join("username = :claim.c%d" % i for i in range(n))
        return loc("/api", "SetHandler backend", "BackendResource products",
                   'BackendTokenKey hs256 "%s"' % keyfile,
                   'BackendRoleQuery "SELECT role FROM roles WHERE %s"'
                   % where)
    refused(conf(17), db, "BackendRoleQuery: 17 parameters")
    passes(conf(16), db)


OWNED = """
LoadModule authn_file_module "{libexec}/mod_authn_file.so"
<Location /api>
    SetHandler backend
    BackendResource owned owner=owner
    AuthType Basic
    AuthName owned
    AuthBasicProvider file
    AuthUserFile "{users}"
    Require valid-user
</Location>
"""


def test_owner_on_an_integer_column_is_warned(db):
    d = make_tmpdir("mb-cfgowner-")
    users = os.path.join(d, "users")
    with open(users, "w") as f:
        f.write("bob:%s\n" % bcrypt("pw"))
    os.chmod(users, 0o644)
    h = Httpd(MODULES + OWNED.format(libexec=LIBEXEC, users=users), db)
    try:
        h.start_ok()
        log = h.log_text()
        assert "[backend:warn]" in log and "BE00073" in log, log
        assert "BackendResource owned" in log and "owner=owner" in log, log
        r = requests.get(h.url + "/api/owned", auth=("bob", "pw"))
        assert r.status_code == 403
        log = h.log_text()
        lines = [l for l in log.splitlines() if "BE00074" in l]
        assert lines and "[backend:warn]" in lines[0], log
        assert "owned" in lines[0] and "'bob' is not an integer" in lines[0]
    finally:
        h.destroy()
