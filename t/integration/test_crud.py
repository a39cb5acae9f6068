"""CRUD on a resource: the same answers on SQLite and PostgreSQL."""

import requests

from expected import JSON, P1, P2, P3, PRODUCTS, assert_problem


def count(api, table="products"):
    return api.db.value("SELECT count(*) FROM " + table)


# --- reads -----------------------------------------------------------------

def test_list_is_every_row_ordered_by_key(fresh):
    r = requests.get(fresh.url + "/api/products")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == PRODUCTS


def test_list_is_capped_by_max_rows(fresh):
    r = requests.get(fresh.url + "/small/products")
    assert r.status_code == 200
    assert r.json() == [P1, P2]


def test_trailing_slash_is_the_collection(fresh):
    r = requests.get(fresh.url + "/api/products/")
    assert r.status_code == 200
    assert r.json() == PRODUCTS


def test_get_item(fresh):
    r = requests.get(fresh.url + "/api/products/2")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == P2


def test_types_are_faithful_in_the_raw_body(fresh):
    r = requests.get(fresh.url + "/api/products/2")
    # integers and reals unquoted, booleans, null, escapes as \u00XX
    assert '"id":2,' in r.text
    assert '"stock":0,' in r.text
    assert '"price":20,' in r.text
    assert '"active":false,' in r.text
    assert '"attrs":null,' in r.text
    assert ('"note":"line1\\u000a\\"quoted\\"\\u0009tab \\\\ backslash"'
            in r.text)
    r = requests.get(fresh.url + "/api/products/3")
    # multi-byte UTF-8 is kept as it is, json is embedded
    assert '"note":"caf\u00e9 \u2615 \U0001F600"'.encode() in r.content
    assert '"price":null' in r.text
    assert '"attrs":[1,' in r.text


def test_json_column_is_embedded(fresh):
    r = requests.get(fresh.url + "/api/products/1")
    assert r.json()["attrs"] == {"weight": 1.5, "tags": ["steel"]}


def test_missing_item_is_404(fresh):
    r = requests.get(fresh.url + "/api/products/99")
    assert_problem(r, 404, "Not Found", "products has no row with key '99'")


def test_non_integer_id_is_404(fresh):
    r = requests.get(fresh.url + "/api/products/abc")
    assert_problem(r, 404, "Not Found", "products has no row with key 'abc'")


def test_text_key(fresh):
    r = requests.get(fresh.url + "/api/tags/new")
    assert r.status_code == 200
    assert r.json() == {"code": "new", "label": "New"}
    r = requests.get(fresh.url + "/api/tags/a%20b")
    assert r.json() == {"code": "a b", "label": "Odd key"}


def test_resource_name_differs_from_table(fresh):
    r = requests.get(fresh.url + "/api/items/1")
    assert r.status_code == 200
    assert r.json() == P1


def test_unknown_paths_are_404(fresh):
    for path in ("/api/nothing", "/api/products/1/extra", "/api",
                 "/api/"):
        r = requests.get(fresh.url + path)
        assert_problem(r, 404, "Not Found", "no resource at this path")


def test_head_is_get_without_body(fresh):
    g = requests.get(fresh.url + "/api/products")
    h = requests.head(fresh.url + "/api/products")
    assert h.status_code == 200
    assert h.content == b""
    assert h.headers["Content-Type"] == "application/json"
    assert h.headers["Content-Length"] == g.headers["Content-Length"]
    h = requests.head(fresh.url + "/api/products/99")
    assert h.status_code == 404
    assert h.content == b""


def test_options_lists_allowed_methods(fresh):
    r = requests.options(fresh.url + "/api/products")
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
    assert r.content == b""
    r = requests.options(fresh.url + "/api/products/1")
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"


