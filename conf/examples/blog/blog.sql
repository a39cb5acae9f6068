-- Schema for conf/examples/blog/blog.conf (SQLite; on PostgreSQL change
-- INTEGER PRIMARY KEY to serial PRIMARY KEY).  No trigger: the rules are
-- in blog.conf.
CREATE TABLE users (
    name          TEXT NOT NULL PRIMARY KEY,
    password_hash TEXT NOT NULL              -- bcrypt, by :password!bcrypt
);
CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    author       TEXT NOT NULL REFERENCES users (name),  -- owner=
    title        TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'published')),
    created_at   TEXT,
    published_at TEXT
);
CREATE TABLE comments (
    id     INTEGER PRIMARY KEY,
    post   INTEGER NOT NULL REFERENCES posts (id),
    author TEXT NOT NULL REFERENCES users (name),
    body   TEXT NOT NULL
);
