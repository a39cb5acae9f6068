"""ETags and conditional requests on both drivers: an item's GET has a
strong ETag (the SHA-1 of its body, the same from any node), a
collection's a weak one; If-None-Match gives 304 without a body; If-Match
on PUT, PATCH and DELETE of an item is checked in the write's own
transaction, so that of writers holding the same ETag exactly one wins
and the others get 412 with the current ETag, and nothing is written from
a stale version."""

import hashlib
import json
import threading

import requests

from expected import assert_problem

JSON = {"Content-Type": "application/json"}


def tag_of(body, weak=False):
    return ('W/"%s"' if weak else '"%s"') % hashlib.sha1(body).hexdigest()


def test_an_item_has_a_strong_etag_and_304(fresh):
    u = fresh.url + "/api/products/1"
    r = requests.get(u)
    assert r.status_code == 200
    tag = r.headers["ETag"]
    assert tag == tag_of(r.content)
    # the same bytes, the same tag, from another request
    assert requests.get(u).headers["ETag"] == tag
    for match in (tag, '"nope", ' + tag, "*", "W/" + tag):
        r = requests.get(u, headers={"If-None-Match": match})
        assert r.status_code == 304, match
        assert r.content == b""
        assert r.headers["ETag"] == tag
    r = requests.get(u, headers={"If-None-Match": '"nope"'})
    assert r.status_code == 200
    # a different representation, a different tag
    r2 = requests.get(u + "?select=name")
    assert r2.headers["ETag"] == tag_of(r2.content) != tag
    # the row changes, the tag changes
    requests.patch(u, json={"stock": 11})
    r = requests.get(u, headers={"If-None-Match": tag})
    assert r.status_code == 200
    assert r.headers["ETag"] == tag_of(r.content) != tag


def test_a_collection_has_a_weak_etag(fresh):
    u = fresh.url + "/api/products?order=id"
    r = requests.get(u)
    tag = r.headers["ETag"]
    assert tag == tag_of(r.content, weak=True)
    r = requests.get(u, headers={"If-None-Match": tag})
    assert r.status_code == 304
    assert r.content == b""
    # a page of it is a part: no tag for it
    r = requests.get(u, headers={"Range": "0-0"})
    assert r.status_code == 206
    assert "ETag" not in r.headers


def test_if_match_guards_writes(fresh):
    u = fresh.url + "/api/products/1"
    tag = requests.get(u).headers["ETag"]
    # a stale tag: 412 naming the current one, nothing written
    r = requests.patch(u, json={"stock": 1},
                       headers={"If-Match": '"stale"'})
    assert_problem(r, 412, "Precondition Failed",
                   "the row of products with key '1' is not the one the "
                   "condition names: its ETag is %s" % tag)
    assert r.headers["ETag"] == tag
    assert fresh.db.rows("SELECT stock FROM products WHERE id = 1") == \
        [(10,)]
    # the current tag: written, and the answer's tag is the next GET's
    r = requests.patch(u, json={"stock": 1}, headers={"If-Match": tag})
    assert r.status_code == 200, r.text
    new = r.headers["ETag"]
    assert new != tag
    got = requests.get(u)
    assert got.headers["ETag"] == new == tag_of(got.content)
    # the old tag no longer does
    r = requests.put(u, data=got.content, headers=dict(JSON, **{
        "If-Match": tag}))
    assert r.status_code == 412
    r = requests.delete(u, headers={"If-Match": tag})
    assert r.status_code == 412
    assert fresh.db.rows("SELECT count(*) FROM products WHERE id = 1") == \
        [(1,)]
    r = requests.put(u, data=got.content, headers=dict(JSON, **{
        "If-Match": new}))
    assert r.status_code == 200, r.text
    r = requests.delete(u, headers={"If-Match": "*"})
    assert r.status_code == 204
    # no row: nothing to match
    r = requests.patch(u, json={"stock": 2}, headers={"If-Match": new})
    assert_problem(r, 412, "Precondition Failed",
                   "products has no row with key '1' to match")
    # If-None-Match: * writes only where there is no row
    r = requests.patch(fresh.url + "/api/products/2", json={"stock": 2},
                       headers={"If-None-Match": "*"})
    assert r.status_code == 412
    assert fresh.db.rows("SELECT stock FROM products WHERE id = 2") == \
        [(0,)]


def test_of_concurrent_writers_with_one_etag_one_wins(fresh):
    u = fresh.url + "/api/products/3"
    tag = requests.get(u).headers["ETag"]
    n = 8
    start = threading.Barrier(n)
    results = [None] * n

    def writer(i):
        s = requests.Session()
        start.wait()
        r = s.patch(u, data=json.dumps({"stock": 100 + i}),
                    headers=dict(JSON, **{"If-Match": tag}))
        results[i] = (r.status_code, r.text)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(c for c, _ in results)
    assert codes == [200] + [412] * (n - 1), results
    winner = [i for i, (c, _) in enumerate(results) if c == 200][0]
    assert fresh.db.rows("SELECT stock FROM products WHERE id = 3") == \
        [(100 + winner,)]
