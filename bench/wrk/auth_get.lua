-- E5/E6: E1 with an Authorization header (BENCH_AUTH: "Bearer ..." or
-- "Basic ...")
local path = os.getenv("BENCH_PATH") or "/bearer/products/"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
request = function()
  return wrk.format("GET", path .. math.random(1, 10000))
end
