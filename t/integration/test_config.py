"""Configuration: mistakes are refused at startup (and by apachectl -t)
with a message naming the directive; nested locations inherit."""

import requests

from conftest import make_db, reset
from expected import P1, P2
from harness import Httpd, assert_refused

import pytest


@pytest.fixture(scope="module")
def db(driver, request):
    pg_server = request.getfixturevalue("pg") if driver == "pgsql" else None
    d = make_db(driver, pg_server, "cfg")
    reset(d)
    yield d
    d.close()


def refused(body, db, message, **kw):
    assert_refused(body, db, message, start=True, **kw)


def loc(*lines):
    return "<Location /api>\n    SetHandler backend\n%s\n</Location>\n" % \
        "\n".join("    " + l for l in lines)


def test_missing_table_is_refused(db):
    refused(loc("BackendResource products", "BackendResource nosuch"), db,
            "BackendResource nosuch")
    refused(loc("BackendResource things table=nosuch"), db,
            "table 'nosuch': no table or view named 'nosuch'")


def test_missing_key_column_is_refused(db):
    refused(loc("BackendResource products key=nope"), db,
            "table 'products' has no column 'nope'")


def test_resource_declared_twice_is_refused(db):
    refused(loc("BackendResource products", "BackendResource products"), db,
            "BackendResource products: declared twice at /api/products")
    refused(loc("BackendResource products") +
            "<Location /api/>\nBackendResource products\n</Location>\n", db,
            "declared twice at /api/products")


def test_missing_mod_dbd_is_refused(db):
    refused(loc("BackendResource products"), db,
            "BackendResource needs mod_dbd", load_dbd=False, no_dbd=True)


def test_missing_database_is_refused(db):
    refused(loc("BackendResource products"), db,
            "no database: set DBDriver and DBDParams", no_dbd=True)


def test_bad_directive_use_is_refused(db):
    refused("BackendResource products\n", db,
            "BackendResource not allowed here")
    refused("<Directory /tmp>\nBackendResource products\n</Directory>\n", db,
            "BackendResource must be inside a <Location /path> section")
    refused(loc("BackendResource products colour=red"), db,
            "BackendResource products: unknown option 'colour=red'")
    refused(loc("BackendResource bad/name"), db,
            "'bad/name' is not a valid name")
    refused(loc("BackendMaxRows 0"), db,
            "BackendMaxRows must be a positive number of rows")
    refused(loc("BackendMaxBody lots"), db,
            "BackendMaxBody must be a positive number of bytes")


def test_good_config_passes_configtest(db):
    h = Httpd(loc("BackendResource products"), db)
    try:
        t = h.configtest()
        assert t.returncode == 0, t.stdout
        assert "Syntax OK" in t.stdout
    finally:
        h.destroy()


def test_nested_location_inherits_and_overrides(db):
    body = (loc("BackendResource products", "BackendResource categories",
                "BackendMaxRows 1") +
            "<Location /api/products>\n    BackendMaxRows 2\n</Location>\n")
    h = Httpd(body, db).start_ok()
    try:
        # the inner location inherits the resources and the handler and
        # overrides BackendMaxRows; the outer keeps its own
        assert requests.get(h.url + "/api/products").json() == [P1, P2]
        assert requests.get(h.url + "/api/categories").json() == \
            [{"id": 1, "name": "tools"}]
        assert requests.get(h.url + "/api/products/1").json() == P1
    finally:
        h.destroy()


def test_two_locations_two_mounts(db):
    body = (loc("BackendResource products") +
            "<Location /v2>\n    SetHandler backend\n"
            "    BackendResource goods table=products\n</Location>\n")
    h = Httpd(body, db).start_ok()
    try:
        assert requests.get(h.url + "/v2/goods/1").json() == P1
        assert requests.get(h.url + "/api/products/1").json() == P1
        assert requests.get(h.url + "/v2/products/1").status_code == 404
        r = requests.post(h.url + "/v2/goods", json={"name": "n"})
        assert r.headers["Location"] == "/v2/goods/4"
        requests.delete(h.url + "/v2/goods/4")
    finally:
        h.destroy()
