-- the ceiling: a static file with the bytes of an E1 answer
request = function()
  return wrk.format("GET", "/e1.json")
end
