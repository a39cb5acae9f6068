"""Embedded resources (PostgREST's select=*,author(name),comments(*)) on
both drivers: many-to-one, one-to-many and many-to-many through a
declared junction, several levels, aliases and !hints, filters, order
and limits on embedded rows, !inner, spreads; nested values as faithful
as top-level ones; and the embedded resource's rules (hidden columns,
owner scope, undeclared tables) hold."""

import pytest
import requests

from conftest import TokenSite, site_per_driver
from expected import assert_problem
from harness import refused_in_location

SCHEMA = {
    "sqlite": """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                    secret TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
                    author_id INTEGER REFERENCES users (id),
                    editor_id INTEGER REFERENCES users,
                    published BOOLEAN NOT NULL DEFAULT 0, meta JSON,
                    score REAL, at TIMESTAMP);
CREATE TABLE comments (id INTEGER PRIMARY KEY,
                       post_id INTEGER NOT NULL REFERENCES posts (id),
                       body TEXT, approved BOOLEAN, owner TEXT);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE post_tags (post_id INTEGER NOT NULL REFERENCES posts (id),
                        tag_id INTEGER NOT NULL REFERENCES tags (id),
                        owner TEXT,
                        PRIMARY KEY (post_id, tag_id));
CREATE TABLE audit (id INTEGER PRIMARY KEY,
                    post_id INTEGER REFERENCES posts (id), what TEXT);
CREATE VIEW published AS SELECT id, title, author_id FROM posts
    WHERE published;
""",
    "pgsql": """
CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL,
                    secret text);
CREATE TABLE posts (id integer PRIMARY KEY, title text NOT NULL,
                    author_id integer REFERENCES users (id),
                    editor_id integer REFERENCES users,
                    published boolean NOT NULL DEFAULT false, meta jsonb,
                    score double precision, at timestamptz);
CREATE TABLE comments (id integer PRIMARY KEY,
                       post_id integer NOT NULL REFERENCES posts (id),
                       body text, approved boolean, owner text);
CREATE TABLE tags (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE post_tags (post_id integer NOT NULL REFERENCES posts (id),
                        tag_id integer NOT NULL REFERENCES tags (id),
                        owner text,
                        PRIMARY KEY (post_id, tag_id));
CREATE TABLE audit (id integer PRIMARY KEY,
                    post_id integer REFERENCES posts (id), what text);
CREATE VIEW published AS SELECT id, title, author_id FROM posts
    WHERE published;
""",
}
SEED = """
DELETE FROM post_tags; DELETE FROM comments; DELETE FROM audit;
DELETE FROM posts; DELETE FROM tags; DELETE FROM users;
INSERT INTO users VALUES (1, 'ada', 's3cr3t'), (2, 'bob', 's3cr3t');
INSERT INTO posts VALUES
    (1, 'hello', 1, 2, TRUE, '{"a": [1, 2]}', 1.5, '2024-05-01 10:00:00+00'),
    (2, 'draft', 2, NULL, FALSE, NULL, NULL, NULL),
    (3, 'orphan', NULL, NULL, FALSE, NULL, 0.1, NULL);
INSERT INTO comments VALUES (1, 1, 'nice', TRUE, 'bob'),
    (2, 1, 'meh', FALSE, 'ada'), (3, 2, 'first', TRUE, 'bob'),
    (4, 1, 'late', TRUE, 'bob');
INSERT INTO tags VALUES (1, 'c'), (2, 'sql'), (3, 'unused');
INSERT INTO post_tags VALUES (1, 1, 'ada'), (1, 2, 'bob'), (2, 2, 'bob');
INSERT INTO audit VALUES (1, 1, 'created');
"""

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    BackendResource users
    BackendHide users secret
    BackendResource posts
    BackendResource tags
    BackendResource post_tags
    BackendResource notes table=comments
    BackendResource published key=id
    BackendRelation published.author_id users.id
</Location>
<Location /mine>
    SetHandler backend
    BackendResource posts
    BackendResource comments owner=owner
    BackendResource tags
    BackendResource post_tags owner=owner
    AuthType Bearer
    BackendTokenKey hs256 {hs}
    Require valid-user
