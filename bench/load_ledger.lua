-- wrk script: the operators' mix, cleaning-ledger writes from many workshops' phones, each
-- with its own Idempotency-Key (as the mini-program's offline queue sends them).
-- usage: wrk ... -s bench/load_ledger.lua URL -- <operators-file>
-- operators-file: one "workshop_id token staff_id" line per operator.
local operators = {}
local n = 0
local thread_tag = ""
local threads = 0

-- each thread gets its own tag, so Idempotency-Keys never repeat across threads or runs
function setup(thread)
  threads = threads + 1
  thread:set("tag", string.format("%d-%d", os.time(), threads))
end

function init(args)
  for line in io.lines(args[1]) do
    local workshop, token, staff = line:match("^(%d+) (%S+) (%d+)$")
    if workshop then
      operators[#operators + 1] = {workshop = workshop, token = token, staff = staff}
    end
  end
  thread_tag = tag
end

function request()
  n = n + 1
  local op = operators[(n % #operators) + 1]
  local body = string.format(
    '{"occurred_at": "%s", "what": "操作台 %d", "how": "清水冲洗后消毒液擦拭",' ..
    ' "disinfectant": "84消毒液（1:200）", "by_staff_id": %s}',
    os.date("!%Y-%m-%dT%H:%M:%S+00:00"), n, op.staff)
  local headers = {
    ["Authorization"] = "Bearer " .. op.token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-" .. thread_tag .. "-" .. n,
  }
  return wrk.format("POST", "/api/v1/workshops/" .. op.workshop .. "/ledgers/cleaning",
    headers, body)
end
