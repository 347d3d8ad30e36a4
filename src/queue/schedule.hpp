// The scheduled queue: every message waiting for its next attempt, as a
// compact index entry (queue ID, due time, the domain it waits for), never
// its content or envelope. A million queued messages cost about 32 MB here;
// the spool keeps the rest. Pure: time is passed in.
//
// Entries are hints. The spool's envelope is the truth (its next attempt,
// its hold, whether it still exists), checked when an entry falls due, so
// an operator's delete or hold never has to find the entry: a stale one is
// dropped when it comes up. Every change of a message's next attempt adds
// an entry; an entry that comes up before the message's next attempt is
// stale, unless it was forced (flush).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace petrel::queue {

// Domains interned to a number, so an entry carries 4 octets, not a string.
class DomainTable {
 public:
  static constexpr std::uint32_t none = 0xffffffffu;  // several domains, or local only
  std::uint32_t intern(std::string_view domain);
  const std::string& name(std::uint32_t id) const;  // "" for none or unknown
  std::size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::uint32_t> ids_;
};

struct ScheduleEntry {
  std::int64_t due = 0;  // unix seconds; 0: now
  std::array<char, 16> id{};
  std::uint32_t domain = DomainTable::none;
  bool forced = false;  // flushed: tried now whatever the envelope's next attempt
  bool parked = false;  // held back by a campaign's or tenant's suspension

  std::string_view id_view() const { return {id.data(), id.size()}; }
};

class Schedule {
 public:
  // IDs that are not 16 characters are refused (false).
  bool add(std::string_view id, std::int64_t due, std::uint32_t domain, bool forced = false, bool parked = false);
  void add(const ScheduleEntry& entry);
  // The entry due first, if it is due at `now`.
  std::optional<ScheduleEntry> pop_due(std::int64_t now);
  std::optional<std::int64_t> next_due() const;  // of the first entry
  // Flush: the entries for `domain` (DomainTable::none: all), and those
  // of messages for several domains, are forced due now. O(n), once per command.
  std::size_t force_due(std::int64_t now, std::uint32_t domain);
  // A suspension ended: the parked entries are forced due now.
  std::size_t release_parked(std::int64_t now);
  std::size_t size() const { return heap_.size(); }
  void reserve(std::size_t n) { heap_.reserve(n); }

 private:
  std::vector<ScheduleEntry> heap_;  // a min-heap by due
};

}  // namespace petrel::queue
