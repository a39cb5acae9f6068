"""conf/examples/auth.conf, as shipped (paths swapped for the test's), on
both drivers: the worked example of docs/access-control.md works."""

import os

import pytest
import requests

from conftest import example_db, example_httpd
from harness import TOP
from test_auth import DENIED, bcrypt

EXAMPLE = os.path.join(TOP, "conf", "examples")


@pytest.fixture(scope="module")
def shop(driver, request):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    db = example_db(driver, pg, "example", os.path.join(EXAMPLE, "auth.sql"))
    for name, pw, role in (("ada", "correct horse", "admin"),
                           ("bo", "battery staple", None)):
        db.script("INSERT INTO users VALUES ('%s', '%s', '%s@example.com')"
                  % (name, bcrypt(pw), name))
        if role:
            db.script("INSERT INTO user_roles VALUES ('%s', '%s')"
                      % (name, role))
    h = example_httpd(os.path.join(EXAMPLE, "auth.conf"), db,
                      "/etc/shop/token.key")
    yield h
    h.destroy()
    db.close()


def token(shop, user, pw):
    r = requests.post(shop.url + "/api/token", auth=(user, pw))
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


@pytest.mark.allow_log(*DENIED)
def test_the_worked_example(shop):
    ada = token(shop, "ada", "correct horse")
    bo = token(shop, "bo", "battery staple")
    r = requests.post(shop.url + "/api/orders", headers=bo,
                      json={"item": "kite", "quantity": 2})
    assert r.status_code == 201
    assert r.json()["customer"] == "bo"
    r = requests.post(shop.url + "/api/orders", headers=ada,
                      json={"item": "saw", "quantity": 1})
    assert r.json()["customer"] == "ada"
    assert [o["item"] for o in requests.get(shop.url + "/api/orders",
                                            headers=bo).json()] == ["kite"]
    # ada is admin: BackendOwnerBypass
    assert len(requests.get(shop.url + "/api/orders", headers=ada).json()) \
        == 2
    r = requests.get(shop.url + "/api/users", headers=ada)
    assert r.json() == [{"name": "ada", "email": "ada@example.com"},
                        {"name": "bo", "email": "bo@example.com"}]
    assert requests.get(shop.url + "/api/users", headers=bo).status_code \
        == 403
    assert requests.get(shop.url + "/api/orders").status_code == 401
    assert requests.post(shop.url + "/api/token",
                         auth=("bo", "wrong")).status_code == 401
