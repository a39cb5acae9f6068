"""Every failure is application/problem+json with the right status, and no
failed request changes the database."""

import json

import requests

from expected import JSON, P1, PRODUCTS, assert_problem

UNPROC = "Unprocessable Entity"


def unchanged(api):
    assert requests.get(api.url + "/api/products").json() == PRODUCTS
    assert api.db.value("SELECT count(*) FROM products") == 3


def post(api, data, headers=JSON, path="/api/products"):
    if not isinstance(data, (bytes, str)):
        data = json.dumps(data)
    return requests.post(api.url + path, data=data, headers=headers)


def test_malformed_json_is_400(fresh):
    for bad in ('{"name": ', '{"name": "x",}', "{name: 1}", "{'name': 'x'}",
                '{"name": "x"} trailing', "", '{"a": tru}', "\xff"):
        r = post(fresh, bad.encode("latin-1"))
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "about:blank"
        assert body["title"] == "Bad Request"
        assert body["status"] == 400
        assert body["detail"].startswith("the body ")
    unchanged(fresh)


def test_body_must_be_an_object(fresh):
    for bad in ("42", '"text"', "null", "true"):
        r = post(fresh, bad)
        assert_problem(r, 400, "Bad Request", "the body must be a JSON object "
                       "or an array of objects")
    for bad in ("[1]", '[{"name": "x"}, "y"]'):
        r = post(fresh, bad)
        assert r.status_code == 400
        assert r.json()["detail"].endswith("of the array is not a JSON object")
    r = requests.patch(fresh.url + "/api/products/1", data="[1]",
                       headers=JSON)
    assert_problem(r, 400, "Bad Request", "the body must be a JSON object")
    unchanged(fresh)


def test_deep_json_is_400(fresh):
    deep = '{"attrs": ' + "[" * 100 + "]" * 100 + ', "name": "x"}'
    r = post(fresh, deep)
    assert_problem(r, 400, "Bad Request", "JSON nested deeper than 32 levels")
    unchanged(fresh)


def test_unknown_column_is_422_naming_it(fresh):
    r = post(fresh, {"name": "x", "colour": "red"})
    assert_problem(r, 422, UNPROC, "colour: is not a column of this resource",
                   [{"field": "colour",
                     "message": "is not a column of this resource"}])
    unchanged(fresh)


def test_wrong_types_are_422(fresh):
    cases = [
        ({"name": 5}, "name", "must be a string"),
        ({"name": "x", "stock": "many"}, "stock", "must be an integer"),
        ({"name": "x", "stock": 1.5}, "stock", "must be an integer"),
        ({"name": "x", "price": "cheap"}, "price", "must be a number"),
        ({"name": "x", "active": "yes"}, "active", "must be a boolean"),
        ({"name": "x", "active": 1}, "active", "must be a boolean"),
        ({"name": ["x"]}, "name", "must be a string"),
        ({"name": None}, "name", "must not be null"),
        ({"name": "x" * 41}, "name", "must be at most 40 characters"),
    ]
    for body, field, msg in cases:
        r = post(fresh, body)
        assert_problem(r, 422, UNPROC, "%s: %s" % (field, msg),
                       [{"field": field, "message": msg}])
    r = requests.patch(fresh.url + "/api/products/1", json={"stock": "x"})
    assert_problem(r, 422, UNPROC, "stock: must be an integer",
                   [{"field": "stock", "message": "must be an integer"}])
    unchanged(fresh)


def test_integer_range_follows_the_column_type(fresh):
    r = post(fresh, {"name": "big", "stock": 3000000000})
    if fresh.driver == "pgsql":
        # integer (int4) on PostgreSQL
        msg = "must be between -2147483648 and 2147483647"
        assert_problem(r, 422, UNPROC, "stock: " + msg,
                       [{"field": "stock", "message": msg}])
        unchanged(fresh)
    else:
        # SQLite integers are 64-bit
        assert r.status_code == 201
        assert r.json()["stock"] == 3000000000


