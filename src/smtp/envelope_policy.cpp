#include "smtp/envelope_policy.hpp"

#include "smtp/reply_codes.hpp"

namespace petrel::smtp {

RecipientExpansion EnvelopePolicy::expand_recipient(const Recipient& rcpt, const ClientIdentity& client,
                                                   std::size_t /*in_envelope*/) const {
  if (auto refusal = check_recipient(rcpt.forward_path, client)) return {std::move(refusal), {}};
  return {std::nullopt, {rcpt}};
}

Reply EnvelopePolicy::start_queue_run(std::string_view domain, const ClientIdentity&) {
  return Reply(codes::k458CannotQueue, "Unable to queue messages for node " + std::string(domain));
}

}  // namespace petrel::smtp
