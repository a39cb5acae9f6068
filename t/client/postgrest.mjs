// Drives mod_backend through the real PostgREST client, postgrest-js.
//   node postgrest.mjs http://127.0.0.1:PORT/api
// Expects the seed rows of t/integration/seed.sql; prints TAP, exits 1 on
// any failure.
import assert from 'node:assert/strict';
import { PostgrestClient } from '@supabase/postgrest-js';

const api = new PostgrestClient(process.argv[2]);
let n = 0;
let failed = 0;

async function check(name, fn) {
  n++;
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    console.log(`# ${String(e.stack || e).split('\n').join('\n# ')}`);
  }
}

function ok(res) {
  assert.equal(res.error, null, JSON.stringify(res.error));
  return res;
}

await check('select with columns and aliases', async () => {
  const { data } = ok(await api.from('products').select('id,title:name').order('id'));
  assert.deepEqual(data, [
    { id: 1, title: 'hammer' }, { id: 2, title: 'saw' }, { id: 3, title: 'kite' }]);
});

await check('filters: eq, gt, in, is, ilike, not, or', async () => {
  let { data } = ok(await api.from('products').select('id').eq('name', 'saw'));
  assert.deepEqual(data, [{ id: 2 }]);
  ({ data } = ok(await api.from('products').select('id').gt('price', 10)));
  assert.deepEqual(data, [{ id: 2 }]);
  ({ data } = ok(await api.from('products').select('id').in('id', [1, 3]).order('id')));
  assert.deepEqual(data, [{ id: 1 }, { id: 3 }]);
  ({ data } = ok(await api.from('products').select('id').is('price', null)));
  assert.deepEqual(data, [{ id: 3 }]);
  ({ data } = ok(await api.from('products').select('id').ilike('name', 'H%')));
  assert.deepEqual(data, [{ id: 1 }]);
  ({ data } = ok(await api.from('products').select('id').not('stock', 'eq', 0).order('id')));
  assert.deepEqual(data, [{ id: 1 }, { id: 3 }]);
  ({ data } = ok(await api.from('products').select('id').or('stock.eq.0,price.is.null').order('id')));
  assert.deepEqual(data, [{ id: 2 }, { id: 3 }]);
  ({ data } = ok(await api.from('products').select('id').in('sku', ['a,b', 'K-1'])));
  assert.deepEqual(data, [{ id: 3 }]);
});

await check('order with nulls', async () => {
  const { data } = ok(await api.from('products').select('id')
    .order('price', { ascending: false, nullsFirst: false }));
  assert.deepEqual(data, [{ id: 2 }, { id: 1 }, { id: 3 }]);
});

await check('embedded resources: many-to-one, one-to-many, !inner', async () => {
  let { data } = ok(await api.from('products').select('name,category:categories(name)').order('id'));
  assert.deepEqual(data, [
    { name: 'hammer', category: { name: 'tools' } },
    { name: 'saw', category: { name: 'tools' } },
    { name: 'kite', category: { name: 'toys' } }]);
  ({ data } = ok(await api.from('categories').select('name,products(name,active)').order('id')
    .order('name', { referencedTable: 'products', ascending: false })
    .limit(1, { referencedTable: 'products' })));
  assert.deepEqual(data, [
    { name: 'tools', products: [{ name: 'saw', active: false }] },
    { name: 'toys', products: [{ name: 'kite', active: true }] }]);
  ({ data } = ok(await api.from('products').select('name,categories!inner(name)')
    .eq('categories.name', 'toys')));
  assert.deepEqual(data, [{ name: 'kite', categories: { name: 'toys' } }]);
});

await check('range and count', async () => {
  const { data, count, status } = ok(await api.from('products')
    .select('id', { count: 'exact' }).order('id').range(0, 1));
  assert.deepEqual(data, [{ id: 1 }, { id: 2 }]);
  assert.equal(count, 3);
  assert.equal(status, 206);
});

await check('head count', async () => {
  const { count, data } = ok(await api.from('products')
    .select('*', { count: 'exact', head: true }).gt('stock', 0));
  assert.equal(count, 2);
  assert.equal(data, null);
});

await check('single and maybeSingle', async () => {
  let { data } = ok(await api.from('products').select('name').eq('id', 2).single());
  assert.deepEqual(data, { name: 'saw' });
  const res = await api.from('products').select('name').gt('id', 0).single();
  assert.equal(res.status, 406);
  assert.notEqual(res.error, null);
  ({ data } = ok(await api.from('products').select('name').eq('id', 99).maybeSingle()));
  assert.equal(data, null);
});

