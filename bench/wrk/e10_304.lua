-- E10: E1 with If-None-Match, the ETag each row had just before the run
-- (bench/run writes them to BENCH_TAGS): every answer is 304, no body
local path = os.getenv("BENCH_PATH") or "/api/products/"
local tags = dofile(os.getenv("BENCH_TAGS"))
request = function()
  local id = math.random(1, #tags)
  return wrk.format("GET", path .. id, {["If-None-Match"] = tags[id]})
end
