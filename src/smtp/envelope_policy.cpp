#include "smtp/envelope_policy.hpp"

#include "smtp/reply_codes.hpp"

namespace petrel::smtp {

Reply EnvelopePolicy::start_queue_run(std::string_view domain, const ClientIdentity&) {
  return Reply(codes::k458CannotQueue, "Unable to queue messages for node " + std::string(domain));
}

}  // namespace petrel::smtp
