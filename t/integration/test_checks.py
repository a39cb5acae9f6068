"""A CHECK constraint that refuses a write answers 422 naming the
constraint and, in errors, every column it covers, on both drivers (read
from the schema at startup; an unnamed one by the name PostgreSQL gives
it).  It answered "a value breaks a check constraint" and nothing more;
nothing is written."""

import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import Database, Httpd

# the same text on both: SQLite names an unnamed check by its expression,
# PostgreSQL by TABLE_COLUMN_check (TABLE_check over several columns)
SCHEMA = """
CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty >= 0),
    lo INTEGER, hi INTEGER,
    code TEXT CONSTRAINT code_format CHECK (length(code) = 3),
    CONSTRAINT lo_small CHECK (lo < 100), CHECK (lo <= hi));
"""
CONF = """
<Location /api>
    SetHandler backend
    BackendResource items
    BackendResource stock table=items
</Location>
"""


class Site:
    def __init__(self, driver, pg):
        self.db = Database(driver, pg, "checks")
        self.db.script(SCHEMA)
        self.httpd = Httpd(CONF, self.db).start_ok()
        self.url = self.httpd.url + "/api/items"

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


def refused(r, name, cols):
    msg = "breaks the check constraint " + name
    assert_problem(r, 422, "Unprocessable Entity",
                   "%s: %s" % (",".join(cols), msg),
                   [{"field": c, "message": msg} for c in cols])


def test_a_check_names_itself_and_its_columns(site):
    site.db.script("DELETE FROM items")
    refused(requests.post(site.url, json={"id": 1, "qty": -1}),
            "items_qty_check", ["qty"])
    refused(requests.post(site.url, json={"id": 1, "code": "ab"}),
            "code_format", ["code"])
    refused(requests.post(site.url, json={"id": 1, "lo": 5, "hi": 1}),
            "items_check", ["lo", "hi"])
    refused(requests.post(site.url, json={"id": 1, "lo": 100, "hi": 200}),
            "lo_small", ["lo"])
    assert site.db.rows("SELECT count(*) FROM items") == [(0,)]
    r = requests.post(site.url, json={"id": 1, "qty": 1, "lo": 1, "hi": 2,
                                      "code": "abc"})
    assert r.status_code == 201, r.text
    # updates and bulk inserts too; the row stays as it was
    refused(requests.patch(site.url + "/1", json={"qty": -5}),
            "items_qty_check", ["qty"])
    refused(requests.post(site.url, json=[{"id": 2, "qty": 1},
                                          {"id": 3, "qty": -1}]),
            "items_qty_check", ["qty"])
    # the resource's name is not the table's: the constraint is the
    # database's own name
    refused(requests.patch(site.httpd.url + "/api/stock/1",
                           json={"hi": 0}), "items_check", ["lo", "hi"])
    assert site.db.rows("SELECT id, qty, lo, hi, code FROM items") == \
        [(1, 1, 1, 2, "abc")]
