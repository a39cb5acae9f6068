INSERT INTO categories (name) VALUES ('tools');
INSERT INTO categories (name) VALUES ('toys');
INSERT INTO products (name, sku, price, stock, active, attrs, category_id, note)
    VALUES ('hammer', 'H-1', 9.5, 10, TRUE, '{"weight":1.5,"tags":["steel"]}', 1, NULL);
INSERT INTO products (name, sku, price, stock, active, attrs, category_id, note)
    VALUES ('saw', 'S-1', 20, 0, FALSE, NULL, 1, 'line1
"quoted"	tab \ backslash');
INSERT INTO products (name, sku, price, stock, active, attrs, category_id, note)
    VALUES ('kite', 'K-1', NULL, 3, TRUE, '[1,2]', 2, 'café ☕ 😀');
INSERT INTO tags (code, label) VALUES ('new', 'New');
INSERT INTO tags (code, label) VALUES ('a b', 'Odd key');