def test_missing_required_fields_are_listed(fresh):
    r = post(fresh, {}, path="/api/tags")
    assert_problem(r, 422, UNPROC, "2 fields are not valid",
                   [{"field": "code", "message": "is required"},
                    {"field": "label", "message": "is required"}])
    r = post(fresh, {"sku": "Z"})
    assert_problem(r, 422, UNPROC, "name: is required",
                   [{"field": "name", "message": "is required"}])
    assert fresh.db.value("SELECT count(*) FROM tags") == 2
    unchanged(fresh)


def test_every_invalid_field_is_listed(fresh):
    r = post(fresh, {"name": 1, "stock": "x", "nope": 0})
    assert_problem(r, 422, UNPROC, "3 fields are not valid",
                   [{"field": "nope",
                     "message": "is not a column of this resource"},
                    {"field": "name", "message": "must be a string"},
                    {"field": "stock", "message": "must be an integer"}])


def test_unique_violation_is_409(fresh):
    r = post(fresh, {"name": "dup", "sku": "H-1"})
    assert_problem(r, 409, "Conflict",
                   "a row with the same unique value already exists")
    r = requests.patch(fresh.url + "/api/products/2", json={"sku": "H-1"})
    assert r.status_code == 409
    r = post(fresh, {"code": "new", "label": "again"}, path="/api/tags")
    assert_problem(r, 409, "Conflict",
                   "a row with the same unique value already exists")
    unchanged(fresh)


def test_foreign_key_violation_is_409(fresh):
    detail = ("a referenced row does not exist, or other rows still refer "
              "to this one")
    r = post(fresh, {"name": "orphan", "category_id": 99})
    assert_problem(r, 409, "Conflict", detail)
    r = requests.delete(fresh.url + "/api/categories/1")
    assert_problem(r, 409, "Conflict", detail)
    assert fresh.db.value("SELECT count(*) FROM categories") == 2
    unchanged(fresh)


def test_check_constraint_is_422(fresh):
    # the constraint by its name (PostgreSQL's for an unnamed one, on
    # SQLite too) and the columns it covers
    r = post(fresh, {"name": "neg", "price": -1})
    msg = "breaks the check constraint products_price_check"
    assert_problem(r, 422, UNPROC, "price: " + msg,
                   [{"field": "price", "message": msg}])
    unchanged(fresh)


def test_wrong_content_type_is_415(fresh):
    for headers in ({"Content-Type": "text/plain"},
                    {"Content-Type": "application/jsonx"},
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    {}):
        r = requests.post(fresh.url + "/api/products",
                          data=b'{"name":"x"}', headers=headers)
        assert_problem(r, 415, "Unsupported Media Type",
                       "the request body must be application/json")
        r = requests.put(fresh.url + "/api/products/1",
                         data=b'{"name":"x"}', headers=headers)
        assert r.status_code == 415
    unchanged(fresh)


def test_body_over_the_limit_is_413(fresh):
    big = json.dumps({"name": "x", "note": "y" * 300})
    r = post(fresh, big, path="/small/products")
    assert_problem(r, 413, "Request Entity Too Large",
                   "the request body is larger than 200 bytes")

    def chunks():
        yield b'{"name": "x", "note": "'
        for _ in range(10):
            yield b"y" * 50
        yield b'"}'
    r = requests.post(fresh.url + "/small/products", data=chunks(),
                      headers=JSON)
    assert_problem(r, 413, "Request Entity Too Large",
                   "the request body is larger than 200 bytes")
    unchanged(fresh)


def test_default_limit_is_one_mebibyte(fresh):
    big = json.dumps({"name": "x", "note": "y" * (1024 * 1024)})
    r = post(fresh, big)
    assert_problem(r, 413, "Request Entity Too Large",
                   "the request body is larger than 1048576 bytes")
    unchanged(fresh)


def test_limit_request_body_is_honoured(fresh):
    r = post(fresh, {"name": "x", "note": "y" * 150},
             path="/limited/products")
    assert_problem(r, 413, "Request Entity Too Large",
                   "the request body is larger than 100 bytes")
    r = post(fresh, {"name": "ok"}, path="/limited/products")
    assert r.status_code == 201
