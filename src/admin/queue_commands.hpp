// The admin channel's requests (petrel queue ...): one JSON object per
// line in, one per line out. Pure apart from the queue and spool it is
// given, so it is tested without sockets. docs/admin.md has the protocol.
#pragma once

#include <string>
#include <string_view>

namespace petrel::queue {
class QueueManager;
}
namespace petrel::spool {
class Spool;
}

namespace petrel::admin {

// Requests: {"command": "list"}, {"command": "show", "id": ID},
// {"command": "flush", "domain": D (optional)}, {"command": "hold" |
// "release" | "delete", "ids": [ID, ...]}. Replies have "ok": true and the
// result, or "ok": false and "error". Never throws.
std::string handle_request(std::string_view line, queue::QueueManager& queue, spool::Spool& spool);

}  // namespace petrel::admin
