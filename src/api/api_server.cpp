// The routes of petreld's HTTP listener. Every /api/ route needs a bearer
// token; unknown paths get 404 and known paths with another method 405.
#include "api/api_server.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "api/inject.hpp"
#include "api/metrics_handler.hpp"
#include "api/suppressions_handler.hpp"
#include "api/unsubscribe_handler.hpp"
#include "config/config.hpp"
#include "dashboard/dashboard.hpp"
#include "http/api_tokens.hpp"
#include "http/listener.hpp"
#include "suppress/suppression_list.hpp"
#include "tls/server_tls.hpp"

namespace petrel::api {
namespace asio = boost::asio;
using http::Problem;

namespace {

http::ApiTokens load_tokens(const config::Config& config) {
  if (config.http.api_tokens_file.empty()) return http::ApiTokens::parse("", "(none)");
  return http::ApiTokens::load(config.http.api_tokens_file);
}

http::Response unauthorized(std::string detail) {
  auto r = to_response(Problem{401, "Unauthorized", std::move(detail)});
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"petrel\"");
  return r;
}

http::Response method_not_allowed(const char* allow) {
  auto r = to_response(Problem{405, "Method Not Allowed", std::string("this path takes ") + allow});
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace

InjectOptions inject_options(const config::Config& config, const std::vector<dkim::DomainKey>& dkim_keys) {
  InjectOptions o;
  o.dkim_keys = &dkim_keys;
  o.hostname = config.hostname;
  o.max_recipients = config.http.max_recipients;
  o.max_queued = config.http.max_queued;
  o.public_url = public_url(config);
  if (config.unsubscribe.mailto) {
    o.mailto_domain = config.unsubscribe.mailto_domain.empty() ? config.hostname : config.unsubscribe.mailto_domain;
  }
  o.unsubscribe_campaigns = config.unsubscribe.campaigns;
  return o;
}

struct ApiServer::Impl {
  http::ApiTokens tokens;
  suppress::SuppressionList& suppressions;
  Injector injector;
  Unsubscriber unsubscriber;
  MetricsCollector metrics;
  bool metrics_public;
  dashboard::Dashboard dashboard;
  std::unique_ptr<http::Listener> listener;

  Impl(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue,
       suppress::SuppressionList& list, const suppress::UnsubscribeTokens& unsubscribe_tokens,
       const std::vector<dkim::DomainKey>& dkim_keys)
      : tokens(load_tokens(config)),
        suppressions(list),
        injector(inject_options(config, dkim_keys), spool, queue, list, unsubscribe_tokens),
        unsubscriber(spool, list, unsubscribe_tokens),
        metrics(queue, config.spool_dir, config.http.metrics_max_sites),
        metrics_public(config.http.metrics_public),
        dashboard(queue, spool, tokens, dashboard::Options{.tls = config.http.tls}) {}

  asio::awaitable<http::Response> route(http::Request& request) {
    // Unsubscribe links carry their own proof: no token, no cookie.
    if (request.path.starts_with("/u/")) co_return co_await unsubscriber.handle(request);
    // Scrapers sit on private networks: no token unless [http] metrics_public = false.
    if (request.path == "/metrics") {
      if (!metrics_public && !tokens.authenticate(request.authorization)) {
        co_return unauthorized("send Authorization: Bearer TOKEN ([http] metrics_public is false)");
      }
      if (request.method != "GET") co_return method_not_allowed("GET");
      co_return metrics_response();
    }
    // The operator's page and its JSON: a session cookie, not a bearer token.
    if (dashboard::Dashboard::serves(request.path)) co_return dashboard.handle(request);
    if (request.path.starts_with("/api/")) {
      const auto caller = tokens.authenticate(request.authorization);
      if (!caller) {
        spdlog::info("http client={} {} {} status=401", request.peer, request.method, request.path);
        co_return unauthorized(request.authorization.empty() ? "send Authorization: Bearer TOKEN"
                                                             : "the token is not valid");
      }
      if (request.path == "/api/v1/messages") {
        if (request.method != "POST") co_return method_not_allowed("POST");
        co_return co_await injector.handle(request, *caller);
      }
      if (request.path == "/api/v1/suppressions" || request.path.starts_with("/api/v1/suppressions/")) {
        co_return co_await handle_suppressions(request, *caller, suppressions);
      }
    }
    co_return to_response(Problem{404, "Not Found", "no such path: " + request.path});
  }
};

ApiServer::ApiServer(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue,
                     suppress::SuppressionList& suppressions, const suppress::UnsubscribeTokens& tokens,
                     const std::vector<dkim::DomainKey>& dkim_keys)
    : impl_(std::make_unique<Impl>(config, spool, queue, suppressions, tokens, dkim_keys)) {
  http::ListenerOptions options;
  options.listen = config.http.listen;
  if (config.http.tls) {
    tls::ServerTlsSettings settings;
    settings.certificates.push_back({config.tls.certificate.cert, config.tls.certificate.key});
    options.tls = std::make_shared<tls::ServerTls>(std::move(settings));
  }
  options.max_body = config.http.max_request_size;
  options.max_connections = config.http.max_connections;
  options.request_timeout = config.http.request_timeout;
  options.threads = config.http.threads != 0 ? config.http.threads : std::max(1u, std::thread::hardware_concurrency());
  Impl* impl = impl_.get();
  impl_->listener = std::make_unique<http::Listener>(
      std::move(options), [impl](http::Request& request) { return impl->route(request); });
  if (impl_->tokens.size() == 0) {
    spdlog::warn("[http] api_tokens_file names no tokens: every /api/ request gets 401");
  }
  for (const auto& e : impl_->listener->endpoints()) {
    spdlog::info("listening on {} (http{})", e, config.http.tls ? "s" : "");
  }
}

ApiServer::~ApiServer() = default;

void ApiServer::stop() {
  impl_->listener->stop();
  impl_->dashboard.stop();
}

std::vector<std::string> ApiServer::endpoints() const { return impl_->listener->endpoints(); }

void check_api_tokens(const config::Config& config) { load_tokens(config); }

std::string public_url(const config::Config& config) {
  return config.http.public_url.empty() ? "https://" + config.hostname : config.http.public_url;
}

}  // namespace petrel::api
