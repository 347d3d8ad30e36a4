// The admin channel's suppression-list requests (petrel suppress ...):
//   {"command": "suppress-list", "tenant": T (absent: all), "after": KEY, "limit": N}
//   {"command": "suppress-add", "tenant": T, "addresses": [...], "reason": R, "detail": D}
//   {"command": "suppress-remove", "tenant": T, "addresses": [...]}
// docs/admin.md has the protocol.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>

namespace petrel::spool {
class Spool;
}

namespace petrel::admin {

// The reply to a suppress-* request; nullopt for any other command.
std::optional<nlohmann::json> handle_suppress(const nlohmann::json& request, spool::Spool& spool);

}  // namespace petrel::admin
