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


def raw(api, data):
    """Sends bytes, returns the status line, headers and body."""
    import socket
    with socket.create_connection(("127.0.0.1", api.httpd.port)) as s:
        s.sendall(data)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


def test_chunked_body_over_limit_request_body_is_a_problem(fresh):
    # httpd's input filter found the limit and sent its own HTML page
    def chunks():
        yield b'{"name": "x", "note": "'
        for _ in range(10):
            yield b"y" * 50
        yield b'"}'
    r = requests.post(fresh.url + "/limited/products", data=chunks(),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "Request Entity Too Large",
                   "the request body is larger than 100 bytes")
    # PATCH and PUT too, and the item is unchanged
    for method in ("PATCH", "PUT"):
        r = requests.request(method, fresh.url + "/limited/products/1",
                             data=chunks(),
                             headers={"Content-Type": "application/json"})
        assert_problem(r, 413, "Request Entity Too Large",
                       "the request body is larger than 100 bytes")
    assert requests.get(fresh.url + "/api/products/1").json() == P1
    assert fresh.db.value("SELECT count(*) FROM products") == 3
    # a small chunked body still goes through
    r = requests.post(fresh.url + "/limited/products",
                      data=iter([b'{"name": ', b'"ok"}']),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    assert r.json()["name"] == "ok"


def test_broken_chunked_body_is_a_problem(fresh):
    status, headers, body = raw(
        fresh, b"POST /api/products HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"5\r\n{\"nam\r\nzz\r\n")
    assert status == "HTTP/1.1 400 Bad Request"
    assert headers["Content-Type"] == "application/problem+json"
    import json
    assert json.loads(body) == {
        "type": "about:blank", "title": "Bad Request", "status": 400,
        "detail": "the request body could not be read"}
    assert fresh.db.value("SELECT count(*) FROM products") == 3
