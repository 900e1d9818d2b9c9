-- Shared by admit.lua and scan.lua, loaded in front of each (backend/scan/scripts.py): the
-- request's rate limits and the generations that qualify what a worker holds.

-- The limits from the script's trailing keys and arguments. *keys*: the failure-limit
-- slots, then the scan-limit slots; *args*: each failure limit's maximum, then each scan
-- limit's maximum and its slot's time to live.
local function read_limits(keys, failures, scans, args)
    local limits = {failures = {}, scans = {}}
    for i = 1, failures do
        limits.failures[i] = {key = keys[i], max = tonumber(args[i])}
    end
    for j = 1, scans do
        local max_at = failures + 2 * j - 1
        limits.scans[j] = {
            key = keys[failures + j],
            max = tonumber(args[max_at]),
            ttl = tonumber(args[max_at + 1]),
        }
    end
    return limits
end

-- The position of the first failure limit the client is already past, or nil.
local function over_failures(limits)
    for i, slot in ipairs(limits.failures) do
        local seen = tonumber(redis.call('GET', slot.key) or '0')
        if seen >= slot.max then return i end
    end
    return nil
end

-- Count this request against every scan limit: the counts when one is past, else nil.
local function hit_scans(limits)
    local counts, over = {}, false
    for j, slot in ipairs(limits.scans) do
        local seen = redis.call('INCR', slot.key)
        if seen == 1 then redis.call('EXPIRE', slot.key, slot.ttl) end
        counts[j] = seen
        if seen > slot.max then over = true end
    end
    if over then return counts end
    return nil
end

-- The epoch, set from Redis' clock when missing: after Redis lost its data (a restart
-- without persistence) no generation read matches one held from before, even once the
-- counters have climbed back to the same numbers.
local function current_epoch(epoch_key)
    local value = redis.call('GET', epoch_key)
    if not value then
        local now = redis.call('TIME')
        value = now[1] .. now[2]
        redis.call('SET', epoch_key, value)
    end
    return value
end

-- A generation as workers hold it: "<epoch>:<counter>".
local function generation(key, epoch)
    return epoch .. ':' .. (redis.call('GET', key) or '0')
end
