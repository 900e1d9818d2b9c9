-- Before a scan looks up a code this worker does not hold: count the request's limits, and
-- answer the codes generation (under which the worker keeps what it reads).
-- Replies {'failures', i} | {'limited', counts...} | {'ok', codes generation}.
local codes_generation_key = KEYS[1]
local epoch_key = KEYS[2]
local limit_keys = {unpack(KEYS, 3)}   -- failure-limit slots, then scan-limit slots
local failure_limits = tonumber(ARGV[1])
local scan_limits = tonumber(ARGV[2])
local limit_args = {unpack(ARGV, 3)}   -- see read_limits (limits.lua)

local limits = read_limits(limit_keys, failure_limits, scan_limits, limit_args)
local failing = over_failures(limits)
if failing then return {'failures', failing} end
local counts = hit_scans(limits)
if counts then return {'limited', unpack(counts)} end
return {'ok', generation(codes_generation_key, current_epoch(epoch_key))}
