-- HTTP/1.1 pipelining: every write carries 16 GET / requests; wrk counts the
-- 16 responses and sends the next batch when all have arrived.
local depth = 16

init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format("GET", "/")
  end
  req = table.concat(r)
end

request = function()
  return req
end
