"""Fixtures: one private PostgreSQL server for the session, a fresh
database and httpd per test module and driver, fresh rows per test, and
the error log of every running httpd checked after every test."""

import os
import re

import pytest

import harness
from harness import LIBEXEC, Database, Httpd, Postgres, make_tmpdir

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVERS = ["sqlite", "pgsql"]


def read(name):
    with open(os.path.join(HERE, name)) as f:
        return f.read()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "allow_log(*tags): error-log tags this test expects")


@pytest.fixture(scope="session")
def pg():
    server = Postgres()
    yield server
    server.destroy()


@pytest.fixture(scope="module", params=DRIVERS)
def driver(request):
    return request.param


def site_per_driver(cls):
    """A module-scoped fixture: cls(driver, pg server or None) on each
    driver in turn, closed after the module."""
    @pytest.fixture(scope="module")
    def fixture(driver, request):
        pg_server = request.getfixturevalue("pg") if driver == "pgsql" \
            else None
        site = cls(driver, pg_server)
        yield site
        site.close()
    return fixture


class TokenSite:
    """A database of driver with schema, an HS256 key, and an httpd serving
    conf; conf may name {libexec}, {hs} (the key file) and the keys of
    more."""

    def __init__(self, driver, pg, name, schema, conf, **more):
        import tokens
        self.driver = driver
        self.db = Database(driver, pg, name)
        self.db.script(schema)
        self.keys = tokens.Keys(make_tmpdir("mb-keys-"))
        self.httpd = Httpd(conf.format(libexec=LIBEXEC, hs=self.keys.hs,
                                       **more), self.db).start_ok()
        self.url = self.httpd.url

    def auth(self, user, **claims):
        return self.keys.bearer(user, **claims)

    def close(self):
        self.httpd.destroy()
        self.db.close()


def make_db(driver, pg_server, name="mb"):
    db = Database(driver, pg_server if driver == "pgsql" else None, name)
    db.script(read("schema_%s.sql" % driver))
    return db


def reset(db):
    if db.driver == "sqlite":
        db.script("DELETE FROM products; DELETE FROM categories;"
                  "DELETE FROM tags;" + read("seed.sql"))
    else:
        db.script("TRUNCATE products, categories, tags RESTART IDENTITY "
                  "CASCADE;" + read("seed.sql"))


class Api:
    """A database with the test schema and an httpd serving it."""

    def __init__(self, db, httpd):
        self.db = db
        self.httpd = httpd
        self.url = httpd.url
        self.driver = db.driver


API_CONF = """
<Location /api>
    SetHandler backend
    BackendResource products
    BackendResource categories
    BackendResource tags
    BackendResource items table=products
    BackendResource alltags table=tags bulk=all
    BackendFunction low_stock max:int \
        "SELECT id, name, stock FROM products WHERE stock <= :max"
    BackendFunction set_stock returns=one id:int stock:int \
        "UPDATE products SET stock = :stock WHERE id = :id RETURNING id, stock"
    BackendMaxRows 1000
</Location>
<Location /small>
    SetHandler backend
    BackendResource products
    BackendMaxRows 2
    BackendMaxBody 200
</Location>
<Location /limited>
    SetHandler backend
    BackendResource products
    LimitRequestBody 100
</Location>
"""


@pytest.fixture(scope="module")
def api(driver, request):
    pg_server = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg_server)
    reset(db)
    httpd = Httpd(API_CONF, db).start_ok()
    yield Api(db, httpd)
    httpd.destroy()
    db.close()


@pytest.fixture
def fresh(api):
    """The api with the seed rows, and nothing else."""
    reset(api.db)
    return api


@pytest.fixture(autouse=True)
def error_log_clean(request):
    """After every test, no httpd logged an error the test did not expect."""
    for h in Httpd.running:
        h.new_log_lines()
    yield
    marker = request.node.get_closest_marker("allow_log")
    allowed = set(marker.args) if marker else set()
    bad = []
    for h in list(Httpd.running):
        bad += h.bad_log_lines(allowed)
    assert not bad, "unexpected error log lines:\n" + "\n".join(bad)


def pytest_sessionfinish(session, exitstatus):
    for h in list(Httpd.running):
        h.destroy()
    # a skipped test is not a passed one
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr and tr.stats.get("skipped"):
        session.exitstatus = 1


# The worked examples of conf/examples, run as shipped.
EXAMPLE_MODULES = ("auth_basic", "authn_dbd", "authz_user", "socache_shmcb")


def example_db(driver, pg_server, name, sql_path):
    """A database with an example's schema (written for SQLite: serial
    keys on PostgreSQL)."""
    db = make_db(driver, pg_server, name)
    with open(sql_path) as f:
        sql = f.read()
    if driver == "pgsql":
        sql = sql.replace("INTEGER PRIMARY KEY", "serial PRIMARY KEY")
    db.script(sql)
    return db


def example_httpd(conf_path, db, key_path):
    """httpd with an example's configuration, its DBDriver/DBDParams left
    to the test's database and key_path replaced by a fresh HS256 key."""
    key = os.path.join(make_tmpdir("mb-example-"), "token.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(key, 0o644)
    with open(conf_path) as f:
        conf = f.read()
    conf = re.sub(r"^DBDriver .*\n", "", conf, flags=re.M)
    conf = re.sub(r"^DBDParams .*\n", "", conf, flags=re.M)
    modules = "".join('LoadModule %s_module "%s/mod_%s.so"\n'
                      % (m, LIBEXEC, m) for m in EXAMPLE_MODULES)
    return Httpd(modules + conf.replace(key_path, key), db).start_ok()

