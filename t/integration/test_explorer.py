"""The API explorer on both drivers: GET LOCATION/ from a browser is a page
that shows the location's OpenAPI document in Swagger UI, whose files
httpd serves itself (nothing from a CDN); headless Chromium loads it, the
resource list appears, a GET tried from the page shows the rows (the
screenshot stays in t/integration/artifacts/), and a token got from the
token endpoint in the page, given to Authorize, opens a resource that
needs it.  BackendExplorer off turns
it off; a directory without Swagger UI's files stops startup."""

import json
import os
import shutil
import subprocess

import pytest
import requests

from conftest import TokenSite, site_per_driver
from harness import bcrypt, make_tmpdir, refused_in_location

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
DIST = os.path.join(TOP, "explorer", "node_modules", "swagger-ui-dist")
CLIENT = os.path.join(TOP, "t", "client")
ARTIFACTS = os.path.join(HERE, "artifacts")

SCHEMA = {
    "sqlite": """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE tags (code TEXT PRIMARY KEY);
CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL,
                    body TEXT NOT NULL);
CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
INSERT INTO products VALUES (1, 'hammer'), (2, 'saw');
INSERT INTO notes VALUES (1, 'ann', 'ann''s note'), (2, 'bob', 'bob''s');
""",
    "pgsql": """
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE tags (code text PRIMARY KEY);
CREATE TABLE notes (id integer PRIMARY KEY, owner text NOT NULL,
                    body text NOT NULL);
CREATE TABLE users (name text PRIMARY KEY, password_hash text NOT NULL);
INSERT INTO products VALUES (1, 'hammer'), (2, 'saw');
INSERT INTO notes VALUES (1, 'ann', 'ann''s note'), (2, 'bob', 'bob''s');
""",
}

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
<Location /token>
    SetHandler backend-token
    BackendTokenKey hs256 {hs}
    AuthType Basic
    AuthName api
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
<Location /api>
    SetHandler backend
    BackendTokenKey hs256 {hs}
    BackendExplorer "{assets}"
    BackendResource products
    BackendResource tags
    BackendResource notes owner=owner
</Location>
<Location /api/notes>
    AuthType Bearer
    Require valid-user
</Location>
<Location /quiet>
    SetHandler backend
    BackendExplorer off
    BackendResource products
</Location>
"""


def assets():
    """Swagger UI's files where the server's user can read them."""
    assert os.path.exists(os.path.join(DIST, "swagger-ui-bundle.js")), \
        "run npm ci in explorer/ (t/all does)"
    d = make_tmpdir("mb-explorer-")
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        shutil.copy(os.path.join(DIST, name), d)
        os.chmod(os.path.join(d, name), 0o644)
    return d


class Site(TokenSite):
    def __init__(self, driver, pg):
        super().__init__(driver, pg, "explorer", SCHEMA[driver], CONF,
                         assets=assets())
        self.db.script("INSERT INTO users VALUES ('ann', '%s')"
                       % bcrypt("secret"))


site = site_per_driver(Site)

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_the_page_and_its_files_come_from_httpd(site):
    r = requests.get(site.url + "/api/", headers=HTML)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    page = r.text
    assert '<div id="explorer" data-spec="/api/openapi.json">' in page
    assert "//" not in page.replace("<!doctype html>", "")  # no other host
    for name, ctype in (("swagger-ui-bundle.js", "text/javascript"),
                        ("swagger-ui.css", "text/css"),
                        ("start.js", "text/javascript")):
        assert "/api/_explorer/" + name in page
        f = requests.get(site.url + "/api/_explorer/" + name)
        assert f.status_code == 200, name
        assert f.headers["Content-Type"] == ctype
        tag = f.headers["ETag"]
        assert requests.get(site.url + "/api/_explorer/" + name, headers={
            "If-None-Match": tag}).status_code == 304
    same = open(os.path.join(DIST, "swagger-ui.css"), "rb").read()
    assert requests.get(site.url + "/api/_explorer/swagger-ui.css"
                        ).content == same
    # an API client still gets JSON problems and the document
    assert requests.get(site.url + "/api/").status_code == 404
    assert requests.get(site.url + "/api/_explorer/nope.js"
                        ).status_code == 404
    assert requests.get(site.url + "/api/", headers={
        "Accept": "application/openapi+json"}).json()["openapi"] == "3.1.0"


def test_hostile_file_names_get_nothing_else(site):
    from test_hostile import PAYLOADS
    for p in PAYLOADS + ["..%2F..%2Fetc%2Fpasswd", "../swagger-ui.css",
                         "swagger-ui.css%00", "SWAGGER-UI.CSS"]:
        name = p if "%" in p or "/" in p else \
            requests.utils.quote(p, safe="")
        r = requests.get(site.url + "/api/_explorer/" + name)
        assert r.status_code in (400, 404), (p, r.status_code)
        assert b"root:" not in r.content


def test_off_means_off(site):
    r = requests.get(site.url + "/quiet/", headers=HTML)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert requests.get(site.url + "/quiet/_explorer/swagger-ui.css"
                        ).status_code == 404


def test_a_developer_tries_a_get_in_chromium(site):
    node = shutil.which("node")
    assert node, "node is needed: t/deps installs nodejs"
    assert os.path.isdir(os.path.join(CLIENT, "node_modules",
                                      "puppeteer-core")), \
        "run npm ci in t/client (t/all does)"
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "explorer-%s.png" % site.driver)
    env = dict(os.environ, HOME=make_tmpdir("mb-chromium-"))
    r = subprocess.run([node, os.path.join(CLIENT, "explorer.mjs"),
                        site.url + "/api/", shot, "ann", "secret"],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    # the resource list, a GET tried from the page; then a token from the
    # token endpoint, given to Authorize, and a resource that needs it
    assert got == {"tags": ["notes", "products", "tags", "token"],
                   "status": "200",
                   "rows": [{"id": 1, "name": "hammer"},
                            {"id": 2, "name": "saw"}],
                   "token": "200",
                   "notes": ["200", [{"id": 1, "owner": "ann",
                                      "body": "ann's note"}]]}, got
    assert os.path.getsize(shot) > 10000


@pytest.mark.parametrize("line,message", [
    ("BackendExplorer /nonexistent",
     "BackendExplorer /nonexistent: no swagger-ui-bundle.js there (on, off, "
     "or the directory of swagger-ui-dist)"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], line, message)
