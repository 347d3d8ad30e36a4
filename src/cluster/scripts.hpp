// The Lua scripts a node runs in Redis (docs/cluster.md, "Keys"). Each
// runs atomically; times come from Redis' own clock (TIME), so the nodes'
// clocks need not agree.
#pragma once

#include <string_view>

namespace petrel::cluster::scripts {

// GCRA with batching. KEYS[1]: the rate's key (its theoretical arrival
// time, µs). ARGV: interval µs, tolerance µs, cells wanted, horizon µs.
// Grants up to `wanted` cells due no later than now + horizon, moves the
// arrival time past them, and returns {granted, µs from now until the
// first is due (≤ 0: due), interval µs}; with none granted, the second is
// when the next would be due.
inline constexpr std::string_view kGcra = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local horizon = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local first = tat - tolerance
local n = 0
if first <= now + horizon then
  n = math.min(wanted, math.floor((now + horizon - first) / interval) + 1)
end
if n > 0 then
  tat = tat + n * interval
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return {n, first - now, interval}
)lua";

// A connection lease. KEYS[1]: the sorted set of a limit's leases
// ("NODE:N" scored by when they expire, ms). ARGV: lease id, limit, TTL
// ms. Expired leases go first; returns 1 if the lease was taken, 0 if
// the limit is reached.
inline constexpr std::string_view kLeaseAcquire = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
)lua";

// Renews a node's leases. KEYS[1]: the set; ARGV: TTL ms, then the ids.
inline constexpr std::string_view kLeaseRenew = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = string.format('%.0f', now + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
)lua";

// The heartbeat. KEYS[1]: petrel:node:NAME, KEYS[2]: petrel:nodes (names
// scored by their last heartbeat, ms). ARGV: name, JSON, TTL ms. Returns
// how many nodes have beaten within the TTL (this one included).
inline constexpr std::string_view kHeartbeat = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], string.format('%.0f', now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now - tonumber(ARGV[3])))
return redis.call('ZCARD', KEYS[2])
)lua";

}  // namespace petrel::cluster::scripts
