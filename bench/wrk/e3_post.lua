-- E3: insert one product, in one of 50 categories of its own: E2 reads the
-- 10,000 loaded rows of cat0-49 in every round, not the rows each side's
-- earlier E3 rounds added (mod_backend, inserting more, made its own E2
-- read more rows per query than Fastify's)
local path = os.getenv("BENCH_PATH") or "/api/products"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format(
    '{"name":"new %d","category":"new%d","price":%d.5,"stock":%d}',
    math.random(1, 1000000), math.random(0, 49), math.random(1, 500),
    math.random(0, 100))
  return wrk.format(nil, path, nil, body)
end
