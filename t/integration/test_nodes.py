"""Several nodes: two httpd with mod_backend on one PostgreSQL database,
with the same configuration (migrations, an HS256 token key file, the
password cache and the rate limit counters in one memcached), behind a
third httpd with mod_proxy_balancer and mod_proxy_hcheck polling
/health/ready.  Migrations are applied once when both start together; a
token one node issued works on the other and through the balancer; a
rate limit counts over both nodes; If-Match holds across nodes; a node
killed under write load loses no acknowledged write and duplicates none,
and the balancer moves the traffic to the other; a password one node
checked is remembered for the other (BackendAuthnCacheSecret); a limit of
one request a second counts over both nodes.
docs/production.md describes this setup with these configurations."""

import atexit
import base64
import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

import tokens
from expected import assert_problem
from harness import (IS_ROOT, LIBEXEC, Database, Httpd, bcrypt, children_of,
                     free_port, make_tmpdir, wait_port)

# 001 takes long enough that the two nodes' starts overlap; 002 fails if
# it runs twice (CREATE TABLE without IF NOT EXISTS), and its row counts
# how often it ran.  `writes` has no unique constraint on `token` on
# purpose: a write stored twice must be countable, not refused.
MIGRATIONS = {
    "001_schema.sql": """
CREATE TABLE users (name text PRIMARY KEY, password_hash text NOT NULL);
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL,
                    stock integer NOT NULL);
CREATE TABLE writes (id bigserial PRIMARY KEY, token text NOT NULL,
                     worker integer NOT NULL);
INSERT INTO notes (body) VALUES ('first');
INSERT INTO items (name, stock) VALUES ('hammer', 10), ('saw', 3);
SELECT pg_sleep(0.5);
""",
    "002_once.sql": """
CREATE TABLE once (n integer NOT NULL);
INSERT INTO once VALUES (1);
""",
}

# A node.  The client's address is the one the balancer puts in
# X-Forwarded-For (rate limits by=ip); the URLs it makes of itself name
# the balancer (the token endpoint's in openapi.json).  LogLevel
# backend:debug shows the password cache's hits (BE00056).
NODE_CONF = """
ServerName {public}
UseCanonicalName On
LoadModule auth_basic_module "{libexec}/mod_auth_basic.so"
LoadModule authn_dbd_module "{libexec}/mod_authn_dbd.so"
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
LoadModule socache_memcache_module "{libexec}/mod_socache_memcache.so"
LoadModule remoteip_module "{libexec}/mod_remoteip.so"
LogLevel warn backend:debug
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
DBDMin 16
DBDKeep 16
DBDMax 16
BackendMigrations "{migrations}"
BackendAuthnCacheSOCache memcache:127.0.0.1:{memcached}
BackendAuthnCacheSecret "{secret}"
BackendRateLimitSOCache memcache:127.0.0.1:{memcached}
<Location /api>
    SetHandler backend
    BackendResource notes
    BackendResource items
    BackendResource writes
</Location>
<Location /private>
    SetHandler backend
    BackendResource notes
    AuthType Bearer
    BackendTokenKey hs256 {key}
    Require valid-user
</Location>
<Location /limited>
    SetHandler backend
    BackendResource notes
    BackendRateLimit 4/minute
</Location>
<Location /spaced>
    SetHandler backend
    BackendResource notes
    BackendRateLimit 60/minute burst=1
</Location>
<Location /token>
    SetHandler backend-token
    BackendTokenKey hs256 {key}
    AuthType Basic
    AuthName api
    AuthBasicProvider backend-cache
    BackendAuthnCache dbd
    BackendAuthnCacheTTL 300
    AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE name = %s"
    Require valid-user
</Location>
<Location /health>
    SetHandler backend-health
</Location>
"""

