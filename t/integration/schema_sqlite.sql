CREATE TABLE categories (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        VARCHAR(40) NOT NULL,
    sku         TEXT UNIQUE,
    price       REAL CHECK (price IS NULL OR price >= 0),
    stock       INTEGER NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT 1,
    attrs       JSON,
    category_id INTEGER REFERENCES categories (id),
    note        TEXT
);
CREATE TABLE tags (
    code  TEXT NOT NULL PRIMARY KEY,
    label TEXT NOT NULL
);
