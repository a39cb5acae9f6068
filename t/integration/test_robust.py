"""Hostile and concurrent input: every answer is a proper problem or a
success, no child crashes (the error-log check after each test catches a
crashed child), and nothing half-written is left."""

import json
import os
import socket
import threading

import requests

from expected import JSON, PRODUCTS


def raw(api, data):
    """Sends bytes as they are and returns the status line."""
    host, port = "127.0.0.1", int(api.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port), 5) as s:
        s.sendall(data)
        s.settimeout(5)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf.split(b"\r\n", 1)[0]


def test_garbage_bodies_never_crash(fresh):
    bodies = [b"\x00" * 100, b"{" * 5000, b"[" * 5000, b'{"name":"' +
              b"\xc3" * 50 + b'"}', b'{"name":"\\ud800"}',
              b'{"name":"x","stock":1e999}',
              b'{"name":"x","stock":-99999999999999999999999}',
              b'{"name":"x","stock":18446744073709551616}',
              b'{"name":"x","price":1e400}', b'{"":""}', b'{"name":"x",'
              b'"name":"y"}', b'{"name":"\\u0000"}']
    for b in bodies:
        for method, path in (("POST", "/api/products"),
                             ("PATCH", "/api/products/1"),
                             ("PUT", "/api/products/2")):
            r = requests.request(method, fresh.url + path, data=b,
                                 headers=JSON)
            assert r.status_code in (200, 201, 400, 409, 422), (b, r.text)
            ctype = r.headers["Content-Type"]
            assert ctype == ("application/json" if r.status_code < 300
                             else "application/problem+json")
            json.loads(r.text)


def test_odd_paths_and_ids(fresh):
    for path in ("/api/products/%00", "/api/products/%ff%fe",
                 "/api/products/" + "9" * 5000, "/api/products/-1",
                 "/api/products/1.5", "/api/products/%20",
                 "/api/tags/%e2%98%95"):
        r = requests.get(fresh.url + path)
        assert r.status_code in (400, 404), (path, r.status_code)
        if r.status_code == 404 and "%00" not in path:
            # (httpd itself refuses an encoded NUL before any module runs)
            assert r.headers["Content-Type"] == \
                "application/problem+json", path


def test_merged_slashes_reach_the_collection(fresh):
    # httpd's MergeSlashes (on by default) runs before routing
    assert requests.get(fresh.url + "/api//products").json() == PRODUCTS


def test_malformed_http(fresh):
    assert raw(fresh, b"POST /api/products HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nContent-Length: 4\r\n"
               b"Connection: close\r\n\r\n{\"a\"") == \
        b"HTTP/1.1 400 Bad Request"
    assert raw(fresh, b"POST /api/products HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nContent-Length: x\r\n"
               b"Connection: close\r\n\r\n{}").startswith(b"HTTP/1.1 400")
    assert raw(fresh, b"POST /api/products HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"zz\r\n").startswith(b"HTTP/1.1 4")
    assert requests.get(fresh.url + "/api/products").json() == PRODUCTS


def test_concurrent_writers(fresh):
    errors = []

    def writer(n):
        s = requests.Session()
        for i in range(25):
            r = s.post(fresh.url + "/api/categories",
                       json={"name": "c-%d-%d" % (n, i)})
            if r.status_code != 201:
                errors.append(r.text)
            r = s.patch(fresh.url + "/api/products/1", json={"stock": i})
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fresh.db.value("SELECT count(*) FROM categories") == 2 + 8 * 25
    names = requests.get(fresh.url + "/api/categories").json()
    assert len(names) == 202
    assert len({c["id"] for c in names}) == 202


def test_many_column_subsets_stay_correct(fresh):
    # more distinct statements than a connection caches
    cols = ["sku", "price", "stock", "active", "attrs", "category_id", "note"]
    values = {"sku": None, "price": 1.0, "stock": 2, "active": False,
              "attrs": {"k": 1}, "category_id": 1, "note": "n"}
    made = 0
    for mask in range(1 << len(cols)):
        for extra in range(3):
            body = {"name": "m%d-%d" % (mask, extra)}
            for i, c in enumerate(cols):
                if mask & (1 << i):
                    body[c] = values[c]
            if extra:
                body["note"] = "e%d" % extra
            r = requests.post(fresh.url + "/api/products", json=body)
            assert r.status_code == 201, r.text
            for k, v in body.items():
                assert r.json()[k] == v
            made += 1
    assert fresh.db.value("SELECT count(*) FROM products") == 3 + made


def test_graceful_restarts_end_children_cleanly(driver, request):
    """httpd -k graceful, twice, after writes: each old child ends without a
    signal (the SQLite checkpoint thread's exit once made it abort), the
    new one answers, and nothing written is lost."""
    import time
    from conftest import API_CONF, make_db, reset
    from harness import Httpd
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg, "graceful")
    if driver == "sqlite":
        db.script("PRAGMA journal_mode = WAL;")
    reset(db)
    h = Httpd(API_CONF, db).start_ok()
    try:
        for n in range(3):
            r = requests.post(h.url + "/api/products", headers=JSON,
                              data=json.dumps({"name": "g%d" % n}))
            assert r.status_code == 201, r.text
            if n < 2:
                assert h._ctl("-k", "graceful").returncode == 0
                for _ in range(200):
                    if h.log_text().count("AH00489") == n + 2:
                        break
                    time.sleep(0.05)
                assert h.log_text().count("AH00489") == n + 2
                # the parent reaps the old children about once a second
                time.sleep(1.5)
        r = requests.get(h.url + "/api/products?select=name&order=id")
        assert r.json() == [{"name": n} for n in
                            ("hammer", "saw", "kite", "g0", "g1", "g2")]
    finally:
        h.stop()
        db.close()
    dead = [l for l in h.log_text().splitlines()
            if "exit signal" in l or "AH00052" in l]
    assert dead == [], dead


