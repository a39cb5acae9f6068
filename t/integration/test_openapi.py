"""The OpenAPI 3.1 document of a location, on both drivers: served at
LOCATION/openapi.json and at LOCATION/ for Accept: application/openapi+json
with an ETag; describing exactly what the location serves (resources and
the methods their tables take, item paths, functions, routes; column
types, nullability, lengths, read-only and hidden columns, declared
rules; problem+json errors; the bearer scheme); valid for a real
validator (Redocly CLI, pinned in t/client); and usable: openapi-typescript
generates types from it, and a TypeScript program written against them
type-checks (tsc --strict) and runs against the API."""

import json
import os
import shutil
import subprocess

import requests

from conftest import TokenSite, site_per_driver
from harness import make_tmpdir

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "..", "client")
BIN = os.path.join(CLIENT, "node_modules", ".bin")

SCHEMA = {
    "sqlite": """
CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL,
                       price REAL, stock INTEGER NOT NULL DEFAULT 0,
                       active BOOLEAN NOT NULL DEFAULT 1, attrs JSON,
                       secret TEXT, sku TEXT, made_at TIMESTAMP,
                       status TEXT NOT NULL DEFAULT 'new');
CREATE VIEW cheap AS SELECT id, name FROM products WHERE price < 10;
INSERT INTO products (id, name, price, stock, secret)
    VALUES (1, 'hammer', 9.5, 3, 's3cr3t');
""",
    "pgsql": """
CREATE TABLE products (id serial PRIMARY KEY, name varchar(40) NOT NULL,
                       price double precision, stock integer NOT NULL
                       DEFAULT 0, active boolean NOT NULL DEFAULT true,
                       attrs jsonb, secret text, sku text,
                       made_at timestamp,
                       status text NOT NULL DEFAULT 'new');
CREATE VIEW cheap AS SELECT id, name FROM products WHERE price < 10;
INSERT INTO products (name, price, stock, secret)
    VALUES ('hammer', 9.5, 3, 's3cr3t');
""",
}

CONF = """
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
<Location /basic>
    SetHandler backend
    AuthType Basic
    AuthName shop
    Require all granted
    BackendResource products
</Location>
<Location /auth/token>
    SetHandler backend-token
    BackendTokenKey hs256 {hs}
    AuthType Basic
    AuthName shop
    Require all granted
</Location>
<Location /api>
    SetHandler backend
    BackendTokenKey hs256 {hs}
    BackendResource products
    BackendHide products secret
    BackendReadOnly products sku
    BackendValidate products name length=1..40 pattern=^[a-z]
    BackendResource cheap key=id
    BackendFunction low_stock max:int limit:int=10 \\
        "SELECT id, name, stock FROM products WHERE stock <= :max \\
         LIMIT :limit"
    BackendRoute POST /products/{{id:int}}/restock returns=one \\
        "UPDATE products SET stock = stock + 1 WHERE id = :id RETURNING *"
</Location>
"""


class Site(TokenSite):
    def __init__(self, driver, pg):
        super().__init__(driver, pg, "openapi", SCHEMA[driver], CONF)


site = site_per_driver(Site)


def document(site):
    r = requests.get(site.url + "/api/openapi.json")
    assert r.status_code == 200, r.text
    return r


def test_it_is_served_with_an_etag(site):
    r = document(site)
    assert r.headers["Content-Type"] == "application/openapi+json"
    tag = r.headers["ETag"]
    again = requests.get(site.url + "/api/",
                         headers={"Accept": "application/openapi+json"})
    assert again.content == r.content
    assert again.headers["ETag"] == tag
    assert requests.get(site.url + "/api", headers={
        "Accept": "application/openapi+json"}).content == r.content
    r = requests.get(site.url + "/api/openapi.json",
                     headers={"If-None-Match": tag})
    assert r.status_code == 304
    r = requests.post(site.url + "/api/openapi.json", json={})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"


