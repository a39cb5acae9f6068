"""BackendRule on both drivers: a condition the site writes, with :user
and :claim.NAME bound, that every statement on a resource obeys: rows
read, changed and deleted (others do not exist for the request, also
when embedded or counted) and rows written (a row that breaks it is 403
and nothing stays), with BackendOwnerBypass roles above it; and mistakes
refused at startup."""

import pytest
import requests

from conftest import TokenSite, site_per_driver
from expected import assert_problem
from harness import refused_in_location

SCHEMA = {
    "sqlite": """
CREATE TABLE posts (id INTEGER PRIMARY KEY, author TEXT NOT NULL,
                    title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft');
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE post_tags (post_id INTEGER NOT NULL REFERENCES posts (id),
                        tag_id INTEGER NOT NULL REFERENCES tags (id),
                        PRIMARY KEY (post_id, tag_id));
CREATE TABLE comments (id INTEGER PRIMARY KEY,
                       post_id INTEGER NOT NULL REFERENCES posts (id),
                       author TEXT NOT NULL, body TEXT NOT NULL);
""",
    "pgsql": """
CREATE TABLE posts (id serial PRIMARY KEY, author text NOT NULL,
                    title text NOT NULL, status text NOT NULL DEFAULT 'draft');
CREATE TABLE tags (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE post_tags (post_id integer NOT NULL REFERENCES posts (id),
                        tag_id integer NOT NULL REFERENCES tags (id),
                        PRIMARY KEY (post_id, tag_id));
CREATE TABLE comments (id serial PRIMARY KEY,
                       post_id integer NOT NULL REFERENCES posts (id),
                       author text NOT NULL, body text NOT NULL);
""",
}
SEED = """
DELETE FROM comments; DELETE FROM post_tags; DELETE FROM tags;
DELETE FROM posts;
INSERT INTO posts (id, author, title, status) VALUES
    (1, 'alice', 'alice public', 'published'),
    (2, 'alice', 'alice draft', 'draft'),
    (3, 'bob', 'bob public', 'published'),
    (4, 'bob', 'bob draft', 'draft');
INSERT INTO tags VALUES (1, 'c'), (2, 'sql');
INSERT INTO post_tags VALUES (1, 1), (2, 1), (3, 2);
INSERT INTO comments (id, post_id, author, body) VALUES
    (1, 1, 'bob', 'on alice public'), (2, 2, 'alice', 'on alice draft'),
    (3, 3, 'alice', 'on bob public');
"""

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendOwnerBypass editor
    BackendResource posts
    BackendRule posts read "status = 'published' OR author = :user"
    BackendRule posts insert,update,delete "author = :user"
    BackendResource tags
    BackendResource post_tags key=post_id,tag_id
    BackendRule post_tags insert,update,delete \\
        "EXISTS (SELECT 1 FROM posts p WHERE p.id = post_id \\
                 AND p.author = :user)"
    BackendResource comments
    BackendRule comments read,insert \\
        "EXISTS (SELECT 1 FROM posts p WHERE p.id = post_id \\
                 AND (p.status = 'published' OR p.author = :user))"
    BackendRule comments update,delete "author = :user"
    # the site's own SQL takes the rules where it says so
    BackendRoute POST /posts/{{id:int}}/publish returns=one \
        "UPDATE posts SET status = 'published' \
         WHERE id = :id AND :rule.posts.update RETURNING id, author, status"
    BackendFunction drafts \
        "SELECT id, author FROM posts \
         WHERE status = 'draft' AND :rule.posts.read AND :rule.posts.read \
         ORDER BY id"
</Location>
<Location /links>
    SetHandler backend
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
    BackendResource posts
    BackendResource tags
    BackendResource post_tags key=post_id,tag_id
    # a post's tag links are its author's to see
    BackendRule post_tags read \
        "EXISTS (SELECT 1 FROM posts p WHERE p.id = post_id \
                 AND p.author = :user)"
