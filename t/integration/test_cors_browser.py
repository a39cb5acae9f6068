"""BackendCORS in a real browser (headless Chromium, both drivers): a page
served from another origin logs in with JSON at the token endpoint, reads
a row and its exposed ETag with the token, PATCHes it with a JSON body
(preflighted), reads a 401 problem and a 422 problem, and is refused by a
location that does not allow its origin."""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

import pytest

from conftest import TokenSite, site_per_driver
from harness import bcrypt, free_port, make_tmpdir
from test_cors import SCHEMA

# the same tables as test_cors
CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
<Location /api>
    SetHandler backend
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendCORS {page} credentials
    BackendResource products
</Location>
<Location /token>
    SetHandler backend-token
    BackendTokenKey hs256 {hs}
    BackendCORS {page} credentials
    AuthType Basic
    AuthName api
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
<Location /closed>
    SetHandler backend
    BackendCORS https://elsewhere.example
    BackendResource products
</Location>
"""

PAGE = """<!doctype html>
<html><body><pre id="out">running</pre>
<script>
const api = "%(api)s";
const out = {};
const problem = async (r) => [r.status, (await r.json()).detail];
(async () => {
  try {
    let r = await fetch(api + "/token", {method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username: "ann", password: "secret"})});
    out.login = r.status;
    const auth = {"Authorization": "Bearer " + (await r.json()).access_token};
    r = await fetch(api + "/api/products/1", {headers: auth,
                                              credentials: "include"});
    out.get = [r.status, await r.json(), r.headers.get("ETag") !== null];
    r = await fetch(api + "/api/products/1", {method: "PATCH",
      headers: Object.assign({"Content-Type": "application/json"}, auth),
      body: JSON.stringify({stock: 7})});
    out.patch = [r.status, await r.json()];
    r = await fetch(api + "/api/products/1", {method: "PATCH",
      headers: Object.assign({"Content-Type": "application/json"}, auth),
      body: JSON.stringify({stock: -1})});
    out.invalid = await problem(r);
    out.anonymous = await problem(await fetch(api + "/api/products/1"));
    try {
      await fetch(api + "/closed/products/1");
      out.closed = "read";
    } catch (e) {
      out.closed = "refused";
    }
  } catch (e) {
    out.error = String(e);
  }
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script></body></html>
"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Site(TokenSite):
    def __init__(self, driver, pg):
        self.page_dir = make_tmpdir("mb-page-")
        handler = functools.partial(Quiet, directory=self.page_dir)
        self.pages = http.server.ThreadingHTTPServer(
            ("127.0.0.1", free_port()), handler)
        threading.Thread(target=self.pages.serve_forever,
                         daemon=True).start()
        self.page_origin = "http://127.0.0.1:%d" % self.pages.server_port
        super().__init__(driver, pg, "corsb", SCHEMA[driver], CONF,
                         page=self.page_origin)
        self.db.script("INSERT INTO products VALUES (1, 'hammer', 3)")
        self.db.script("INSERT INTO users VALUES ('ann', '%s')"
                       % bcrypt("secret"))

    def close(self):
        self.pages.shutdown()
        super().close()


site = site_per_driver(Site)


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_a_page_on_another_origin_uses_the_api(site):
    browser = chromium()
    assert browser, "chromium is needed: t/deps installs it"
    # the API and the page on two ports: two origins
    api = site.url
    with open(os.path.join(site.page_dir, "app.html"), "w") as f:
        f.write(PAGE % {"api": api})
    profile = make_tmpdir("mb-chromium-")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--user-data-dir=" + profile, "--virtual-time-budget=15000",
         "--dump-dom", site.page_origin + "/app.html"],
        capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="out">(.*?)</pre>', dom.stdout, re.S)
    assert m, dom.stdout + dom.stderr
    got = json.loads(m.group(1).replace("&quot;", '"'))
    assert got == {
        "login": 200,
        "get": [200, {"id": 1, "name": "hammer", "stock": 3}, True],
        "patch": [200, {"id": 1, "name": "hammer", "stock": 7}],
        "invalid": [422, "stock: breaks the check constraint "
                    "products_stock_check"],
        "anonymous": [401, "a bearer token is required"],
        "closed": "refused",
    }, got
    assert site.db.rows("SELECT stock FROM products WHERE id = 1") == [(7,)]
