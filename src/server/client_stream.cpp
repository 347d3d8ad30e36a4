#include "server/client_stream.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace petrel::server {
namespace asio = boost::asio;
using asio::ip::tcp;

ClientStream::ClientStream(tcp::socket socket) : socket_(std::move(socket)), timer_(socket_.get_executor()) {}

void ClientStream::arm(std::chrono::milliseconds timeout) {
  const std::uint64_t generation = ++generation_;
  timed_out_ = false;
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
    if (ec || self->generation_ != generation) return;
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);  // also ends a TLS read, write or handshake on it
  });
}

void ClientStream::disarm() {
  ++generation_;
  timer_.cancel();
}

asio::awaitable<std::size_t> ClientStream::read_some(asio::mutable_buffer buffer, std::chrono::milliseconds timeout,
                                                     boost::system::error_code& ec) {
  arm(timeout);
  std::size_t n = 0;
  if (tls_) {
    n = co_await tls_->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    n = co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  disarm();
  co_return n;
}

asio::awaitable<std::size_t> ClientStream::peek_some(asio::mutable_buffer buffer, std::chrono::milliseconds timeout,
                                                     boost::system::error_code& ec) {
  arm(timeout);
  const std::size_t n = co_await socket_.async_receive(buffer, tcp::socket::message_peek,
                                                       asio::redirect_error(asio::use_awaitable, ec));
  disarm();
  co_return n;
}

asio::awaitable<void> ClientStream::read_exactly(asio::mutable_buffer buffer, std::chrono::milliseconds timeout,
                                                 boost::system::error_code& ec) {
  arm(timeout);
  co_await asio::async_read(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
}

asio::awaitable<void> ClientStream::write(asio::const_buffer buffer, std::chrono::milliseconds timeout,
                                          boost::system::error_code& ec) {
  arm(timeout);
  if (tls_) {
    co_await asio::async_write(*tls_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(socket_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  disarm();
}

asio::awaitable<void> ClientStream::handshake(std::shared_ptr<asio::ssl::context> context,
                                              std::chrono::milliseconds timeout, boost::system::error_code& ec) {
  tls_context_ = std::move(context);
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_context_);
  arm(timeout);
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  disarm();
}

asio::awaitable<void> ClientStream::shutdown_tls(std::chrono::milliseconds timeout) {
  if (!tls_) co_return;
  boost::system::error_code ignored;  // the client may well be gone already
  arm(timeout);
  co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
  disarm();
}

asio::awaitable<void> ClientStream::pause(std::chrono::milliseconds delay) {
  asio::steady_timer wait(socket_.get_executor());
  wait.expires_after(delay);
  boost::system::error_code ignored;
  co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void ClientStream::close() {
  disarm();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

const ssl_st* ClientStream::tls_session() const { return tls_ ? tls_->native_handle() : nullptr; }

}  // namespace petrel::server
