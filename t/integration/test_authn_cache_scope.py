"""The Basic-auth cache (AuthBasicProvider backend-cache) is scoped: a
password remembered behind one provider, password file, realm or virtual
host never opens another.  Users exist on one side only; the table side
runs on both drivers."""

import os

import pytest
import requests

from conftest import make_db, site_per_driver
from harness import LIBEXEC, Httpd, bcrypt, give_to_run_user, make_tmpdir

# mod_auth_basic's lines for a wrong password and an unknown user
DENIED = ("AH01617", "AH01618")

MODULES = "".join('LoadModule %s_module "%s/mod_%s.so"\n' % (m, LIBEXEC, m)
                  for m in ("auth_basic", "authn_file", "authn_dbd",
                            "authz_user", "socache_shmcb"))

SCHEMA = """
CREATE TABLE users (name TEXT NOT NULL PRIMARY KEY,
                    password_hash TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO notes (id, body) VALUES (1, 'hello');
"""

# one realm everywhere: only the providers and the files tell them apart
CONF = MODULES + """
<Location /api>
    SetHandler backend
    BackendResource notes
</Location>
<Location /api/token>
    SetHandler backend-token
    AuthType Basic
    AuthName shop
    AuthBasicProvider backend-cache
    BackendAuthnCache dbd
    BackendAuthnCacheTTL 120
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    BackendTokenKey hs256 "{key}"
    Require valid-user
</Location>
<Location /admin>
    SetHandler backend
    BackendResource notes
    AuthType Basic
    AuthName shop
    AuthBasicProvider backend-cache
    BackendAuthnCache file
    BackendAuthnCacheTTL 120
    AuthUserFile "{admin}"
    Require valid-user
</Location>
<Location /ops>
    SetHandler backend
    BackendResource notes
    AuthType Basic
    AuthName shop
    AuthBasicProvider backend-cache
    BackendAuthnCache file
    BackendAuthnCacheTTL 120
    AuthUserFile "{ops}"
    Require valid-user
</Location>
"""

TABLE_USERS = {"dbonly": "db-secret", "shared": "same-pw",
               "dbcached": "db-first"}
ADMIN_FILE = {"fileonly": "file-secret", "shared": "same-pw",
              "filecached": "file-first"}
OPS_FILE = {"opsuser": "ops-secret"}


def write_htpasswd(path, users):
    with open(path, "w") as f:
        for name, pw in users.items():
            f.write("%s:%s\n" % (name, bcrypt(pw)))
    os.chmod(path, 0o644)


class Site:
    def __init__(self, driver, pg):
        self.db = make_db(driver, pg, "cachescope")
        self.db.script(SCHEMA)
        for name, pw in TABLE_USERS.items():
            self.db.script("INSERT INTO users VALUES ('%s', '%s')"
                           % (name, bcrypt(pw)))
        self.dir = make_tmpdir("mb-cachescope-")
        give_to_run_user(self.dir)
        self.key = os.path.join(self.dir, "token.key")
        with open(self.key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(self.key, 0o644)
        self.admin = os.path.join(self.dir, "admin.htpasswd")
        self.ops = os.path.join(self.dir, "ops.htpasswd")
        write_htpasswd(self.admin, ADMIN_FILE)
        write_htpasswd(self.ops, OPS_FILE)
        self.httpd = Httpd(CONF.format(key=self.key, admin=self.admin,
                                       ops=self.ops), self.db).start_ok()
        self.url = self.httpd.url

    def status(self, path, user, pw):
        return requests.get(self.url + path, auth=(user, pw)).status_code

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)

TOKEN = "/api/token"
ADMIN = "/admin/notes"
OPS = "/ops/notes"


@pytest.mark.allow_log(*DENIED)
def test_table_login_does_not_open_the_password_files(site):
    assert site.status(TOKEN, "dbonly", "db-secret") == 200
    # remembered for /api/token, and only there
    assert site.status(ADMIN, "dbonly", "db-secret") == 401
    assert site.status(OPS, "dbonly", "db-secret") == 401
    for _ in range(3):
        assert site.status(TOKEN, "dbonly", "db-secret") == 200
        assert site.status(ADMIN, "dbonly", "db-secret") == 401


