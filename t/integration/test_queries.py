"""PostgREST's grammar for reads: filters, logic, order, select, paging,
counts, one-object responses; the same answers on SQLite and PostgreSQL."""

import http.client
import json

import pytest
import requests

from expected import P1, P2, P3, PRODUCTS, assert_problem


def get(api, query, headers=None, path="/api/products"):
    return requests.get(api.url + path + "?" + query, headers=headers or {})


def ids(r):
    assert r.status_code in (200, 206), r.text
    return [row["id"] for row in r.json()]


@pytest.mark.parametrize("query,want", [
    ("price=gt.10", [2]),
    ("price=gte.9.5", [1, 2]),
    ("price=lt.20", [1]),
    ("price=lte.20", [1, 2]),
    ("stock=eq.0", [2]),
    ("price=neq.9.5", [2]),
    ("name=eq.saw", [2]),
    ("stock=not.eq.0", [1, 3]),
    ("stock=gte.3&active=is.true", [1, 3]),
    ("name=like.*a*", [1, 2]),
    ("name=like.H*", []),
    ("name=ilike.H*", [1]),
    ("name=ilike.*A*", [1, 2]),
    ("sku=like.*-1", [1, 2, 3]),
    ("name=not.like.h*", [2, 3]),
    ("id=like.1", [1]),
    ("id=in.(1,3)", [1, 3]),
    ("name=in.(saw,kite)", [2, 3]),
    ('sku=in.("a,b",K-1)', [3]),
    ("id=in.()", []),
    ("id=not.in.(1,2)", [3]),
    ("price=is.null", [3]),
    ("price=not.is.null", [1, 2]),
    ("note=is.not_null", [2, 3]),
    ("active=is.true", [1, 3]),
    ("active=is.false", [2]),
    ("active=eq.true", [1, 3]),
    ("active=eq.false", [2]),
    ("or=(stock.eq.0,price.is.null)", [2, 3]),
    ("and=(stock.gt.1,active.is.true)", [1, 3]),
    ("or=(name.eq.saw,and(stock.gt.5,price.lt.10))", [1, 2]),
    ("not.or=(id.eq.1,id.eq.2)", [3]),
    ("or=(id.eq.1,not.and(stock.gt.0,active.is.true))", [1, 2]),
    ('or=(sku.eq."K-1",name.eq."a,b")', [3]),
    ("or=(id.in.(1,2),name.eq.kite)&stock=gt.0", [1, 3]),
    ("category_id=eq.1&stock=gt.5", [1]),
    ("attrs=is.null", [2]),
])
def test_filters(fresh, query, want):
    assert ids(get(fresh, query)) == want


def test_filter_results_are_whole_rows(fresh):
    r = get(fresh, "id=eq.2")
    assert r.json() == [P2]


@pytest.mark.parametrize("query,want", [
    ("order=price.desc", [3, 2, 1]),
    ("order=price.asc", [1, 2, 3]),
    ("order=price", [1, 2, 3]),
    ("order=price.desc.nullslast", [2, 1, 3]),
    ("order=price.asc.nullsfirst", [3, 1, 2]),
    ("order=category_id.desc,name.asc", [3, 1, 2]),
    ("order=name", [1, 3, 2]),
    ("order=active,id.desc", [2, 3, 1]),
])
def test_order(fresh, query, want):
    assert ids(get(fresh, query)) == want


def test_bare_and_empty_parameters(fresh):
    assert get(fresh, "select=").json() == PRODUCTS
    assert get(fresh, "select&order=").json() == PRODUCTS
    assert get(fresh, "&&=&").json() == PRODUCTS


def test_select_columns_and_aliases(fresh):
    r = get(fresh, "select=id,title:name&order=id.desc")
    assert r.json() == [{"id": 3, "title": "kite"}, {"id": 2, "title": "saw"},
                        {"id": 1, "title": "hammer"}]
    r = get(fresh, "select=*&id=eq.1")
    assert r.json() == [P1]
    r = requests.get(fresh.url + "/api/products/1?select=name,attrs")
    assert r.json() == {"name": "hammer",
                        "attrs": {"weight": 1.5, "tags": ["steel"]}}


def test_limit_offset_content_range_and_links(fresh):
    r = get(fresh, "limit=2")
    assert r.status_code == 200
    assert ids(r) == [1, 2]
    assert r.headers["Content-Range"] == "0-1/*"
    assert r.headers["Link"] == (
        '</api/products?limit=2&offset=0>; rel="first", '
        '</api/products?limit=2&offset=2>; rel="next"')
    r = get(fresh, "stock=gte.0&limit=2&offset=2")
    assert ids(r) == [3]
    assert r.headers["Content-Range"] == "2-2/*"
    assert r.headers["Link"] == (
        '</api/products?stock=gte.0&limit=2&offset=0>; rel="first", '
        '</api/products?stock=gte.0&limit=2&offset=0>; rel="prev"')
    r = get(fresh, "offset=1")
    assert ids(r) == [2, 3]
    assert r.headers["Content-Range"] == "1-2/*"


def test_collection_carries_content_range(fresh):
    r = requests.get(fresh.url + "/api/products")
    assert r.headers["Content-Range"] == "0-2/*"
    r = get(fresh, "id=eq.99")
    assert r.status_code == 200
    assert r.json() == []
    assert r.headers["Content-Range"] == "*/*"


