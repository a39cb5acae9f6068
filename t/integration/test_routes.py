"""BackendRoute on both drivers: METHOD /path/{param}/... relative to the
<Location>, path parameters and body members bound by name, the answers
of functions (returns=, status=), 404/405/OPTIONS, and routes that would
shadow a resource or another route refused at startup."""

import pytest
import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import Database, Httpd, refused_in_location, make_tmpdir
import tokens

SCHEMA = {
    "sqlite": """
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                    author TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft');
CREATE TABLE comments (id INTEGER PRIMARY KEY, post INTEGER NOT NULL,
                       body TEXT NOT NULL, author TEXT);
""",
    "pgsql": """
CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL,
                    author text NOT NULL, status text NOT NULL DEFAULT 'draft');
CREATE TABLE comments (id serial PRIMARY KEY, post integer NOT NULL,
                       body text NOT NULL, author text);
""",
}
SEED = """
DELETE FROM comments; DELETE FROM posts;
INSERT INTO posts (id, title, author) VALUES (1, 'one', 'ann'),
                                             (2, 'two', 'bob');
"""
ROUTES = """
    BackendResource posts
    BackendRoute POST /posts/{id:int}/publish returns=one \\
        "UPDATE posts SET status = 'published' \\
         WHERE id = :id AND author = :user RETURNING id, status"
    BackendRoute GET /posts/{id:int}/comments \\
        "SELECT id, body, author FROM comments WHERE post = :id"
    BackendRoute POST /posts/{id:int}/comments returns=one status=201 \\
        body:text "INSERT INTO comments (post, body, author) \\
        SELECT id, :body, :user FROM posts \\
        WHERE id = :id AND status = 'published' \\
        RETURNING id, post, body, author"
    BackendRoute DELETE /comments/{cid:int} returns=none \\
        "DELETE FROM comments WHERE id = :cid AND author = :user"
    BackendRoute GET /stats/{author} \\
        "SELECT author, count(*) AS posts FROM posts \\
         WHERE author = :author GROUP BY author"
"""
CONF = """
LoadModule authz_user_module "LIBEXEC/mod_authz_user.so"
<Location /api>
    SetHandler backend
%s
    AuthType Bearer
    BackendTokenKey hs256 HS
    Require valid-user
</Location>
""" % ROUTES


class Site:
    def __init__(self, driver, pg):
        from harness import LIBEXEC
        self.db = Database(driver, pg, "routes")
        self.db.script(SCHEMA[driver])
        self.keys = tokens.Keys(make_tmpdir("mb-keys-"))
        conf = CONF.replace("LIBEXEC", LIBEXEC).replace("HS", self.keys.hs)
        self.httpd = Httpd(conf, self.db).start_ok()
        self.url = self.httpd.url + "/api"

    def auth(self, user="ann"):
        return self.keys.bearer(user)

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


@pytest.fixture
def s(site):
    site.db.script(SEED)
    return site


def test_publish_binds_the_path_and_the_user(s):
    r = requests.post(s.url + "/posts/1/publish", headers=s.auth("ann"))
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 1, "status": "published"}
    # not bob's post: no row matched, 404, nothing changed
    r = requests.post(s.url + "/posts/2/publish", headers=s.auth("ann"))
    assert_problem(r, 404, "Not Found",
                   "POST /posts/{id:int}/publish found no row")
    assert s.db.rows("SELECT id, status FROM posts ORDER BY id") == \
        [(1, "published"), (2, "draft")]