@pytest.mark.allow_log(*DENIED)
def test_file_login_does_not_open_the_users_table(site):
    assert site.status(ADMIN, "fileonly", "file-secret") == 200
    for _ in range(3):
        assert site.status(TOKEN, "fileonly", "file-secret") == 401
        assert site.status(OPS, "fileonly", "file-secret") == 401
        assert site.status(ADMIN, "fileonly", "file-secret") == 200


@pytest.mark.allow_log(*DENIED)
def test_same_realm_and_provider_other_password_file(site):
    """/admin and /ops differ only in their AuthUserFile."""
    assert site.status(OPS, "opsuser", "ops-secret") == 200
    assert site.status(ADMIN, "opsuser", "ops-secret") == 401
    assert site.status(ADMIN, "shared", "same-pw") == 200
    assert site.status(OPS, "shared", "same-pw") == 401
    # a user known on both sides, with the same password, passes both
    assert site.status(TOKEN, "shared", "same-pw") == 200


@pytest.mark.allow_log(*DENIED)
def test_legit_logins_are_cached(site):
    assert site.status(TOKEN, "dbcached", "db-first") == 200
    assert site.status(ADMIN, "filecached", "file-first") == 200
    # both sources now say otherwise: the remembered successes still hold,
    # whichever child answers
    site.db.script("UPDATE users SET password_hash = '%s' WHERE name = "
                   "'dbcached'" % bcrypt("db-second"))
    write_htpasswd(site.admin, dict(ADMIN_FILE, filecached="file-second"))
    try:
        for _ in range(4):
            assert site.status(TOKEN, "dbcached", "db-first") == 200
            assert site.status(ADMIN, "filecached", "file-first") == 200
        # never remembered where they were not checked
        assert site.status(ADMIN, "dbcached", "db-first") == 401
        assert site.status(TOKEN, "filecached", "file-first") == 401
        r = requests.get(site.url + TOKEN, auth=("dbcached", "db-first"))
        assert r.json()["token_type"] == "Bearer"
    finally:
        write_htpasswd(site.admin, ADMIN_FILE)


# --- two virtual hosts share a <Location>, each with its own file ----------
# (the same path, realm, providers and BackendAuthnCache line: only the
# virtual host tells them apart)

VHOSTS = MODULES + """
<Location /shared>
    AuthType Basic
    AuthName shop
    AuthBasicProvider backend-cache
    BackendAuthnCache file
    BackendAuthnCacheTTL 120
    Require valid-user
</Location>
<VirtualHost *>
    ServerName a.test
    <Location /shared>
        AuthUserFile "{a}"
    </Location>
</VirtualHost>
<VirtualHost *>
    ServerName b.test
    <Location /shared>
        AuthUserFile "{b}"
    </Location>
</VirtualHost>
"""


@pytest.fixture(scope="module")
def vhosts():
    d = make_tmpdir("mb-cachevh-")
    files = {}
    for name, users in (("a", {"anna": "a-pw", "both": "a-both"}),
                        ("b", {"bert": "b-pw", "both": "b-both"})):
        files[name] = os.path.join(d, name + ".htpasswd")
        write_htpasswd(files[name], users)
    h = Httpd(VHOSTS.format(**files))
    os.makedirs(os.path.join(h.dir, "htdocs", "shared"))
    with open(os.path.join(h.dir, "htdocs", "shared", "index.html"),
              "w") as f:
        f.write("shared\n")
    h.start_ok()
    yield h
    h.destroy()


def vget(h, host, user, pw):
    return requests.get(h.url + "/shared/index.html", auth=(user, pw),
                        headers={"Host": host}).status_code


@pytest.mark.allow_log(*DENIED)
def test_virtual_hosts_do_not_share_successes(vhosts):
    assert vget(vhosts, "a.test", "anna", "a-pw") == 200
    for _ in range(3):
        assert vget(vhosts, "b.test", "anna", "a-pw") == 401
        assert vget(vhosts, "a.test", "anna", "a-pw") == 200
    assert vget(vhosts, "b.test", "bert", "b-pw") == 200
    assert vget(vhosts, "a.test", "bert", "b-pw") == 401
    # one name on both hosts, each with its own password
    assert vget(vhosts, "a.test", "both", "a-both") == 200
    assert vget(vhosts, "b.test", "both", "a-both") == 401
    assert vget(vhosts, "b.test", "both", "b-both") == 200
    assert vget(vhosts, "a.test", "both", "b-both") == 401
