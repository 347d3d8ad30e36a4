// Server: binds the listeners, runs one io_context per I/O thread, and
// hands each accepted connection to the next thread in turn.
#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <algorithm>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "auth/gsasl_authenticator.hpp"
#include "auth_checks/checker.hpp"
#include "dns/unbound_resolver.hpp"
#include "server/admin_listener.hpp"
#include "server/connection.hpp"
#include "server/server.hpp"
#include "tls/server_tls.hpp"

namespace petrel::server {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

tcp::endpoint parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen address '" + text + "' has no port");
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty() || host == "*") host = "0.0.0.0";
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  int port = 0;
  try {
    port = std::stoi(port_text);
  } catch (...) {
    port = -1;
  }
  if (ec || port < 0 || port > 65535) throw std::runtime_error("bad listen address '" + text + "'");
  return {address, static_cast<unsigned short>(port)};
}

void log_exception(const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("session ended by an internal error: {}", ex.what());
  }
}

std::unique_ptr<tls::ServerTls> make_tls(const config::Config& config) {
  if (!config.tls.enabled()) return nullptr;
  tls::ServerTlsSettings settings;
  settings.certificates.push_back({config.tls.certificate.cert, config.tls.certificate.key});
  for (const auto& extra : config.tls.sni) settings.certificates.push_back({extra.cert, extra.key});
  return std::make_unique<tls::ServerTls>(std::move(settings));
}

std::shared_ptr<const auth::PasswdFile> load_users(const config::Config& config) {
  return std::make_shared<const auth::PasswdFile>(auth::PasswdFile::load(config.auth.passwd_file));
}

// RFC 2645 §4.1 and its example: ODMR clients (fetchmail) use CRAM-MD5,
// so the ODMR listeners offer it, even in the clear (it never sends the password).
bool odmr_listening(const config::Config& config) {
  return !config.listen_odmr.empty() || !config.listen_odmrs.empty();
}

std::vector<std::string> mechanisms(const config::Config& config) {
  std::vector<std::string> names = config.auth.mechanisms;
  if (odmr_listening(config) && std::find(names.begin(), names.end(), "CRAM-MD5") == names.end()) {
    names.emplace_back("CRAM-MD5");
  }
  return names;
}

std::unique_ptr<auth::GsaslAuthenticator> make_authenticator(const config::Config& config) {
  if (config.auth.passwd_file.empty()) return nullptr;
  auth::ThrottleSettings throttle;
  throttle.failure_delay = config.auth.failure_delay;
  throttle.max_failure_delay = config.auth.max_failure_delay;
  throttle.lockout_failures = static_cast<unsigned>(config.auth.lockout_failures);
  throttle.lockout_window = std::chrono::duration_cast<std::chrono::seconds>(config.auth.lockout_window);
  throttle.lockout_duration = std::chrono::duration_cast<std::chrono::seconds>(config.auth.lockout_duration);
  return std::make_unique<auth::GsaslAuthenticator>(load_users(config), throttle, mechanisms(config));
}

std::vector<util::Cidr> networks(const std::vector<std::string>& texts) {
  std::vector<util::Cidr> out;
  for (const auto& text : texts) {
    if (auto net = util::Cidr::parse(text)) out.push_back(*net);
  }
  return out;
}

// Each listener's session rules: STARTTLS wherever there is a certificate
// and the port is not already TLS, AUTH before MAIL on submission ports.
Listener make_listener(const config::Config& config, const std::string& address, ListenerKind kind) {
  Listener l;
  l.address = address;
  l.kind = kind;
  l.options = config.session;
  l.options.starttls = config.tls.enabled() && !l.implicit_tls();
  l.options.submission = kind == ListenerKind::submission || kind == ListenerKind::smtps;
  l.options.auth_mechanisms = config.auth.mechanisms;
  if (kind == ListenerKind::odmr || kind == ListenerKind::odmrs) {
    l.options.odmr = true;
    l.options.odmr_domains = config.odmr.domains;
    l.options.auth_mechanisms = mechanisms(config);
    l.options.auth_in_clear = {"CRAM-MD5"};
  }
  const auto& plain_ok = config.auth.allow_without_tls;
  l.options.auth_without_tls = std::find(plain_ok.begin(), plain_ok.end(), address) != plain_ok.end();
  const auto& behind_balancer = config.proxy.listeners;
  l.proxy_protocol = std::find(behind_balancer.begin(), behind_balancer.end(), address) != behind_balancer.end();
  return l;
}

}  // namespace