# The balancer.  mod_proxy_hcheck asks each node's /health/ready every
# second and takes a node out after one failure and back after one
# success.  A connection a node refuses puts it in error state at once
# (for retry= seconds, or until the health check passes again).  No
# failonstatus=503: a single request's 503 (a deadlock, a serialization
# failure) would take a healthy node out.
#
# Writes are never sent twice: mod_proxy tries another member only when
# the scheme handler answers 503 without having reached the node (the
# connection could not be made; the body it read from the client is kept
# for the next member).  When a request was sent and its connection broke
# before the answer, mod_proxy_http answers 502 (or closes a kept-alive
# client connection without an answer) and tries no other member: the
# client does not know whether it was stored, and the proxy does not
# store it twice.
FRONT_CONF = """
LoadModule proxy_module "{libexec}/mod_proxy.so"
LoadModule proxy_http_module "{libexec}/mod_proxy_http.so"
LoadModule proxy_balancer_module "{libexec}/mod_proxy_balancer.so"
LoadModule lbmethod_byrequests_module "{libexec}/mod_lbmethod_byrequests.so"
LoadModule slotmem_shm_module "{libexec}/mod_slotmem_shm.so"
LoadModule proxy_hcheck_module "{libexec}/mod_proxy_hcheck.so"
<Proxy balancer://api>
    BalancerMember http://127.0.0.1:{a} connectiontimeout=2 retry=30 \\
        hcmethod=GET hcuri=/health/ready hcinterval=1 hcpasses=1 hcfails=1
    BalancerMember http://127.0.0.1:{b} connectiontimeout=2 retry=30 \\
        hcmethod=GET hcuri=/health/ready hcinterval=1 hcpasses=1 hcfails=1
    ProxySet lbmethod=byrequests
</Proxy>
ProxyPass /api balancer://api/api
ProxyPass /private balancer://api/private
ProxyPass /token balancer://api/token
"""

# what the balancer logs when a node dies under it: connections refused
# and the member disabled (AH00957, AH00959, AH01114), a request's
# connection broken before the answer (AH01102, AH00898), while its body
# was sent (AH01084, AH01097) or while the answer was read (AH01110)
PROXY_TAGS = ("AH00957", "AH00959", "AH01114", "AH01102", "AH00898",
              "AH01084", "AH01097", "AH01110")


def tag_of(body):
    return '"%s"' % hashlib.sha1(body).hexdigest()


