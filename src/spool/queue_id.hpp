// Queue IDs: short, unique across restarts and threads, sortable by arrival.
#pragma once

#include <compare>
#include <string>

namespace petrel::spool {

struct QueueId {
  std::string value;  // [0-9A-Z]{16}: 10 chars of microsecond time, 6 of counter+randomness

  bool operator==(const QueueId&) const = default;
  auto operator<=>(const QueueId&) const = default;
  bool empty() const { return value.empty(); }
};

// Thread-safe. Unique within this process and, because it starts from the
// clock with a random component, across restarts.
QueueId make_queue_id();

bool is_valid_queue_id(std::string_view text);

}  // namespace petrel::spool
