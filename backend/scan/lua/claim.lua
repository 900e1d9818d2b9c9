-- A flusher claims up to `limit` queued events: moved from the queue to a claim list of its
-- own, registered in the claims' sorted set with the claim's time, in one atomic step.
-- Replies the number of events claimed.
local queue_key = KEYS[1]
local claim_key = KEYS[2]
local claims_key = KEYS[3]
local limit = tonumber(ARGV[1])
local claimed_at = ARGV[2]

local items = redis.call('LRANGE', queue_key, 0, limit - 1)
if #items == 0 then return 0 end
redis.call('LTRIM', queue_key, #items, -1)
for i = 1, #items, 500 do
    redis.call('RPUSH', claim_key, unpack(items, i, math.min(i + 499, #items)))
end
redis.call('ZADD', claims_key, claimed_at, claim_key)
return #items