class Memcached:
    """memcached on a free loopback port (TCP only), as nobody when run
    as root; stopped at exit at the latest."""

    def __init__(self):
        self.port = free_port()
        cmd = ["memcached", "-l", "127.0.0.1", "-p", str(self.port),
               "-U", "0", "-m", "16"]
        if IS_ROOT:
            cmd += ["-u", "nobody"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("memcached did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Nodes:
    """A fresh database, node A and node B on it, and the balancer."""

    def __init__(self, pg, memcached):
        self.db = Database("pgsql", pg, "nodes")
        self.memcached = memcached
        self.migrations = make_tmpdir("mb-nodes-migrations-")
        for name, text in MIGRATIONS.items():
            with open(os.path.join(self.migrations, name), "w") as f:
                f.write(text)
        self.keys = tokens.Keys(make_tmpdir("mb-nodes-keys-"))
        # the password cache's key: the same bytes on every node
        self.secret = os.path.join(make_tmpdir("mb-nodes-secret-"), "authn")
        with open(self.secret, "wb") as f:
            f.write(os.urandom(32))
        # (the balancer's port first: the nodes name it)
        self.front = Httpd("")
        self.url = self.front.url
        conf = NODE_CONF.format(libexec=LIBEXEC, public=self.url,
                                migrations=self.migrations,
                                memcached=self.memcached.port,
                                key=self.keys.hs, secret=self.secret)
        self.a = Httpd(conf, self.db)
        self.b = Httpd(conf, self.db)
        with open(self.front.conf, "a") as f:
            f.write(FRONT_CONF.format(libexec=LIBEXEC, a=self.a.port,
                                      b=self.b.port))
        self.started = [None, None]

    def start(self):
        """Starts both nodes at once (the migrations race), then the
        balancer."""
        gate = threading.Barrier(2)

        def start(i, node):
            gate.wait()
            self.started[i] = node.start()

        threads = [threading.Thread(target=start, args=(i, n))
                   for i, n in enumerate((self.a, self.b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for node, res in zip((self.a, self.b), self.started):
            if res is None or res.returncode != 0:
                raise RuntimeError("a node did not start:\n%s\n%s"
                                   % (res.stdout, node.log_text()))
        self.front.start_ok()

    def close(self):
        for h in (self.front, self.a, self.b):
            h.destroy()
        self.db.close()


@pytest.fixture(scope="module")
def nodes(pg):
    memcached = Memcached()
    try:
        n = Nodes(pg, memcached)
        try:
            n.start()
            for user in ("alice", "bob", "carol"):
                n.db.script("INSERT INTO users VALUES ('%s', '%s')"
                            % (user, bcrypt(user + "-pw")))
            yield n
        finally:
            n.close()
    finally:
        memcached.stop()


def test_both_nodes_starting_together_apply_each_migration_once(nodes):
    for node, res in zip((nodes.a, nodes.b), nodes.started):
        assert res.returncode == 0, res.stdout
        r = requests.get(node.url + "/health/ready")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready"}
    # each version recorded once, with the file's checksum
    assert nodes.db.rows("SELECT version, name, checksum FROM "
                         "backend_migrations ORDER BY version") == [
        (1, "001_schema.sql",
         hashlib.sha256(MIGRATIONS["001_schema.sql"].encode()).hexdigest()),
        (2, "002_once.sql",
         hashlib.sha256(MIGRATIONS["002_once.sql"].encode()).hexdigest())]
    # 002 ran once (a second run would have failed on CREATE TABLE, and
    # the failure would have stopped that node)
    assert nodes.db.rows("SELECT n FROM once") == [(1,)]
    applied = [line for node in (nodes.a, nodes.b)
               for line in node.log_text().splitlines() if "BE00077" in line]
    assert sorted(line.rsplit(" ", 1)[1] for line in applied) == \
        ["001_schema.sql", "002_once.sql"], applied
    # both serve the schema the migrations made
    for node in (nodes.a, nodes.b):
        r = requests.get(node.url + "/api/notes")
        assert r.status_code == 200
        assert r.json() == [{"id": 1, "body": "first"}]


def test_a_token_of_one_node_works_on_the_other_and_behind_the_balancer(
        nodes):
    r = requests.get(nodes.a.url + "/token", auth=("alice", "alice-pw"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(body) == ["access_token", "expires_in", "token_type"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    claims = json.loads(base64.urlsafe_b64decode(
        body["access_token"].split(".")[1] + "=="))
    assert sorted(claims) == ["exp", "iat", "roles", "sub"]
    assert claims["sub"] == "alice"
    assert claims["roles"] == []
    assert claims["exp"] - claims["iat"] == 3600
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    for url in (nodes.b.url, nodes.a.url, nodes.url, nodes.url):
        r = requests.get(url + "/private/notes", headers=bearer)
        assert r.status_code == 200, (url, r.text)
        assert r.json() == [{"id": 1, "body": "first"}]
    # a token signed with another key is refused by node B: the key file
    # is what the nodes share
    other = tokens.hs256(b"x" * 64, tokens.claims("alice"))
    r = requests.get(nodes.b.url + "/private/notes",
                     headers={"Authorization": "Bearer " + other})
    assert_problem(r, 401, "Unauthorized",
                   "invalid token: the signature does not verify")
    assert r.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="the signature '
        'does not verify"')
    # the API's description names the token endpoint relative to the host
    # that served it: the balancer's, from either node
    for url in (nodes.url, nodes.a.url, nodes.b.url):
        r = requests.get(url + "/private/openapi.json", headers=bearer)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["servers"] == [{"url": "/private"}]
        assert doc["paths"]["/token"]["servers"] == [{"url": "/"}]
    # and a token issued through the balancer works on both nodes
    r = requests.get(nodes.url + "/token", auth=("alice", "alice-pw"))
    assert r.status_code == 200, r.text
    bearer = {"Authorization": "Bearer " + r.json()["access_token"]}
    for node in (nodes.a, nodes.b):
        assert requests.get(node.url + "/private/notes",
                            headers=bearer).status_code == 200


def test_a_rate_limit_counts_over_both_nodes(nodes):
    seen = []
    for i in range(8):
        node = (nodes.a, nodes.b)[i % 2]
        seen.append(requests.get(node.url + "/limited/notes"))
    assert [r.status_code for r in seen] == [200] * 4 + [429] * 4
    assert [r.headers["RateLimit"] for r in seen[:4]] == [
        '"default";r=3;t=15', '"default";r=2;t=30', '"default";r=1;t=45',
        '"default";r=0;t=60']
    for r in seen[:4]:
        assert r.headers["RateLimit-Policy"] == '"default";q=4;w=60'
        assert r.json() == [{"id": 1, "body": "first"}]
    for r in seen[4:]:
        assert_problem(r, 429, "Too Many Requests",
                       "too many requests: the limit is 4/minute; retry in "
                       "15 s")
        assert r.headers["Retry-After"] == "15"


def test_if_match_holds_across_nodes(nodes):
    ga = requests.get(nodes.a.url + "/api/items/1")
    gb = requests.get(nodes.b.url + "/api/items/1")
    assert ga.status_code == gb.status_code == 200
    assert ga.json() == {"id": 1, "name": "hammer", "stock": 10}
    # the same row, the same bytes, the same strong tag from either node
    assert ga.content == gb.content
    tag = ga.headers["ETag"]
    assert tag == gb.headers["ETag"] == tag_of(ga.content)
    # B writes with A's tag
    r = requests.patch(nodes.b.url + "/api/items/1", json={"stock": 9},
                       headers={"If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 1, "name": "hammer", "stock": 9}
    new = r.headers["ETag"]
    assert new == tag_of(r.content) != tag
    # A refuses the old tag, names the current one, and writes nothing
    r = requests.patch(nodes.a.url + "/api/items/1", json={"stock": 1},
                       headers={"If-Match": tag})
    assert_problem(r, 412, "Precondition Failed",
                   "the row of items with key '1' is not the one the "
                   "condition names: its ETag is %s" % new)
    assert r.headers["ETag"] == new
    assert nodes.db.rows("SELECT stock FROM items WHERE id = 1") == [(9,)]
    # A takes B's tag, and 304s with it
    r = requests.get(nodes.a.url + "/api/items/1",
                     headers={"If-None-Match": new})
    assert r.status_code == 304
    r = requests.patch(nodes.a.url + "/api/items/1", json={"stock": 8},
                       headers={"If-Match": new})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 1, "name": "hammer", "stock": 8}


def test_a_limit_of_one_a_second_counts_over_both_nodes(nodes):
    # 60/minute burst=1: one request a second; the second, on the other
    # node right after, is early
    r = requests.get(nodes.a.url + "/spaced/notes")
    assert r.status_code == 200
    assert r.headers["RateLimit-Policy"] == '"default";q=60;w=60'
    assert r.headers["RateLimit"] == '"default";r=0;t=1'
    r = requests.get(nodes.b.url + "/spaced/notes")
    assert_problem(r, 429, "Too Many Requests",
                   "too many requests: the limit is 60/minute; retry in 1 s")
    assert r.headers["Retry-After"] == "1"


@pytest.mark.allow_log("AH01617")
def test_a_password_checked_on_one_node_is_remembered_on_the_other(nodes):
    # bob logs in on A: bcrypt is checked, the success is remembered in
    # memcached
    r = requests.get(nodes.a.url + "/token", auth=("bob", "bob-pw"))
    assert r.status_code == 200, r.text
    # his password changes in the database (and carol's, who never logged
    # in: B checks hers against the database and refuses the old one)
    nodes.db.script("UPDATE users SET password_hash = '%s' WHERE name IN "
                    "('bob', 'carol')" % bcrypt("changed"))
    r = requests.get(nodes.b.url + "/token", auth=("carol", "carol-pw"))
    assert_problem(r, 401, "Unauthorized", "authentication is required")
    assert r.headers["WWW-Authenticate"] == 'Basic realm="api"'
    # within BackendAuthnCacheTTL the remembered success still counts: on
    # A, which stored it, and on B, which finds it in the same memcached
    for name, node in (("A", nodes.a), ("B", nodes.b)):
        mark = len(node.log_text())
        r = requests.get(node.url + "/token", auth=("bob", "bob-pw"))
        assert r.status_code == 200, (name, r.text)
        assert "BE00056: authn cache hit for bob" in node.log_text()[mark:]


@pytest.mark.allow_log("AH01617")
def test_a_child_answers_a_password_it_saw_from_its_own_copy(nodes):
    nodes.db.script("INSERT INTO users VALUES ('dave', '%s')"
                    % bcrypt("dave-pw"))
    b = requests.Session()  # one connection: one child of B
    r = b.get(nodes.b.url + "/token", auth=("dave", "dave-pw"))
    assert r.status_code == 200, r.text
    # A's children never saw dave: A finds the success in memcached
    mark = len(nodes.a.log_text())
    r = requests.get(nodes.a.url + "/token", auth=("dave", "dave-pw"))
    assert r.status_code == 200, r.text
    assert "BE00056: authn cache hit for dave\n" in nodes.a.log_text()[mark:]
    # the child of B that checked it answers from its own copy, without
    # asking memcached; a wrong password is not in that copy
    mark = len(nodes.b.log_text())
    r = b.get(nodes.b.url + "/token", auth=("dave", "dave-pw"))
    assert r.status_code == 200, r.text
    assert "BE00056: authn cache hit for dave (this child's copy)\n" in \
        nodes.b.log_text()[mark:]
    r = b.get(nodes.b.url + "/token", auth=("dave", "dave-pw2"))
    assert_problem(r, 401, "Unauthorized", "authentication is required")


def gone(pid):
    """Every thread of pid has exited, so its sockets are closed.  (A
    zombie nobody reaps counts; its first thread alone is not enough: it
    turns zombie while the others still hold the process's files.)"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X") and \
            os.listdir("/proc/%d/task" % pid) == [str(pid)]
    except OSError:
        return True


def kill_node(node):
    """SIGKILL to the parent and every child at once, as when a machine
    dies: no request is finished, nothing is cleaned up."""
    parent = node.pid()
    pids = [parent] + children_of(parent)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while not all(gone(pid) for pid in pids):
        assert time.time() < deadline, "node A's processes outlived SIGKILL"
        time.sleep(0.02)
    # nothing left for stop() to signal (the pid may be another process's
    # by then)
    os.remove(os.path.join(node.dir, "httpd.pid"))


def posts_in(node):
    with open(os.path.join(node.dir, "access.log")) as f:
        return sum(1 for line in f if '"POST /api/writes' in line)


# last of the module: node A stays dead
@pytest.mark.allow_log(*PROXY_TAGS)
def test_a_node_killed_under_write_load_loses_and_duplicates_nothing(nodes):
    stop = threading.Event()
    outcomes = []       # (token, status or None without an answer, start)
    wrong = []          # 201s that did not answer their own row
    lock = threading.Lock()

    def writer(w):
        # kept-alive connections: a request that dies on A closes its
        # client connection without an answer (a new connection's would
        # be answered 502)
        s = requests.Session()
        while not stop.is_set():
            token = str(uuid.uuid4())
            began = time.monotonic()
            try:
                r = s.post(nodes.url + "/api/writes",
                           json={"token": token, "worker": w}, timeout=10)
                status = r.status_code
                if status == 201:
                    row = r.json()
                    if row != {"id": row.get("id"), "token": token,
                               "worker": w} or r.headers.get("Location") \
                            != "/api/writes/%s" % row.get("id"):
                        with lock:
                            wrong.append((token, r.headers, r.text))
            except requests.RequestException:
                status = None
                s = requests.Session()
            with lock:
                outcomes.append((token, status, began))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    try:
        # both nodes take writes, then A dies in the middle of some
        deadline = time.time() + 20
        while (posts_in(nodes.a) < 100 or posts_in(nodes.b) < 100) and \
                time.time() < deadline:
            time.sleep(0.02)
        assert posts_in(nodes.a) >= 100 and posts_in(nodes.b) >= 100
        kill_node(nodes.a)
        dead = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join()

    # whatever was failed was under way when A died: a request that
    # reaches the balancer later goes to B (a connection A refuses puts
    # it in error state, and the health check keeps it out)
    assert wrong == []
    failed = [(s, began) for _, s, began in outcomes
              if s is None or s >= 300]
    assert all(s in (None, 502) for s, _ in failed), failed
    assert all(began < dead for _, began in failed), (dead, failed)
    # and from then on every write is answered, by B
    b_before = posts_in(nodes.b)
    tail = []
    for _ in range(20):
        token = str(uuid.uuid4())
        r = requests.post(nodes.url + "/api/writes",
                          json={"token": token, "worker": 99})
        assert r.status_code == 201, r.text
        row = r.json()
        assert row == {"id": row["id"], "token": token, "worker": 99}
        assert r.headers["Location"] == "/api/writes/%d" % row["id"]
        tail.append(token)
    assert posts_in(nodes.b) == b_before + 20

    # what the test can claim: each write answered 2xx is stored exactly
    # once; no write is stored twice; nothing else is stored.  A write
    # whose answer was lost may or may not be stored: its transaction may
    # have committed before A died.
    answered = [t for t, s, _ in outcomes if s is not None and s < 300]
    counts = dict(nodes.db.rows("SELECT token, count(*) FROM writes "
                                "GROUP BY token"))
    assert [t for t in answered + tail if counts.get(t) != 1] == []
    assert {t: n for t, n in counts.items() if n != 1} == {}
    attempted = {t for t, _, _ in outcomes} | set(tail)
    assert set(counts) <= attempted
    assert len(answered) >= 200
    lost = [t for t, s, _ in outcomes if s is None or s >= 300]
    print("\n%d writes through the balancer, %d answered 2xx, %d without "
          "an answer, %d 502; of the %d unanswered, %d stored" % (
              len(outcomes), len(answered),
              sum(1 for s, _ in failed if s is None),
              sum(1 for s, _ in failed if s == 502), len(lost),
              sum(1 for t in lost if t in counts)))
