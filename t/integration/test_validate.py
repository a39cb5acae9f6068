"""BackendValidate on both drivers: declared rules on columns (and on a
function's arguments) checked before any SQL, every failing field listed
at once, nothing written; mistakes refused at startup."""

import pytest
import requests

from conftest import site_per_driver
from expected import assert_problem
from harness import Database, Httpd, refused_in_location

SCHEMA = """
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, name TEXT,
                     age INTEGER, site TEXT, role TEXT, born TEXT,
                     ref TEXT, score NUMERIC);
"""
RULES = """
    BackendResource people
    BackendValidate people email required format=email
    BackendValidate people name length=2..20 "pattern=^[A-Za-z ]+$"
    BackendValidate people age range=0..150
    BackendValidate people site format=uri
    BackendValidate people role enum=admin,editor,viewer
    BackendValidate people born format=date
    BackendValidate people ref format=uuid
    BackendValidate people score range=..10.5
    BackendFunction greet name:text n:int? "SELECT :name AS name, :n AS n"
    BackendValidate greet name length=..5
    BackendValidate greet n required range=1..
"""
CONF = "<Location /api>\n    SetHandler backend\n%s</Location>\n" % RULES
GOOD = {"email": "ann@example.com", "name": "Ann Lee", "age": 40,
        "site": "https://example.com/a?b=c", "role": "editor",
        "born": "1984-02-29", "ref": "123e4567-e89b-12d3-a456-426614174000",
        "score": 10.5}


class Site:
    def __init__(self, driver, pg):
        self.db = Database(driver, pg, "validate")
        self.db.script(SCHEMA)
        self.httpd = Httpd(CONF, self.db).start_ok()
        self.url = self.httpd.url + "/api/people"

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


def test_every_failing_field_at_once(site):
    site.db.script("DELETE FROM people")
    r = requests.post(site.url, json={
        "id": 9, "name": "x1", "age": 151, "site": "not a uri", "role": "boss",
        "born": "1985-02-29", "ref": "nope", "score": 11})
    assert_problem(r, 422, "Unprocessable Entity", "8 fields are not valid", [
        {"field": "email", "message": "is required"},
        {"field": "name", "message": "must match ^[A-Za-z ]+$"},
        {"field": "age", "message": "must be from 0 to 150"},
        {"field": "site", "message": "is not a URI"},
        {"field": "role", "message": "must be one of admin,editor,viewer"},
        {"field": "born", "message": "is not a date (YYYY-MM-DD)"},
        {"field": "ref", "message": "is not a UUID"},
        {"field": "score", "message": "must be at most 10.5"}])
    r = requests.post(site.url, json={"id": 9, "email": "a@b", "name": "A"})
    assert_problem(r, 422, "Unprocessable Entity", "2 fields are not valid", [
        {"field": "email", "message": "is not an email address"},
        {"field": "name", "message": "must be 2 to 20 characters long"}])
    # arrays: each object as [i].field
    r = requests.post(site.url, json=[dict(GOOD, id=7), {"id": 8,
                                                         "name": "Bo"}])
    assert_problem(r, 422, "Unprocessable Entity", "[1].email: is required",
                   [{"field": "[1].email", "message": "is required"}])
    assert site.db.rows("SELECT count(*) FROM people") == [(0,)]
    r = requests.post(site.url, json=dict(GOOD, id=1))
    assert r.status_code == 201, r.text
    # NULL passes every rule but required
    r = requests.post(site.url, json={"id": 2, "email": "b@example.org",
                                      "name": None, "age": None})
    assert r.status_code == 201, r.text


def test_updates(site):
    site.db.script("DELETE FROM people")
    assert requests.post(site.url, json=dict(GOOD, id=1)).status_code == 201
    # PATCH checks what it sends; email is not needed
    r = requests.patch(site.url + "/1", json={"age": -1, "name": "Al"})
    assert_problem(r, 422, "Unprocessable Entity",
                   "age: must be from 0 to 150",
                   [{"field": "age", "message": "must be from 0 to 150"}])
    r = requests.patch(site.url + "/1", json={"email": None})
    assert_problem(r, 422, "Unprocessable Entity", "email: is required",
                   [{"field": "email", "message": "is required"}])
    r = requests.patch(site.url + "/1", json={"name": "Al"})
    assert r.status_code == 200, r.text
    # PUT replaces the row: what it leaves out is absent
    r = requests.put(site.url + "/1", json={"id": 1, "name": "Al"})
    assert_problem(r, 422, "Unprocessable Entity", "email: is required",
                   [{"field": "email", "message": "is required"}])
    assert site.db.rows("SELECT name, age, email FROM people") == \
        [("Al", 40, "ann@example.com")]


