-- wrk script: GET <prefix><code>, cycling through the codes listed in a file (one per line).
-- usage: wrk ... -s bench/rotate.lua URL -- <codes-file> <prefix>
local codes = {}
local prefix = "/"
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then codes[#codes + 1] = line end
  end
  prefix = args[2]
  i = math.random(#codes)
end

function request()
  i = i % #codes + 1
  return wrk.format("GET", prefix .. codes[i])
end
