// A client's byte stream: the TCP socket, and after STARTTLS (or from the
// start on an implicit-TLS port) the TLS session over it, with a timer that
// bounds every read, write and handshake. Internal to src/server/.
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace petrel::server {

// Shared with the timer's handler, which may run after the coroutine has
// moved on; the generation tells a stale expiry from a live one.
class ClientStream : public std::enable_shared_from_this<ClientStream> {
 public:
  explicit ClientStream(boost::asio::ip::tcp::socket socket);

  // On error ec is set; timed_out() tells a timeout from other errors.
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer, std::chrono::milliseconds timeout,
                                                boost::system::error_code& ec);
  // In the clear only, before anything else is read: what has arrived,
  // left on the socket (MSG_PEEK), and then exactly `buffer`'s size taken
  // off it. With them a PROXY header is taken and not one octet more, so
  // a TLS ClientHello sent right behind it is still there for OpenSSL.
  boost::asio::awaitable<std::size_t> peek_some(boost::asio::mutable_buffer buffer, std::chrono::milliseconds timeout,
                                                boost::system::error_code& ec);
  boost::asio::awaitable<void> read_exactly(boost::asio::mutable_buffer buffer, std::chrono::milliseconds timeout,
                                            boost::system::error_code& ec);
  boost::asio::awaitable<void> write(boost::asio::const_buffer buffer, std::chrono::milliseconds timeout,
                                     boost::system::error_code& ec);
  // The server side of a TLS handshake. The context is kept for as long as
  // the TLS session lives.
  boost::asio::awaitable<void> handshake(std::shared_ptr<boost::asio::ssl::context> context,
                                         std::chrono::milliseconds timeout, boost::system::error_code& ec);
  // Ends a TLS session with close_notify (OpenSSL keeps a session for
  // resumption only when it was shut down cleanly). No-op in the clear.
  boost::asio::awaitable<void> shutdown_tls(std::chrono::milliseconds timeout);
  // Holds the caller for `delay` without touching the socket.
  boost::asio::awaitable<void> pause(std::chrono::milliseconds delay);

  // Closes the socket at once, without a word (no TLS close_notify).
  void close();

  bool timed_out() const { return timed_out_; }
  bool encrypted() const { return tls_ != nullptr; }
  const ssl_st* tls_session() const;

 private:
  void arm(std::chrono::milliseconds timeout);
  void disarm();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;
  bool timed_out_ = false;
  // Made only when TLS starts: an ssl::stream costs tens of KB, and most
  // idle sessions never need one.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
};

}  // namespace petrel::server