def test_comments_under_a_post(s):
    r = requests.post(s.url + "/posts/1/comments", headers=s.auth("bob"),
                      json={"body": "first"})
    assert r.status_code == 404, r.text  # not published yet
    requests.post(s.url + "/posts/1/publish", headers=s.auth("ann"))
    r = requests.post(s.url + "/posts/1/comments", headers=s.auth("bob"),
                      json={"body": "first"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c == {"id": c["id"], "post": 1, "body": "first", "author": "bob"}
    requests.post(s.url + "/posts/1/comments", headers=s.auth("ann"),
                  json={"body": "second"})
    # a GET route's rows take the query grammar
    r = requests.get(s.url + "/posts/1/comments?select=body&order=body.desc",
                     headers=s.auth())
    assert r.status_code == 200, r.text
    assert r.json() == [{"body": "second"}, {"body": "first"}]
    r = requests.get(s.url + "/posts/1/comments?author=eq.bob&limit=1",
                     headers=dict(s.auth(), Prefer="count=exact"))
    assert r.json() == [{"id": c["id"], "body": "first", "author": "bob"}]
    assert r.headers["Content-Range"] == "0-0/1"
    # the body's members are the declared arguments
    r = requests.post(s.url + "/posts/1/comments", headers=s.auth(),
                      json={"body": 5, "id": 2})
    assert_problem(r, 422, "Unprocessable Entity",
                   "2 arguments of POST /posts/{id:int}/comments are not "
                   "valid", [
                       {"field": "body", "message": "must be a text"},
                       {"field": "id",
                        "message": "is not an argument of this function"}])
    # DELETE: 204; another user's comment is not theirs to delete
    r = requests.delete(s.url + "/comments/%d" % c["id"],
                        headers=s.auth("ann"))
    assert r.status_code == 204, r.text
    assert s.db.rows("SELECT count(*) FROM comments") == [(2,)]
    r = requests.delete(s.url + "/comments/%d" % c["id"],
                        headers=s.auth("bob"))
    assert r.status_code == 204, r.text
    assert s.db.rows("SELECT body FROM comments") == [("second",)]


def test_methods_paths_and_types(s):
    r = requests.get(s.url + "/stats/ann", headers=s.auth())
    assert r.status_code == 200, r.text
    assert r.json() == [{"author": "ann", "posts": 1}]
    r = requests.put(s.url + "/posts/1/publish", headers=s.auth())
    assert_problem(r, 405, "Method Not Allowed",
                   "PUT is not allowed on /api/posts/1/publish")
    assert r.headers["Allow"] == "POST, OPTIONS"
    r = requests.options(s.url + "/posts/1/comments", headers=s.auth())
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    # a path parameter not of its type: no such URL
    r = requests.post(s.url + "/posts/abc/publish", headers=s.auth())
    assert_problem(r, 404, "Not Found", "{id} must be an integer (int)")
    for path in ("/posts/1/nope", "/posts/1/publish/x", "/stats"):
        r = requests.get(s.url + path, headers=s.auth())
        assert r.status_code == 404, path
        assert r.headers["Content-Type"] == "application/problem+json"
    r = requests.get(s.url + "/stats/a%2Fb", headers=s.auth())
    assert_problem(r, 404, "Not Found", "no resource at this path")
    # the resource beside the routes is itself
    r = requests.get(s.url + "/posts/2", headers=s.auth())
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "two"
    # access control applies to routes as to any path
    r = requests.post(s.url + "/posts/1/publish")
    assert r.status_code == 401
    assert s.db.rows("SELECT status FROM posts WHERE id = 1") == [("draft",)]


@pytest.mark.parametrize("line,message", [
    ('BackendRoute GET /posts/{x} "SELECT 1 AS a"',
     "BackendRoute GET /posts/{x}: its path is that of BackendResource "
     "posts"),
    ('BackendRoute GET /posts "SELECT 1 AS a"',
     "BackendRoute GET /posts: its path is that of BackendResource posts"),
    ('BackendRoute GET /stats/x "SELECT 1 AS a"',
     "BackendRoute GET /stats/x: the same URLs as BackendRoute GET "
     "/stats/{author}"),
    ('BackendRoute GET /x "DELETE FROM posts"',
     "BackendRoute GET /x: a GET route only reads"),
    ('BackendRoute FETCH /x "SELECT 1"',
     "BackendRoute: 'FETCH' is not GET, POST, PUT, PATCH or DELETE"),
    ('BackendRoute GET x "SELECT 1"',
     "BackendRoute GET x: the path starts with /"),
    ('BackendRoute GET /x/{id:integer} "SELECT 1"',
     "BackendRoute GET /x/{id:integer}: {id:integer}: 'id:integer': "
     "unknown type"),
    ('BackendRoute GET /x/{a}/{a} "SELECT 1"',
     "BackendRoute GET /x/{a}/{a}: argument 'a' is declared twice"),
    ('BackendRoute POST /x status=404 "SELECT 1"',
     "BackendRoute POST /x: status= is a 2xx status"),
    ('BackendRoute GET /x "SELECT :nope"',
     "BackendRoute GET /x: ':nope' is not a declared argument"),
    ('BackendRoute GET /x "SELECT * FROM nosuch"',
     "BackendRoute GET /x ("),
    ('BackendRoute GET /p/{x} "SELECT 1 AS a"\nBackendResource p '
     'table=posts', "BackendResource p: its path is that of BackendRoute "
     "GET /p/{x}"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], ROUTES + "\n" + line,
                        message)
