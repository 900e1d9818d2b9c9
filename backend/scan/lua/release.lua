-- Put a claim list back at the head of the queue, in its order, and forget it; atomic, so
-- a batch of events is never both queued and claimed. Replies the number of events.
local queue_key = KEYS[1]
local claim_key = KEYS[2]
local claims_key = KEYS[3]

local items = redis.call('LRANGE', claim_key, 0, -1)
for i = #items, 1, -1 do
    redis.call('LPUSH', queue_key, items[i])
end
redis.call('DEL', claim_key)
redis.call('ZREM', claims_key, claim_key)
return #items
