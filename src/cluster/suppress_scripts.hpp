// The Lua scripts of the shared suppression list (suppress_codec.hpp has
// the keys). Each runs atomically, so a hash and the log never disagree
// on the order of two changes. The keys are made inside the script from
// the prefix: a single Redis (or a Sentinel-managed one), not a sharded
// Redis Cluster.
#pragma once

#include <string_view>

namespace petrel::cluster::scripts {

// Changes. ARGV[1]: the prefix ("petrel:suppress:"), ARGV[2]: the log's
// approximate bound (XADD MAXLEN ~), ARGV[3]: this node's name, then five
// per change: op, tenant, address, at (unix seconds), value (the hash
// field's JSON; "" for a removal).
//   add:    HSET, and logged.
//   push:   HSETNX (an entry Redis lacks, sent by a full resync); logged
//           as an add only when it was missing.
//   remove: HDEL unless the entry Redis holds is newer than the removal
//           (an add made elsewhere later wins); logged when done.
// Returns how many changes were logged.
inline constexpr std::string_view kSuppressWrite = R"lua(
local p, maxlen, node = ARGV[1], ARGV[2], ARGV[3]
local logged = 0
for i = 4, #ARGV, 5 do
  local op, tenant, address, at, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local hash = p .. 'list:' .. tenant
  local done = true
  if op == 'add' then
    redis.call('HSET', hash, address, value)
  elseif op == 'push' then
    done = redis.call('HSETNX', hash, address, value) == 1
    op = 'add'
  else
    local held = redis.call('HGET', hash, address)
    if held then
      local ok, entry = pcall(cjson.decode, held)
      if ok and type(entry) == 'table' and tonumber(entry.at or 0) > tonumber(at) then done = false end
    end
    if done then redis.call('HDEL', hash, address) end
  end
  if done then
    if op == 'add' then redis.call('SADD', p .. 'tenants', tenant) end
    redis.call('XADD', p .. 'log', 'MAXLEN', '~', maxlen, '*', 'op', op, 'tenant', tenant, 'address', address,
               'at', at, 'node', node, 'value', value)
    logged = logged + 1
  end
end
return logged
)lua";

// The epoch. KEYS[1]: petrel:suppress:epoch; ARGV[1]: a new random id,
// kept only if there is none. Returns the one in force.
inline constexpr std::string_view kSuppressEpoch = R"lua(
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
)lua";

}  // namespace petrel::cluster::scripts
