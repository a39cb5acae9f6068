-- the memory check: E1, E2, E4 and E5 in turn on one connection
-- (BENCH_AUTH: the Bearer header for E5)
local auth = os.getenv("BENCH_AUTH")
local n = 0
request = function()
  n = n + 1
  local k = n % 4
  if k == 0 then
    return wrk.format("GET", "/api/products/" .. math.random(1, 10000))
  elseif k == 1 then
    return wrk.format("GET", "/api/products?category=eq.cat"
                      .. math.random(0, 49) .. "&order=price.desc&limit=20")
  elseif k == 2 then
    return wrk.format("PATCH", "/api/products/" .. math.random(1, 10000),
                      {["Content-Type"] = "application/json"},
                      string.format('{"stock":%d}', math.random(0, 1000)))
  end
  return wrk.format("GET", "/bearer/products/" .. math.random(1, 10000),
                    {["Authorization"] = auth})
end
