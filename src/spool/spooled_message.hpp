// A message as the spool keeps it: its queue ID, envelope, arrival time and
// the content exactly as it will be delivered (our Received: header first).
#pragma once

#include <cstdint>
#include <string>

#include "smtp/envelope.hpp"
#include "spool/queue_id.hpp"

namespace petrel::spool {

struct SpooledMessage {
  QueueId id;
  smtp::Envelope envelope;
  std::int64_t arrival_unix_seconds = 0;
  std::uint32_t attempts = 0;  // delivery attempts so far
  std::string content;         // CRLF line endings, dot-unstuffed
};

}  // namespace petrel::spool
