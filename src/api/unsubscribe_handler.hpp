// /u/TOKEN: the one-click unsubscribe endpoint (RFC 8058) and its page.
// POST unsubscribes (what mail readers send, with the body
// "List-Unsubscribe=One-Click", no auth, no cookies); GET only shows a
// page with a button that POSTs, because link scanners fetch every URL in
// a message and must not unsubscribe anyone.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "http/message.hpp"
#include "suppress/unsubscribe.hpp"

namespace petrel::spool {
class Spool;
}
namespace petrel::suppress {
class SuppressionList;
}

namespace petrel::api {

class Unsubscriber {
 public:
  Unsubscriber(spool::Spool& spool, suppress::SuppressionList& list, const suppress::UnsubscribeTokens& tokens)
      : spool_(spool), list_(list), tokens_(tokens) {}

  boost::asio::awaitable<http::Response> handle(const http::Request& request);

  // Whom a token names, if it is genuine (any letter case: a mailto: local
  // part may have been lower-cased on the way).
  std::optional<suppress::Subscription> resolve(std::string_view token) const;

  // Adds the subscription's recipient to its tenant's list, durably; `how`
  // goes into the entry's detail ("one-click", "mailto", ...).
  void unsubscribe(const suppress::Subscription& who, std::string how, std::function<void(std::error_code)> done);

 private:
  spool::Spool& spool_;
  suppress::SuppressionList& list_;
  const suppress::UnsubscribeTokens& tokens_;
};

}  // namespace petrel::api
