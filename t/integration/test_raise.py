"""A message the site's own SQL raises reaches the client, on both drivers:
SQLite's RAISE() in a trigger and PostgreSQL's RAISE EXCEPTION answer 400
with the message, or the 4xx status the message starts with ("409: ...",
or ERRCODE 'PT4xx' on PostgreSQL, as PostgREST has it).  PostgreSQL
answered 500 and SQLite "a value breaks a check constraint"; nothing is
written."""

import pytest
import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import Database, Httpd

SQLITE = """
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TRIGGER posts_title BEFORE INSERT ON posts BEGIN
    SELECT RAISE(ABORT, 'title is empty') WHERE NEW.title = '';
    SELECT RAISE(ABORT, '409: the title is taken')
        WHERE NEW.title IN (SELECT title FROM posts);
    SELECT RAISE(ABORT, '403: no shouting') WHERE NEW.title = upper(NEW.title)
        AND NEW.title <> lower(NEW.title);
END;
CREATE TRIGGER posts_locked BEFORE UPDATE ON posts WHEN OLD.id = 1 BEGIN
    SELECT RAISE(FAIL, '423: post 1 is locked');
END;
INSERT INTO posts VALUES (1, 'first');
"""

PGSQL = """
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE FUNCTION posts_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.title = '' THEN RAISE EXCEPTION 'title is empty'; END IF;
    IF EXISTS (SELECT 1 FROM posts WHERE title = NEW.title) THEN
        RAISE EXCEPTION '409: the title is taken';
    END IF;
    IF NEW.title = upper(NEW.title) AND NEW.title <> lower(NEW.title) THEN
        RAISE EXCEPTION 'no shouting' USING ERRCODE = 'PT403';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER posts_title BEFORE INSERT ON posts
    FOR EACH ROW EXECUTE FUNCTION posts_title();
CREATE FUNCTION posts_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'post 1 is locked' USING ERRCODE = 'PT423';
END $$;
CREATE TRIGGER posts_locked BEFORE UPDATE ON posts FOR EACH ROW
    WHEN (OLD.id = 1) EXECUTE FUNCTION posts_locked();
INSERT INTO posts VALUES (1, 'first');
"""

CONF = """
<Location /api>
    SetHandler backend
    BackendResource posts
</Location>
"""


class Site:
    def __init__(self, driver, pg):
        self.db = Database(driver, pg, "raise")
        self.db.script(SQLITE if driver == "sqlite" else PGSQL)
        self.httpd = Httpd(CONF, self.db).start_ok()
        self.url = self.httpd.url + "/api/posts"

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


@pytest.mark.parametrize("body,status,title,detail", [
    ({"id": 2, "title": ""}, 400, "Bad Request", "title is empty"),
    ({"id": 2, "title": "first"}, 409, "Conflict", "the title is taken"),
    ({"id": 2, "title": "LOUD"}, 403, "Forbidden", "no shouting"),
    ([{"id": 2, "title": "ok"}, {"id": 3, "title": ""}], 400,
     "Bad Request", "title is empty"),
])
def test_raised_messages_are_the_answer(site, body, status, title, detail):
    r = requests.post(site.url, json=body)
    assert_problem(r, status, title, detail)
    assert site.db.rows("SELECT id, title FROM posts ORDER BY id") == [
        (1, "first")]


def test_a_raise_in_an_update(site):
    r = requests.patch(site.url + "/1", json={"title": "changed"})
    assert_problem(r, 423, "Locked", "post 1 is locked")
    r = requests.patch(site.url + "?id=gte.1", json={"title": "changed"})
    assert_problem(r, 423, "Locked", "post 1 is locked")
    assert site.db.value("SELECT title FROM posts WHERE id = 1") == "first"
    r = requests.post(site.url, json={"id": 2, "title": "fine"})
    assert r.status_code == 201
    site.db.script("DELETE FROM posts WHERE id = 2")
