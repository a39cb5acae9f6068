"""Column types the shop schema does not have: binary columns (BLOB,
bytea) come out as PostgreSQL writes bytea, "\\x" and hex digits, on both
drivers; exact numerics keep their digits; what JSON cannot say (NaN,
Infinity) is null."""

import pytest
import requests

from conftest import make_db
from harness import Httpd

SCHEMA = {
    "sqlite": """
CREATE TABLE odd (id INTEGER PRIMARY KEY, bin BLOB, amount NUMERIC,
                  ratio REAL);
INSERT INTO odd VALUES (1, X'00FF10', 12.5, 0.25);
INSERT INTO odd VALUES (2, X'', 'not a number', NULL);
INSERT INTO odd VALUES (3, NULL, 100, 1e300);
""",
    "pgsql": """
CREATE TABLE odd (id integer PRIMARY KEY, bin bytea, amount numeric(30,10),
                  ratio double precision);
INSERT INTO odd VALUES (1, '\\x00ff10', 12.5, 0.25);
INSERT INTO odd VALUES (2, '\\x', 'NaN', 'Infinity');
INSERT INTO odd VALUES (3, NULL, 12345678901234567890.0123456789, 1e300);
""",
}

EXPECTED = {
    "sqlite": b'[{"id":1,"bin":"\\\\x00ff10","amount":12.5,"ratio":0.25},'
              b'{"id":2,"bin":"\\\\x","amount":"not a number","ratio":null},'
              b'{"id":3,"bin":null,"amount":100,"ratio":1e+300}]',
    "pgsql": b'[{"id":1,"bin":"\\\\x00ff10","amount":12.5000000000,'
             b'"ratio":0.25},'
             b'{"id":2,"bin":"\\\\x","amount":null,"ratio":null},'
             b'{"id":3,"bin":null,"amount":12345678901234567890.0123456789,'
             b'"ratio":1e+300}]',
}


@pytest.fixture(scope="module")
def odd(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg, "odd")
    db.script(SCHEMA[driver])
    h = Httpd("<Location /api>\n    SetHandler backend\n"
              "    BackendResource odd\n</Location>\n", db).start_ok()
    yield driver, h
    h.destroy()
    db.close()


def test_binary_and_numeric_columns(odd):
    driver, h = odd
    r = requests.get(h.url + "/api/odd?order=id")
    assert r.status_code == 200
    assert r.content == EXPECTED[driver]
