"""PostgREST writes: bulk inserts in one transaction, Prefer return=,
columns=, select= on writes, upsert, bulk PATCH and DELETE with filters."""

import json

import requests

from expected import JSON, P1, P2, P3, PRODUCTS, assert_problem


def count(api, table="products"):
    return api.db.value("SELECT count(*) FROM " + table)


def post(api, body, path="/api/products", headers=None, query=""):
    h = dict(JSON)
    h.update(headers or {})
    return requests.post(api.url + path + (("?" + query) if query else ""),
                         data=json.dumps(body), headers=h)


def row(id, name, **kw):
    base = {"id": id, "name": name, "sku": None, "price": None, "stock": 0,
            "active": True, "attrs": None, "category_id": None, "note": None}
    base.update(kw)
    return base


def test_bulk_insert_returns_an_array(fresh):
    r = post(fresh, [{"name": "a", "price": 1}, {"name": "b", "stock": 5},
                     {"name": "c", "attrs": {"k": [1]}}])
    assert r.status_code == 201, r.text
    assert r.json() == [row(4, "a", price=1), row(5, "b", stock=5),
                        row(6, "c", attrs={"k": [1]})]
    assert "Location" not in r.headers
    assert count(fresh) == 6


def test_empty_array_inserts_nothing(fresh):
    r = post(fresh, [])
    assert r.status_code == 201
    assert r.json() == []
    assert count(fresh) == 3


def test_bulk_insert_is_all_or_nothing(fresh):
    # invalid before SQL: nothing runs
    r = post(fresh, [{"name": "ok"}, {"name": 5}, {"nope": 1}])
    assert_problem(r, 422, "Unprocessable Entity", "3 fields are not valid",
                   [{"field": "[1].name", "message": "must be a string"},
                    {"field": "[2].nope",
                     "message": "is not a column of this resource"},
                    {"field": "[2].name", "message": "is required"}])
    # refused by the database on the last row: the first rows are undone
    r = post(fresh, [{"name": "x", "sku": "NEW"}, {"name": "y", "sku": "H-1"}])
    assert_problem(r, 409, "Conflict",
                   "a row with the same unique value already exists")
    assert count(fresh) == 3
    assert fresh.db.value("SELECT count(*) FROM products WHERE sku = %s",
                          "NEW") == 0


def test_large_bulk_insert_spans_statements_in_one_transaction(fresh):
    rows = [{"name": "n%d" % i, "stock": i, "sku": "bulk-%d" % i}
            for i in range(10001)]
    r = post(fresh, rows, headers={"Prefer": "return=minimal"})
    assert r.status_code == 201, r.text[:300]
    assert count(fresh) == 3 + 10001
    # a conflict in the last statement undoes the first ones too
    rows = [{"name": "m%d" % i, "stock": i, "sku": "more-%d" % i}
            for i in range(10001)]
    rows[-1]["sku"] = "H-1"
    r = post(fresh, rows, headers={"Prefer": "return=minimal"})
    assert r.status_code == 409
    assert count(fresh) == 3 + 10001
    assert fresh.db.value(
        "SELECT count(*) FROM products WHERE sku LIKE %s", "more-%") == 0


def test_prefer_return(fresh):
    r = post(fresh, {"name": "min"}, headers={"Prefer": "return=minimal"})
    assert r.status_code == 201
    assert r.content == b""
    assert r.headers["Preference-Applied"] == "return=minimal"
    r = post(fresh, {"name": "hdr"}, headers={"Prefer": "return=headers-only"})
    assert r.status_code == 201
    assert r.content == b""
    assert r.headers["Location"] == "/api/products/5"
    assert r.headers["Preference-Applied"] == "return=headers-only"
    r = post(fresh, {"name": "rep"},
             headers={"Prefer": "return=representation"})
    assert r.status_code == 201
    assert r.json() == [row(6, "rep")]
    assert r.headers["Location"] == "/api/products/6"
    assert r.headers["Preference-Applied"] == "return=representation"
    assert count(fresh) == 6


def test_columns_picks_the_inserted_keys(fresh):
    r = post(fresh, [{"name": "a", "price": 2, "extra": "ignored"},
                     {"name": "b", "note": "dropped too"}],
             query="columns=name,price")
    assert r.status_code == 201, r.text
    assert r.json() == [row(4, "a", price=2), row(5, "b")]
    r = post(fresh, {"name": "c"}, query="columns=name,bogus")
    assert_problem(r, 400, "Bad Request",
                   "columns: 'bogus' is not a column of products")
    # postgrest-js quotes the names
    r = post(fresh, [{"name": "q"}], query='columns="name"')
    assert r.status_code == 201


