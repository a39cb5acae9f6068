"""The backend-token handler's other answers (signing with RSA and EC
private keys, 405, 401, 500 without a signing key or when the role
query fails), BackendTokenKey files that apachectl -t refuses, and
BackendAuthnCacheSOCache."""

import base64
import json
import os

import pytest
import requests

from conftest import make_db, site_per_driver
from expected import assert_problem
from harness import LIBEXEC, Httpd, assert_refused, bcrypt, make_tmpdir
import tokens

SCHEMA = """
CREATE TABLE users (name TEXT NOT NULL PRIMARY KEY,
                    password_hash TEXT NOT NULL);
CREATE TABLE user_roles (username TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
"""

BASIC = """
    AuthType Basic
    AuthName tokens
    AuthBasicProvider {provider}
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
"""

CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule socache_shmcb_module "{libexec}/mod_socache_shmcb.so"
BackendAuthnCacheSOCache "shmcb:{dir}/authn(65536)"
<Location /rs-token>
    SetHandler backend-token
    BackendTokenKey rs256 {k.rs} kid=rs
    BackendRoleQuery "SELECT role FROM user_roles WHERE username = :user"
    {basic_dbd}
</Location>
<Location /es-token>
    SetHandler backend-token
    BackendTokenKey es256 {k.es} kid=es
    BackendTokenIssuer https://issuer.test
    {basic_cached}
    BackendAuthnCache dbd
</Location>
<Location /open-token>
    SetHandler backend-token
    BackendTokenKey hs256 {k.hs}
</Location>
<Location /public-only>
    SetHandler backend-token
    BackendTokenKey rs256 {k.rs_pub}
    {basic_dbd}
</Location>
<Location /no-roles>
    SetHandler backend-token
    BackendTokenKey hs256 {k.hs}
    BackendRoleQuery "SELECT role FROM no_such_table WHERE username = :user"
    {basic_dbd}
</Location>
<Location /odd-kid-token>
    SetHandler backend-token
    BackendTokenKey hs256 {k.hs} kid=a"b\\c
    {basic_dbd}
</Location>
<Location /odd-kid-api>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {k.hs} kid=a"b\\c
    Require valid-user
</Location>
<Location /api>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey rs256 {k.rs_pub} kid=rs
    BackendTokenKey es256 {k.es_pub} kid=es
    Require valid-user
