#include "queue/schedule.hpp"

#include <algorithm>

namespace petrel::queue {
namespace {

// std::push_heap builds a max-heap: "greater" puts the earliest due on top.
bool later(const ScheduleEntry& a, const ScheduleEntry& b) { return a.due > b.due; }

}  // namespace

std::uint32_t DomainTable::intern(std::string_view domain) {
  if (auto found = ids_.find(std::string(domain)); found != ids_.end()) return found->second;
  const auto id = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(domain);
  ids_.emplace(names_.back(), id);
  return id;
}

std::vector<std::uint32_t> DomainTable::matching(std::string_view domain, bool subdomains) const {
  std::vector<std::uint32_t> ids;
  if (auto found = ids_.find(std::string(domain)); found != ids_.end()) ids.push_back(found->second);
  if (!subdomains) return ids;
  const std::string suffix = "." + std::string(domain);
  for (std::uint32_t id = 0; id < names_.size(); ++id) {
    if (names_[id].size() > suffix.size() && names_[id].ends_with(suffix)) ids.push_back(id);
  }
  return ids;
}

const std::string& DomainTable::name(std::uint32_t id) const {
  static const std::string empty;
  return id < names_.size() ? names_[id] : empty;
}

bool Schedule::add(std::string_view id, std::int64_t due, std::uint32_t domain, bool forced, bool parked) {
  ScheduleEntry e;
  if (id.size() != e.id.size()) return false;
  std::copy(id.begin(), id.end(), e.id.begin());
  e.due = due;
  e.domain = domain;
  e.forced = forced;
  e.parked = parked;
  add(e);
  return true;
}

void Schedule::add(const ScheduleEntry& entry) {
  if (entry.parked) ++parked_;
  heap_.push_back(entry);
  std::push_heap(heap_.begin(), heap_.end(), later);
}

std::optional<ScheduleEntry> Schedule::pop_due(std::int64_t now) {
  for (std::size_t set_aside = 0; set_aside < kSetAsidePerPop; ++set_aside) {
    if (heap_.empty() || heap_.front().due > now) return std::nullopt;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    ScheduleEntry e = heap_.back();
    heap_.pop_back();
    if (e.parked && parked_ > 0) --parked_;
    // Give memory back after a large backlog has drained.
    if (heap_.capacity() > 4096 && heap_.size() < heap_.capacity() / 4) heap_.shrink_to_fit();
    auto room = e.passed ? rooms_.end() : rooms_.find(e.domain);
    e.passed = false;
    if (room == rooms_.end()) return e;
    if (room->second.credit > 0) {
      --room->second.credit;
      return e;
    }
    room->second.aside.push_back(e);
    ++set_aside_;
  }
  return std::nullopt;
}

std::optional<std::int64_t> Schedule::next_due() const {
  std::optional<std::int64_t> next;
  if (!heap_.empty()) next = heap_.front().due;
  for (const auto& [domain, room] : rooms_) {
    if (!room.aside.empty() && (!next || room.until < *next)) next = room.until;
  }
  return next;
}

void Schedule::wait_for_room(std::uint32_t domain, std::int64_t until, std::int64_t now, std::size_t window) {
  if (domain == DomainTable::none) return;
  auto [room, added] = rooms_.try_emplace(domain);
  room->second.credit = 0;  // the site is full now, whatever it said before
  if (!added) return;
  room->second.until = until;
  room->second.period = std::max<std::int64_t>(kMinRoomWait, until - now);
  room->second.window = std::max<std::size_t>(1, window);
}

std::size_t Schedule::come_up(Room& room, std::size_t n, std::int64_t now) {
  std::size_t released = 0;
  while (released < n && !room.aside.empty()) {
    ScheduleEntry e = room.aside.front();
    room.aside.pop_front();
    e.due = std::min(e.due, now);
    e.passed = true;
    add(e);
    ++released;
  }
  set_aside_ -= released;
  return released;
}

std::size_t Schedule::release(std::uint32_t domain, std::size_t n, std::int64_t now) {
  auto room = rooms_.find(domain);
  if (room == rooms_.end()) return 0;
  Room& r = room->second;
  r.credit = std::min(r.window, r.credit + n);
  const std::size_t released = come_up(r, r.credit, now);
  r.credit -= released;
  // A whole window of room and nothing waiting: the site is not full.
  if (r.aside.empty() && r.credit >= r.window) rooms_.erase(room);
  return released;
}

std::size_t Schedule::open(std::uint32_t domain, std::int64_t now) {
  std::size_t released = 0;
  for (auto room = rooms_.begin(); room != rooms_.end();) {
    if (domain != DomainTable::none && room->first != domain) {
      ++room;
      continue;
    }
    released += come_up(room->second, room->second.aside.size(), now);
    room = rooms_.erase(room);
  }
  return released;
}

std::size_t Schedule::release_expired(std::int64_t now) {
  std::size_t released = 0;
  for (auto room = rooms_.begin(); room != rooms_.end();) {
    Room& r = room->second;
    if (r.until > now) {
      ++room;
      continue;
    }
    released += come_up(r, r.window, now);
    if (r.aside.empty()) {
      room = rooms_.erase(room);
      continue;
    }
    r.until = now + r.period;
    ++room;
  }
  return released;
}

std::size_t Schedule::force_due(std::int64_t now, std::uint32_t domain) {
  open(domain, now);
  std::size_t forced = 0;
  for (auto& e : heap_) {
    if (domain != DomainTable::none && e.domain != domain && e.domain != DomainTable::none) continue;
    e.due = std::min(e.due, now);
    e.forced = true;
    ++forced;
  }
  std::make_heap(heap_.begin(), heap_.end(), later);
  return forced;
}

std::size_t Schedule::force_due(std::int64_t now, const std::vector<std::uint32_t>& domains) {
  for (const std::uint32_t d : domains) open(d, now);
  std::size_t forced = 0;
  for (auto& e : heap_) {
    if (e.domain != DomainTable::none && std::find(domains.begin(), domains.end(), e.domain) == domains.end()) continue;
    e.due = std::min(e.due, now);
    e.forced = true;
    ++forced;
  }
  std::make_heap(heap_.begin(), heap_.end(), later);
  return forced;
}

std::size_t Schedule::release_parked(std::int64_t now) {
  std::size_t released = 0;
  for (auto& e : heap_) {
    if (!e.parked) continue;
    e.due = std::min(e.due, now);
    e.forced = true;
    e.parked = false;
    ++released;
  }
  parked_ = 0;
  if (released) std::make_heap(heap_.begin(), heap_.end(), later);
  return released;
}

}  // namespace petrel::queue
