// Routing and the login: every /dashboard/api/ call but login needs a live
// session cookie (else 401); every POST must come from the dashboard's own
// origin and, but login, carry the session's CSRF token in X-CSRF-Token
// (else 403). Files and JSON alike get a strict Content-Security-Policy.
#include "dashboard/dashboard.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "dashboard/assets.hpp"
#include "dashboard/guard.hpp"
#include "dashboard/sessions.hpp"
#include "dashboard/views.hpp"
#include "events/bus.hpp"
#include "http/api_tokens.hpp"
#include "queue/queue_manager.hpp"

namespace petrel::dashboard {
namespace {

using nlohmann::json;
using http::Problem;

constexpr std::string_view kStatic = "/dashboard/static/";
constexpr std::string_view kApi = "/dashboard/api/";

void secure_headers(http::Response& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "same-origin");
}

http::Response file(const Asset& asset) {
  http::Response r;
  r.content_type = std::string(asset.content_type);
  r.body = std::string(asset.body);
  return r;
}

http::Response problem(unsigned status, const char* title, std::string detail) {
  return to_response(Problem{status, title, std::move(detail)});
}

http::Response method_not_allowed(const char* allow) {
  auto r = problem(405, "Method Not Allowed", std::string("this path takes ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// The value of a token in {"token": "..."}, or nullopt.
std::optional<std::string> token_in(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("token") || !j["token"].is_string()) return std::nullopt;
  return j["token"].get<std::string>();
}

}  // namespace

struct Dashboard::Impl {
  queue::QueueManager& queue;
  spool::Spool& spool;
  const http::ApiTokens& tokens;
  Options options;
  Stats stats;
  Sessions sessions;
  std::size_t subscription = 0;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread sampler;

  Impl(queue::QueueManager& q, spool::Spool& s, const http::ApiTokens& t, Options o)
      : queue(q), spool(s), tokens(t), options(std::move(o)), stats(options.stats),
        sessions(options.session_lifetime, options.max_sessions) {
    if (!options.now_ms) options.now_ms = events::now_ms;
  }

  Backends backends() { return {queue, spool, stats}; }

  // One depth sample per interval, so the chart has a line even when
  // nobody looks and nothing happens.
  void sample_depth() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      lock.unlock();
      stats.sample_depth(queue.pending(), options.now_ms());
      lock.lock();
      wake.wait_for(lock, options.depth_interval, [this] { return stopping; });
    }
  }

  http::Response login(const http::Request& request) {
    const auto token = token_in(request.body);
    if (!token) return to_response(Problem{400, "Bad Request", "send {\"token\": \"API TOKEN\"}", "/token"});
    const auto caller = tokens.authenticate("Bearer " + *token);
    if (!caller) {
      spdlog::info("dashboard client={} login refused: the token is not valid", request.peer);
      return problem(401, "Unauthorized", "the token is not valid");
    }
    if (!caller->tenant.empty()) {
      spdlog::info("dashboard client={} login refused: token {} is bound to tenant {}", request.peer, caller->name,
                   caller->tenant);
      return problem(403, "Forbidden", "this token may only act for tenant " + caller->tenant +
                                           "; the dashboard needs an operator's token (name:token, no tenant)");
    }
    const Session s = sessions.open(caller->name, options.now_ms());
    spdlog::info("dashboard client={} login token={}", request.peer, caller->name);
    auto r = http::json_response(200, json{{"caller", s.caller}, {"csrf", s.csrf}}.dump());
    r.headers.emplace_back("Set-Cookie", session_cookie(
        s.id, options.tls, std::chrono::duration_cast<std::chrono::seconds>(options.session_lifetime)));
    return r;
  }

  http::Response logout(const Session& s, const http::Request& request) {
    sessions.close(s.id);
    spdlog::info("dashboard client={} logout token={}", request.peer, s.caller);
    http::Response r;
    r.status = 204;
    r.headers.emplace_back("Set-Cookie", cleared_cookie(options.tls));
    return r;
  }