def test_select_shapes_what_a_write_returns(fresh):
    r = post(fresh, {"name": "s", "price": 3}, query="select=name,cost:price")
    assert r.status_code == 201
    assert r.json() == {"name": "s", "cost": 3}
    assert r.headers["Location"] == "/api/products/4"
    r = requests.patch(fresh.url + "/api/products/4?select=id,stock",
                       json={"stock": 9})
    assert r.json() == {"id": 4, "stock": 9}


def test_upsert_merge_duplicates(fresh):
    h = {"Prefer": "resolution=merge-duplicates"}
    r = post(fresh, {"id": 1, "name": "HAMMER", "stock": 1}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json() == dict(P1, name="HAMMER", stock=1)
    assert r.headers["Preference-Applied"] == "resolution=merge-duplicates"
    r = post(fresh, [{"id": 2, "name": "SAW"}, {"id": 10, "name": "new"}],
             headers=h)
    assert r.json() == [dict(P2, name="SAW"), row(10, "new")]
    assert count(fresh) == 4
    r = post(fresh, {"sku": "K-1", "name": "KITE"}, headers=h,
             query="on_conflict=sku")
    assert r.json() == dict(P3, name="KITE")
    assert count(fresh) == 4


def test_upsert_ignore_duplicates(fresh):
    h = {"Prefer": "resolution=ignore-duplicates, return=representation"}
    r = post(fresh, [{"id": 1, "name": "ignored"}, {"id": 11, "name": "n"}],
             headers=h)
    assert r.status_code == 201
    assert r.json() == [row(11, "n")]
    assert r.headers["Preference-Applied"] == \
        "resolution=ignore-duplicates, return=representation"
    assert requests.get(fresh.url + "/api/products/1").json() == P1


def test_on_conflict_needs_a_resolution(fresh):
    r = post(fresh, {"name": "x"}, query="on_conflict=sku")
    assert_problem(r, 400, "Bad Request", "on_conflict needs Prefer: "
                   "resolution=merge-duplicates or ignore-duplicates")


def test_bulk_patch(fresh):
    r = requests.patch(fresh.url + "/api/products?category_id=eq.1",
                       json={"stock": 100})
    assert r.status_code == 204
    assert r.content == b""
    assert fresh.db.rows("SELECT id, stock FROM products ORDER BY id") == \
        [(1, 100), (2, 100), (3, 3)]
    r = requests.patch(fresh.url + "/api/products?or=(id.eq.1,id.eq.3)"
                       "&select=id,stock", json={"stock": 7},
                       headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    assert sorted(r.json(), key=lambda x: x["id"]) == \
        [{"id": 1, "stock": 7}, {"id": 3, "stock": 7}]
    assert r.headers["Preference-Applied"] == "return=representation"


def test_bulk_patch_is_one_statement(fresh):
    # the second row would break the unique sku: neither changes
    r = requests.patch(fresh.url + "/api/products?id=in.(1,2)",
                       json={"sku": "same"})
    assert r.status_code == 409
    assert requests.get(fresh.url + "/api/products").json() == PRODUCTS


def test_bulk_delete(fresh):
    r = requests.delete(fresh.url + "/api/products?stock=eq.0")
    assert r.status_code == 204
    assert count(fresh) == 2
    r = requests.delete(fresh.url + "/api/products?id=gt.2",
                        headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    assert r.json() == [P3]
    assert count(fresh) == 1


def test_filterless_bulk_writes_are_refused(fresh):
    r = requests.patch(fresh.url + "/api/products", json={"stock": 0})
    assert_problem(r, 400, "Bad Request", "PATCH on all of products needs a "
                   "filter (or bulk=all on the resource)")
    r = requests.delete(fresh.url + "/api/products")
    assert_problem(r, 400, "Bad Request", "DELETE on all of products needs a "
                   "filter (or bulk=all on the resource)")
    assert requests.get(fresh.url + "/api/products").json() == PRODUCTS
    # the site can allow it per resource
    r = requests.delete(fresh.url + "/api/alltags")
    assert r.status_code == 204
    assert count(fresh, "tags") == 0


def test_item_writes_honour_prefer(fresh):
    r = requests.patch(fresh.url + "/api/products/1", json={"stock": 2},
                       headers={"Prefer": "return=minimal"})
    assert r.status_code == 204
    r = requests.put(fresh.url + "/api/products/1", json={"name": "p"},
                     headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    assert r.json() == [row(1, "p")]
    r = requests.delete(fresh.url + "/api/products/1",
                        headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    assert r.json() == [row(1, "p")]


def test_filters_on_item_routes_narrow_them(fresh):
    r = requests.get(fresh.url + "/api/products/1?stock=eq.0")
    assert r.status_code == 404
    r = requests.patch(fresh.url + "/api/products/1?stock=eq.0",
                       json={"name": "no"})
    assert r.status_code == 404
    assert requests.get(fresh.url + "/api/products/1").json() == P1


def test_single_object_writes_stand_only_for_one_row(fresh):
    h = {"Accept": "application/vnd.pgrst.object+json",
         "Prefer": "return=representation"}
    r = requests.patch(fresh.url + "/api/products?id=eq.1",
                       json={"stock": 4}, headers=h)
    assert r.status_code == 200
    assert r.json() == dict(P1, stock=4)
    # two rows match: 406, and the update is undone
    r = requests.patch(fresh.url + "/api/products?category_id=eq.1",
                       json={"stock": 5}, headers=h)
    assert r.status_code == 406
    assert fresh.db.rows("SELECT stock FROM products WHERE category_id = 1 "
                         "ORDER BY id") == [(4,), (0,)]
    r = requests.delete(fresh.url + "/api/products?stock=lt.5", headers=h)
    assert r.status_code == 406
    assert count(fresh) == 3
    r = post(fresh, [{"name": "a"}, {"name": "b"}], headers=h)
    assert r.status_code == 406
    assert count(fresh) == 3
    r = post(fresh, {"name": "one"}, headers=h)
    assert r.status_code == 201
    # (PostgreSQL does not give back identity values of undone inserts)
    assert r.json() == row(r.json()["id"], "one")
    assert count(fresh) == 4


def test_missing_default_is_applied(fresh):
    """Prefer: missing=default (what this API always does with a key a
    row of a bulk insert leaves out) is acknowledged."""
    r = post(fresh, [{"name": "a", "stock": 4}, {"name": "b"}],
             headers={"Prefer": "missing=default, return=representation"})
    assert r.status_code == 201, r.text
    assert r.headers["Preference-Applied"] == \
        "missing=default, return=representation"
    assert [(x["name"], x["stock"]) for x in r.json()] == [("a", 4), ("b", 0)]


AUDIT = {
    "sqlite": ("CREATE TRIGGER audit AFTER UPDATE OF stock ON products BEGIN "
               "INSERT INTO tags (code, label) VALUES "
               "('stock-' || NEW.id, 'stock ' || NEW.stock); END;",
               "DROP TRIGGER IF EXISTS audit;"),
    "pgsql": ("CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ "
              "BEGIN INSERT INTO tags (code, label) VALUES "
              "('stock-' || NEW.id, 'stock ' || NEW.stock); RETURN NEW; END $$;"
              "CREATE TRIGGER audit AFTER UPDATE OF stock ON products "
              "FOR EACH ROW EXECUTE FUNCTION audit();",
              "DROP TRIGGER IF EXISTS audit ON products;"
              "DROP FUNCTION IF EXISTS audit();"),
}


def test_writes_see_what_another_program_changed(fresh):
    """The database is shared: rows changed and a trigger created by another
    program between two writes of the API are there for its next write (on
    SQLite one connection per process does the single writes and keeps its
    pages between them)."""
    rep = dict(JSON, Prefer="return=representation")
    url = fresh.url + "/api/products/1"
    r = requests.patch(url, data='{"stock": 5}', headers=rep)
    assert r.status_code == 200, r.text
    assert r.json() == [dict(P1, stock=5)]
    fresh.db.script("UPDATE products SET name = 'claw hammer' WHERE id = 1")
    create, drop = AUDIT[fresh.driver]
    fresh.db.script(create)
    try:
        r = requests.patch(url, data='{"stock": 6}', headers=rep)
        assert r.status_code == 200, r.text
        assert r.json() == [dict(P1, name="claw hammer", stock=6)]
        r = requests.post(fresh.url + "/api/products", headers=rep,
                          data='{"name": "anvil", "stock": 2}')
        assert r.status_code == 201, r.text
        assert r.json() == [row(4, "anvil", stock=2)]
        r = requests.patch(fresh.url + "/api/products/4", data='{"stock": 1}',
                           headers=rep)
        assert r.json() == [row(4, "anvil", stock=1)]
    finally:
        fresh.db.script(drop)
    r = requests.get(fresh.url + "/api/tags?code=like.stock-*&order=code")
    assert r.status_code == 200
    assert r.json() == [{"code": "stock-1", "label": "stock 6"},
                        {"code": "stock-4", "label": "stock 1"}]
    assert fresh.db.rows("SELECT name, stock FROM products WHERE id = 1") == \
        [("claw hammer", 6)]