await check('rpc: arguments, a set result with filters, order and count', async () => {
  let { data } = ok(await api.rpc('low_stock', { max: 3 }).order('id'));
  assert.deepEqual(data, [{ id: 2, name: 'saw', stock: 0 }, { id: 3, name: 'kite', stock: 3 }]);
  ({ data } = ok(await api.rpc('low_stock', { max: 3 }, { get: true }).select('name').eq('id', 3)));
  assert.deepEqual(data, [{ name: 'kite' }]);
  const res = ok(await api.rpc('low_stock', { max: 100 }, { count: 'exact' }).order('id').range(0, 0));
  assert.deepEqual(res.data, [{ id: 1, name: 'hammer', stock: 10 }]);
  assert.equal(res.count, 3);
  const head = ok(await api.rpc('low_stock', { max: 3 }, { head: true, count: 'exact' }));
  assert.equal(head.count, 2);
  assert.equal(head.data, null);
});

await check('rpc: single, and a call that writes', async () => {
  let { data } = ok(await api.rpc('low_stock', { max: 0 }).single());
  assert.deepEqual(data, { id: 2, name: 'saw', stock: 0 });
  ({ data } = ok(await api.rpc('set_stock', { id: 2, stock: 7 })));
  assert.deepEqual(data, { id: 2, stock: 7 });
  ({ data } = ok(await api.rpc('set_stock', { id: 2, stock: 0 })));
  assert.deepEqual(data, { id: 2, stock: 0 });
  const bad = await api.rpc('set_stock', { id: 'x' });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.error.errors, [
    { field: 'id', message: 'must be an int' },
    { field: 'stock', message: 'is required' }]);
});

await check('insert one and return it', async () => {
  const { data, status } = ok(await api.from('categories')
    .insert({ name: 'garden' }).select().single());
  assert.equal(status, 201);
  assert.deepEqual(data, { id: 3, name: 'garden' });
});

await check('insert without select', async () => {
  // without Prefer: return=, mod_backend answers with the created row (as
  // Express or DRF would); postgrest-js hands it over as data
  const { data, status } = ok(await api.from('categories').insert({ name: 'bikes' }));
  assert.equal(status, 201);
  assert.deepEqual(data, { id: 4, name: 'bikes' });
});

await check('bulk insert', async () => {
  const { data } = ok(await api.from('products').insert([
    { name: 'a', price: 1, category_id: 3 },
    { name: 'b', stock: 2, category_id: 3 },
  ]).select('name,price,stock'));
  assert.deepEqual(data, [
    { name: 'a', price: 1, stock: 0 }, { name: 'b', price: null, stock: 2 }]);
});

await check('upsert', async () => {
  const { data } = ok(await api.from('products')
    .upsert({ id: 1, name: 'HAMMER', stock: 11 }).select('id,name,stock,price'));
  assert.deepEqual(data, [{ id: 1, name: 'HAMMER', stock: 11, price: 9.5 }]);
  const r2 = ok(await api.from('products')
    .upsert({ sku: 'K-1', name: 'KITE' }, { onConflict: 'sku' }).select('id,name'));
  assert.deepEqual(r2.data, [{ id: 3, name: 'KITE' }]);
  const r3 = ok(await api.from('products')
    .upsert({ id: 2, name: 'ignored' }, { ignoreDuplicates: true }).select('id'));
  assert.deepEqual(r3.data, []);
});

await check('update with filters', async () => {
  const { data } = ok(await api.from('products').update({ stock: 50 })
    .eq('category_id', 3).select('name,stock').order('name'));
  assert.deepEqual(data, [{ name: 'a', stock: 50 }, { name: 'b', stock: 50 }]);
  const r2 = ok(await api.from('products').update({ note: 'x' }).eq('id', 2));
  assert.equal(r2.status, 204);
});

await check('delete with filters', async () => {
  const { data } = ok(await api.from('products').delete().eq('category_id', 3).select('name').order('name'));
  assert.deepEqual(data, [{ name: 'a' }, { name: 'b' }]);
  const r2 = ok(await api.from('products').delete().eq('id', 2));
  assert.equal(r2.status, 204);
  const left = ok(await api.from('products').select('id').order('id'));
  assert.deepEqual(left.data, [{ id: 1 }, { id: 3 }]);
});

await check('errors come back as errors', async () => {
  const res = await api.from('products').select('nope');
  assert.equal(res.status, 400);
  assert.match(res.error.message ?? JSON.stringify(res.error), /nope/);
  const r2 = await api.from('products').insert({ name: 'dup', sku: 'H-1' });
  assert.equal(r2.status, 409);
});

console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
