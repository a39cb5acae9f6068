"""The seed rows (seed.sql) as the API must render them, on both drivers."""

P1 = {"id": 1, "name": "hammer", "sku": "H-1", "price": 9.5, "stock": 10,
      "active": True, "attrs": {"weight": 1.5, "tags": ["steel"]},
      "category_id": 1, "note": None}
P2 = {"id": 2, "name": "saw", "sku": "S-1", "price": 20, "stock": 0,
      "active": False, "attrs": None, "category_id": 1,
      "note": 'line1\n"quoted"\ttab \\ backslash'}
P3 = {"id": 3, "name": "kite", "sku": "K-1", "price": None, "stock": 3,
      "active": True, "attrs": [1, 2], "category_id": 2,
      "note": "caf\u00e9 \u2615 \U0001F600"}
PRODUCTS = [P1, P2, P3]

JSON = {"Content-Type": "application/json"}


def problem(status, title, detail, errors=None):
    body = {"type": "about:blank", "title": title, "status": status,
            "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


def assert_problem(r, status, title, detail, errors=None):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json() == problem(status, title, detail, errors)
