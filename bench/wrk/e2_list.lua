-- E2: 20 products of a random category, most expensive first
local path = os.getenv("BENCH_PATH") or "/api/products"
request = function()
  return wrk.format("GET", path .. "?category=eq.cat" .. math.random(0, 49)
                    .. "&order=price.desc&limit=20")
end