def test_types_and_rules_fail_in_one_answer(site):
    site.db.script("DELETE FROM people")
    # a mistyped value is told once, by its type; the rules check the rest
    r = requests.post(site.url, json={"id": 3, "email": "a@b", "age": "old",
                                      "name": 5, "role": "boss"})
    assert_problem(r, 422, "Unprocessable Entity", "4 fields are not valid", [
        {"field": "name", "message": "must be a string"},
        {"field": "age", "message": "must be an integer"},
        {"field": "email", "message": "is not an email address"},
        {"field": "role", "message": "must be one of admin,editor,viewer"}])
    r = requests.post(site.url, json=[{"id": 4, "age": "x"}, {"id": 5}])
    assert_problem(r, 422, "Unprocessable Entity", "3 fields are not valid", [
        {"field": "[0].age", "message": "must be an integer"},
        {"field": "[0].email", "message": "is required"},
        {"field": "[1].email", "message": "is required"}])
    assert requests.post(site.url, json=dict(GOOD, id=1)).status_code == 201
    r = requests.patch(site.url + "/1", json={"age": "x", "name": "A"})
    assert_problem(r, 422, "Unprocessable Entity", "2 fields are not valid", [
        {"field": "age", "message": "must be an integer"},
        {"field": "name", "message": "must be 2 to 20 characters long"}])
    r = requests.post(site.httpd.url + "/api/rpc/greet",
                      json={"name": "toolong", "n": "x"})
    assert_problem(r, 422, "Unprocessable Entity",
                   "2 arguments of greet are not valid", [
                       {"field": "n", "message": "must be an int"},
                       {"field": "name",
                        "message": "must be at most 5 characters long"}])
    assert site.db.rows("SELECT count(*) FROM people") == [(1,)]


def test_function_arguments(site):
    u = site.httpd.url + "/api/rpc/greet"
    r = requests.post(u, json={"name": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
                               "n": 0})
    assert_problem(r, 422, "Unprocessable Entity",
                   "2 arguments of greet are not valid", [
        {"field": "name", "message": "must be at most 5 characters long"},
        {"field": "n", "message": "must be at least 1"}])
    r = requests.get(u + "?name=ab")
    assert_problem(r, 422, "Unprocessable Entity", "n: is required",
                   [{"field": "n", "message": "is required"}])
    r = requests.get(u + "?name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9&n=2")
    assert r.status_code == 200, r.text
    assert r.json() == [{"name": "\u00e9" * 5, "n": 2}]


@pytest.mark.parametrize("line,message", [
    ("BackendValidate people email", "BackendValidate needs NAME FIELD RULE"),
    ("BackendValidate nobody email required",
     "BackendValidate nobody: no BackendResource or BackendFunction nobody "
     "is declared above it in this <Location>"),
    ("BackendValidate people email shiny",
     "BackendValidate people email: 'shiny' is not a rule"),
    ("BackendValidate people age range=5..1",
     "BackendValidate people age: 'range=5..1': MIN is above MAX"),
    ("BackendValidate people age range=..",
     "BackendValidate people age: 'range=..': MIN..MAX"),
    ("BackendValidate people age length=a..",
     "BackendValidate people age: 'length=a..': MIN is not a number"),
    ("BackendValidate people email format=phone",
     "BackendValidate people email: 'format=phone': format= is email, uri, "
     "uuid, date or date-time"),
    ("BackendValidate people name pattern=(",
     "BackendValidate people name: pattern=( is not a regular expression"),
    ("BackendValidate people nope required",
     "BackendValidate people: table 'people' has no column 'nope'"),
    ("BackendValidate greet nope required",
     "BackendValidate greet: the function has no argument 'nope'"),
])
def test_mistakes_are_refused_at_startup(driver, request, line, message):
    pg = request.getfixturevalue("pg") if driver == "pgsql" else None
    refused_in_location(driver, pg, SCHEMA, RULES + "\n" + line, message)
