-- E4: change the stock of a random product
local path = os.getenv("BENCH_PATH") or "/api/products/"
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, path .. math.random(1, 10000), nil,
                    string.format('{"stock":%d}', math.random(0, 1000)))
end