def test_range_header(fresh):
    r = requests.get(fresh.url + "/api/products",
                     headers={"Range": "0-1", "Range-Unit": "items"})
    assert r.status_code == 206
    assert ids(r) == [1, 2]
    assert r.headers["Content-Range"] == "0-1/*"
    r = requests.get(fresh.url + "/api/products", headers={"Range": "1-"})
    assert r.status_code == 206
    assert ids(r) == [2, 3]
    assert r.headers["Content-Range"] == "1-2/*"
    r = requests.get(fresh.url + "/api/products", headers={"Range": "5-9"})
    assert_problem(r, 416, "Requested Range Not Satisfiable",
                   "offset 5 is past the 3 rows")
    assert r.headers["Content-Range"] == "*/3"


def test_count_exact(fresh):
    h = {"Prefer": "count=exact"}
    r = get(fresh, "limit=2", h)
    assert r.status_code == 206
    assert ids(r) == [1, 2]
    assert r.headers["Content-Range"] == "0-1/3"
    assert r.headers["Preference-Applied"] == "count=exact"
    assert 'rel="last"' in r.headers["Link"]
    r = requests.get(fresh.url + "/api/products", headers=h)
    assert r.status_code == 200
    assert r.headers["Content-Range"] == "0-2/3"
    r = get(fresh, "stock=gt.0&limit=1", h)
    assert r.headers["Content-Range"] == "0-0/2"
    r = get(fresh, "id=eq.99", h)
    assert r.status_code == 200
    assert r.headers["Content-Range"] == "*/0"
    # no count unless asked
    r = get(fresh, "limit=1")
    assert "Preference-Applied" not in r.headers
    assert r.headers["Content-Range"] == "0-0/*"


def test_single_object(fresh):
    h = {"Accept": "application/vnd.pgrst.object+json"}
    r = get(fresh, "id=eq.1", h)
    assert r.status_code == 200
    assert r.json() == P1
    r = get(fresh, "stock=gt.0", h)
    assert_problem(r, 406, "Not Acceptable",
                   "application/vnd.pgrst.object+json needs exactly one row; "
                   "several matched")
    r = get(fresh, "id=eq.99", h)
    assert_problem(r, 406, "Not Acceptable",
                   "application/vnd.pgrst.object+json needs exactly one row; "
                   "none matched")
    r = get(fresh, "id=eq.1", {"Accept": "text/csv"})
    assert r.status_code == 406


@pytest.mark.parametrize("query,detail", [
    ("bogus=eq.1", "filter: 'bogus' is not a column of products"),
    ("or=(id.eq.1,bogus.eq.2)", "filter: 'bogus' is not a column of products"),
    ("id=foo.1", "unknown operator 'foo' in the filter on 'id'"),
    ("or=(id.foo.1)", "unknown operator 'foo' in the filter on 'id'"),
    ("id=eq", "the filter on 'id' needs a value: eq.VALUE"),
    ("order=bogus.desc", "order: 'bogus' is not a column of products"),
    ("order=id.sideways", "unknown order modifier 'sideways' for 'id' (asc, "
                          "desc, nullsfirst, nullslast)"),
    ("select=id,bogus", "select: 'bogus' is not a column of products"),
    ("select=id::text", "select 'id::text': casts are not supported"),
    ("id=eq.abc", "'abc' is not an integer (column id)"),
    ("price=gt.cheap", "'cheap' is not a number (column price)"),
    ("active=eq.maybe", "'maybe' is not a boolean (column active)"),
    ("id=in.(1,x)", "'x' is not an integer (column id)"),
    ("price=is.true", "is.true needs a boolean column; price is not one"),
    ("id=is.nothing", "is takes null, not_null, true, false or unknown, not "
                      "'nothing' (filter on 'id')"),
    ("name", "unknown operator '' in the filter on 'name'"),
    ("limit", "limit must be a non-negative integer, not ''"),
    ("limit=-1", "limit must be a non-negative integer, not '-1'"),
    ("offset=x", "offset must be a non-negative integer, not 'x'"),
    ("or=id.eq.1", "or needs a list in parentheses: or=(a.eq.1,b.eq.2)"),
    ("or=(id.eq.1", "expected , or ) in '(id.eq.1'"),
    ('or=(name.eq."x)', "unterminated quote in '(name.eq.\"x)'"),
    ("id=in.(1,2", "unterminated in list in 'in.(1,2'"),
])
def test_bad_queries_are_400(fresh, query, detail):
    r = get(fresh, query)
    assert_problem(r, 400, "Bad Request", detail)


def test_bad_percent_encoding_is_400(fresh):
    # sent as is: requests would re-encode the stray %
    conn = http.client.HTTPConnection("127.0.0.1",
                                      int(fresh.url.rsplit(":", 1)[1]))
    conn.request("GET", "/api/products?name=eq.%zz")
    r = conn.getresponse()
    assert r.status == 400
    assert r.getheader("Content-Type") == "application/problem+json"
    assert json.loads(r.read())["detail"] == \
        "bad percent-encoding in the query parameter 'name'"
    conn.close()


def test_limits_on_filters_nesting_and_length(fresh):
    many = "&".join("stock=gte.%d" % (i % 3) for i in range(101))
    assert_problem(get(fresh, many), 400, "Bad Request",
                   "too many filters (at most 100)")
    deep = "or=" + "or(" * 9 + "id.eq.1" + ")" * 9
    deep = "or=(" + "or(" * 8 + "id.eq.1" + ")" * 9
    assert_problem(get(fresh, deep), 400, "Bad Request",
                   "logic nested deeper than 8 levels")
    long = "id=in.(" + ",".join(["1"] * 3100) + ")"
    assert_problem(get(fresh, long), 414, "Request-URI Too Long",
                   "the query string is longer than 6144 bytes")
    ok = "stock=gte.0&" * 99 + "id=gt.0"
    assert ids(get(fresh, ok)) == [1, 2, 3]