def test_other_methods_are_405_with_allow(fresh):
    for method, path, allow in (
            ("PUT", "/api/products", "GET, HEAD, POST, PATCH, DELETE, OPTIONS"),
            ("POST", "/api/products/1",
             "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
            ("BREW", "/api/products/1",
             "GET, HEAD, PUT, PATCH, DELETE, OPTIONS")):
        r = requests.request(method, fresh.url + path)
        assert_problem(r, 405, "Method Not Allowed",
                       "%s is not allowed on %s" % (method, path))
        assert r.headers["Allow"] == allow
    assert count(fresh) == 3


# --- writes ----------------------------------------------------------------

def test_post_creates_a_row(fresh):
    body = {"name": "drill", "price": 45.5, "attrs": {"v": [1, "x"]},
            "category_id": 2}
    r = requests.post(fresh.url + "/api/products", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Location"] == "/api/products/4"
    row = {"id": 4, "name": "drill", "sku": None, "price": 45.5, "stock": 0,
           "active": True, "attrs": {"v": [1, "x"]}, "category_id": 2,
           "note": None}
    assert r.json() == row
    assert requests.get(fresh.url + "/api/products/4").json() == row
    assert fresh.db.value("SELECT name FROM products WHERE id = 4") == "drill"


def test_post_with_charset_parameter(fresh):
    r = requests.post(fresh.url + "/api/categories", data=b'{"name":"x"}',
                      headers={"Content-Type":
                               "application/json; charset=utf-8"})
    assert r.status_code == 201
    assert r.json() == {"id": 3, "name": "x"}
    assert r.headers["Location"] == "/api/categories/3"


def test_post_text_key_location_is_escaped(fresh):
    r = requests.post(fresh.url + "/api/tags",
                      json={"code": "x y", "label": "L"})
    assert r.status_code == 201
    assert r.headers["Location"] == "/api/tags/x%20y"
    assert r.json() == {"code": "x y", "label": "L"}
    assert requests.get(fresh.url + r.headers["Location"]).json() == \
        {"code": "x y", "label": "L"}


def test_text_round_trips_exactly(fresh):
    note = "a\u0001b\u001f \"q\" \\ \u2028 / \U0001F680 \u00e9"
    r = requests.post(fresh.url + "/api/products",
                      json={"name": "t", "note": note, "attrs": "just text"})
    assert r.status_code == 201
    assert r.json()["note"] == note
    assert r.json()["attrs"] == "just text"
    assert "\\u0001" in r.text and "\\u001f" in r.text
    got = requests.get(fresh.url + r.headers["Location"]).json()
    assert got["note"] == note
    assert fresh.db.value("SELECT note FROM products WHERE id = 4") == note


def test_booleans_and_numbers_round_trip(fresh):
    r = requests.post(fresh.url + "/api/products",
                      json={"name": "b", "active": False, "price": 0.1,
                            "stock": -5, "attrs": [True, None, 1.25]})
    assert r.status_code == 201
    j = r.json()
    assert (j["active"], j["price"], j["stock"], j["attrs"]) == \
        (False, 0.1, -5, [True, None, 1.25])


def test_put_replaces_the_row(fresh):
    r = requests.put(fresh.url + "/api/products/1",
                     json={"name": "mallet", "price": 5})
    assert r.status_code == 200, r.text
    row = {"id": 1, "name": "mallet", "sku": None, "price": 5, "stock": 0,
           "active": True, "attrs": None, "category_id": None, "note": None}
    assert r.json() == row
    assert requests.get(fresh.url + "/api/products/1").json() == row


def test_put_with_matching_key_in_body(fresh):
    r = requests.put(fresh.url + "/api/tags/new",
                     json={"code": "new", "label": "Brand new"})
    assert r.status_code == 200
    assert r.json() == {"code": "new", "label": "Brand new"}


def test_put_key_mismatch_is_422(fresh):
    r = requests.put(fresh.url + "/api/products/1",
                     json={"id": 2, "name": "x"})
    assert_problem(r, 422, "Unprocessable Entity",
                   "id: must match the key in the URL",
                   [{"field": "id", "message": "must match the key in the URL"}])
    assert requests.get(fresh.url + "/api/products/1").json() == P1


def test_put_missing_row_is_404(fresh):
    r = requests.put(fresh.url + "/api/products/99", json={"name": "x"})
    assert_problem(r, 404, "Not Found", "products has no row with key '99'")
    assert count(fresh) == 3


def test_put_requires_not_null_columns(fresh):
    r = requests.put(fresh.url + "/api/products/1", json={"price": 1})
    assert_problem(r, 422, "Unprocessable Entity", "name: is required",
                   [{"field": "name", "message": "is required"}])
    assert requests.get(fresh.url + "/api/products/1").json() == P1


def test_patch_changes_only_what_is_given(fresh):
    r = requests.patch(fresh.url + "/api/products/2",
                       json={"stock": 7, "note": None})
    assert r.status_code == 200
    assert r.json() == dict(P2, stock=7, note=None)
    assert requests.get(fresh.url + "/api/products/2").json() == \
        dict(P2, stock=7, note=None)


def test_patch_empty_object_returns_the_row(fresh):
    r = requests.patch(fresh.url + "/api/products/1", json={})
    assert r.status_code == 200
    assert r.json() == P1


def test_patch_missing_row_is_404(fresh):
    r = requests.patch(fresh.url + "/api/products/99", json={"stock": 1})
    assert_problem(r, 404, "Not Found", "products has no row with key '99'")
    r = requests.patch(fresh.url + "/api/products/x", json={"stock": 1})
    assert r.status_code == 404


def test_delete(fresh):
    r = requests.delete(fresh.url + "/api/products/3")
    assert r.status_code == 204
    assert r.content == b""
    assert requests.get(fresh.url + "/api/products/3").status_code == 404
    assert requests.get(fresh.url + "/api/products").json() == [P1, P2]
    r = requests.delete(fresh.url + "/api/products/3")
    assert_problem(r, 404, "Not Found", "products has no row with key '3'")


def test_delete_text_key(fresh):
    r = requests.delete(fresh.url + "/api/tags/a%20b")
    assert r.status_code == 204
    assert count(fresh, "tags") == 1
