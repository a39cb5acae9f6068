"""Access control on both drivers: Bearer tokens (and every way to forge
one), the token endpoint behind Basic auth with bcrypt passwords from the
database, roles, claims, row ownership and hidden columns."""

import subprocess
import time

import pytest
import requests

from conftest import make_db, site_per_driver
from expected import assert_problem
from harness import Httpd, assert_refused, bcrypt, make_tmpdir
import tokens

SCHEMA = {
    "sqlite": """
CREATE TABLE users (name TEXT NOT NULL PRIMARY KEY,
                    password_hash TEXT NOT NULL, email TEXT);
CREATE TABLE user_roles (username TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL,
                    body TEXT NOT NULL, tag TEXT UNIQUE);
""",
    "pgsql": """
CREATE TABLE users (name text PRIMARY KEY, password_hash text NOT NULL,
                    email text);
CREATE TABLE user_roles (username text NOT NULL, role text NOT NULL);
CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL,
                    body text NOT NULL, tag text UNIQUE);
""",
}

CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule socache_shmcb_module "{libexec}/mod_socache_shmcb.so"
LoadModule authz_dbd_module "{libexec}/mod_authz_dbd.so"
<Location /api>
    SetHandler backend
    BackendResource notes owner=owner
    BackendResource users key=name
    BackendHide users password_hash
    # an authenticated user who may not gets 403, not another 401
    AuthzSendForbiddenOnFailure On
</Location>
<Location /api/token>
    SetHandler backend-token
    AuthType Basic
    AuthName test
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
    BackendTokenKey hs256 {k.hs}
    BackendRoleQuery "SELECT role FROM user_roles WHERE username = :user"
    BackendTokenLifetime 600
</Location>
<Location /api/notes>
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    BackendTokenKey rs256 {k.rs_pub} kid=rs
    BackendTokenKey es256 {k.es_pub} kid=es
    BackendOwnerBypass admin
    Require valid-user
</Location>
<Location /api/users>
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    Require backend-role admin
</Location>
<Location /claims>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    BackendTokenIssuer https://issuer.test
    BackendTokenAudience shop
    AuthzSendForbiddenOnFailure On
    <RequireAll>
        Require backend-claim dept sales support
        Require method GET
    </RequireAll>
</Location>
<Location /claimrole>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    BackendTokenUserClaim email
    BackendRoleQuery "SELECT role FROM user_roles WHERE username = :claim.login"
    AuthzSendForbiddenOnFailure On
    Require backend-role editor
</Location>
<Location /dbdgroup>
    SetHandler backend
    BackendResource notes
    AuthType Basic
    AuthName dbdgroup
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    AuthzDBDQuery "SELECT role FROM user_roles WHERE username = %s"
    AuthzSendForbiddenOnFailure On
    <RequireAll>
        Require dbd-group editor
        Require method GET POST
    </RequireAll>
</Location>
<Location /cached>
    SetHandler backend
    BackendResource notes
    AuthType Basic
    AuthName cached
    AuthBasicProvider backend-cache
    BackendAuthnCache dbd
    BackendAuthnCacheTTL 2
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
<Location /basic>
    SetHandler backend
    BackendResource notes owner=owner
    AuthType Basic
    AuthName basic
    AuthzSendForbiddenOnFailure On
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    BackendRoleQuery "SELECT role FROM user_roles WHERE username = :user"
    BackendOwnerBypass admin
    <RequireAny>
        Require backend-role editor admin
        Require user bob
    </RequireAny>
