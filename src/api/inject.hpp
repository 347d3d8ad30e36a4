// POST /api/v1/messages: render one message per recipient, store them in
// windows (each window and its idempotency record in one synced write),
// hand them to the queue, and reply only when all are durable.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <system_error>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "http/api_tokens.hpp"
#include "http/message.hpp"

namespace petrel::spool {
class Spool;
struct SpooledMessage;
}
namespace petrel::smtp {
struct Address;
}
namespace petrel::dkim {
struct DomainKey;
}
namespace petrel::suppress {
class SuppressionList;
class UnsubscribeTokens;
}
namespace petrel::queue {
class QueueManager;
}

namespace petrel::api {

class Composer;

struct InjectOptions {
  std::string hostname;
  std::size_t max_recipients = 10000;
  std::size_t max_queued = 5'000'000;
  std::size_t window = 64;  // messages per synced write
  std::chrono::seconds idempotency_lifetime{std::chrono::hours(24)};
  // One-click unsubscribe: the links' base ("https://mail.example.org"),
  // the mailto: domain ("" : no mailto link), the campaigns that get the
  // links without asking ("*": all).
  std::string public_url;
  std::string mailto_domain;
  std::vector<std::string> unsubscribe_campaigns;
  // Every message whose From: domain has a key is signed (docs/dkim.md).
  const std::vector<dkim::DomainKey>* dkim_keys = nullptr;
};

class Injector {
 public:
  Injector(InjectOptions options, spool::Spool& spool, queue::QueueManager& queue,
           suppress::SuppressionList& suppressions, const suppress::UnsubscribeTokens& tokens);

  boost::asio::awaitable<http::Response> handle(const http::Request& request, const http::Caller& caller);

 private:
  struct Run;
  boost::asio::awaitable<std::error_code> store_all(Run& run, Composer& composer);
  std::shared_ptr<spool::SpooledMessage> make_message(const Run& run, const smtp::Address& to) const;
  bool claim(const std::string& key);
  void release(const std::string& key);

  InjectOptions options_;
  bool wants_unsubscribe(const Run& run) const;

  spool::Spool& spool_;
  queue::QueueManager& queue_;
  suppress::SuppressionList& suppressions_;
  const suppress::UnsubscribeTokens& tokens_;
  std::mutex mutex_;
  std::set<std::string> in_progress_;  // idempotency keys being served now
};

}  // namespace petrel::api
