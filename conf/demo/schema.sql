-- The demo shop: a few related tables with sample rows (SQLite).
PRAGMA journal_mode = WAL;

CREATE TABLE categories (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        VARCHAR(80) NOT NULL,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    price       REAL NOT NULL CHECK (price >= 0),
    stock       INTEGER NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT 1,
    attrs       JSON
);
CREATE INDEX products_category ON products (category_id);
CREATE TABLE customers (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);
CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    product_id  INTEGER NOT NULL REFERENCES products (id),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    placed_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

INSERT INTO categories (name) VALUES ('tools'), ('garden'), ('toys');
INSERT INTO products (name, category_id, price, stock, attrs) VALUES
    ('Claw hammer', 1, 12.5, 40, '{"weight_kg": 0.6, "handle": "fibreglass"}'),
    ('Hand saw', 1, 19.9, 12, '{"length_cm": 50}'),
    ('Cordless drill', 1, 89, 5, '{"volts": 18, "batteries": 2}'),
    ('Garden hose 25 m', 2, 24.75, 30, NULL),
    ('Pruning shears', 2, 15, 0, NULL),
    ('Stunt kite', 3, 34.95, 8, '{"colours": ["red", "black"]}');
INSERT INTO customers (email, name) VALUES
    ('ada@example.com', 'Ada Lovelace'),
    ('alan@example.com', 'Alan Turing');
INSERT INTO orders (customer_id, product_id, quantity) VALUES
    (1, 1, 2), (1, 4, 1), (2, 6, 1);
