#include "server/admin_listener.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <random>
#include <stdexcept>

#include "admin/queue_commands.hpp"

namespace petrel::server {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxRequest = 64 * 1024;
constexpr std::chrono::seconds kRequestTimeout{10};

std::string new_token() {
  std::random_device random;
  std::string token;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) token += kHex[random() % 16];
  return token;
}

// One request, one reply, then the connection closes.
template <typename Socket>
asio::awaitable<void> serve_one(Socket socket, std::string token, queue::QueueManager& queue, spool::Spool& spool,
                                asio::thread_pool& work) {
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(kRequestTimeout);
  deadline.async_wait([&socket](const boost::system::error_code& ec) {
    if (!ec) socket.close();
  });
  asio::streambuf buffer(kMaxRequest);
  boost::system::error_code ec;
  const std::size_t n = co_await asio::async_read_until(socket, buffer, '\n', asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + static_cast<long>(n));
  std::string reply;
  if (!token.empty()) {
    const auto request = nlohmann::json::parse(line, nullptr, false);
    if (!request.is_object() || request.value("token", "") != token) {
      reply = R"({"ok":false,"error":"a request on the TCP admin port needs the token from the token file"})";
    }
  }
  if (reply.empty()) {
    // On the admin's own thread: a listing that walks a large spool, or a
    // command that waits for the delivery thread, never delays a session.
    co_await asio::post(work.get_executor(), asio::use_awaitable);
    reply = admin::handle_request(line, queue, spool);
    co_await asio::post(socket.get_executor(), asio::use_awaitable);
  }
  reply += '\n';
  co_await asio::async_write(socket, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
  deadline.cancel();
}

}  // namespace

struct AdminListener::Impl {
  Impl(asio::io_context& io, queue::QueueManager& q, spool::Spool& s) : io(io), queue(q), spool(s) {}

  template <typename Acceptor>
  asio::awaitable<void> accept_loop(Acceptor& acceptor) {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      asio::co_spawn(io, serve_one(std::move(socket), token, queue, spool, work), asio::detached);
    }
  }

  asio::io_context& io;
  queue::QueueManager& queue;
  spool::Spool& spool;
  std::string token;  // empty on a UNIX socket: its mode is the access control
  std::string unix_path;
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor;
  asio::thread_pool work{1};  // requests are handled here, one at a time
};

AdminListener::AdminListener(asio::io_context& io, const std::string& where, const std::string& token_file,
                             queue::QueueManager& queue, spool::Spool& spool)
    : impl_(std::make_unique<Impl>(io, queue, spool)) {
  if (where.rfind("unix:", 0) == 0) {
    impl_->unix_path = where.substr(5);
    ::unlink(impl_->unix_path.c_str());  // a stale socket from an earlier run
    const mode_t old_mask = ::umask(0177);  // created 0600: only petreld's user may connect
    try {
      impl_->unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(
          io, asio::local::stream_protocol::endpoint(impl_->unix_path));
    } catch (const std::exception& e) {
      ::umask(old_mask);
      throw std::runtime_error("cannot listen on admin socket " + impl_->unix_path + ": " + e.what());
    }
    ::umask(old_mask);
    return;
  }
  const auto colon = where.rfind(':');
  std::string host = where.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host),
                                         static_cast<unsigned short>(std::stoi(where.substr(colon + 1))));
  impl_->tcp_acceptor = std::make_unique<asio::ip::tcp::acceptor>(io, endpoint);
  impl_->token = new_token();
  const mode_t old_mask = ::umask(0177);
  std::ofstream(token_file, std::ios::trunc) << impl_->token << '\n';
  ::umask(old_mask);
}

AdminListener::~AdminListener() {
  boost::system::error_code ignored;
  if (impl_->unix_acceptor) impl_->unix_acceptor->close(ignored);
  if (impl_->tcp_acceptor) impl_->tcp_acceptor->close(ignored);
  if (!impl_->unix_path.empty()) ::unlink(impl_->unix_path.c_str());
}

void AdminListener::start() {
  Impl* impl = impl_.get();
  if (impl->unix_acceptor) {
    asio::co_spawn(impl->io, [impl]() { return impl->accept_loop(*impl->unix_acceptor); }, asio::detached);
  } else {
    asio::co_spawn(impl->io, [impl]() { return impl->accept_loop(*impl->tcp_acceptor); }, asio::detached);
  }
  spdlog::info("admin channel on {}", impl->unix_path.empty() ? "TCP (token in the spool's admin.token)"
                                                              : "unix:" + impl->unix_path);
}

}  // namespace petrel::server