void check_named_files(const config::Config& config) {
  try {
    (void)make_tls(config);
  } catch (const tls::TlsError& e) {
    throw std::runtime_error(std::string("[tls]: ") + e.what());
  }
  if (!config.auth.passwd_file.empty()) (void)load_users(config);  // PasswdFileError says FILE:LINE
  if (!config.remote.tls_ca_file.empty()) {
    try {
      tls::check_ca_file(config.remote.tls_ca_file);
    } catch (const tls::TlsError& e) {
      throw std::runtime_error(std::string("[delivery] tls_ca_file: ") + e.what());
    }
  }
}

struct Server::Impl {
  Impl(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue, const ServerExtras& extras)
      : config(config),
        policy(config),
        limiter(config.max_sessions, config.max_sessions_per_ip),
        connection_rate(config.rate.connections_per_minute, std::chrono::minutes(1)),
        tls(make_tls(config)),
        authenticator(make_authenticator(config)),
        auth_pool(std::max(1u, std::thread::hardware_concurrency() / 2)),
        body_budget(config.body_memory_budget),
        context{config,
                policy,
                spool,
                queue,
                limiter,
                connection_rate,
                body_budget,
                networks(config.trusted_networks),
                networks(config.proxy.trusted),
                tls.get(),
                authenticator.get(),
                &auth_pool,
                extras} {
    // One core is left to the spool writer and the delivery thread, which
    // do the syncing; measured faster than a thread per core on 2 cores.
    unsigned threads = config.threads ? config.threads : std::max(2u, std::thread::hardware_concurrency()) - 1;
    for (unsigned i = 0; i < threads; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(contexts.back()->get_executor());
    }
    if (config.auth_checks.enabled) make_checkers();
    // "@domain" (RFC 1985 §3): the domain and its subdomains.
    policy.set_queue_runner([&queue](std::string_view node) {
      return node.starts_with('@') ? queue.flush(node.substr(1), true) : queue.flush(node);
    });
    if (extras.sink_accepts) policy.set_sink(extras.sink_accepts);
    for (const auto& text : config.listen) bind(text, ListenerKind::smtp);
    for (const auto& text : config.listen_submission) bind(text, ListenerKind::submission);
    for (const auto& text : config.listen_smtps) bind(text, ListenerKind::smtps);
    for (const auto& text : config.listen_odmr) bind(text, ListenerKind::odmr);
    for (const auto& text : config.listen_odmrs) bind(text, ListenerKind::odmrs);
    const std::string admin_at = config.remote.admin.empty() ? "unix:" + config.spool_dir + "/admin.sock"
                                                             : config.remote.admin;
    admin = std::make_unique<AdminListener>(*contexts.front(), admin_at, config.spool_dir + "/admin.token", queue,
                                            spool);
  }

  // SIGHUP: new certificates and users for new sessions; sessions in
  // progress keep what they started with.
  void reload() {
    if (tls) {
      if (auto error = tls->reload()) {
        spdlog::error("reload: TLS certificates kept as they were: {}", *error);
      } else {
        spdlog::info("reload: TLS certificates reloaded");
      }
    }
    policy.reload_aliases();
    if (authenticator) {
      try {
        authenticator->replace_users(load_users(config));
        spdlog::info("reload: passwd-file {} reloaded", config.auth.passwd_file);
      } catch (const std::exception& e) {
        spdlog::error("reload: users kept as they were: {}", e.what());
      }
    }
  }