def test_it_describes_what_the_location_serves(site):
    doc = document(site).json()
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "/api"}]
    paths = doc["paths"]
    assert sorted(paths) == ["/auth/token", "/cheap", "/cheap/{key}",
                             "/products", "/products/{id}/restock",
                             "/products/{key}", "/rpc/low_stock"]
    # the token endpoint, outside the location: the server's root
    token = paths["/auth/token"]
    assert token["servers"] == [{"url": "/"}]
    assert sorted(token) == ["post", "servers"]
    assert token["post"]["security"] == [{"basic": []}, {}]
    assert sorted(token["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]) == ["password",
                                                         "username"]
    assert sorted(paths["/products"]) == ["delete", "get", "patch", "post"]
    assert sorted(paths["/products/{key}"]) == [
        "delete", "get", "parameters", "patch", "put"]
    # a view takes what the database lets it take: reads only on SQLite
    # (no INSTEAD OF trigger), everything on PostgreSQL (updatable)
    assert sorted(paths["/cheap"]) == (
        ["get"] if site.driver == "sqlite"
        else ["delete", "get", "patch", "post"])
    assert sorted(paths["/products/{id}/restock"]) == ["post"]
    assert sorted(paths["/rpc/low_stock"]) == ["get", "post"]
    row = doc["components"]["schemas"]["products"]
    assert sorted(row["properties"]) == [
        "active", "attrs", "id", "made_at", "name", "price", "sku", "status",
        "stock"]
    props = row["properties"]
    assert props["id"]["type"] == "integer"
    assert props["name"] == {"type": "string", "maxLength": 40,
                             "minLength": 1, "pattern": "^[a-z]"} or \
        props["name"] == {"type": "string", "maxLength": 40,
                          "pattern": "^[a-z]", "minLength": 1}
    assert props["price"]["type"] == ["number", "null"]
    assert props["active"] == {"type": "boolean", "default": True}
    assert props["stock"] == {"type": "integer", "default": 0} or \
        props["stock"] == {"type": "integer", "minimum": -2147483648,
                           "maximum": 2147483647, "default": 0}
    assert props["status"] == {"type": "string", "default": "new"}
    assert props["attrs"] == {}
    assert props["sku"]["readOnly"] is True
    assert props["made_at"]["type"] == ["string", "null"]
    body = doc["components"]["schemas"]["products.input"]
    assert "sku" not in body["properties"]
    assert "secret" not in json.dumps(doc)
    assert body["required"] == ["name"]
    call = paths["/rpc/low_stock"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert call["properties"]["max"] == {"type": "integer",
                                         "format": "int32"}
    assert call["properties"]["limit"]["default"] == 10
    assert call["required"] == ["max"]
    restock = paths["/products/{id}/restock"]["post"]
    assert restock["parameters"][0]["name"] == "id"
    assert restock["parameters"][0]["in"] == "path"
    assert doc["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer",
                   "bearerFormat": "JWT"},
        "basic": {"type": "http", "scheme": "basic"}}
    assert doc["security"] == [{"bearer": []}, {}]
    basic = requests.get(site.url + "/basic/openapi.json").json()
    assert basic["components"]["securitySchemes"] == {"basic": {
        "type": "http", "scheme": "basic"}}
    assert basic["security"] == [{"basic": []}, {}]
    assert sorted(basic["paths"]) == ["/products", "/products/{key}"]
    problem = doc["components"]["responses"]["Problem"]["content"]
    assert list(problem) == ["application/problem+json"]


def node_tool(name):
    path = os.path.join(BIN, name)
    assert os.path.exists(path), "run npm ci in t/client (t/all does)"
    return path


def test_a_real_validator_accepts_it(site):
    d = make_tmpdir("mb-openapi-")
    path = os.path.join(d, "openapi.json")
    with open(path, "wb") as f:
        f.write(document(site).content)
    r = subprocess.run([node_tool("redocly"), "lint", "--extends=minimal",
                        path], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, REDOCLY_TELEMETRY="off",
                                REDOCLY_SUPPRESS_UPDATE_NOTICE="true"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Woohoo! Your API description is valid." in r.stdout + r.stderr


def test_generated_types_compile_and_run_against_the_api(site):
    d = make_tmpdir("mb-openapi-ts-")
    for name in ("use.ts", "tsconfig.json"):
        shutil.copy(os.path.join(CLIENT, "openapi", name), d)
    spec = os.path.join(d, "openapi.json")
    with open(spec, "wb") as f:
        f.write(document(site).content)
    run = dict(capture_output=True, text=True, timeout=120)
    r = subprocess.run([node_tool("openapi-typescript"), spec, "-o",
                        os.path.join(d, "api.d.ts")], **run)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([node_tool("tsc"), "-p", d], **run)
    assert r.returncode == 0, r.stdout + r.stderr
    js = os.path.join(d, "out", "use.js")
    os.rename(js, js[:-3] + ".mjs")
    r = subprocess.run(["node", js[:-3] + ".mjs", site.url + "/api"], **run)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout) == {"name": "hammer", "price": 9.5,
                                    "created": "typed", "status": 201,
                                    "low": 2}
