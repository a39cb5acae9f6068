"""Servers for the integration tests: a real httpd loading mod_backend from
the build tree, and a private PostgreSQL server owned by a non-root user.
Both are started and stopped here; nothing installed system-wide is used
but the httpd binary, its stock modules and the PostgreSQL binaries."""

import atexit
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def _apxs(var):
    apxs = os.environ.get("APXS") or shutil.which("apxs") or "apxs"
    return subprocess.check_output([apxs, "-q", var], text=True).strip()


HTTPD = os.environ.get("HTTPD") or os.path.join(_apxs("SBINDIR"),
                                                _apxs("TARGET"))
LIBEXEC = _apxs("LIBEXECDIR")
MODULE = os.environ.get("BACKEND_MODULE") or os.path.join(
    TOP, ".libs", "mod_backend.so")
IS_ROOT = os.geteuid() == 0
# httpd started as root runs its children as this user
RUN_USER = os.environ.get("BACKEND_TEST_USER", "www-data")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0, proc_alive=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def make_tmpdir(prefix):
    """A directory of this run, removed when the process exits (key files,
    socache files and the like were left in /tmp by every run before)."""
    d = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BACKEND_TMP"))
    os.chmod(d, 0o755)
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def give_to_run_user(path):
    """Lets httpd's children (RUN_USER when started as root) write path."""
    if IS_ROOT:
        pw = pwd.getpwnam(RUN_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


# --------------------------------------------------------------------------
# PostgreSQL


class Postgres:
    """A private PostgreSQL server: its own data directory, a Unix socket in
    its own directory, a random port, run as the postgres user when the
    tests run as root (PostgreSQL refuses root)."""

    def __init__(self, max_connections=200):
        self.max_connections = max_connections
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found "
                               "(apt-get install postgresql)")
        self.bindir = os.path.dirname(bins[-1])
        self.dir = make_tmpdir("mb-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir
        self.port = free_port()
        self.user = "postgres" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
        if IS_ROOT:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", self.data, "-U", self.user, "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self.start()

    def _run(self, prog, *args, check=True):
        cmd = [os.path.join(self.bindir, prog)] + list(args)
        if IS_ROOT:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=check, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              cwd=self.dir)

    def start(self):
        if self._run("pg_ctl", "-D", self.data, "status",
                     check=False).returncode == 0:
            return
        opts = ("-c listen_addresses='' -k %s -p %d -c fsync=off "
                "-c max_connections=%d" % (self.sock, self.port,
                                           self.max_connections))
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-w", "-l",
                  os.path.join(self.dir, "server.log"), "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop",
                  check=False)

    def params(self, dbname):
        return "host=%s port=%d dbname=%s user=%s" % (
            self.sock, self.port, dbname, self.user)

    def connect(self, dbname="postgres"):
        import psycopg2
        conn = psycopg2.connect(host=self.sock, port=self.port,
                                dbname=dbname, user=self.user)
        conn.autocommit = True
        return conn

    def create_db(self, name):
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
            cur.execute('CREATE DATABASE "%s"' % name)
        conn.close()

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------
# Databases the tests talk to directly


class Database:
    """A fresh test database on one driver, plus direct SQL access so tests
    can check what is (and is not) stored."""

    def __init__(self, driver, pg=None, name="mb", dir=None):
        self.driver = driver
        self.pg = pg
        if driver == "sqlite":
            self.dir = dir or make_tmpdir("mb-sqlite-")
            give_to_run_user(self.dir)
            self.path = os.path.join(self.dir, name + ".db")
            self.dbd_driver = "sqlite3"
            self.params = self.path
            self._conn = sqlite3.connect(self.path, isolation_level=None,
                                         timeout=10)
        else:
            self.dbname = "%s_%d" % (name, os.getpid())
            pg.create_db(self.dbname)
            self.dbd_driver = "pgsql"
            self.params = pg.params(self.dbname)
            self._conn = pg.connect(self.dbname)

    def script(self, sql):
        if self.driver == "sqlite":
            self._conn.executescript(sql)
            if os.path.exists(self.path):
                give_to_run_user(self.path)
        else:
            with self._conn.cursor() as cur:
                cur.execute(sql)

    def rows(self, sql, *args):
        if self.driver == "sqlite":
            return [tuple(r) for r in self._conn.execute(
                sql.replace("%s", "?"), args).fetchall()]
        with self._conn.cursor() as cur:
            cur.execute(sql, args)
            return [tuple(r) for r in cur.fetchall()]

    def value(self, sql, *args):
        rows = self.rows(sql, *args)
        return rows[0][0] if rows else None

    def disconnect(self):
        """Closes this process's connection (script/rows reopen none)."""
        self._conn.close()

    def close(self):
        self._conn.close()
        if self.driver == "sqlite":
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------
# httpd

