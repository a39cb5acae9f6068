-- E9: a random post with its author and its 20 newest comments, in one
-- request (mod_backend: PostgREST's embedding; Fastify: as its users
-- write it, two prepared queries and the JSON assembled in JavaScript).
-- Growth: BENCH_CHILDREN newest comments of posts 1001-1010, which have
-- 500 each.
local path = os.getenv("BENCH_PATH") or "/api/posts/"
local children = os.getenv("BENCH_CHILDREN")
local first, last = 1, 1000
if children then
  first, last = 1001, 1010
end
local query = "?select=id,title,author:authors(name),"
  .. "comments(id,body,created_at)&comments.order=created_at.desc"
  .. "&comments.limit=" .. (children or "20")
request = function()
  return wrk.format("GET", path .. math.random(first, last) .. query)
end
