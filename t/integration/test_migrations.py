"""BackendMigrations on both drivers: the files NNN_name.sql of a directory
are applied once each, in order, at startup, each in a transaction of its
own, recorded in backend_migrations; the schema is read after them; a
failing file stops startup naming the file, the statement and the
database's error and leaves nothing of itself; an applied file that
changed is refused; apachectl -t lists what is pending and applies
nothing; two servers starting together apply each file once; a graceful
restart applies new files with no request failing; a PostgreSQL server
that is down at startup gets them from the first request (or /ready) once
it answers."""

import hashlib
import os
import sqlite3
import threading
import time

import pytest
import requests

from expected import assert_problem
from harness import Database, Httpd, Postgres, give_to_run_user, make_tmpdir

TABLES = {
    "sqlite": """
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
-- a trigger's body holds semicolons of its own
CREATE TRIGGER notes_trim BEFORE INSERT ON notes
WHEN NEW.body = '' BEGIN
    SELECT RAISE(ABORT, 'empty; not allowed');
END;
INSERT INTO notes (body) VALUES ('first; with a semicolon');
""",
    "pgsql": """
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
/* a function whose body holds semicolons of its own */
CREATE FUNCTION notes_trim() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF NEW.body = '' THEN RAISE EXCEPTION 'empty; not allowed'; END IF;
    RETURN NEW;
END;
$body$;
CREATE TRIGGER notes_trim BEFORE INSERT ON notes
    FOR EACH ROW EXECUTE FUNCTION notes_trim();
INSERT INTO notes (body) VALUES ('first; with a semicolon');
""",
}
ADD_COLUMN = "ALTER TABLE notes ADD COLUMN stars INTEGER NOT NULL DEFAULT 0;\n"
TAGS = """
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO tags (id, name) VALUES (1, 'x');
"""

CONF = """
BackendMigrations "{dir}"
<Location /api>
    SetHandler backend
    BackendResource notes
{more}
</Location>
<Location /health>
    SetHandler backend-health
</Location>
"""


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Site:
    """A migrations directory and a database of driver (SQLite: a file that
    does not exist yet, in a directory the children may write)."""

    made = 0

    def __init__(self, driver, pg, name):
        Site.made += 1
        name = "%s%d" % (name, Site.made)
        self.driver = driver
        self.dir = make_tmpdir("mb-migrations-")
        if driver == "sqlite":
            self.dbdir = make_tmpdir("mb-sqlite-")
            give_to_run_user(self.dbdir)
            self.path = os.path.join(self.dbdir, name + ".db")
            self.dbd = 'DBDriver sqlite3\nDBDParams "%s"\n' % self.path
            self.db = None
        else:
            self.db = Database("pgsql", pg, name)
            self.dbd = 'DBDriver pgsql\nDBDParams "%s"\n' % self.db.params

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def httpd(self, more=""):
        return Httpd(self.dbd + CONF.format(dir=self.dir, more=more))

    def rows(self, sql):
        if self.driver == "sqlite":
            with sqlite3.connect(self.path) as c:
                return [tuple(r) for r in c.execute(sql).fetchall()]
        return self.db.rows(sql)

    def tables(self):
        if self.driver == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = ("SELECT tablename FROM pg_tables WHERE schemaname = "
                   "'public'")
        return sorted(r[0] for r in self.rows(sql))

    def recorded(self):
        return self.rows("SELECT version, name, checksum FROM "
                         "backend_migrations ORDER BY version")

    def close(self):
        if self.db:
            self.db.close()