def test_valgrind_sees_no_memory_error(driver, request):
    """httpd -X under valgrind serves reads, writes, a conflict, bad input
    and a missing row, then stops: valgrind finds no invalid read or write
    and no use of an uninitialised value, in the request path or as the
    process exits (where the SQLite checkpoint thread's end once read
    freed memory)."""
    import signal
    import subprocess
    from conftest import API_CONF, make_db, reset
    from harness import HTTPD, Httpd, wait_port
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = make_db(driver, pg, "valgrind")
    if driver == "sqlite":
        db.script("PRAGMA journal_mode = WAL;")
    reset(db)
    h = Httpd(API_CONF, db)
    log = h.dir + "/valgrind.log"
    env = dict(os.environ)
    # a sanitizer build (README) checks with its own runtime instead:
    # valgrind cannot run beside it
    sanitizers = bool(env.get("BACKEND_PRELOAD"))
    cmd = [HTTPD, "-X", "-f", h.conf]
    if sanitizers:
        env["LD_PRELOAD"] = env["BACKEND_PRELOAD"]
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    else:
        cmd = ["valgrind", "--error-exitcode=9", "--log-file=" + log] + cmd
    with open(h.dir + "/stderr.log", "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        assert wait_port(h.port, timeout=60), "httpd -X did not listen"
        base = h.url + "/api/products"
        assert requests.get(base + "/1").json() == PRODUCTS[0]
        r = requests.get(base + "?order=price.desc&select=id,name&limit=2")
        assert r.status_code == 200, r.text
        r = requests.post(base, headers=JSON, data='{"name": "vg"}')
        assert r.status_code == 201, r.text
        r = requests.post(base, headers=JSON,
                          data='{"name": "dup", "sku": "H-1"}')
        assert r.status_code == 409, r.text
        r = requests.patch(base + "/1", headers=JSON, data='{"stock": 2}')
        assert r.status_code == 200, r.text
        assert r.json() == dict(PRODUCTS[0], stock=2)
        r = requests.post(base, headers=JSON, data='{"name": ')
        assert r.status_code == 400, r.text
        r = requests.delete(base + "?name=eq.vg")
        assert r.status_code == 204, r.text
        assert requests.get(base + "/999").status_code == 404
        assert db.rows("SELECT stock FROM products WHERE id = 1") == [(2,)]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        db.close()
    with open(h.dir + "/stderr.log") as f:
        text = f.read()
    if sanitizers:
        assert "Sanitizer" not in text and "runtime error" not in text, \
            text[-4000:]
    else:
        with open(log) as f:
            text = f.read()
        assert "ERROR SUMMARY: 0 errors" in text, text[-4000:]
    assert proc.returncode == 0, text[-4000:]
