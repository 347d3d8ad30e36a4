// Turning failed recipients into a bounce message for the queue: which of
// them get one (RFC 3461 NOTIFY, never for the null sender), and the DSN
// (delivery/dsn.hpp) wrapped as a new spooled message from <>.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "delivery/dsn.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::delivery {

struct BounceRequest {
  const spool::SpooledMessage& original;  // with its content
  DsnKind kind = DsnKind::failure;
  std::vector<RecipientStatus> recipients;  // all that failed (or were delayed/delivered)
  std::string hostname;
  std::time_t now = 0;
  std::string double_bounce;  // where a failed bounce goes; "": nowhere
};

// The DSN to queue, or null when none is owed: no recipient asked for one,
// or the original is itself a bounce and there is no double-bounce address.
std::shared_ptr<spool::SpooledMessage> make_bounce(const BounceRequest& request);

}  // namespace petrel::delivery