BASE_CONF = """\
ServerRoot "{dir}"
DefaultRuntimeDir "{dir}"
PidFile "{dir}/httpd.pid"
ErrorLog "{dir}/error.log"
LogLevel warn backend:info
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog "{dir}/access.log" common
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
{user}
LoadModule mpm_event_module "{libexec}/mod_mpm_event.so"
LoadModule authz_core_module "{libexec}/mod_authz_core.so"
LoadModule authn_core_module "{libexec}/mod_authn_core.so"
LoadModule dbd_module "{libexec}/mod_dbd.so"
LoadModule backend_module "{module}"
# two children, so the tests cross processes; enough threads that the
# event MPM never closes idle keep-alive connections to make room
StartServers 2
ServerLimit 2
ThreadsPerChild 16
MinSpareThreads 1
MaxSpareThreads 32
MaxRequestWorkers 32
DocumentRoot "{dir}/htdocs"
"""

BAD_LOG = re.compile(r"\[[a-z_0-9]*:(error|crit|alert|emerg)\]"
                     r"|AH00052|exit signal|AddressSanitizer|runtime error")
TAG = re.compile(r"\b(BE\d{5}|AH\d{5})\b")


class Httpd:
    """httpd with mod_backend from the build tree and a config of ours."""

    running = []
    prefix = []     # a command to start httpd under (bench: chrt)

    def __init__(self, body, db=None, no_dbd=False, load_dbd=True):
        self.dir = make_tmpdir("mb-httpd-")
        os.makedirs(os.path.join(self.dir, "htdocs"))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        conf = BASE_CONF.format(
            dir=self.dir, port=self.port, libexec=LIBEXEC, module=MODULE,
            user=("User %s\nGroup %s" % (RUN_USER, RUN_USER)) if IS_ROOT
            else "")
        if not load_dbd:
            conf = conf.replace("LoadModule dbd_module", "#LoadModule dbd")
        if db is not None and not no_dbd:
            conf += 'DBDriver %s\nDBDParams "%s"\n' % (db.dbd_driver,
                                                       db.params)
        conf += body
        self.conf = os.path.join(self.dir, "httpd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log = os.path.join(self.dir, "error.log")
        self.log_pos = 0

    def _ctl(self, *args):
        env = dict(os.environ)
        if os.environ.get("BACKEND_PRELOAD"):
            # a sanitizer build: its runtime must be loaded before httpd
            env["LD_PRELOAD"] = os.environ["BACKEND_PRELOAD"]
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        return subprocess.run(self.prefix + [HTTPD, "-f", self.conf] +
                              list(args),
                              env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=60)

    def configtest(self):
        return self._ctl("-t")

    def start(self):
        """Starts httpd; returns the CompletedProcess of the start command.
        When it started, the instance is registered for log checks."""
        res = self._ctl("-k", "start")
        if res.returncode == 0 and wait_port(self.port):
            Httpd.running.append(self)
            # the port listens before the parent writes its pid file (its
            # second configuration pass): stop() needs the file
            deadline = time.time() + 15
            while self.pid() is None and time.time() < deadline:
                time.sleep(0.02)
            return res
        res.returncode = res.returncode or 1
        return res

    def start_ok(self):
        res = self.start()
        if res.returncode != 0:
            raise RuntimeError("httpd did not start:\n%s\n%s" % (
                res.stdout, self.log_text()))
        return self

    def pid(self):
        try:
            with open(os.path.join(self.dir, "httpd.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        self._ctl("-k", "stop")
        deadline = time.time() + 20
        while pid and time.time() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        else:
            if pid:
                os.kill(pid, signal.SIGKILL)
        if self in Httpd.running:
            Httpd.running.remove(self)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def new_log_lines(self):
        text = self.log_text()
        new = text[self.log_pos:]
        self.log_pos = len(text)
        return new.splitlines()

    def bad_log_lines(self, allowed=()):
        bad = []
        for line in self.new_log_lines():
            if not BAD_LOG.search(line):
                continue
            tags = TAG.findall(line)
            if tags and all(t in allowed for t in tags):
                continue
            bad.append(line)
        return bad

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def bcrypt(password):
    """A bcrypt hash of password, as htpasswd makes it (cost 4: fast)."""
    out = subprocess.run(["htpasswd", "-nbB", "-C", "4", "x", password],
                         stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return out.strip().split(":", 1)[1]


def refused_in_location(driver, pg, schema, lines, message):
    """apachectl -t refuses `lines` inside <Location /api> (SetHandler
    backend) on a fresh database of driver with schema, naming message."""
    db = Database(driver, pg, "refused")
    db.script(schema)
    try:
        assert_refused("<Location /api>\nSetHandler backend\n%s\n"
                       "</Location>\n" % lines, db, message)
    finally:
        db.close()


def children_of(pid):
    """the pids of pid's child processes (httpd's children)"""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                         stdout=subprocess.PIPE, text=True).stdout
    return [int(p) for p in out.split()]


def raw_http(port, data):
    """Sends bytes as they are on a new connection and reads until httpd
    closes it: (status line, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), 10) as s:
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


def assert_refused(body, db, message, start=False, **kw):
    """apachectl -t (and, with start, starting) fails naming message."""
    h = Httpd(body, db, **kw)
    try:
        t = h.configtest()
        assert t.returncode != 0, t.stdout
        assert message in t.stdout, t.stdout
        if start:
            s = h.start()
            assert s.returncode != 0
            assert message in s.stdout + h.log_text()
    finally:
        h.destroy()
