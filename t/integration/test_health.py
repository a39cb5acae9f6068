"""SetHandler backend-health on both drivers: LOCATION/live is 200 while
httpd serves, LOCATION/ready 200 when the server's database answers and
503 problem+json when it does not (a database that cannot be reached);
anything else under it is 404, a method other than GET 405."""

import pytest
import requests

from conftest import make_db
from expected import assert_problem
from harness import Httpd
from test_hostile import PAYLOADS

CONF = """
<Location /health>
    SetHandler backend-health
</Location>
"""

# a database that is not there: SQLite in a directory that does not
# exist, PostgreSQL at a socket directory that does not exist
NOWHERE = {
    "sqlite": 'DBDriver sqlite3\nDBDParams "/nonexistent/dir/x.db"\n',
    "pgsql": 'DBDriver pgsql\nDBDParams "host=/nonexistent dbname=x"\n',
}


@pytest.fixture(scope="module")
def up(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg, "health")
    h = Httpd(CONF, db).start_ok()
    yield h
    h.destroy()
    db.close()


def test_live_and_ready(up):
    for what in ("live", "ready"):
        r = requests.get(up.url + "/health/" + what)
        assert r.status_code == 200, r.text
        assert r.json() == {"status": what}
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["Cache-Control"] == "no-store"


def test_other_paths_and_methods(up):
    assert_problem(requests.get(up.url + "/health/nope"), 404, "Not Found",
                   "backend-health answers LOCATION/live and LOCATION/ready")
    r = requests.post(up.url + "/health/ready")
    assert_problem(r, 405, "Method Not Allowed",
                   "POST is not allowed on /health/ready")
    assert r.headers["Allow"] == "GET, HEAD"


@pytest.mark.allow_log("AH00633", "AH00629", "AH00632", "AH00630",
                       "AH00631", "AH00627")
def test_a_database_that_does_not_answer_is_not_ready(driver):
    h = Httpd(NOWHERE[driver] + CONF).start_ok()
    try:
        assert requests.get(h.url + "/health/live").status_code == 200
        assert_problem(requests.get(h.url + "/health/ready"), 503,
                       "Service Unavailable", "the database does not answer")
    finally:
        h.destroy()


def test_hostile_paths_get_clear_answers(up):
    for p in PAYLOADS:
        r = requests.get(up.url + "/health/"
                         + requests.utils.quote(p, safe=""))
        assert r.status_code in (400, 404), (p, r.status_code)
        if "/" not in p:
            # (an encoded slash is httpd's own 404, AllowEncodedSlashes
            # Off, before any handler runs)
            assert r.headers["Content-Type"] == \
                "application/problem+json", (p, r.text)
