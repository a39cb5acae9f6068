-- Schema for conf/examples/auth.conf (SQLite; the PostgreSQL version only
-- changes INTEGER PRIMARY KEY to serial PRIMARY KEY).
CREATE TABLE users (
    name          TEXT NOT NULL PRIMARY KEY,
    password_hash TEXT NOT NULL,          -- htpasswd -nbB NAME PASSWORD
    email         TEXT
);
CREATE TABLE user_roles (
    username TEXT NOT NULL REFERENCES users (name),
    role     TEXT NOT NULL
);
CREATE TABLE orders (
    id       INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,               -- owner= column: r->user
    item     TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0)
);
-- a user: htpasswd -nbB ada 'correct horse' prints ada:$2y$05$...
-- INSERT INTO users VALUES ('ada', '$2y$05$...', 'ada@example.com');
-- INSERT INTO user_roles VALUES ('ada', 'admin');
