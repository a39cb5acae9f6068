"""Many requests at once: each gets its own answer.  On PostgreSQL the
statements of concurrent requests that run outside a transaction share a
connection in batches (pipeline mode); a statement that fails (here a
duplicate key) fails alone, and a row written by one request is there for
the next, whichever connection reads it."""

import json
from concurrent.futures import ThreadPoolExecutor

import requests

WORKERS = 12  # under ThreadsPerChild (16): the event MPM closes idle keep-alive
# connections of a child whose workers are all busy
ROUNDS = 25
REP = {"Prefer": "return=representation",
       "Content-Type": "application/json"}


def client(url, n):
    """One keep-alive client: reads, a new row, a duplicate, the new row
    read back.  Returns the mismatches it saw."""
    bad = []
    s = requests.Session()

    def expect(what, r, status, check=None):
        ok = r.status_code == status and (check is None or check(r))
        if not ok:
            bad.append("%s: %d %s" % (what, r.status_code, r.text[:200]))

    for i in range(ROUNDS):
        try:
            one_round(s, url, n, i, expect)
        except requests.RequestException as e:
            bad.append("round %d: %s" % (i, e))
    return bad


def one_round(s, url, n, i, expect):
    sku = "C-%d-%d" % (n, i)
    expect("get 1", s.get(url + "/api/products/1"), 200,
           lambda r: r.json()["name"] == "hammer")
    expect("get 3", s.get(url + "/api/products/3"), 200,
           lambda r: r.json()["name"] == "kite")
    expect("get 999", s.get(url + "/api/products/999"), 404,
           lambda r: r.headers["Content-Type"]
           == "application/problem+json")
    expect("insert", s.post(url + "/api/products", headers=REP,
                            data=json.dumps({"name": "c%d" % n,
                                             "sku": sku})), 201,
           lambda r: r.json()[0]["sku"] == sku)
    expect("duplicate", s.post(url + "/api/products", headers=REP,
                               data=json.dumps({"name": "dup",
                                                "sku": "H-1"})), 409,
           lambda r: r.headers["Content-Type"]
           == "application/problem+json"
           and r.json()["status"] == 409)
    expect("read back", s.get(url + "/api/products?sku=eq." + sku), 200,
           lambda r: [p["name"] for p in r.json()] == ["c%d" % n])


def test_concurrent_requests_each_get_their_own_answer(fresh):
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda n: client(fresh.url, n),
                                range(WORKERS)))
    bad = [b for r in results for b in r]
    assert bad == [], "\n".join(bad[:5] + fresh.httpd.log_text()
                                 .splitlines()[-20:])
    r = requests.get(fresh.url + "/api/products?sku=like.C-*&select=sku")
    assert r.status_code == 200
    assert sorted(p["sku"] for p in r.json()) == sorted(
        "C-%d-%d" % (n, i) for n in range(WORKERS) for i in range(ROUNDS))
    r = requests.get(fresh.url + "/api/products?sku=eq.H-1&select=name")
    assert r.json() == [{"name": "hammer"}]
