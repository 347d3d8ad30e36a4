// The dashboard's JSON endpoints, one function each: what the page shows
// (GET) and what its buttons do (POST, through the admin channel's
// commands). The session and CSRF checks are the caller's (dashboard.cpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "dashboard/stats.hpp"
#include "http/message.hpp"

namespace petrel::queue {
class QueueManager;
}
namespace petrel::spool {
class Spool;
}

namespace petrel::dashboard {

struct Backends {
  queue::QueueManager& queue;
  spool::Spool& spool;
  Stats& stats;
};

// GET: the page's data.
http::Response overview(const Backends& b, std::int64_t now_ms);
http::Response sites(const Backends& b);
http::Response queue_search(const Backends& b, const http::Request& request);  // ?by=&q=&after=
http::Response message(const Backends& b, const http::Request& request);       // ?id=
http::Response campaigns(const Backends& b);
http::Response feed(const Backends& b);

// POST with a JSON body: "hold" | "release" | "delete" {"ids": [...]},
// "flush" {"domain": D (optional)}; "suspend" {"site", "seconds"} | "resume" {"site"}.
http::Response queue_action(const Backends& b, std::string_view action, const http::Request& request);
http::Response site_action(const Backends& b, std::string_view action, const http::Request& request);

}  // namespace petrel::dashboard