</Location>
"""


class Site(TokenSite):
    def __init__(self, driver, pg):
        super().__init__(driver, pg, "embed", SCHEMA[driver], CONF)
        self.db.script(SEED)

    def get(self, path, **kw):
        return requests.get(self.url + path, **kw)

    def json(self, path, **kw):
        r = self.get(path, **kw)
        assert r.status_code == 200, r.text
        return r.json()


site = site_per_driver(Site)


def test_many_to_one_is_an_object_or_null(site):
    assert site.json("/api/posts?select=id,author:users!author_id(name)"
                     "&order=id") == [
        {"id": 1, "author": {"name": "ada"}},
        {"id": 2, "author": {"name": "bob"}},
        {"id": 3, "author": None}]
    # by the foreign key's name, as PostgreSQL names it on both drivers
    assert site.json("/api/posts/1?select=title,"
                     "editor:users!posts_editor_id_fkey(id,name)",
                     headers={"Accept": "application/vnd.pgrst.object+json"}
                     ) == {"title": "hello", "editor": {"id": 2,
                                                         "name": "bob"}}


def test_one_to_many_is_an_array_with_its_own_grammar(site):
    assert site.json("/api/posts?select=id,notes(id,body)&order=id") == [
        {"id": 1, "notes": [{"id": 1, "body": "nice"},
                            {"id": 2, "body": "meh"},
                            {"id": 4, "body": "late"}]},
        {"id": 2, "notes": [{"id": 3, "body": "first"}]},
        {"id": 3, "notes": []}]
    assert site.json("/api/posts?select=id,notes(id)&id=eq.1"
                     "&notes.approved=is.true&notes.order=id.desc"
                     "&notes.limit=1") == [{"id": 1, "notes": [{"id": 4}]}]
    assert site.json("/api/posts?select=id,notes(id)&id=eq.1"
                     "&notes.offset=1&notes.order=id") == \
        [{"id": 1, "notes": [{"id": 2}, {"id": 4}]}]


def test_many_to_many_through_a_declared_junction(site):
    assert site.json("/api/posts?select=id,tags(name)&order=id"
                     "&tags.order=name") == [
        {"id": 1, "tags": [{"name": "c"}, {"name": "sql"}]},
        {"id": 2, "tags": [{"name": "sql"}]},
        {"id": 3, "tags": []}]
    assert site.json("/api/tags?select=name,posts(id)&order=id") == [
        {"name": "c", "posts": [{"id": 1}]},
        {"name": "sql", "posts": [{"id": 1}, {"id": 2}]},
        {"name": "unused", "posts": []}]


def test_several_levels_and_star(site):
    got = site.json("/api/users?select=name,posts!author_id(title,"
                    "notes(body,posts(id)))&id=eq.2")
    assert got == [{"name": "bob", "posts": [
        {"title": "draft", "notes": [{"body": "first",
                                      "posts": {"id": 2}}]}]}]
    # * of an embedded resource: its visible columns
    got = site.json("/api/posts?select=id,author:users!author_id(*)"
                    "&id=eq.1")
    assert got == [{"id": 1, "author": {"id": 1, "name": "ada"}}]


def test_nested_values_are_as_faithful_as_top_level_ones(site):
    top = site.json("/api/posts?select=published,meta,score,at&id=eq.1")[0]
    nested = site.json("/api/notes?select=posts(published,meta,score,at)"
                       "&id=eq.1")[0]["posts"]
    assert nested == top
    assert nested["published"] is True and nested["meta"] == {"a": [1, 2]}
    assert nested["score"] == 1.5


def test_inner_keeps_parents_with_a_matching_row(site):
    assert site.json("/api/posts?select=id,author:users!author_id!inner(name)"
                     "&author.name=eq.bob") == [
        {"id": 2, "author": {"name": "bob"}}]
    # without !inner the parent stays, with nothing embedded
    assert site.json("/api/posts?select=id,author:users!author_id(name)"
                     "&author.name=eq.bob&order=id") == [
        {"id": 1, "author": None}, {"id": 2, "author": {"name": "bob"}},
        {"id": 3, "author": None}]
    r = site.get("/api/posts?select=id,notes!inner(id)&notes.body=eq.meh",
                 headers={"Prefer": "count=exact"})
    assert r.json() == [{"id": 1, "notes": [{"id": 2}]}]
    assert r.headers["Content-Range"] == "0-0/1"


def test_spread_puts_columns_in_the_parent(site):
    assert site.json("/api/posts?select=id,...users!author_id(author:name)"
                     "&order=id") == [
        {"id": 1, "author": "ada"}, {"id": 2, "author": "bob"},
        {"id": 3, "author": None}]
    # a spread column named as one of the parent's is still the parent's
    # in order= (PostgreSQL had found "id" ambiguous)
    assert site.json("/api/posts?select=title,...users!author_id(id,name)"
                     "&order=id.desc") == [
        {"title": "orphan", "id": None, "name": None},
        {"title": "draft", "id": 2, "name": "bob"},
        {"title": "hello", "id": 1, "name": "ada"}]
    assert site.json("/api/notes?select=body,...posts(post:id)"
                     "&order=id.desc") == [
        {"body": "late", "post": 1}, {"body": "first", "post": 2},
        {"body": "meh", "post": 1}, {"body": "nice", "post": 1}]


@pytest.mark.parametrize("query,name", [
    ("select=id,...users!author_id(id,name)", "id"),
    ("select=*,...users!author_id(*)", "id"),
    ("select=title,...users!author_id(title:name)", "title"),
    ("select=...users!author_id(name),...users!editor_id(name)", "name"),
    ("select=*,id", "id"),
    ("select=id,x:users!author_id(*,name)", "name"),
])
def test_a_name_twice_in_the_answer_is_refused(site, query, name):
    r = site.get("/api/posts?" + query)
    assert_problem(r, 400, "Bad Request",
                   ("x: " if query.startswith("select=id,x:") else "")
                   + "select: '%s' is named twice" % name)


def test_hidden_columns_stay_hidden(site):
    for q in ("select=id,users!author_id(secret)",
              "select=id,users!author_id(name)&users.secret=eq.s3cr3t",
              "select=id,users!author_id!inner(name)&users.secret=like.*",
              "select=id,users!author_id(name)&users.order=secret"):
        r = site.get("/api/posts?" + q)
        assert r.status_code == 400, (q, r.text)
        assert "s3cr3t" not in r.text
    assert "s3cr3t" not in site.get(
        "/api/posts?select=*,users!author_id(*)").text


def test_an_embedded_owner_scope_holds(site):
    h = site.auth("bob")
    got = site.get("/mine/posts?select=id,comments(id,owner)&order=id",
                   headers=h).json()
    assert got == [{"id": 1, "comments": [{"id": 1, "owner": "bob"},
                                          {"id": 4, "owner": "bob"}]},
                   {"id": 2, "comments": [{"id": 3, "owner": "bob"}]},
                   {"id": 3, "comments": []}]
    got = site.get("/mine/posts?select=id,comments!inner(id)"
                   "&comments.owner=eq.ada", headers=h).json()
    assert got == []
    # a junction's owner scope: ada's tag link is not bob's to follow
    got = site.get("/mine/posts?select=id,tags(name)&order=id"
                   "&tags.order=name", headers=h).json()
    assert got == [{"id": 1, "tags": [{"name": "sql"}]},
                   {"id": 2, "tags": [{"name": "sql"}]},
                   {"id": 3, "tags": []}]
    got = site.get("/mine/tags?select=name,posts!inner(id)&order=id",
                   headers=h).json()
    assert got == [{"name": "sql", "posts": [{"id": 1}, {"id": 2}]}]
    got = site.get("/mine/tags?select=name,posts!inner(id)&order=id",
                   headers=site.auth("ada")).json()
    assert got == [{"name": "c", "posts": [{"id": 1}]}]


@pytest.mark.parametrize("query,status,detail", [
    ("select=id,audit(what)", 400,
     "select: 'audit' is not a resource of this location"),
    ("select=id,users(name)", 300,
     "select: more than one relationship between posts and users; name "
     "one: users!posts_author_id_fkey, users!posts_editor_id_fkey"),
    ("select=id,users!nope(name)", 400,
     "select: no relationship between posts and users named nope"),
    ("select=id,tags(name),x:tags(name)", 200, None),
    ("select=id,notes(id)&nope.id=eq.1", 400,
     "'nope.id': 'nope' is not an embedded resource of select="),
    ("select=id,a:notes(b:posts(c:notes(d:posts(id))))", 200, None),
    ("select=id,a:notes(b:posts(c:notes(d:posts(e:notes(id)))))", 400,
     "select 'id,a:notes(b:posts(c:notes(d:posts(e:notes(id)))))': "
     "resources are embedded at most 4 levels deep"),
    ("select=id,notes(id", 400, "select 'id,notes(id': a '(' is not closed"),
    ("select=id,notes()", 400, "select 'id,notes()': 'notes()' names no "
     "column"),
    ("select=id,...notes(id)", 400, "select: ...notes: only a resource the "
     "row refers to (one row) can be spread"),
    ("select=id,notes(nope)", 400, None),
    ("select=id,users!author_id!inner!inner(name)", 400,
     "select 'id,users!author_id!inner!inner(name)': 'users' has two join "
     "types (!inner, !left)"),
    ("select=id,users!left!author_id!inner(name)", 400,
     "select 'id,users!left!author_id!inner(name)': 'users' has two join "
     "types (!inner, !left)"),
    ("select=id,users!author_id!left(name)", 200, None),
    ("select=id,notes(id)&notes..id=eq.1", 400,
     "'notes..id': 'notes.' is not an embedded resource of select="),
    ("select=id,notes(id)&.notes.id=eq.1", 400,
     "'.notes.id': '.notes' is not an embedded resource of select="),
])
def test_mistakes_are_clear(site, query, status, detail):
    r = site.get("/api/posts?" + query)
    if detail is None:
        assert r.status_code == status, r.text
        return
    titles = {300: "Multiple Choices", 400: "Bad Request"}
    assert_problem(r, status, titles[status], detail)


def test_writes_do_not_embed(site):
    r = requests.post(site.url + "/api/tags?select=id,posts(id)",
                      json={"id": 9, "name": "x"})
    assert_problem(r, 400, "Bad Request",
                   "select: resources are embedded in reads (GET); a write "
                   "answers its own rows")
    assert site.db.rows("SELECT count(*) FROM tags") == [(3,)]


def test_a_declared_relation_for_a_view(site):
    assert site.json("/api/published?select=title,users(name)") == [
        {"title": "hello", "users": {"name": "ada"}}]
    assert site.json("/api/users?select=name,published(title)&order=id") == [
        {"name": "ada", "published": [{"title": "hello"}]},
        {"name": "bob", "published": []}]
    assert site.json("/api/users?select=name,published!author_id(id)"
                     "&id=eq.1") == [{"name": "ada", "published": [{"id": 1}]}]


@pytest.mark.parametrize("lines,message", [
    ("BackendResource users\nBackendResource posts\n"
     "BackendRelation posts.nope users.id",
     "BackendRelation posts.nope users.id ("),
    ("BackendResource users\nBackendResource posts\n"
     "BackendRelation posts.author_id users.nope", "): no such column"),
    ("BackendResource users\nBackendRelation posts.author_id users.id",
     "BackendRelation posts.author_id users.id: both must be a "
     "BackendResource declared above it in this <Location>"),
    ("BackendResource users\nBackendResource posts\n"
     "BackendRelation posts users.id",
     "BackendRelation takes RESOURCE.COLUMN RESOURCE.COLUMN"),
])
def test_relation_mistakes_are_refused_at_startup(driver, request, lines,
                                                  message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA[driver], lines, message)
