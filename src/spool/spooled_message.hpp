// A message as the spool keeps it: its queue ID, envelope, arrival time and
// the content exactly as it will be delivered (our Received: header first).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smtp/envelope.hpp"
#include "spool/queue_id.hpp"

namespace petrel::spool {

struct SpooledMessage {
  QueueId id;
  smtp::Envelope envelope;
  std::int64_t arrival_unix_seconds = 0;
  std::uint32_t attempts = 0;  // delivery attempts so far
  std::string content;         // CRLF line endings, dot-unstuffed
  // A big message's content past `content` (its head) is in a file, not in
  // memory (spool/body_files.hpp): this many octets. 0: all in content.
  std::uint64_t tail_size = 0;
  // While a big message is being stored: the session's spill file holding
  // its tail, which the spool makes its own. Not stored.
  std::string spill_file;

  // Delivery progress, kept with the envelope so a restart resumes where
  // it stopped and never sends to a recipient whose 250 was recorded.
  enum class RecipientState : std::uint8_t { pending, delivered, failed };  // failed: bounced
  std::vector<RecipientState> states;        // per envelope recipient; empty: all pending
  std::int64_t next_attempt_unix_seconds = 0;  // 0: as soon as possible
  std::string last_error;                    // for the queue listing and the log
  bool delay_warned = false;                 // the delay DSN has gone out (once per message)
  bool held = false;                         // `petrel queue hold`: not tried until released

  RecipientState state(std::size_t recipient) const {
    return recipient < states.size() ? states[recipient] : RecipientState::pending;
  }
};

}  // namespace petrel::spool