</Location>
"""


class Site:
    def __init__(self, driver, pg):
        self.db = make_db(driver, pg, "tokens")
        self.db.script(SCHEMA)
        self.db.script("INSERT INTO users VALUES ('ann', '%s');"
                       "INSERT INTO user_roles VALUES ('ann', 'editor');"
                       "INSERT INTO user_roles VALUES ('ann', 'author');"
                       % bcrypt("secret"))
        self.keys = tokens.Keys(make_tmpdir("mb-keys-"))
        self.dir = make_tmpdir("mb-socache-")
        os.chmod(self.dir, 0o777)
        self.httpd = Httpd(CONF.format(
            libexec=LIBEXEC, k=self.keys, dir=self.dir,
            basic_dbd=BASIC.format(provider="dbd"),
            basic_cached=BASIC.format(provider="backend-cache")),
            self.db).start_ok()
        self.url = self.httpd.url

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


ANN = ("ann", "secret")


def parts(token):
    pad = lambda s: s + "=" * (-len(s) % 4)
    h, p, _ = token.split(".")
    return (json.loads(base64.urlsafe_b64decode(pad(h))),
            json.loads(base64.urlsafe_b64decode(pad(p))))


def issued(site, path, method="POST"):
    r = requests.request(method, site.url + path, auth=ANN)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    return body["access_token"]


def test_rs256_private_key_signs(site):
    t = issued(site, "/rs-token")
    head, claims = parts(t)
    assert head == {"alg": "RS256", "typ": "JWT", "kid": "rs"}
    assert claims["sub"] == "ann"
    assert sorted(claims["roles"]) == ["author", "editor"]
    r = requests.get(site.url + "/api/notes",
                     headers={"Authorization": "Bearer " + t})
    assert r.status_code == 200 and r.json() == []


def test_es256_private_key_signs_behind_the_socache(site):
    for _ in range(2):  # a miss, then a hit in the shmcb cache
        t = issued(site, "/es-token", method="GET")
        head, claims = parts(t)
        assert head == {"alg": "ES256", "typ": "JWT", "kid": "es"}
        assert claims["iss"] == "https://issuer.test"
        assert claims["roles"] == []
        r = requests.get(site.url + "/api/notes",
                         headers={"Authorization": "Bearer " + t})
        assert r.status_code == 200 and r.json() == []


def test_a_kid_with_a_quote_and_a_backslash_is_escaped(site):
    # kid=a"b\c reaches the JOSE header as a JSON string, and the token
    # verifies against the key of that kid
    t = issued(site, "/odd-kid-token")
    head, claims = parts(t)
    assert head == {"alg": "HS256", "typ": "JWT", "kid": 'a"b\\c'}
    assert claims["sub"] == "ann"
    r = requests.get(site.url + "/odd-kid-api/notes",
                     headers={"Authorization": "Bearer " + t})
    assert r.status_code == 200 and r.json() == []


def test_other_methods_are_405(site):
    for m in ("PUT", "PATCH", "DELETE"):
        r = requests.request(m, site.url + "/rs-token", auth=ANN)
        assert_problem(r, 405, "Method Not Allowed",
                       "ask for a token with GET or POST")
        assert r.headers["Allow"] == "GET, HEAD, POST"


def test_without_authentication_is_401(site):
    r = requests.post(site.url + "/open-token")
    assert_problem(r, 401, "Unauthorized", "authentication is required")


@pytest.mark.allow_log("BE00044")
def test_only_a_public_key_is_500(site):
    r = requests.post(site.url + "/public-only", auth=ANN)
    assert_problem(r, 500, "Internal Server Error", "no signing key")
    assert "BE00044" in site.httpd.log_text()


@pytest.mark.allow_log("BE00041")
def test_a_role_query_that_fails_is_500(site):
    r = requests.post(site.url + "/no-roles", auth=ANN)
    assert_problem(r, 500, "Internal Server Error",
                   "the roles of the user could not be read")
    assert "BE00041: BackendRoleQuery failed: " in site.httpd.log_text()


@pytest.mark.parametrize("line,message", [
    ("BackendTokenKey rs256 /nonexistent/key.pem",
     "BackendTokenKey: cannot read the key file /nonexistent/key.pem"),
    ("BackendTokenKey hs256 {short}",
     "BackendTokenKey: the hs256 secret in {short} is shorter than"),
    ("BackendTokenKey rs256 {hs}",
     "BackendTokenKey: {hs} holds no PEM public or private key"),
    ("BackendTokenKey es256 {rs_pub}",
     "BackendTokenKey: the key in {rs_pub} is not a P-256 EC key"),
    ("BackendTokenKey rs256 {es}",
     "BackendTokenKey: the key in {es} is not an RSA key"),
    ("BackendTokenKey hs512 {hs}",
     "BackendTokenKey: unknown algorithm 'hs512'"),
])
def test_key_files_apachectl_refuses(site, line, message):
    short = os.path.join(site.keys.dir, "short.key")
    with open(short, "w") as f:
        f.write("0123456789\n")
    os.chmod(short, 0o644)
    names = dict(short=short, hs=site.keys.hs, rs_pub=site.keys.rs_pub,
                 es=site.keys.es)
    assert_refused("<Location /t>\n    AuthType Bearer\n    %s\n"
                   "</Location>\n" % line.format(**names), site.db,
                   message.format(**names), start=True)


def test_a_missing_socache_provider_stops_startup(site):
    assert_refused("""
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /x>
    AuthType Basic
    AuthName x
    AuthBasicProvider backend-cache
    BackendAuthnCache dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
""".format(libexec=LIBEXEC), site.db,
        "BE00050: BackendAuthnCache needs the socache provider 'shmcb' "
        "(LoadModule socache_shmcb_module; a2enmod socache_shmcb)",
        start=True)


@pytest.mark.allow_log("AH01617", "AH01618")
@pytest.mark.parametrize("path", ["/rs-token", "/es-token"])
def test_json_login(site, path):
    """POST {"username","password"}: checked by the same AuthBasicProvider
    list (and backend-cache) as Basic; a refusal is a 401 problem without
    the Basic challenge that would open a browser's dialog."""
    r = requests.post(site.url + path,
                      json={"username": "ann", "password": "secret"})
    assert r.status_code == 200, r.text
    head, claims = parts(r.json()["access_token"])
    assert claims["sub"] == "ann"
    # the token it gives opens the API
    r2 = requests.get(site.url + "/api/notes", headers={
        "Authorization": "Bearer " + r.json()["access_token"]})
    assert r2.status_code == 200, r2.text
    for body in ({"username": "ann", "password": "wrong"},
                 {"username": "nobody", "password": "secret"},
                 {"username": "ann"}, {"username": "ann:x", "password": "x"},
                 {"username": "ann", "password": 5}, [1], "x"):
        r = requests.post(site.url + path, json=body)
        assert_problem(r, 401, "Unauthorized", "authentication is required")
        assert "WWW-Authenticate" not in r.headers, body
    r = requests.post(site.url + path, data=b"{" * 9000,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    assert "WWW-Authenticate" not in r.headers
    # Basic still challenges as it did
    r = requests.post(site.url + path, auth=("ann", "wrong"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert "secret" not in site.httpd.log_text()
