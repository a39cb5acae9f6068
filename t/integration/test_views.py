"""Resources on views and on tables with triggers, on both drivers: a view
takes only the writes the database says it can (INSTEAD OF triggers, or an
updatable PostgreSQL view), Allow and 405 say so, and every write answers
what is stored, also what a trigger changed.  On SQLite, a write to a
plain view answered 201/200 and stored nothing, and a DELETE 500."""

import pytest
import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import Database, Httpd

SQLITE = """
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                    published_at TEXT, edits INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER posts_publish AFTER INSERT ON posts BEGIN
    UPDATE posts SET published_at = '2026-01-01' WHERE id = NEW.id;
END;
CREATE TRIGGER posts_edits AFTER UPDATE OF title ON posts BEGIN
    UPDATE posts SET edits = edits + 1 WHERE id = NEW.id;
END;
CREATE VIEW posts_ro AS SELECT DISTINCT id, title FROM posts;
CREATE VIEW posts_rw AS SELECT DISTINCT id, title, published_at FROM posts;
CREATE TRIGGER posts_rw_insert INSTEAD OF INSERT ON posts_rw BEGIN
    INSERT INTO posts (id, title) VALUES (NEW.id, upper(NEW.title));
END;
CREATE TRIGGER posts_rw_update INSTEAD OF UPDATE ON posts_rw BEGIN
    UPDATE posts SET title = upper(NEW.title) WHERE id = OLD.id;
END;
CREATE TRIGGER posts_rw_delete INSTEAD OF DELETE ON posts_rw BEGIN
    DELETE FROM posts WHERE id = OLD.id;
END;
INSERT INTO posts (id, title) VALUES (1, 'ONE'), (2, 'TWO');
"""

PGSQL = """
CREATE TABLE posts (id SERIAL PRIMARY KEY, title TEXT NOT NULL,
                    published_at TEXT, edits INTEGER NOT NULL DEFAULT 0);
CREATE FUNCTION posts_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN NEW.published_at := '2026-01-01';
    ELSIF NEW.title IS DISTINCT FROM OLD.title THEN
        NEW.edits := OLD.edits + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER posts_stamp BEFORE INSERT OR UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_stamp();
CREATE VIEW posts_ro AS SELECT DISTINCT id, title FROM posts;
CREATE VIEW posts_rw AS SELECT DISTINCT id, title, published_at FROM posts;
CREATE FUNCTION posts_rw_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO posts (id, title)
            VALUES (COALESCE(NEW.id, nextval('posts_id_seq')),
                    upper(NEW.title))
            RETURNING id, title, published_at
            INTO NEW.id, NEW.title, NEW.published_at;
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE posts SET title = upper(NEW.title) WHERE id = OLD.id
            RETURNING id, title, published_at
            INTO NEW.id, NEW.title, NEW.published_at;
        RETURN NEW;
    END IF;
    DELETE FROM posts WHERE id = OLD.id;
    RETURN OLD;
END $$;
CREATE TRIGGER posts_rw_write INSTEAD OF INSERT OR UPDATE OR DELETE
    ON posts_rw FOR EACH ROW EXECUTE FUNCTION posts_rw_write();
INSERT INTO posts (id, title) VALUES (1, 'ONE'), (2, 'TWO');
SELECT setval('posts_id_seq', 2);
"""

CONF = """
<Location /api>
    SetHandler backend
    BackendResource posts
    BackendResource posts_ro key=id
    BackendResource posts_rw key=id
</Location>
"""


class Site:
    def __init__(self, driver, pg):
        self.db = Database(driver, pg, "views")
        self.db.script(SQLITE if driver == "sqlite" else PGSQL)
        self.driver = driver
        self.httpd = Httpd(CONF, self.db).start_ok()
        self.url = self.httpd.url + "/api"

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


def stored(site, table="posts"):
    return [list(r) for r in site.db.rows(
        "SELECT id, title, published_at, edits FROM %s ORDER BY id" % table)]


def test_a_read_only_view_refuses_writes(site):
    before = stored(site)
    r = requests.options(site.url + "/posts_ro")
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    r = requests.options(site.url + "/posts_ro/1")
    assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    for method, path, body in (("POST", "/posts_ro", {"title": "x"}),
                               ("PATCH", "/posts_ro/1", {"title": "x"}),
                               ("PUT", "/posts_ro/1", {"id": 1, "title": "x"}),
                               ("DELETE", "/posts_ro/1", None),
                               ("PATCH", "/posts_ro?id=eq.1", {"title": "x"}),
                               ("DELETE", "/posts_ro?id=eq.1", None)):
        r = requests.request(method, site.url + path, json=body)
        assert_problem(r, 405, "Method Not Allowed",
                       "%s is not allowed on /api%s" % (method,
                                                        path.split("?")[0]))
        assert r.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert stored(site) == before
    r = requests.get(site.url + "/posts_ro?order=id")
    assert r.status_code == 200
    assert r.json() == [{"id": 1, "title": "ONE"}, {"id": 2, "title": "TWO"}]


