-- E3: insert one product
local path = os.getenv("BENCH_PATH") or "/api/products"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = string.format(
    '{"name":"new %d","category":"cat%d","price":%d.5,"stock":%d}',
    math.random(1, 1000000), math.random(0, 49), math.random(1, 500),
    math.random(0, 100))
  return wrk.format(nil, path, nil, body)
end
