-- wrk script: the consumers' scan mix. 90% of scans hit a few hot codes (a promotion's
-- bottles), 10% the long tail of cold codes, and 1 in 50 is an unknown code (a typo, a
-- forger probing): 404, counted against the failure limit.
-- usage: wrk ... -s bench/load_scan.lua URL -- <codes-file> <hot-count> <prefix>
local hot, cold = {}, {}
local prefix = "/api/v1/scan/"
local n = 0

function init(args)
  local all = {}
  for line in io.lines(args[1]) do
    if #line > 0 then all[#all + 1] = line end
  end
  local hot_count = tonumber(args[2])
  for i, code in ipairs(all) do
    if i <= hot_count then hot[#hot + 1] = code else cold[#cold + 1] = code end
  end
  prefix = args[3] or prefix
  math.randomseed(os.time() + math.random(1000000))
end

local alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

local function unknown()
  local out = {}
  for i = 1, 17 do
    local k = math.random(#alphabet)
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

function request()
  n = n + 1
  local code
  if n % 50 == 0 then
    code = unknown()
  elseif math.random(10) == 1 then
    code = cold[math.random(#cold)]
  else
    code = hot[math.random(#hot)]
  end
  return wrk.format("GET", prefix .. code)
end
