"""conf/examples/blog/blog.conf, as shipped (paths swapped for the
test's), on both drivers: sign-up with a hashed password, JSON login,
drafts seen by their author only, publishing, the public feed, comments
on published posts, statistics."""

import os

import pytest
import requests

from conftest import example_db, example_httpd
from expected import assert_problem
from harness import TOP

EXAMPLE = os.path.join(TOP, "conf", "examples", "blog")


@pytest.fixture(scope="module")
def blog(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = example_db(driver, pg, "blog", os.path.join(EXAMPLE, "blog.sql"))
    h = example_httpd(os.path.join(EXAMPLE, "blog.conf"), db,
                      "/etc/blog/token.key")
    h.db = db
    yield h
    h.destroy()
    db.close()


def signup_and_login(blog, name, pw):
    r = requests.post(blog.url + "/auth/rpc/signup",
                      json={"username": name, "password": pw})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": name}
    r = requests.post(blog.url + "/auth/token",
                      json={"username": name, "password": pw})
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


@pytest.mark.allow_log("AH01617")
def test_the_blog(blog):
    u = blog.url + "/blog"
    r = requests.post(blog.url + "/auth/rpc/signup",
                      json={"username": "A!", "password": "short"})
    assert_problem(r, 422, "Unprocessable Entity",
                   "2 arguments of signup are not valid", [
                       {"field": "username", "message":
                        "must be 3 to 32 characters long"},
                       {"field": "password", "message":
                        "must be at least 8 characters long"}])
    ann = signup_and_login(blog, "ann", "correct horse")
    bob = signup_and_login(blog, "bob", "battery staple")
    stored = blog.db.rows("SELECT password_hash FROM users WHERE name = "
                          "'ann'")[0][0]
    assert stored.startswith("$2y$")
    r = requests.post(blog.url + "/auth/token",
                      json={"username": "ann", "password": "wrong"})
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers

    # ann writes a draft: hers alone
    r = requests.post(u + "/posts", headers=ann,
                      json={"title": "Hello", "body": "first",
                            "status": "published"})
    assert_problem(r, 422, "Unprocessable Entity", "status: is read-only",
                   [{"field": "status", "message": "is read-only"}])
    r = requests.post(u + "/posts", headers=ann,
                      json={"title": "Hello", "body": "first"})
    assert r.status_code == 201, r.text
    post = r.json()
    assert (post["author"], post["status"]) == ("ann", "draft")
    assert post["created_at"]
    assert requests.get(u + "/posts", headers=bob).json() == []
    assert requests.get(u + "/feed").json() == []
    r = requests.post(u + "/posts/%d/comments" % post["id"], headers=bob,
                      json={"body": "early"})
    assert r.status_code == 404, r.text
    # only ann publishes it
    r = requests.post(u + "/posts/%d/publish" % post["id"], headers=bob)
    assert r.status_code == 404, r.text
    r = requests.post(u + "/posts/%d/publish" % post["id"], headers=ann)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published" and r.json()["published_at"]
    feed = requests.get(u + "/feed?select=id,author,title")
    assert feed.status_code == 200, feed.text
    assert feed.json() == [{"id": post["id"], "author": "ann",
                            "title": "Hello"}]
    # bob comments, and sees what others say
    r = requests.post(u + "/posts/%d/comments" % post["id"], headers=bob,
                      json={"body": "nice"})
    assert r.status_code == 201, r.text
    comment = r.json()
    assert comment["author"] == "bob"
    r = requests.get(u + "/posts/%d/comments" % post["id"], headers=ann)
    assert r.json() == [{"id": comment["id"], "author": "bob",
                         "body": "nice"}]
    # her posts with their comments, in one request
    r = requests.get(u + "/posts?select=id,title,comments(author,body)",
                     headers=ann)
    assert r.json() == [{"id": post["id"], "title": "Hello", "comments": [
        {"author": "bob", "body": "nice"}]}]
    # a comment on a draft is refused; nobody's but hers are her drafts
    r = requests.post(u + "/posts", headers=ann, json={"title": "Draft"})
    draft = r.json()
    r = requests.post(u + "/comments", headers=bob,
                      json={"post": draft["id"], "body": "peek"})
    assert r.status_code == 403, r.text
    # ann cannot delete bob's comment; bob can
    r = requests.delete(u + "/comments/%d" % comment["id"], headers=ann)
    assert r.status_code == 404, r.text
    assert blog.db.rows("SELECT count(*) FROM comments") == [(1,)]
    r = requests.get(u + "/authors/ann/stats", headers=bob)
    assert r.status_code == 200, r.text
    assert r.json() == {"author": "ann", "published": 1, "comments": 0}
    r = requests.delete(u + "/comments/%d" % comment["id"], headers=bob)
    assert r.status_code == 204
    assert blog.db.rows("SELECT count(*) FROM comments") == [(0,)]
    # without a token, only the feed
    assert requests.get(u + "/posts").status_code == 401
    assert requests.get(u + "/feed").status_code == 200
