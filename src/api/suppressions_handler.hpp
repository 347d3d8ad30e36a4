// /api/v1/suppressions: the suppression list over HTTP (docs/api.md).
//   GET    ?tenant=T&after=KEY&limit=N    a page of entries
//   POST   {"tenant": T, "addresses": [...], "reason": "manual", "detail": ...}
//   DELETE {"tenant": T, "addresses": [...]}   or /api/v1/suppressions/ADDRESS?tenant=T
// A token bound to a tenant sees and changes that tenant's list only.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include "http/api_tokens.hpp"
#include "http/message.hpp"

namespace petrel::suppress {
class SuppressionList;
}

namespace petrel::api {

boost::asio::awaitable<http::Response> handle_suppressions(const http::Request& request, const http::Caller& caller,
                                                           suppress::SuppressionList& list);

}  // namespace petrel::api
