// The suppression list a cluster shares in Redis (docs/cluster.md, "The
// shared suppression list"), without I/O: the keys, what a hash field and
// a log entry hold, which change from the log replaces what a node holds,
// where a node stands in the log, and the bounded queue of changes waiting
// for Redis. suppress_sync.cpp does the talking.
//
//   petrel:suppress:list:<tenant>  hash: address -> JSON {reason, campaign,
//                                  detail, at, node} (tenant "" : global)
//   petrel:suppress:tenants        set of the tenants that have a hash
//   petrel:suppress:log            stream: {op, tenant, address, at, node,
//                                  value}, trimmed to about a bound
//   petrel:suppress:epoch          a random id set by the first node that
//                                  finds it missing: a new one means Redis
//                                  lost its data (or is another Redis)
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "suppress/suppression_list.hpp"

namespace petrel::cluster {

inline constexpr std::string_view kSuppressPrefix = "petrel:suppress:";  // the scripts add list:, tenants, log
std::string suppress_hash_key(std::string_view tenant);
inline constexpr std::string_view kSuppressTenantsKey = "petrel:suppress:tenants";
inline constexpr std::string_view kSuppressLogKey = "petrel:suppress:log";
inline constexpr std::string_view kSuppressEpochKey = "petrel:suppress:epoch";

// A hash field's value: the entry (its tenant and address are the key and
// field) and the node that made it.
std::string hash_value(const suppress::Entry& entry, std::string_view node);
std::optional<suppress::Entry> entry_from_hash(std::string_view tenant, std::string_view address,
                                               std::string_view value);

// A change as the log carries it, with the node it came from.
struct LoggedChange {
  suppress::Change change;
  std::string node;
};
using Fields = std::vector<std::pair<std::string, std::string>>;
// The write script's arguments for one change: op, tenant, address, at,
// value ("push" writes only what Redis does not have: HSETNX).
std::vector<std::string> script_args(const suppress::Change& change, std::string_view node, bool push = false);
std::optional<LoggedChange> parse_log_entry(const Fields& fields);

// Whether a change from the log replaces what this node holds (`local`,
// the tenant's own entry for that address). An add always does (the log's
// order is the order Redis took them in); a removal only of an entry not
// newer than itself, so that an add made here while Redis was away is not
// undone by an older removal made elsewhere.
bool replaces(const suppress::Change& change, const std::optional<suppress::Entry>& local);

// A stream entry's id, "MS-SEQ".
struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  static std::optional<StreamId> parse(std::string_view text);
  std::string str() const;
  auto operator<=>(const StreamId&) const = default;
};

// Where this node stands in the log, kept in the spool with the entries it
// applied (one write: both or neither survive a crash).
struct Cursor {
  std::string epoch;    // the Redis it read from (its petrel:suppress:epoch)
  std::string last_id;  // the last log entry applied
  bool operator==(const Cursor&) const = default;
};
inline constexpr std::string_view kCursorRecord = "cl/suppress-cursor";
std::string encode_cursor(const Cursor& cursor);
std::optional<Cursor> decode_cursor(std::string_view value);

// Whether entries after `last_id` may be gone from the log: the first
// entry it holds is past ours (trimming, which Redis 7.0 does not count in
// max-deleted-entry-id), or an XDEL deleted one past ours. Either way a
// full resync is due. Conservative: when only the entry at the cursor was
// trimmed, a resync is done that was not needed.
// `nothing_removed`: the log holds every entry ever added to it (Redis 7:
// entries-added equals length), as a young log does.
bool log_trimmed_past(const StreamId& last_applied, const std::optional<StreamId>& max_deleted,
                      const std::optional<StreamId>& first_held, bool nothing_removed = false);

// Changes made here and not yet in Redis, oldest first, at most `limit`.
// Past the limit the newest are dropped and `overflowed` says so: the next
// full push (every local entry Redis lacks) covers the adds.
class PendingWrites {
 public:
  explicit PendingWrites(std::size_t limit) : limit_(limit) {}
  // Returns how many were dropped.
  std::size_t push(const std::vector<suppress::Change>& changes);
  std::vector<suppress::Change> take(std::size_t most);
  void put_back(std::vector<suppress::Change> changes);  // a write failed: first again
  std::size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  // Whether anything was dropped since the last call.
  bool take_overflowed() { return std::exchange(overflowed_, false); }

 private:
  std::size_t limit_;
  std::deque<suppress::Change> queue_;
  bool overflowed_ = false;
};

}  // namespace petrel::cluster
