-- One scan of a code this worker holds, in one round trip: check the client's failure limit,
-- compare the generations of what the worker holds, count the request against the scan
-- limits, count the code's scan in its state and queue the event.
-- Replies {'failures', i} | {'limited', counts...} | {'stale', codes, all, batch generations}
-- | {'base'} (Redis knows nothing of the code yet: call again with its base state)
-- | {'ok', count, first scan before this one, the visitor's latest scan before this one,
--    distinct networks, provinces, the far-apart pair}.
-- The state's fields: count, first, pl (provinces and their latest scans, "name<TAB>time"
-- lines), v:<visitor> (latest scan), nv, n:<network>, nn, dr (a far-apart pair once seen,
-- kept by the caller).
local codes_generation_key = KEYS[1]
local epoch_key = KEYS[2]
local state_key = KEYS[3]
local queue_key = KEYS[4]
local all_generation_key = KEYS[5]
local batch_generation_key = KEYS[6]
local limit_keys = {unpack(KEYS, 7)}   -- failure-limit slots, then scan-limit slots

local held_codes = ARGV[1]             -- the generations this worker holds
local held_all = ARGV[2]
local held_batch = ARGV[3]
local event = ARGV[4]                  -- the event (JSON), queued for the flusher
local scanned_at = ARGV[5]             -- its time (ISO 8601)
local province = ARGV[6]               -- its province, or ''
local state_ttl = tonumber(ARGV[7])
local has_base = ARGV[8] == '1'        -- a base state follows
local base_fields = ARGV[9]            -- "name<TAB>value" lines (line breaks sent as \r)
local visitor = ARGV[10]               -- the visitor's hash, or ''
local network = ARGV[11]               -- the network's hash, or ''
local at = ARGV[12]                    -- the scan's Unix time
local max_visitors = tonumber(ARGV[13])
local max_networks = tonumber(ARGV[14])
local failure_limits = tonumber(ARGV[15])
local scan_limits = tonumber(ARGV[16])
local limit_args = {unpack(ARGV, 17)}  -- see read_limits (limits.lua)

local limits = read_limits(limit_keys, failure_limits, scan_limits, limit_args)
local failing = over_failures(limits)
if failing then return {'failures', failing} end
local epoch = current_epoch(epoch_key)
local codes_now = generation(codes_generation_key, epoch)
local all_now = generation(all_generation_key, epoch)
local batch_now = generation(batch_generation_key, epoch)
if codes_now ~= held_codes or all_now ~= held_all or batch_now ~= held_batch then
    return {'stale', codes_now, all_now, batch_now}
end
if redis.call('EXISTS', state_key) == 0 then
    if not has_base then return {'base'} end
    for line in string.gmatch(base_fields, '[^\n]+') do
        local name, value = string.match(line, '^(.-)\t(.*)$')
        redis.call('HSET', state_key, name, (string.gsub(value, '\r', '\n')))
    end
    if redis.call('EXISTS', state_key) == 0 then redis.call('HSET', state_key, 'count', 0) end
end
local counts = hit_scans(limits)
if counts then return {'limited', unpack(counts)} end

local first = redis.call('HGET', state_key, 'first') or ''
local count = redis.call('HINCRBY', state_key, 'count', 1)
if first == '' then redis.call('HSET', state_key, 'first', scanned_at) end
local seen = ''
if visitor ~= '' then
    local visitor_field = 'v:' .. visitor
    seen = redis.call('HGET', state_key, visitor_field) or ''
    if seen ~= '' then
        redis.call('HSET', state_key, visitor_field, at)
    elseif tonumber(redis.call('HGET', state_key, 'nv') or '0') < max_visitors then
        redis.call('HSET', state_key, visitor_field, at)
        redis.call('HINCRBY', state_key, 'nv', 1)
    end
end
local networks = tonumber(redis.call('HGET', state_key, 'nn') or '0')
if network ~= '' and networks < max_networks then
    if redis.call('HSETNX', state_key, 'n:' .. network, 1) == 1 then
        networks = redis.call('HINCRBY', state_key, 'nn', 1)
    end
end
local listed = redis.call('HGET', state_key, 'pl') or ''
if province ~= '' then
    local lines, found = {}, false
    for line in string.gmatch(listed, '[^\n]+') do
        if string.match(line, '^(.-)\t') == province then
            lines[#lines + 1] = province .. '\t' .. at
            found = true
        else
            lines[#lines + 1] = line
        end
    end
    if not found then lines[#lines + 1] = province .. '\t' .. at end
    listed = table.concat(lines, '\n')
    redis.call('HSET', state_key, 'pl', listed)
end
redis.call('EXPIRE', state_key, state_ttl)
redis.call('RPUSH', queue_key, event)
return {'ok', count, first, seen, networks, listed, redis.call('HGET', state_key, 'dr') or ''}