</Location>
"""

PASSWORDS = {"alice": "wonderland", "bob": "builder", "carol": "singer",
             "dave": "nobody", "erin": "first", "frank": "right"}
ROLES = [("alice", "admin"), ("carol", "editor")]
REFUSED_TOKENS = ("BE00042",)
# httpd's own error-level lines for refused passwords and denied requests
DENIED = ("AH01617", "AH01618", "AH01630", "AH01631", "BE00042")


class Site:
    def __init__(self, driver, pg):
        self.db = make_db(driver, pg, "auth")
        self.db.script(SCHEMA[driver])
        self.keydir = make_tmpdir("mb-keys-")
        self.keys = tokens.Keys(self.keydir)
        for name, pw in PASSWORDS.items():
            self.db.script("INSERT INTO users (name, password_hash, email) "
                           "VALUES ('%s', '%s', '%s@example.com')"
                           % (name, bcrypt(pw), name))
        for user, role in ROLES:
            self.db.script("INSERT INTO user_roles VALUES ('%s', '%s')"
                           % (user, role))
        from harness import LIBEXEC
        self.conf = CONF.format(k=self.keys, libexec=LIBEXEC)
        self.httpd = Httpd(self.conf, self.db).start_ok()
        self.url = self.httpd.url

    def token(self, user, **more):
        return tokens.hs256(self.keys.secret, tokens.claims(user, **more))

    def get(self, path, token=None, **kw):
        h = kw.pop("headers", {})
        if token:
            h["Authorization"] = "Bearer " + token
        return requests.get(self.url + path, headers=h, **kw)

    def call(self, method, path, token, **kw):
        return requests.request(method, self.url + path,
                                headers={"Authorization": "Bearer " + token},
                                **kw)

    def reset_notes(self):
        self.db.script("DELETE FROM notes")

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


@pytest.fixture
def notes(site):
    site.reset_notes()
    return site


# --- authentication ---------------------------------------------------------

def test_no_token_is_401_with_challenge(site):
    r = site.get("/api/notes")
    assert_problem(r, 401, "Unauthorized", "a bearer token is required")
    assert r.headers["WWW-Authenticate"] == "Bearer"


def bad_token(site, token, why):
    r = site.get("/api/notes", token)
    assert_problem(r, 401, "Unauthorized", "invalid token: " + why)
    assert r.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="%s"' % why)


@pytest.mark.allow_log(*REFUSED_TOKENS)
def test_forged_tokens_are_refused(site):
    k = site.keys
    good = tokens.claims("alice")
    bad_token(site, "garbage", "the token is not a JWT (three base64url parts)")
    bad_token(site, tokens.unsigned(good), "no key for algorithm none")
    bad_token(site, tokens.hs256(b"another secret of 32 bytes......", good),
              "the signature does not verify")
    # algorithm confusion: HS256 keyed with the RSA public key
    with open(k.rs_pub, "rb") as f:
        bad_token(site, tokens.hs256(f.read(), good),
                  "the signature does not verify")
    t = site.token("bob").split(".")
    forged = ".".join([t[0], tokens.b64(b'{"sub":"alice","exp":9999999999}'),
                       t[2]])
    bad_token(site, forged, "the signature does not verify")
    t = site.token("bob").split(".")
    forged = ".".join([tokens.b64(b'{"alg":"HS384","typ":"JWT"}'), t[1], t[2]])
    bad_token(site, forged, "no key for algorithm HS384")
    bad_token(site, site.token("alice", ttl=-120), "the token has expired")
    bad_token(site, tokens.hs256(k.secret, dict(good, nbf=int(time.time())
                                                + 600)),
              "the token is not valid yet")
    bad_token(site, tokens.rs256(k.rs, good, kid="es"),
              "no key for algorithm RS256 and this kid")
    bad_token(site, tokens.hs256(k.secret, {"exp": good["exp"]}),
              "the token has no sub claim")


def test_valid_tokens_of_every_algorithm(site):
    k = site.keys
    for t in (site.token("alice"), site.token("alice", ttl=-10),
              tokens.rs256(k.rs, tokens.claims("alice"), kid="rs"),
              tokens.es256(k.es, tokens.claims("alice"), kid="es"),
              tokens.rs256(k.rs, tokens.claims("alice"))):
        r = site.get("/api/notes", t)
        assert r.status_code == 200, r.text
        assert r.json() == [] or isinstance(r.json(), list)


@pytest.mark.allow_log(*REFUSED_TOKENS)
def test_issuer_and_audience(site):
    ok = tokens.claims("x", dept="sales", iss="https://issuer.test",
                       aud="shop")
    assert site.get("/claims/notes", tokens.hs256(site.keys.secret,
                                                  ok)).status_code == 200
    for change, why in ((dict(iss="https://evil.test"),
                         "the token has another issuer"),
                        (dict(aud=["web", "app"]),
                         "the token is meant for another audience")):
        t = tokens.hs256(site.keys.secret, dict(ok, **change))
        r = site.get("/claims/notes", t)
        assert_problem(r, 401, "Unauthorized", "invalid token: " + why)


def test_token_endpoint_with_bcrypt_passwords(site):
    r = requests.post(site.url + "/api/token", auth=("alice", "wonderland"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert r.headers["Cache-Control"] == "no-store"
    payload = tokens.base64.urlsafe_b64decode(
        body["access_token"].split(".")[1] + "==")
    claims = tokens.json.loads(payload)
    assert claims["sub"] == "alice" and claims["roles"] == ["admin"]
    assert claims["exp"] - claims["iat"] == 600
    r = site.get("/api/users", body["access_token"])
    assert r.status_code == 200
    r = requests.get(site.url + "/api/token", auth=("bob", "builder"))
    assert r.status_code == 200
    assert tokens.json.loads(tokens.base64.urlsafe_b64decode(
        r.json()["access_token"].split(".")[1] + "=="))["roles"] == []


@pytest.mark.allow_log(*DENIED)
def test_token_endpoint_refuses_wrong_passwords(site):
    for auth in (("alice", "WONDERLAND"), ("nobody", "x"), None):
        r = requests.post(site.url + "/api/token", auth=auth)
        assert_problem(r, 401, "Unauthorized", "authentication is required")
        assert r.headers["WWW-Authenticate"] == 'Basic realm="test"'


def test_token_from_one_httpd_works_on_another(site):
    token = requests.post(site.url + "/api/token",
                          auth=("alice", "wonderland")).json()["access_token"]
    other = Httpd(site.conf, site.db).start_ok()
    try:
        r = requests.get(other.url + "/api/users/bob",
                         headers={"Authorization": "Bearer " + token})
        assert r.status_code == 200
        assert r.json() == {"name": "bob", "email": "bob@example.com"}
    finally:
        other.destroy()


# --- authorization -----------------------------------------------------------

@pytest.mark.allow_log(*DENIED)
def test_backend_role(site):
    r = site.get("/api/users", site.token("bob"))
    assert_problem(r, 403, "Forbidden", "you may not do this")
    r = site.get("/api/users", site.token("bob", roles=["admin"]))
    assert r.status_code == 200
    r = site.get("/api/users", site.token("x", role="admin"))
    assert r.status_code == 200


@pytest.mark.allow_log(*DENIED)
def test_backend_claim_with_require_all(site):
    base = dict(iss="https://issuer.test", aud="shop")
    for dept, status in (("sales", 200), ("support", 200), ("hr", 403)):
        t = tokens.hs256(site.keys.secret,
                         tokens.claims("x", dept=dept, **base))
        assert site.get("/claims/notes", t).status_code == status
    t = tokens.hs256(site.keys.secret, tokens.claims("x", **base))
    assert site.get("/claims/notes", t).status_code == 403
    # Require method GET in the same RequireAll
    t = tokens.hs256(site.keys.secret, tokens.claims("x", dept="sales", **base))
    r = site.call("DELETE", "/claims/notes?id=eq.1", t)
    assert_problem(r, 403, "Forbidden", "you may not do this")


@pytest.mark.allow_log(*DENIED)
def test_roles_from_the_database_for_basic_users(notes):
    url = notes.url + "/basic/notes"
    assert requests.get(url, auth=("carol", "singer")).status_code == 200
    assert requests.get(url, auth=("bob", "builder")).status_code == 200
    r = requests.get(url, auth=("dave", "nobody"))
    assert_problem(r, 403, "Forbidden", "you may not do this")
    r = requests.get(url, auth=("dave", "wrong"))
    assert r.status_code == 401


def test_bad_require_lines_fail_configtest(site):
    for line, msg in (("Require backend-role",
                       "Require backend-role needs at least one ROLE"),
                      ("Require backend-claim dept",
                       "Require backend-claim needs a claim NAME and at "
                       "least one VALUE")):
        assert_refused("<Location /x>\n%s\n</Location>\n" % line, site.db,
                       msg)


# --- ownership ---------------------------------------------------------------

def test_rows_belong_to_their_user(notes):
    a, b = notes.token("alice2"), notes.token("bob")
    r = notes.call("POST", "/api/notes", a, json={"body": "alice's"})
    assert r.status_code == 201
    assert r.json()["owner"] == "alice2"
    aid = r.json()["id"]
    r = notes.call("POST", "/api/notes", b, json={"body": "bob's",
                                                  "tag": "b1"})
    bid = r.json()["id"]
    assert r.json()["owner"] == "bob"

    # bob sees only his own, whatever he asks for
    assert [n["id"] for n in notes.call("GET", "/api/notes", b).json()] == \
        [bid]
    for q in ("?id=eq.%d" % aid, "?or=(id.eq.%d,owner.eq.alice2)" % aid,
              "?owner=not.eq.bob", "?owner=eq.alice2", "?select=body,owner"
              "&owner=neq.bob"):
        assert notes.call("GET", "/api/notes" + q, b).json() == [], q
    assert notes.call("GET", "/api/notes/%d" % aid, b).status_code == 404
    # and changes none of alice's
    assert notes.call("PATCH", "/api/notes/%d" % aid, b,
                      json={"body": "x"}).status_code == 404
    assert notes.call("PUT", "/api/notes/%d" % aid, b,
                      json={"body": "x"}).status_code == 404
    assert notes.call("DELETE", "/api/notes/%d" % aid, b).status_code == 404
    r = notes.call("PATCH", "/api/notes?id=gt.0", b, json={"body": "all?"})
    assert r.status_code == 204
    r = notes.call("DELETE", "/api/notes?body=eq.alice's", b)
    assert r.status_code == 204
    # upsert onto alice's key does not touch her row
    r = requests.post(notes.url + "/api/notes", json={"id": aid,
                                                      "body": "taken"},
                      headers={"Authorization": "Bearer " + b,
                               "Prefer": "resolution=merge-duplicates"})
    assert r.status_code == 201
    assert notes.db.rows("SELECT owner, body FROM notes WHERE id = %s",
                         aid) == [("alice2", "alice's")]
    # nor can he write rows for her
    r = notes.call("POST", "/api/notes", b, json={"body": "x",
                                                  "owner": "alice2"})
    assert_problem(r, 403, "Forbidden", "owner: rows of notes belong to the "
                   "user who writes them")
    r = notes.call("PATCH", "/api/notes/%d" % bid, b,
                   json={"owner": "alice2"})
    assert r.status_code == 403
    assert notes.db.rows("SELECT owner, body FROM notes ORDER BY id") == \
        [("alice2", "alice's"), ("bob", "all?")]
    # the bypass role sees everything
    admin = notes.token("root", roles=["admin"])
    assert len(notes.call("GET", "/api/notes", admin).json()) == 2


@pytest.mark.allow_log(*DENIED)
def test_ownership_with_basic_auth(notes):
    r = requests.post(notes.url + "/basic/notes", auth=("bob", "builder"),
                      json={"body": "via basic"})
    assert r.status_code == 201
    assert r.json()["owner"] == "bob"
    r = requests.get(notes.url + "/basic/notes", auth=("carol", "singer"))
    assert r.json() == []
    # alice is admin in user_roles: Require lets her in, and the owner
    # bypass shows her every row
    r = requests.get(notes.url + "/basic/notes", auth=("alice",
                                                      "wonderland"))
    assert r.status_code == 200
    assert [n["owner"] for n in r.json()] == ["bob"]


# --- hidden columns ------------------------------------------------------------

def test_hidden_columns_cannot_be_reached(site):
    a = site.token("alice", roles=["admin"])
    r = site.call("GET", "/api/users/bob", a)
    assert r.json() == {"name": "bob", "email": "bob@example.com"}
    assert all("password_hash" not in u
               for u in site.call("GET", "/api/users", a).json())
    assert site.call("GET", "/api/users?select=*", a).json()[0].keys() == \
        {"name", "email"}
    for q, what in (("select=password_hash", "select"),
                    ("password_hash=like.*", "filter"),
                    ("or=(password_hash.is.null)", "filter"),
                    ("order=password_hash", "order")):
        r = site.call("GET", "/api/users?" + q, a)
        assert_problem(r, 400, "Bad Request", "%s: 'password_hash' is not a "
                       "column of users" % what)
    r = site.call("POST", "/api/users", a, json={"name": "eve",
                                                 "password_hash": "x"})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "password_hash",
                                   "message": "is not a column of this "
                                              "resource"}]
    r = site.call("PATCH", "/api/users/bob", a, json={"password_hash": "x"})
    assert r.status_code == 422
    assert site.db.value("SELECT count(*) FROM users WHERE password_hash = "
                         "'x'") == 0


# --- the verification cache ---------------------------------------------------

def set_password(site, user, password):
    site.db.script("UPDATE users SET password_hash = '%s' WHERE name = '%s'"
                   % (bcrypt(password), user))


@pytest.mark.allow_log(*DENIED)
def test_authn_cache_hit_miss_and_expiry(site):
    url = site.url + "/cached/notes"
    assert requests.get(url, auth=("erin", "first")).status_code == 200
    # the database now says otherwise: the remembered success still holds
    set_password(site, "erin", "second")
    for _ in range(4):  # whichever child answers: the cache is shared
        assert requests.get(url, auth=("erin", "first")).status_code == 200
    # the new password is a miss, checked by mod_authn_dbd, then remembered
    assert requests.get(url, auth=("erin", "second")).status_code == 200
    # after the TTL the old password is gone
    time.sleep(2.5)
    r = requests.get(url, auth=("erin", "first"))
    assert_problem(r, 401, "Unauthorized", "authentication is required")
    assert requests.get(url, auth=("erin", "second")).status_code == 200


@pytest.mark.allow_log(*DENIED)
def test_authn_cache_never_remembers_a_wrong_password(site):
    url = site.url + "/cached/notes"
    for _ in range(3):
        assert requests.get(url, auth=("frank", "wrong")).status_code == 401
    assert requests.get(url, auth=("frank", "right")).status_code == 200
    assert requests.get(url, auth=("frank", "wrong")).status_code == 401
    assert requests.get(url, auth=("nobody", "x")).status_code == 401


@pytest.mark.allow_log(*DENIED)
def test_user_claim_and_claims_bound_in_role_query(site):
    def tok(login, **more):
        return tokens.hs256(site.keys.secret, dict(
            tokens.claims("ignored", login=login,
                          email=login + "@example.com"), **more))
    r = site.get("/claimrole/notes", tok("carol"))
    assert r.status_code == 200
    r = site.get("/claimrole/notes", tok("dave"))
    assert_problem(r, 403, "Forbidden", "you may not do this")
    # roles carried by the token win over the query
    r = site.get("/claimrole/notes", tok("dave", roles=["editor"]))
    assert r.status_code == 200
    # the user is the email claim: a token without it is refused
    t = tokens.hs256(site.keys.secret, tokens.claims("carol", login="carol"))
    r = site.get("/claimrole/notes", t)
    assert_problem(r, 401, "Unauthorized",
                   "invalid token: the token has no email claim")


@pytest.mark.allow_log(*DENIED)
def test_standard_providers_compose_with_the_api(notes):
    """Require dbd-group (mod_authz_dbd) and Require method guard a
    resource as they guard anything else."""
    url = notes.url + "/dbdgroup/notes"
    assert requests.get(url, auth=("carol", "singer")).status_code == 200
    r = requests.post(url, auth=("carol", "singer"),
                      json={"owner": "carol", "body": "hi"})
    assert r.status_code == 201
    r = requests.delete(url + "?id=gt.0", auth=("carol", "singer"))
    assert_problem(r, 403, "Forbidden", "you may not do this")
    r = requests.get(url, auth=("dave", "nobody"))
    assert_problem(r, 403, "Forbidden", "you may not do this")
    assert notes.db.value("SELECT count(*) FROM notes") == 1
