-- Growth: BENCH_ROWS products in key order from a random id (the cost of
-- each row as the answer grows: 20, 100, 1000 rows)
local path = os.getenv("BENCH_PATH") or "/api/products"
local rows = tonumber(os.getenv("BENCH_ROWS") or "20")
request = function()
  return wrk.format("GET", path .. "?id=gt." .. math.random(0, 10000 - rows)
                    .. "&order=id&limit=" .. rows)
end
