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
//
// A domain whose site's ready queue is full waits for room: its entries
// that fall due are set aside, in the order they fell due, and come up as
// the site makes room (release: one per job the site took, or a window
// when it says it has room), never in whole seconds. If no room is made
// before the wait's end, a window of them comes up anyway.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
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
  // The ids of `domain` and, with `subdomains`, of every known name below it.
  std::vector<std::uint32_t> matching(std::string_view domain, bool subdomains) const;
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
  bool passed = false;  // released by its domain's wait for room: not set aside again

  std::string_view id_view() const { return {id.data(), id.size()}; }
};

class Schedule {
 public:
  // IDs that are not 16 characters are refused (false).
  bool add(std::string_view id, std::int64_t due, std::uint32_t domain, bool forced = false, bool parked = false);
  void add(const ScheduleEntry& entry);
  // The entry due first, if it is due at `now`. Entries of a domain that
  // waits for room are set aside on the way (at most kSetAsidePerPop per
  // call: nothing comes back then, and the caller asks again).
  std::optional<ScheduleEntry> pop_due(std::int64_t now);
  // Of the first entry, or the end of the first wait for room with entries set aside.
  std::optional<std::int64_t> next_due() const;
  // Flush: the entries for `domain` (DomainTable::none: all), and those
  // of messages for several domains, are forced due now, and the domain
  // no longer waits for room. O(n), once per command.
  std::size_t force_due(std::int64_t now, std::uint32_t domain);
  // The same for several domains at once (ETRN @domain: a domain and its subdomains).
  std::size_t force_due(std::int64_t now, const std::vector<std::uint32_t>& domains);
  // A suspension ended: the parked entries are forced due now.
  std::size_t release_parked(std::int64_t now);
  std::size_t size() const { return heap_.size() + set_aside_; }
  void reserve(std::size_t n) { heap_.reserve(n); }

  // The domain's site is full: from now on its due entries wait for room
  // (set aside), at most until `until` (a wait already on keeps its end),
  // when `window` of them come up; then again as long (at least
  // kMinRoomWait) after each window.
  void wait_for_room(std::uint32_t domain, std::int64_t until, std::int64_t now, std::size_t window);
  bool waits_for_room(std::uint32_t domain) const { return rooms_.count(domain) > 0; }
  // The site has room for n more (credit, at most a window): that many of
  // the domain's entries set aside come up now, and the rest of the credit
  // lets entries that fall due later pass. A whole window of credit with
  // nothing set aside ends the wait.
  std::size_t release(std::uint32_t domain, std::size_t n, std::int64_t now);
  // The domain no longer waits for room (DomainTable::none: no domain
  // does): all of its entries set aside come up now.
  std::size_t open(std::uint32_t domain, std::int64_t now);
  // Waits whose end has passed: a window of each comes up, and the wait
  // goes on (or ends, with none left aside).
  std::size_t release_expired(std::int64_t now);
  std::size_t set_aside() const { return set_aside_; }
  std::size_t parked() const { return parked_; }  // entries held back by a suspension

  static constexpr std::size_t kSetAsidePerPop = 4096;
  static constexpr std::int64_t kMinRoomWait = 5;  // seconds

 private:
  struct Room {
    std::int64_t until = 0;
    std::int64_t period = 0;
    std::size_t window = 1;
    std::size_t credit = 0;
    std::deque<ScheduleEntry> aside;
  };
  std::size_t come_up(Room& room, std::size_t n, std::int64_t now);

  std::vector<ScheduleEntry> heap_;  // a min-heap by due
  std::unordered_map<std::uint32_t, Room> rooms_;  // domains waiting for room
  std::size_t set_aside_ = 0;
  std::size_t parked_ = 0;
};

}  // namespace petrel::queue
