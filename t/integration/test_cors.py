"""BackendCORS on both drivers: preflights from an allowed origin are
answered 204 before any authentication, on resources, functions, routes
and the token endpoint; every answer to that origin carries its
Access-Control-* headers, errors too; an origin not allowed gets none and
the request is otherwise unchanged; mistakes are refused at startup."""

import pytest
import requests

from conftest import TokenSite, site_per_driver
from harness import bcrypt, refused_in_location

SCHEMA = {
    "sqlite": """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                       stock INTEGER NOT NULL CHECK (stock >= 0));
CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
""",
    "pgsql": """
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL,
                       stock integer NOT NULL CHECK (stock >= 0));
CREATE TABLE users (name text PRIMARY KEY, password_hash text NOT NULL);
""",
}

APP = "https://app.example"

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
<Location /api>
    SetHandler backend
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendCORS https://app.example http://localhost:5173 credentials \\
        max-age=600 headers=X-Request-Id
    BackendResource products
    BackendFunction stock id:int "SELECT stock FROM products WHERE id = :id"
    BackendRoute POST /products/{{id:int}}/restock returns=one \\
        "UPDATE products SET stock = stock + 1 WHERE id = :id RETURNING *"
</Location>
<Location /token>
    SetHandler backend-token
    BackendTokenKey hs256 {hs}
    BackendCORS https://app.example credentials
    AuthType Basic
    AuthName api
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
<Location /open>
    SetHandler backend
    BackendCORS *
    BackendResource products
</Location>
"""


class Site(TokenSite):
    def __init__(self, driver, pg):
        super().__init__(driver, pg, "cors", SCHEMA[driver], CONF)
        self.db.script("INSERT INTO products VALUES (1, 'hammer', 3)")
        self.db.script("INSERT INTO users VALUES ('ann', '%s')"
                       % bcrypt("secret"))


site = site_per_driver(Site)


def vary(r):
    return [v.strip() for v in r.headers.get("Vary", "").split(",")]


def preflight(site, path, method="PATCH", origin=APP):
    return requests.options(site.url + path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type"})


@pytest.mark.parametrize("path,method", [
    ("/api/products/1", "PATCH"), ("/api/products", "POST"),
    ("/api/rpc/stock", "POST"), ("/api/products/1/restock", "POST"),
    ("/token", "POST")])
def test_a_preflight_is_answered_before_authentication(site, path, method):
    r = preflight(site, path, method)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == \
        "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert "Origin" in vary(r)
    assert "Access-Control-Request-Method" in vary(r)
    if path != "/token":
        assert r.headers["Access-Control-Allow-Headers"] == (
            "Authorization, Content-Type, Accept, Prefer, Range, If-Match, "
            "If-None-Match, X-Request-Id")
        assert r.headers["Access-Control-Max-Age"] == "600"
    else:
        assert "Access-Control-Max-Age" not in r.headers


@pytest.mark.allow_log("AH01617")
def test_answers_and_errors_carry_the_headers(site):
    h = dict(site.auth("ann"), Origin=APP)
    expose = ("Content-Range, Location, ETag, Link, Preference-Applied, "
              "Retry-After, RateLimit, RateLimit-Policy")
    answers = [
        requests.get(site.url + "/api/products/1", headers=h),
        requests.get(site.url + "/api/products/1",
                     headers={"Origin": APP}),
        requests.patch(site.url + "/api/products/1", headers=h,
                       json={"stock": -1}),
        requests.get(site.url + "/api/products/9", headers=h),
        requests.post(site.url + "/token", headers={"Origin": APP},
                      json={"username": "ann", "password": "secret"}),
        requests.post(site.url + "/token", headers={"Origin": APP},
                      json={"username": "ann", "password": "wrong"}),
    ]
    assert [r.status_code for r in answers] == [200, 401, 422, 404, 200, 401]
    for r in answers:
        assert r.headers["Access-Control-Allow-Origin"] == APP, r.headers
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert r.headers["Access-Control-Expose-Headers"] == expose
        assert "Origin" in vary(r)
    assert answers[0].json() == {"id": 1, "name": "hammer", "stock": 3}


def test_an_origin_not_allowed_gets_nothing_and_changes_nothing(site):
    for origin in ("https://evil.example", "https://app.example.evil",
                   "null"):
        r = requests.get(site.url + "/api/products/1",
                         headers=dict(site.auth("ann"), Origin=origin))
        assert r.status_code == 200
        assert r.json() == {"id": 1, "name": "hammer", "stock": 3}
        assert not any(k.startswith("Access-Control-") for k in r.headers)
        assert "Origin" in vary(r)
        r = preflight(site, "/api/products/1", origin=origin)
        assert r.status_code == 401
        assert not any(k.startswith("Access-Control-") for k in r.headers)
    # and a request without Origin is as it always was
    r = requests.get(site.url + "/api/products/1", headers=site.auth("ann"))
    assert not any(k.startswith("Access-Control-") for k in r.headers)
    assert "Origin" in vary(r)


def test_any_origin_without_credentials_is_a_star(site):
    r = requests.get(site.url + "/open/products/1",
                     headers={"Origin": "https://anyone.example"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    r = preflight(site, "/open/products", "POST",
                  origin="https://anyone.example")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("line,message", [
    ("BackendCORS", "BackendCORS needs an origin, or *"),
    ("BackendCORS credentials", "BackendCORS needs an origin, or *"),
    ("BackendCORS app.example",
     "BackendCORS: 'app.example' is not an origin (scheme://host[:port], "
     "or *)"),
    ("BackendCORS https://app.example/path",
     "BackendCORS: 'https://app.example/path' is not an origin"),
    ("BackendCORS * credentials",
     "BackendCORS: * with credentials would let any site use its visitors' "
     "credentials; name the origins"),
    ("BackendCORS * max-age=x",
     "BackendCORS: 'max-age=x': max-age is 0 to 86400 seconds"),
    ("BackendCORS * headers=X-A;b",
     "BackendCORS: 'headers=X-A;b': header names separated by commas"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], line, message)
