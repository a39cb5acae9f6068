-- E9: a random post with its author and its 20 newest comments, in one
-- request (mod_backend: PostgREST's embedding; Fastify: as its users
-- write it, two prepared queries and the JSON assembled in JavaScript)
local path = os.getenv("BENCH_PATH") or "/api/posts/"
local query = "?select=id,title,author:authors(name),"
  .. "comments(id,body,created_at)&comments.order=created_at.desc"
  .. "&comments.limit=20"
request = function()
  return wrk.format("GET", path .. math.random(1, 1000) .. query)
end
