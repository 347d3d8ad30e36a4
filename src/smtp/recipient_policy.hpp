// The decision on each RCPT TO, kept out of the protocol core so the core
// stays free of configuration and lookups.
#pragma once

#include <optional>

#include "smtp/address.hpp"
#include "smtp/reply.hpp"

namespace petrel::smtp {

class RecipientPolicy {
 public:
  virtual ~RecipientPolicy() = default;
  // nullopt accepts the recipient; a reply rejects it with that reply.
  virtual std::optional<Reply> check_recipient(const Address& rcpt) const = 0;
};

}  // namespace petrel::smtp