def test_a_view_with_instead_of_triggers_answers_what_is_stored(site):
    r = requests.options(site.url + "/posts_rw")
    assert r.headers["Allow"] == "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
    r = requests.options(site.url + "/posts_rw/1")
    assert r.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    # the trigger upper-cases the title: the answer is what it stored
    r = requests.post(site.url + "/posts_rw", json={"id": 10, "title": "ten"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": 10, "title": "TEN",
                        "published_at": "2026-01-01"}
    assert r.headers["Location"] == "/api/posts_rw/10"
    r = requests.patch(site.url + "/posts_rw/10", json={"title": "tenth"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 10, "title": "TENTH",
                        "published_at": "2026-01-01"}
    r = requests.patch(site.url + "/posts_rw?id=eq.10",
                       headers={"Prefer": "return=representation"},
                       json={"title": "again"})
    assert r.json() == [{"id": 10, "title": "AGAIN",
                         "published_at": "2026-01-01"}]
    r = requests.patch(site.url + "/posts_rw/99", json={"title": "x"})
    assert r.status_code == 404
    assert stored(site)[-1] == [10, "AGAIN", "2026-01-01", 2]
    r = requests.delete(site.url + "/posts_rw/10",
                        headers={"Prefer": "return=representation"})
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 10, "title": "AGAIN",
                         "published_at": "2026-01-01"}]
    r = requests.delete(site.url + "/posts_rw/10")
    assert r.status_code == 404
    assert [p[0] for p in stored(site)] == [1, 2]


def test_a_view_insert_without_its_key(site):
    r = requests.post(site.url + "/posts_rw", json={"title": "keyless"})
    assert r.status_code == 201, r.text
    row = site.db.rows("SELECT id, title FROM posts WHERE title = 'KEYLESS'")
    assert len(row) == 1
    if site.driver == "sqlite":
        # SQLite cannot tell which row its trigger wrote: no answer rather
        # than a wrong one
        assert r.text == ""
    else:
        assert r.json() == {"id": row[0][0], "title": "KEYLESS",
                            "published_at": "2026-01-01"}
    site.db.script("DELETE FROM posts WHERE title = 'KEYLESS'")


def test_trigger_changes_are_in_the_answer(site):
    # published_at and edits are set by triggers (AFTER on SQLite, where
    # RETURNING cannot see them, BEFORE on PostgreSQL)
    r = requests.post(site.url + "/posts", json={"id": 20, "title": "t"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": 20, "title": "t",
                        "published_at": "2026-01-01", "edits": 0}
    r = requests.post(site.url + "/posts",
                      headers={"Prefer": "return=representation"},
                      json=[{"id": 21, "title": "u"}, {"id": 22, "title": "v"}])
    assert r.status_code == 201, r.text
    assert r.json() == [
        {"id": 21, "title": "u", "published_at": "2026-01-01", "edits": 0},
        {"id": 22, "title": "v", "published_at": "2026-01-01", "edits": 0}]
    r = requests.patch(site.url + "/posts/20", json={"title": "t2"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 20, "title": "t2",
                        "published_at": "2026-01-01", "edits": 1}
    assert stored(site)[2:] == [[20, "t2", "2026-01-01", 1],
                                [21, "u", "2026-01-01", 0],
                                [22, "v", "2026-01-01", 0]]
    r = requests.patch(site.url + "/posts/20",
                       headers={"Accept": "application/vnd.pgrst.object+json"},
                       json={"title": "t3"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 20, "title": "t3",
                        "published_at": "2026-01-01", "edits": 2}
    site.db.script("DELETE FROM posts WHERE id >= 20")


def test_a_patch_that_changes_the_key_answers_the_row(site):
    # the read-back followed the old key: 200 [] though the row changed
    site.db.script("INSERT INTO posts (id, title) VALUES (30, 'k')")
    r = requests.patch(site.url + "/posts_rw?id=eq.30",
                       headers={"Prefer": "return=representation"},
                       json={"id": 31, "title": "moved"})
    assert r.status_code == 200, r.text
    if site.driver == "sqlite":
        # (the view's INSTEAD OF UPDATE trigger keeps the key)
        assert r.json() == [{"id": 30, "title": "MOVED",
                             "published_at": "2026-01-01"}]
    r = requests.patch(site.url + "/posts?id=eq.30",
                       headers={"Prefer": "return=representation"},
                       json={"id": 32, "title": "moved again"})
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 32, "title": "moved again",
                         "published_at": "2026-01-01",
                         "edits": r.json()[0]["edits"]}]
    assert site.db.value("SELECT title FROM posts WHERE id = 32") == \
        "moved again"
    site.db.script("DELETE FROM posts WHERE id >= 30")


SQLITE_CASE = """
CREATE TABLE caps (id INTEGER PRIMARY KEY, title TEXT, stamp TEXT);
CREATE TRIGGER caps_stamp AFTER INSERT ON CAPS BEGIN
    UPDATE caps SET stamp = 'trig' WHERE id = NEW.id;
END;
"""


def test_a_trigger_that_names_the_table_in_another_case():
    # SQLite keeps the trigger's table name as written (ON CAPS): the
    # read-back was not set up and the answer missed the trigger's stamp
    db = Database("sqlite", None, "caps")
    db.script(SQLITE_CASE)
    h = Httpd("<Location /api>\nSetHandler backend\nBackendResource caps\n"
              "</Location>\n", db).start_ok()
    try:
        r = requests.post(h.url + "/api/caps", json={"id": 5, "title": "c"})
        assert r.status_code == 201, r.text
        assert r.json() == {"id": 5, "title": "c", "stamp": "trig"}
    finally:
        h.destroy()
        db.close()