  void bind(const std::string& text, ListenerKind kind) {
    const auto endpoint = parse_listen(text);
    tcp::acceptor acceptor(*contexts.front());
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + text + ": " + ec.message());
    acceptors.push_back(std::move(acceptor));
    listeners.push_back(std::make_unique<Listener>(make_listener(config, text, kind)));
  }

  std::size_t next_context() { return next.fetch_add(1, std::memory_order_relaxed) % contexts.size(); }

  // One resolver and checker per I/O thread: each is used from its thread
  // only, and a check never waits on another thread.
  void make_checkers() {
    const dns::ResolverOptions r = dns::petreld_options(config.remote.resolver, config.remote.trust_anchor_file);
    auth_checks::Options o;
    o.policy.authserv_id = config.hostname;
    o.policy.dmarc_enforce = config.auth_checks.dmarc_enforce;
    o.policy.reject_spf_fail = config.auth_checks.reject_spf_fail;
    o.max_dkim_signatures = config.auth_checks.max_dkim_signatures;
    o.timeout = config.auth_checks.timeout;
    for (auto& ctx : contexts) {
      resolvers.push_back(std::make_unique<dns::UnboundResolver>(*ctx, r));
      checkers.push_back(std::make_unique<auth_checks::Checker>(*ctx, *resolvers.back(), o));
    }
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const Listener& listener) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
      const std::size_t index = next_context();
      asio::io_context& target = *contexts[index];
      auth_checks::Checker* checker = checkers.empty() ? nullptr : checkers[index].get();
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors or memory: wait instead of spinning.
        spdlog::warn("accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::co_spawn(target, run_connection(std::move(socket), context, listener, checker), log_exception);
    }
  }

  const config::Config& config;
  MailPolicy policy;
  ConnectionLimiter limiter;
  RateLimiter connection_rate;
  std::unique_ptr<tls::ServerTls> tls;
  std::unique_ptr<auth::GsaslAuthenticator> authenticator;
  asio::thread_pool auth_pool;
  BodyBudget body_budget;
  SessionContext context;
  std::vector<std::unique_ptr<Listener>> listeners;  // one per acceptor, same order
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<tcp::acceptor> acceptors;
  std::unique_ptr<AdminListener> admin;  // after contexts: destroyed before them
  std::vector<std::unique_ptr<dns::UnboundResolver>> resolvers;  // one per context, when checks are on
  std::vector<std::unique_ptr<auth_checks::Checker>> checkers;    // same order
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
};

Server::Server(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue, const ServerExtras& extras)
    : impl_(std::make_unique<Impl>(config, spool, queue, extras)) {}

Server::~Server() {
  stop();
  // A password check still running holds a session that the io_contexts'
  // destruction would free under it.
  impl_->auth_pool.join();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

void Server::run() {
  auto& first = *impl_->contexts.front();
  asio::signal_set signals(first, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {} received, stopping", signo);
    stop();
  });
  asio::signal_set hangup(first, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    impl_->reload();
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i) {
    auto& acceptor = impl_->acceptors[i];
    const Listener& listener = *impl_->listeners[i];
    spdlog::info("listening on {}:{} ({}{}{})", acceptor.local_endpoint().address().to_string(),
                 acceptor.local_endpoint().port(),
                 listener_kind_name(listener.kind),
                 listener.options.starttls ? ", STARTTLS" : listener.implicit_tls() ? ", implicit TLS" : "",
                 listener.proxy_protocol ? ", PROXY protocol" : "");
    asio::co_spawn(first, impl_->accept_loop(acceptor, listener), log_exception);
  }
  impl_->admin->start();
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    impl_->threads.emplace_back([ctx = impl_->contexts[i].get()] { ctx->run(); });
  }
  first.run();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void Server::stop() {
  for (auto& ctx : impl_->contexts) ctx->stop();
  impl_->auth_pool.stop();
}

}  // namespace petrel::server
