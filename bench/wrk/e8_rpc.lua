-- E8: a function that inserts an order and takes it from a random
-- product's stock, in one transaction
local path = os.getenv("BENCH_PATH") or "/api/rpc/order"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  return wrk.format(nil, path, nil,
                    string.format('{"product":%d,"qty":1}',
                                  math.random(1, 10000)))
end
