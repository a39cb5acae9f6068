"""Regressions of the hardening issue: requests that crashed a child,
answered a wrong type or let client text into headers, on both drivers.
Each test failed on the code before its fix."""

import requests

from expected import P1, P3, assert_problem


def get(api, query, headers=None, path="/api/products"):
    return requests.get(api.url + path + "?" + query, headers=headers or {})


def test_limit_zero_is_an_empty_page_not_a_crash(fresh):
    # the last-page Link divided by the limit: SIGFPE killed the child
    r = get(fresh, "limit=0&offset=1")
    assert r.status_code == 206
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/3"
    assert "Link" not in r.headers
    r = get(fresh, "limit=0", {"Prefer": "count=exact"})
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/3"
    assert r.headers["Preference-Applied"] == "count=exact"
    assert "Link" not in r.headers
    r = get(fresh, "limit=0")
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/*"
    # the child that answered is still there: a last page still works
    r = get(fresh, "limit=2&offset=2", {"Prefer": "count=exact"})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "2-2/3"


def test_huge_limit_offset_and_range_cannot_overflow(fresh):
    big = "9223372036854775807"
    r = get(fresh, "offset=" + big)
    assert_problem(r, 400, "Bad Request", "offset must be at most "
                   "9007199254740992, not '%s'" % big)
    r = get(fresh, "limit=" + big)
    assert_problem(r, 400, "Bad Request", "limit must be at most "
                   "9007199254740992, not '%s'" % big)
    r = get(fresh, "limit=9007199254740992&offset=9007199254740992",
            {"Prefer": "count=exact"})
    assert_problem(r, 416, "Requested Range Not Satisfiable",
                   "offset 9007199254740992 is past the 3 rows")
    # an out-of-range Range is ignored, as an unparsable one is
    r = requests.get(fresh.url + "/api/products",
                     headers={"Range": "0-" + big})
    assert r.status_code == 200
    assert len(r.json()) == 3


def test_link_cannot_be_injected_through_the_query(fresh):
    q = 'limit=1&name=neq.x>;rel="evil";x=<http://evil.example/'
    r = get(fresh, q)
    assert r.status_code == 200
    assert [p["id"] for p in r.json()] == [1]
    base = ("/api/products?name=neq.x%3E%3Brel%3D%22evil%22%3Bx%3D%3C"
            "http:%2F%2Fevil.example%2F&")
    assert r.headers["Link"] == (
        '<%slimit=1&offset=0>; rel="first", '
        '<%slimit=1&offset=1>; rel="next"' % (base, base))
    assert sorted(r.links) == ["first", "next"]
    # the encoded links are the same query: following one gives page 2
    r = requests.get(fresh.url + r.links["next"]["url"])
    assert [p["id"] for p in r.json()] == [2]
    # encoded limit/offset parameters are replaced, not repeated
    r = get(fresh, "%6Cimit=1&order=id.desc&select=id,name")
    assert r.headers["Link"] == (
        '</api/products?order=id.desc&select=id,name&limit=1&offset=0>; '
        'rel="first", </api/products?order=id.desc&select=id,name&limit=1'
        '&offset=1>; rel="next"')


def test_integer_zero_one_columns_take_is_true_on_sqlite(fresh):
    r = get(fresh, "stock=is.true&select=id")
    if fresh.driver == "sqlite":
        assert r.status_code == 200, r.text
        assert r.json() == [{"id": 1}, {"id": 3}]
        r = get(fresh, "stock=is.false&select=id")
        assert r.json() == [{"id": 2}]
        r = get(fresh, "stock=not.is.true&select=id")
        assert r.json() == [{"id": 2}]
    else:
        # PostgreSQL has no IS TRUE on an integer
        assert_problem(r, 400, "Bad Request", "is.true needs a boolean "
                       "column; stock is not one")
    # text is never a boolean
    r = get(fresh, "name=is.true")
    assert_problem(r, 400, "Bad Request", "is.true needs a boolean column; "
                   "name is not one")


OBJ = {"Accept": "application/vnd.pgrst.object+json"}
OBJ_TYPE = "application/vnd.pgrst.object+json"


def test_single_object_answers_in_its_own_media_type(fresh):
    r = get(fresh, "id=eq.1", OBJ)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json() == P1
    r = requests.get(fresh.url + "/api/products/3", headers=OBJ)
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json() == P3
    r = requests.patch(fresh.url + "/api/products?id=eq.1",
                       json={"stock": 11},
                       headers=dict(OBJ, Prefer="return=representation"))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json() == dict(P1, stock=11)
    r = requests.post(fresh.url + "/api/products", json={"name": "kettle"},
                      headers=OBJ)
    assert r.status_code == 201
    assert r.headers["Content-Type"] == OBJ_TYPE
    assert r.json()["name"] == "kettle"
    # without it, plain JSON
    r = get(fresh, "id=eq.1")
    assert r.headers["Content-Type"] == "application/json"
    # its failures are problems
    r = get(fresh, "id=gt.0", OBJ)
    assert_problem(r, 406, "Not Acceptable", "application/vnd.pgrst.object"
                   "+json needs exactly one row; several matched")