@pytest.fixture
def site(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    s = Site(driver, pg, "migr")
    yield s
    s.close()


def test_applied_once_in_order_then_the_schema_is_read(site):
    site.write("001_notes.sql", TABLES[site.driver])
    site.write("002_stars.sql", ADD_COLUMN)
    site.write("README", "not a migration")
    h = site.httpd().start_ok()
    try:
        # the column of 002 is part of the resource
        r = requests.get(h.url + "/api/notes")
        assert r.status_code == 200, r.text
        assert r.json() == [{"id": 1, "body": "first; with a semicolon",
                             "stars": 0}]
        # the children can write a database the parent created
        r = requests.post(h.url + "/api/notes", json={"body": "b"})
        assert r.status_code == 201, r.text
        # the trigger of 001 is whole
        r = requests.post(h.url + "/api/notes", json={"body": ""})
        assert_problem(r, 400, "Bad Request", "empty; not allowed")
        assert site.recorded() == [
            (1, "001_notes.sql", sha256(TABLES[site.driver])),
            (2, "002_stars.sql", sha256(ADD_COLUMN))]
        applied = [line for line in h.log_text().splitlines()
                   if "BE00077" in line]
        assert len(applied) == 2, applied
        assert applied[0].endswith("applied 001_notes.sql")
        assert applied[1].endswith("applied 002_stars.sql")
        assert requests.get(h.url + "/health/ready").status_code == 200
    finally:
        h.destroy()
    # started again: nothing new is applied, nothing is applied twice
    h = site.httpd().start_ok()
    try:
        assert requests.get(h.url + "/api/notes").status_code == 200
        assert "BE00077" not in h.log_text()
        assert len(site.recorded()) == 2
    finally:
        h.destroy()


def test_configtest_lists_pending_and_applies_nothing(site):
    site.write("001_notes.sql", TABLES[site.driver])
    h = site.httpd().start_ok()
    h.destroy()
    site.write("002_stars.sql", ADD_COLUMN)
    site.write("003_tags.sql", TAGS)
    t = site.httpd("    BackendResource tags").configtest()
    assert t.returncode == 0, t.stdout
    assert "BackendMigrations %s: 2 pending: 002_stars.sql 003_tags.sql" \
        % site.dir in t.stdout
    assert "tags" not in site.tables()
    assert [r[0] for r in site.recorded()] == [1]
    # with nothing pending, the schema is checked as always
    os.remove(os.path.join(site.dir, "002_stars.sql"))
    os.remove(os.path.join(site.dir, "003_tags.sql"))
    t = site.httpd("    BackendResource tags").configtest()
    assert t.returncode != 0
    assert "BackendMigrations %s: 0 pending\n" % site.dir in t.stdout
    assert "BackendResource tags" in t.stdout and "table 'tags'" in t.stdout


def test_configtest_on_a_database_not_there_yet(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    site = Site(driver, pg, "migr_new")
    try:
        site.write("001_notes.sql", TABLES[site.driver])
        t = site.httpd().configtest()
        assert t.returncode == 0, t.stdout
        assert "1 pending: 001_notes.sql" in t.stdout
        if driver == "sqlite":
            assert not os.path.exists(site.path)
        else:
            assert site.tables() == []
    finally:
        site.close()


@pytest.mark.allow_log("BE00001")
def test_a_failing_file_stops_startup_and_leaves_nothing(site):
    site.write("001_notes.sql", TABLES[site.driver])
    site.write("002_bad.sql", "CREATE TABLE half (id INTEGER PRIMARY KEY);\n"
               "\n-- the mistake\nINSERT INTO nowhere VALUES (1);\n"
               "CREATE TABLE never (id INTEGER);\n")
    h = site.httpd()
    try:
        res = h.start()
        assert res.returncode != 0
        said = res.stdout + h.log_text()
        assert ("BackendMigrations %s" % site.dir) in said
        assert "002_bad.sql line 4: INSERT INTO nowhere VALUES (1)" in said
        assert "nowhere" in said.split("INSERT INTO nowhere VALUES (1)")[1]
        # 001 stays applied; nothing of 002 is there
        assert site.tables() == ["backend_migrations", "notes"]
        assert [r[0] for r in site.recorded()] == [1]
    finally:
        h.destroy()


@pytest.mark.allow_log("BE00001")
def test_a_file_may_not_end_its_transaction(site):
    site.write("001_commit.sql", "CREATE TABLE a (id INTEGER);\nCOMMIT;\n"
               "CREATE TABLE b (id INTEGER);\n")
    h = site.httpd()
    try:
        res = h.start()
        assert res.returncode != 0
        said = res.stdout + h.log_text()
        assert ("001_commit.sql line 2: COMMIT: COMMIT: a migration runs in "
                "a transaction of its own") in said, said
        assert site.tables() == ["backend_migrations"]
    finally:
        h.destroy()


@pytest.mark.allow_log("BE00001")
def test_an_applied_file_that_changed_is_refused(site):
    site.write("001_notes.sql", TABLES[site.driver])
    h = site.httpd().start_ok()
    h.destroy()
    site.write("001_notes.sql", TABLES[site.driver] + "-- edited\n")
    message = ("001_notes.sql changed after it was applied (checksum %s, "
               "now %s)" % (sha256(TABLES[site.driver]),
                            sha256(TABLES[site.driver] + "-- edited\n")))
    h = site.httpd()
    try:
        t = h.configtest()
        assert t.returncode != 0 and message in t.stdout, t.stdout
        res = h.start()
        assert res.returncode != 0
        assert message in res.stdout + h.log_text()
    finally:
        h.destroy()


@pytest.mark.parametrize("files,message", [
    ({"1.sql": ""}, "'1.sql' is not named NNN_name.sql"),
    ({"01_a b.sql": ""}, "'01_a b.sql' is not named NNN_name.sql"),
    ({"1_a.sql": "", "001_b.sql": ""}, "have the same number"),
])
def test_file_names_are_checked_by_configtest(site, files, message):
    for name, text in files.items():
        site.write(name, text)
    t = site.httpd().configtest()
    assert t.returncode != 0
    assert "BackendMigrations %s: " % site.dir in t.stdout
    assert message in t.stdout, t.stdout


def test_a_missing_directory_and_a_second_directive_are_refused(site):
    h = Httpd(site.dbd + 'BackendMigrations "/nonexistent/x"\n')
    t = h.configtest()
    h.destroy()
    assert t.returncode != 0
    assert "BackendMigrations /nonexistent/x: not a directory httpd can " \
        "read" in t.stdout
    h = Httpd(site.dbd + 'BackendMigrations "%s"\nBackendMigrations "%s"\n'
              % (site.dir, site.dir))
    t = h.configtest()
    h.destroy()
    assert t.returncode != 0
    assert "BackendMigrations: given twice for this server" in t.stdout


def test_two_servers_starting_together_apply_each_file_once(site):
    # a file that fails when applied twice: CREATE TABLE without IF NOT
    # EXISTS, and a row whose count shows how often it ran
    site.write("001_notes.sql", TABLES[site.driver])
    site.write("002_slow.sql", "CREATE TABLE once (n INTEGER);\n"
               "INSERT INTO once VALUES (1);\n")
    hs = [site.httpd(), site.httpd()]
    results = [None, None]

    def start(i):
        results[i] = hs[i].start()

    try:
        threads = [threading.Thread(target=start, args=(i,))
                   for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for h, res in zip(hs, results):
            assert res.returncode == 0, res.stdout + h.log_text()
            assert requests.get(h.url + "/api/notes").status_code == 200
        assert site.rows("SELECT count(*) FROM once") == [(1,)]
        assert [r[0] for r in site.recorded()] == [1, 2]
        applied = sum(h.log_text().count("BE00077") for h in hs)
        assert applied == 2
    finally:
        for h in hs:
            h.destroy()


def test_a_graceful_restart_applies_new_files_with_no_request_failing(site):
    site.write("001_notes.sql", TABLES[site.driver])
    h = site.httpd().start_ok()
    failures, done = [], threading.Event()

    def load():
        # a connection per request: an idle kept-alive connection that the
        # old child closes is not a failed request (clients open another)
        while not done.is_set():
            try:
                r = requests.get(h.url + "/api/notes",
                                 headers={"Connection": "close"})
            except requests.RequestException as e:
                failures.append(repr(e))
                continue
            if r.status_code != 200:
                failures.append((r.status_code, r.text))

    try:
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        site.write("002_tags.sql", TAGS)
        with open(h.conf) as f:
            conf = f.read()
        with open(h.conf, "w") as f:
            f.write(conf.replace("    BackendResource notes\n",
                                 "    BackendResource notes\n"
                                 "    BackendResource tags\n"))
        res = h._ctl("-k", "graceful")
        assert res.returncode == 0, res.stdout
        r = None
        for _ in range(100):
            r = requests.get(h.url + "/api/tags")
            if r.status_code == 200:
                break
            time.sleep(0.1)
        assert r.json() == [{"id": 1, "name": "x"}]
        time.sleep(0.3)
        done.set()
        for t in threads:
            t.join()
        assert failures == []
        assert [r[0] for r in site.recorded()] == [1, 2]
    finally:
        done.set()
        h.destroy()


@pytest.fixture(scope="module")
def own_pg():
    server = Postgres()
    yield server
    server.destroy()


@pytest.mark.allow_log("BE00011", "AH00629", "AH00630", "AH00632", "AH00633",
                       "AH00634", "AH00635", "AH00636", "AH00637", "AH00623",
                       "AH00624", "AH00625", "AH00626")
def test_a_postgresql_down_at_startup_gets_them_when_it_answers(own_pg):
    site = Site("pgsql", own_pg, "migr_late")
    site.write("001_notes.sql", TABLES["pgsql"])
    own_pg.stop()
    h = site.httpd()
    try:
        h.start_ok()
        assert "BE00079" in h.log_text()
        assert_problem(requests.get(h.url + "/health/ready"), 503,
                       "Service Unavailable", "the database does not answer")
        own_pg.start()
        site.db._conn = own_pg.connect(site.db.dbname)
        r = None
        for _ in range(40):
            r = requests.get(h.url + "/health/ready")
            if r.status_code == 200:
                break
            time.sleep(0.25)
        assert r.status_code == 200, r.text
        r = requests.get(h.url + "/api/notes")
        assert r.status_code == 200, r.text
        assert r.json() == [{"id": 1, "body": "first; with a semicolon"}]
        assert [r[0] for r in site.recorded()] == [1]
        assert h.log_text().count("BE00077") == 1
    finally:
        own_pg.start()
        h.destroy()
        site.close()


@pytest.mark.allow_log("BE00081", "BE00011")
def test_ready_says_when_a_late_migration_fails(own_pg):
    site = Site("pgsql", own_pg, "migr_late_bad")
    site.write("001_bad.sql", "INSERT INTO nowhere VALUES (1);\n")
    own_pg.stop()
    h = site.httpd()
    try:
        h.start_ok()
        own_pg.start()
        site.db._conn = own_pg.connect(site.db.dbname)
        assert_problem(requests.get(h.url + "/health/ready"), 503,
                       "Service Unavailable",
                       "the migrations are not applied")
        r = requests.get(h.url + "/api/notes")
        assert r.status_code == 503, r.text
        assert "001_bad.sql line 1: INSERT INTO nowhere" in h.log_text()
    finally:
        own_pg.start()
        h.destroy()
        site.close()
