// Uses the types openapi-typescript generated from a running API's
// /openapi.json (api.d.ts beside it, written by t/integration/
// test_openapi.py in a copy of this directory): tsc --strict must accept
// it, and it must run against that API.
import type { components, paths } from './api';

type Product = components['schemas']['products'];
type NewProduct = components['schemas']['products.input'];
type LowStock =
  paths['/rpc/low_stock']['post']['requestBody']['content']['application/json'];

declare const process: { argv: string[]; exit(code: number): never };

const base = process.argv[2];

async function main(): Promise<void> {
  const one: Product = await (await fetch(`${base}/products/1`)).json();
  const name: string = one.name;
  const price: number | null = one.price;
  const row: NewProduct = { name: 'typed', stock: 2 };
  const made = await fetch(`${base}/products`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Prefer: 'return=representation' },
    body: JSON.stringify(row),
  });
  const stored: Product[] = await made.json();
  const args: LowStock = { max: 5 };
  const low = await fetch(`${base}/rpc/low_stock`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(args),
  });
  console.log(JSON.stringify({
    name, price, created: stored[0].name, status: made.status,
    low: (await low.json()).length,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
