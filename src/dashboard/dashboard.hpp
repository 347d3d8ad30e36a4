// The operator's web dashboard on petreld's HTTP listener (docs/dashboard.md):
// the page at "/", its files under /dashboard/static/, and its JSON under
// /dashboard/api/, behind a login with an API token and a session cookie.
// Counts what the events bus reports (stats.hpp) and acts through the
// admin channel's commands, so a button does what `petrel queue` does.
// Plain data in and out (http::Request, http::Response): nothing of Asio
// or Beast here, and no I/O but the queue's and the spool's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "dashboard/stats.hpp"
#include "http/message.hpp"

namespace petrel::queue {
class QueueManager;
}
namespace petrel::spool {
class Spool;
}
namespace petrel::http {
class ApiTokens;
}

namespace petrel::dashboard {

struct Options {
  bool tls = false;  // the listener's: cookies are Secure
  std::chrono::milliseconds session_lifetime{std::chrono::hours(12)};
  std::size_t max_sessions = 1000;
  std::chrono::milliseconds depth_interval{std::chrono::seconds(10)};  // queue depth samples; 0: none (tests)
  StatsOptions stats;
  std::function<std::int64_t()> now_ms;  // unix milliseconds; empty: the system clock
};

class Dashboard {
 public:
  // Subscribes to events::bus() and starts sampling the queue's depth.
  Dashboard(queue::QueueManager& queue, spool::Spool& spool, const http::ApiTokens& tokens, Options options);
  ~Dashboard();  // stop(), and off the bus
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // "/" and everything under /dashboard/.
  static bool serves(std::string_view path);
  // Never throws for bad input: problems come back as problem+json.
  http::Response handle(const http::Request& request);
  void stop();  // no more depth samples

  Stats& stats();  // what has been counted (tests)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::dashboard
