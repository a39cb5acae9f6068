-- E1: GET one product by a random id
local path = os.getenv("BENCH_PATH") or "/api/products/"
request = function()
  return wrk.format("GET", path .. math.random(1, 10000))
end
