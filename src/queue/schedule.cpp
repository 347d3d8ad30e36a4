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
  heap_.push_back(entry);
  std::push_heap(heap_.begin(), heap_.end(), later);
}

std::optional<ScheduleEntry> Schedule::pop_due(std::int64_t now) {
  if (heap_.empty() || heap_.front().due > now) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  ScheduleEntry e = heap_.back();
  heap_.pop_back();
  // Give memory back after a large backlog has drained.
  if (heap_.capacity() > 4096 && heap_.size() < heap_.capacity() / 4) heap_.shrink_to_fit();
  return e;
}

std::optional<std::int64_t> Schedule::next_due() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().due;
}

std::size_t Schedule::force_due(std::int64_t now, std::uint32_t domain) {
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

std::size_t Schedule::release_parked(std::int64_t now) {
  std::size_t released = 0;
  for (auto& e : heap_) {
    if (!e.parked) continue;
    e.due = std::min(e.due, now);
    e.forced = true;
    e.parked = false;
    ++released;
  }
  if (released) std::make_heap(heap_.begin(), heap_.end(), later);
  return released;
}

}  // namespace petrel::queue