  http::Response get(std::string_view what, const Session& s, const http::Request& request) {
    const Backends b = backends();
    if (what == "session") return http::json_response(200, json{{"caller", s.caller}, {"csrf", s.csrf}}.dump());
    if (what == "overview") return overview(b, options.now_ms());
    if (what == "sites") return sites(b);
    if (what == "queue") return queue_search(b, request);
    if (what == "queue/message") return message(b, request);
    if (what == "campaigns") return campaigns(b);
    if (what == "feed") return feed(b);
    return problem(404, "Not Found", "no such path: " + request.path);
  }

  http::Response post(std::string_view what, const Session& s, const http::Request& request) {
    const Backends b = backends();
    if (what == "logout") return logout(s, request);
    for (const std::string_view action : {"hold", "release", "delete", "flush"}) {
      if (what.starts_with("queue/") && what.substr(6) == action) {
        // What it did is an AdminAction event; the body (the operator's) stays out of the log.
        spdlog::info("dashboard client={} token={} queue {}", request.peer, s.caller, action);
        return queue_action(b, action, request);
      }
    }
    for (const std::string_view action : {"suspend", "resume"}) {
      if (what.starts_with("sites/") && what.substr(6) == action) {
        spdlog::info("dashboard client={} token={} site {}", request.peer, s.caller, action);
        return site_action(b, action, request);
      }
    }
    return problem(404, "Not Found", "no such path: " + request.path);
  }

  http::Response api(const http::Request& request) {
    const std::string_view what = std::string_view(request.path).substr(kApi.size());
    const bool is_post = request.method == "POST";
    if (!is_post && request.method != "GET") return method_not_allowed("GET, POST");
    // A form on another site may post here; the browser says whose it is.
    if (is_post && !same_origin(request)) return problem(403, "Forbidden", "the request comes from another origin");
    if (what == "login") return is_post ? login(request) : method_not_allowed("POST");
    const auto id = cookie_value(request.cookie, kSessionCookie);
    const auto session = id ? sessions.find(*id, options.now_ms()) : std::nullopt;
    if (!session) return problem(401, "Unauthorized", "log in first: no session, or it has expired");
    if (is_post) {
      if (!same(request.csrf_token, session->csrf)) return problem(403, "Forbidden", "send the session's token in X-CSRF-Token");
      return post(what, *session, request);
    }
    return get(what, *session, request);
  }

  http::Response route(const http::Request& request) {
    if (request.path == "/" || request.path.starts_with(kStatic)) {
      if (request.method != "GET") return method_not_allowed("GET");
      const Asset* asset = find_asset(request.path == "/" ? "index.html" : request.path.substr(kStatic.size()));
      if (asset == nullptr) return problem(404, "Not Found", "no such file: " + request.path);
      return file(*asset);
    }
    if (request.path.starts_with(kApi)) return api(request);
    return problem(404, "Not Found", "no such path: " + request.path);
  }
};

Dashboard::Dashboard(queue::QueueManager& queue, spool::Spool& spool, const http::ApiTokens& tokens, Options options)
    : impl_(std::make_unique<Impl>(queue, spool, tokens, std::move(options))) {
  Stats* stats = &impl_->stats;
  impl_->subscription = events::bus().subscribe([stats](const events::Event& e) { stats->record(e); });
  if (impl_->options.depth_interval.count() > 0) impl_->sampler = std::thread([impl = impl_.get()] { impl->sample_depth(); });
}

Dashboard::~Dashboard() {
  stop();
  events::bus().unsubscribe(impl_->subscription);
}

void Dashboard::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->sampler.joinable()) impl_->sampler.join();
}

bool Dashboard::serves(std::string_view path) { return path == "/" || path.starts_with("/dashboard/"); }

http::Response Dashboard::handle(const http::Request& request) {
  http::Response r;
  try {
    r = impl_->route(request);
  } catch (const std::exception& e) {
    spdlog::error("dashboard {} {}: {}", request.method, request.path, e.what());
    r = problem(500, "Internal Server Error", "see petreld's log");
  }
  secure_headers(r);
  return r;
}

Stats& Dashboard::stats() { return impl_->stats; }

}  // namespace petrel::dashboard