</Location>
"""


class Site(TokenSite):
    def __init__(self, driver, pg):
        super().__init__(driver, pg, "rules", SCHEMA[driver], CONF)
        self.url = self.httpd.url + "/api/"


site = site_per_driver(Site)


@pytest.fixture
def s(site):
    site.db.script(SEED)
    if site.driver == "pgsql":
        site.db.script("SELECT setval('posts_id_seq', 100);"
                       "SELECT setval('comments_id_seq', 100)")
    return site


def get(s, path, user="bob", **kw):
    return requests.get(s.url + path, headers=s.auth(user), **kw)


def ids(r):
    assert r.status_code in (200, 206), r.text
    return [x["id"] for x in r.json()]


def test_drafts_are_their_authors_only(s):
    assert ids(get(s, "posts?order=id")) == [1, 3, 4]
    assert ids(get(s, "posts?order=id", "alice")) == [1, 2, 3]
    r = get(s, "posts/2")
    assert_problem(r, 404, "Not Found", "posts has no row with key '2'")
    r = requests.get(s.url + "posts?select=id&status=eq.draft",
                     headers=dict(s.auth("bob"), Prefer="count=exact"))
    assert r.json() == [{"id": 4}]
    assert r.headers["Content-Range"] == "0-0/1"
    # embedded, the rule of the embedded resource holds
    got = get(s, "tags?select=name,posts(id)&order=id").json()
    assert got == [{"name": "c", "posts": [{"id": 1}]},
                   {"name": "sql", "posts": [{"id": 3}]}]
    got = get(s, "comments?select=id,posts(title)&order=id").json()
    assert got == [{"id": 1, "posts": {"title": "alice public"}},
                   {"id": 3, "posts": {"title": "bob public"}}]


def test_writes_meet_the_rule_or_nothing_is_written(s):
    before = s.db.rows("SELECT id, author, title, status FROM posts "
                       "ORDER BY id")
    r = requests.post(s.url + "posts", headers=s.auth("bob"),
                      json={"author": "alice", "title": "forged"})
    assert_problem(r, 403, "Forbidden", "a row of posts would break a rule "
                   "of this API; nothing was written")
    r = requests.post(s.url + "posts", headers=dict(
        s.auth("bob"), Prefer="return=minimal"),
        json=[{"author": "bob", "title": "ok"},
              {"author": "alice", "title": "forged"}])
    assert r.status_code == 403, r.text
    # another's row cannot be changed or deleted: it is not there
    for method, body in (("PATCH", {"title": "x"}), ("PUT", {
            "id": 1, "author": "alice", "title": "x",
            "status": "published"}), ("DELETE", None)):
        r = requests.request(method, s.url + "posts/1",
                             headers=s.auth("bob"), json=body)
        assert r.status_code == 404, (method, r.text)
    # nor given away
    r = requests.patch(s.url + "posts/4", headers=s.auth("bob"),
                       json={"author": "alice"})
    assert r.status_code == 403, r.text
    r = requests.patch(s.url + "posts?status=eq.published",
                       headers=s.auth("bob"), json={"title": "bulk"})
    assert r.status_code == 204, r.text
    assert s.db.rows("SELECT id, author, title, status FROM posts "
                     "ORDER BY id") == [
        before[0], before[1], (3, "bob", "bulk", "published"), before[3]]
    r = requests.post(s.url + "posts", headers=s.auth("bob"),
                      json={"author": "bob", "title": "mine"})
    assert r.status_code == 201, r.text
    assert r.json()["author"] == "bob"


def test_a_rule_that_follows_a_relation(s):
    # a tag link is the post author's to make or remove
    r = requests.post(s.url + "post_tags", headers=s.auth("bob"),
                      json={"post_id": 1, "tag_id": 2})
    assert r.status_code == 403, r.text
    r = requests.post(s.url + "post_tags", headers=dict(
        s.auth("bob"), Prefer="resolution=merge-duplicates"),
        json={"post_id": 1, "tag_id": 1})
    assert r.status_code == 403, r.text
    assert requests.delete(s.url + "post_tags/1,1",
                           headers=s.auth("bob")).status_code == 404
    r = requests.post(s.url + "post_tags", headers=s.auth("bob"),
                      json={"post_id": 4, "tag_id": 2})
    assert r.status_code == 201, r.text
    assert s.db.rows("SELECT post_id, tag_id FROM post_tags "
                     "ORDER BY post_id, tag_id") == [(1, 1), (2, 1), (3, 2),
                                                     (4, 2)]
    # comments only where the post can be read
    r = requests.post(s.url + "comments", headers=s.auth("bob"),
                      json={"post_id": 2, "author": "bob", "body": "x"})
    assert r.status_code == 403, r.text
    r = requests.post(s.url + "comments", headers=s.auth("bob"),
                      json={"post_id": 1, "author": "bob", "body": "hi"})
    assert r.status_code == 201, r.text
    assert ids(get(s, "comments?order=id")) == [1, 3, r.json()["id"]]
    assert ids(get(s, "comments?order=id", "alice")) == \
        [1, 2, 3, r.json()["id"]]


def test_an_upsert_updates_only_rows_the_rules_let_the_user_update(s):
    merge = dict(s.auth("bob"), Prefer="resolution=merge-duplicates")
    before = s.db.rows("SELECT id, author, title, status FROM posts "
                       "ORDER BY id")
    denied = ("a row of posts this upsert meets may not be updated by the "
              "user; nothing was written")
    # alice's draft: the new row would be bob's, the row met is not
    for query in ("", "?on_conflict=id"):
        r = requests.post(s.url + "posts" + query, headers=merge,
                          json={"id": 2, "author": "bob", "title": "stolen"})
        assert_problem(r, 403, "Forbidden", denied)
        r = requests.post(s.url + "posts" + query, headers=merge, json=[
            {"id": 4, "author": "bob", "title": "bob's, changed"},
            {"id": 1, "author": "bob", "title": "stolen"}])
        assert_problem(r, 403, "Forbidden", denied)
    assert s.db.rows("SELECT id, author, title, status FROM posts "
                     "ORDER BY id") == before
    # his own row is updated, a new one inserted
    r = requests.post(s.url + "posts", headers=merge, json=[
        {"id": 4, "author": "bob", "title": "bob's, changed"},
        {"id": 9, "author": "bob", "title": "new"}])
    assert r.status_code == 201, r.text
    assert [(p["id"], p["title"]) for p in r.json()] == [
        (4, "bob's, changed"), (9, "new")]
    # ignoring duplicates changes nobody's row
    r = requests.post(s.url + "posts", headers=dict(
        s.auth("bob"), Prefer="resolution=ignore-duplicates"),
        json={"id": 2, "author": "bob", "title": "stolen"})
    assert r.status_code == 201, r.text
    # a comment of alice's, on a post bob may read and comment on
    r = requests.post(s.url + "comments", headers=merge,
                      json={"id": 3, "post_id": 3, "author": "bob",
                            "body": "taken"})
    assert_problem(r, 403, "Forbidden", "a row of comments this upsert "
                   "meets may not be updated by the user; nothing was written")
    assert s.db.rows("SELECT id, author, body FROM comments ORDER BY id") == [
        (1, "bob", "on alice public"), (2, "alice", "on alice draft"),
        (3, "alice", "on bob public")]
    assert s.db.rows("SELECT id, author, title FROM posts WHERE id IN (2, 4)"
                     " ORDER BY id") == [(2, "alice", "alice draft"),
                                         (4, "bob", "bob's, changed")]
    # the editor is above the rules
    r = requests.post(s.url + "posts", headers=dict(
        s.auth("eve", roles=["editor"]), Prefer="resolution=merge-duplicates"),
        json={"id": 2, "author": "alice", "title": "edited"})
    assert r.status_code == 201, r.text


def test_a_junction_s_read_rule_holds_through_many_to_many(s):
    links = s.httpd.url + "/links/"
    got = requests.get(links + "tags?select=name,posts(id)&order=id"
                       "&posts.order=id", headers=s.auth("bob")).json()
    assert got == [{"name": "c", "posts": []},
                   {"name": "sql", "posts": [{"id": 3}]}]
    got = requests.get(links + "posts?select=id,tags!inner(name)&order=id",
                       headers=s.auth("alice")).json()
    assert got == [{"id": 1, "tags": [{"name": "c"}]},
                   {"id": 2, "tags": [{"name": "c"}]}]
    assert requests.get(links + "post_tags", headers=s.auth("bob")
                        ).json() == [{"post_id": 3, "tag_id": 2}]


def test_functions_and_routes_take_the_rules_where_their_sql_says(s):
    r = requests.post(s.url + "posts/2/publish", headers=s.auth("bob"))
    assert_problem(r, 404, "Not Found",
                   "POST /posts/{id:int}/publish found no row")
    r = requests.post(s.url + "posts/4/publish", headers=s.auth("bob"))
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 4, "author": "bob", "status": "published"}
    assert s.db.rows("SELECT id, status FROM posts ORDER BY id") == [
        (1, "published"), (2, "draft"), (3, "published"), (4, "published")]
    s.db.script("UPDATE posts SET status = 'draft' WHERE id = 4")
    for user, roles, want in (("bob", [], [4]), ("alice", [], [2]),
                              ("eve", ["editor"], [2, 4])):
        r = requests.get(s.url + "rpc/drafts",
                         headers=s.auth(user, roles=roles))
        assert r.status_code == 200, r.text
        assert [p["id"] for p in r.json()] == want, user
    r = requests.post(s.url + "posts/2/publish",
                      headers=s.auth("eve", roles=["editor"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 2, "author": "alice", "status": "published"}


def test_a_bypass_role_is_above_the_rules(s):
    editor = s.auth("eve", roles=["editor"])
    assert ids(requests.get(s.url + "posts?order=id", headers=editor)) == \
        [1, 2, 3, 4]
    r = requests.patch(s.url + "posts/2", headers=editor,
                       json={"status": "published"})
    assert r.status_code == 200, r.text
    assert ids(get(s, "posts?order=id")) == [1, 2, 3, 4]


@pytest.mark.parametrize("line,message", [
    ('BackendResource posts\nBackendRule posts read "nope = 1"',
     "BackendRule posts read: "),
    ('BackendResource posts\nBackendRule posts write "1 = 1"',
     "BackendRule posts: 'write': the actions are read, insert, update, "
     "delete or all"),
    ('BackendRule posts read "1 = 1"',
     "BackendRule posts: no BackendResource posts is declared above it"),
    ("BackendResource posts\nBackendRule posts read "
     "\"author = 'a'; author = 'b'\"",
     "BackendRule posts: one condition, without ';'"),
    ('BackendResource posts\nBackendRule posts read "author = :nope"',
     "BackendRule posts: ':nope' is not a declared argument"),
    ('BackendResource posts\nBackendRule posts read "author = :user"\n'
     'BackendFunction f "SELECT 1 FROM posts WHERE :rule.posts.nope"',
     "BackendFunction f: ':rule.posts.nope': the actions are read, insert, "
     "update or delete"),
    ('BackendResource posts\n'
     'BackendFunction f "SELECT 1 FROM posts WHERE :rule.posts.read"',
     "BackendFunction f: ':rule.posts.read': posts has no BackendRule for "
     "read above this line"),
    ('BackendFunction f "SELECT 1 WHERE :rule.posts.read"',
     "BackendFunction f: ':rule.posts.read': no BackendResource posts is "
     "declared above it in this <Location>"),
    ('BackendResource posts\n'
     'BackendFunction f "SELECT 1 FROM posts WHERE :rule.posts"',
     "BackendFunction f: ':rule.posts': write :rule.RESOURCE.ACTION"),
    ('BackendResource posts\nBackendRule posts read "author = :user"\n'
     'BackendFunction f "SELECT 1 FROM posts WHERE :rule.posts.read"\n'
     'BackendRule posts all "author = :user"',
     "BackendRule posts read: :rule.posts.read at "),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], line, message)
