// The peer: Fastify + better-sqlite3 (and + pg for E7) serving the bench
// endpoints with the answers mod_backend gives.  WORKERS processes: 1 in
// the pinned layout, one per core in the shared one (node:cluster, the
// way Fastify is run on all of a machine's cores; the primary hands
// connections to the workers).
//   node server.js SQLITE_FILE PG_CONNINFO PORT [WORKERS]
import cluster from 'node:cluster';
import Fastify from 'fastify';
import Database from 'better-sqlite3';
import pg from 'pg';

const [, , dbfile, pgconn, port, workers = '1'] = process.argv;
if (Number(workers) > 1 && cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) {
    cluster.fork();
  }
  // a worker that dies ends the run: the bench reads it as errors
  cluster.on('exit', () => process.exit(1));
} else {
  await serve();
}

async function serve() {
  const db = new Database(dbfile);
  db.pragma('journal_mode = WAL');
  // the same durability as mod_backend's connections to a WAL database
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const cols = 'id, name, category, price, stock';
  const byId = db.prepare(`SELECT ${cols} FROM products WHERE id = ?`);
  const byCategory = db.prepare(
    `SELECT ${cols} FROM products WHERE category = ? ORDER BY price DESC LIMIT ?`);
  // growth: N rows in key order from a random id
  const fromId = db.prepare(
    `SELECT ${cols} FROM products WHERE id > ? ORDER BY id LIMIT ?`);
  const insert = db.prepare(
    `INSERT INTO products (name, category, price, stock)
     VALUES (@name, @category, @price, @stock) RETURNING ${cols}`);
  const patch = db.prepare(
    `UPDATE products SET stock = ? WHERE id = ? RETURNING ${cols}`);
  const takeStock = db.prepare('UPDATE products SET stock = stock - ? WHERE id = ?');
  const addOrder = db.prepare(
    'INSERT INTO orders (product, qty) VALUES (?, ?) RETURNING id, product, qty');
  // E8: both statements or neither, as BackendFunction runs them
  const order = db.transaction((product, qty) => {
    takeStock.run(qty, product);
    return addOrder.get(product, qty);
  });
  // E9: the post and its author in one query, its 20 newest comments in
  // another, the answer assembled here
  const postWithAuthor = db.prepare(
    `SELECT p.id, p.title, a.name AS author_name FROM posts p
     JOIN authors a ON a.id = p.author_id WHERE p.id = ?`);
  const newestComments = db.prepare(
    `SELECT id, body, created_at FROM comments WHERE post_id = ?
     ORDER BY created_at DESC, id DESC LIMIT ?`);
  // idle clients stay open, as DBDKeep keeps mod_backend's: by default pg closes
  // them after 10 s, and 16 backends exiting on the shared core in the middle
  // of the next measured run (E1, 8 s after the ceiling) took its p99 from
  // 3.4 to 28 ms
  const pool = new pg.Pool({ connectionString: pgconn, max: 16, idleTimeoutMillis: 0 });

  const app = Fastify({ logger: false });
  const notFound = (reply) => reply.code(404).type('application/problem+json')
    .send({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'no such row' });

  app.get('/api/products/:id', (req, reply) => {
    const row = byId.get(Number(req.params.id));
    return row ? reply.send(row) : notFound(reply);
  });
  app.get('/api/products', (req, reply) => {
    const limit = Math.min(Number(req.query.limit) || 1000, 1000);
    if (req.query.id) {
      return reply.send(fromId.all(Number(req.query.id.replace(/^gt\./, '')), limit));
    }
    const cat = String(req.query.category || '').replace(/^eq\./, '');
    reply.send(byCategory.all(cat, limit));
  });
  app.post('/api/products', (req, reply) => {
    const row = insert.get(req.body);
    reply.code(201).header('Location', `/api/products/${row.id}`).send(row);
  });
  app.patch('/api/products/:id', (req, reply) => {
    const row = patch.get(req.body.stock, Number(req.params.id));
    return row ? reply.send(row) : notFound(reply);
  });
  app.post('/api/rpc/order', (req, reply) => {
    const { product, qty } = req.body;
    if (!Number.isInteger(product) || !Number.isInteger(qty)) {
      return reply.code(422).type('application/problem+json').send({
        type: 'about:blank', title: 'Unprocessable Entity', status: 422,
        detail: 'product and qty must be integers' });
    }
    const row = order(product, qty);
    return row ? reply.send(row) : notFound(reply);
  });
  app.get('/api/posts/:id', (req, reply) => {
    const id = Number(req.params.id);
    const post = postWithAuthor.get(id);
    if (!post) {
      return notFound(reply);
    }
    return reply.send({
      id: post.id, title: post.title, author: { name: post.author_name },
      comments: newestComments.all(id, Math.min(Number(req.query['comments.limit']) || 20, 1000)),
    });
  });
  app.get('/pg/products/:id', async (req, reply) => {
    const res = await pool.query({
      name: 'by_id', text: `SELECT ${cols} FROM products WHERE id = $1`,
      values: [Number(req.params.id)],
    });
    return res.rows.length ? reply.send(res.rows[0]) : notFound(reply);
  });

  await app.listen({ host: '127.0.0.1', port: Number(port) });
}
