// Server: binds the listeners, runs one io_context per I/O thread, and
// hands each accepted connection to the next thread in turn.
#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <atomic>
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

#include "server/connection.hpp"
#include "server/server.hpp"

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

}  // namespace

struct Server::Impl {
  Impl(const config::Config& config, spool::Spool& spool, delivery::QueueManager& queue)
      : config(config),
        policy(config),
        limiter(config.max_sessions, config.max_sessions_per_ip),
        context{config, policy, spool, queue, limiter} {
    // One core is left to the spool writer and the delivery thread, which
    // do the syncing; measured faster than a thread per core on 2 cores.
    unsigned threads = config.threads ? config.threads : std::max(2u, std::thread::hardware_concurrency()) - 1;
    for (unsigned i = 0; i < threads; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(contexts.back()->get_executor());
    }
    for (const auto& text : config.listen) bind(text);
  }

  void bind(const std::string& text) {
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
  }

  asio::io_context& next_context() {
    return *contexts[next.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
      asio::io_context& target = next_context();
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
      asio::co_spawn(target, run_connection(std::move(socket), context), log_exception);
    }
  }

  const config::Config& config;
  LocalRecipientPolicy policy;
  ConnectionLimiter limiter;
  SessionContext context;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<tcp::acceptor> acceptors;
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
};

Server::Server(const config::Config& config, spool::Spool& spool, delivery::QueueManager& queue)
    : impl_(std::make_unique<Impl>(config, spool, queue)) {}

Server::~Server() {
  stop();
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
  for (auto& acceptor : impl_->acceptors) {
    spdlog::info("listening on {}:{}", acceptor.local_endpoint().address().to_string(), acceptor.local_endpoint().port());
    asio::co_spawn(first, impl_->accept_loop(acceptor), log_exception);
  }
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    impl_->threads.emplace_back([ctx = impl_->contexts[i].get()] { ctx->run(); });
  }
  first.run();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

void Server::stop() {
  for (auto& ctx : impl_->contexts) ctx->stop();
}

}  // namespace petrel::server
