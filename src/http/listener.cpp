// Each connection is one coroutine: read a request (bounded), call the
// handler, write the response, and again while the client keeps the
// connection alive. Errors a client can act on get a problem+json reply
// before the connection closes: 400 malformed, 408 too slow, 413 body too
// large, 431 headers too large, 503 too many connections.
#include "http/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <stdexcept>
#include <thread>

#include "tls/server_tls.hpp"

namespace petrel::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

tcp::endpoint parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen address '" + text + "' has no port");
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  int port = -1;
  const char* digits = text.c_str() + colon + 1;
  const auto parsed = std::from_chars(digits, text.c_str() + text.size(), port);
  if (ec || parsed.ec != std::errc() || *parsed.ptr != '\0' || port < 0 || port > 65535) {
    throw std::runtime_error("bad listen address '" + text + "'");
  }
  return {address, static_cast<unsigned short>(port)};
}

std::string endpoint_text(const tcp::endpoint& e) {
  const std::string ip = e.address().to_string();
  return (e.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(e.port());
}

std::string lower_media_type(std::string_view v) {
  std::string out(v.substr(0, v.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view view(boost::beast::string_view s) { return {s.data(), s.size()}; }

Request to_request(bhttp::request<bhttp::string_body>& r, const std::string& peer, bool tls) {
  Request out;
  out.method = std::string(view(r.method_string()));
  const std::string_view target = view(r.target());
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  out.authorization = std::string(view(r[bhttp::field::authorization]));
  out.content_type = lower_media_type(view(r[bhttp::field::content_type]));
  out.idempotency_key = std::string(view(r["Idempotency-Key"]));
  out.cookie = std::string(view(r[bhttp::field::cookie]));
  out.origin = std::string(view(r[bhttp::field::origin]));
  out.referer = std::string(view(r[bhttp::field::referer]));
  out.host = std::string(view(r[bhttp::field::host]));
  out.csrf_token = std::string(view(r["X-CSRF-Token"]));
  out.body = std::move(r.body());
  out.peer = peer;
  out.tls = tls;
  return out;
}

// What a read error means to the client, if it deserves a reply at all.
std::optional<Problem> problem_for(const boost::system::error_code& ec, bool timed_out, std::uint64_t max_body) {
  if (timed_out) return Problem{408, "Request Timeout", "the request did not arrive in time"};
  if (ec == bhttp::error::body_limit) {
    return Problem{413, "Content Too Large", "the body is over [http] max_request_size (" + std::to_string(max_body) + " octets)"};
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return Problem{431, "Request Header Fields Too Large", "the request line and headers are over 16 KiB"};
  }
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::operation_aborted) {
    return std::nullopt;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) return Problem{400, "Bad Request", "malformed HTTP: " + ec.message()};
  return std::nullopt;
}

}  // namespace

// A connection's stream and its deadline, shared with the deadline's
// handler. Everything of one connection runs on its strand, so the
// handler and the coroutine never touch the stream at the same time.
// On expiry the pending read or write is cancelled, not the socket closed
// (as tcp_stream's own timeouts would), so a 408 can still be written.
template <typename Stream>
struct Connection {
  template <typename... Args>
  explicit Connection(const asio::any_io_executor& executor, Args&&... args)
      : stream(std::forward<Args>(args)...), timer(executor) {}
  Stream stream;
  asio::steady_timer timer;
  bool timed_out = false;
};

template <typename Stream>
void arm(const std::shared_ptr<Connection<Stream>>& c, std::chrono::milliseconds after) {
  c->timed_out = false;
  c->timer.expires_after(after);
  c->timer.async_wait([c](boost::system::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    c->timed_out = true;
    beast::get_lowest_layer(c->stream).cancel();
  });
}

struct Listener::Impl {
  ListenerOptions options;
  Handler handler;
  asio::io_context io;
  std::vector<tcp::acceptor> acceptors;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> connections{0};

  Impl(ListenerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)), io(static_cast<int>(std::max(1u, options.threads))) {}

  template <typename Body>
  void fill(bhttp::response<Body>& out, const Response& response, bool keep_alive) {
    out.set(bhttp::field::server, options.server_name);
    out.set(bhttp::field::content_type, response.content_type);
    out.set(bhttp::field::cache_control, "no-store");
    for (const auto& h : response.headers) out.set(h.first, h.second);
    out.keep_alive(keep_alive);
    out.prepare_payload();
  }

  template <typename Stream>
  asio::awaitable<void> write(const std::shared_ptr<Connection<Stream>>& c, Response response, bool keep_alive) {
    boost::system::error_code ec;
    if (!response.file.empty()) {
      bhttp::response<bhttp::file_body> out{static_cast<bhttp::status>(response.status), 11};
      out.body().open(response.file.c_str(), beast::file_mode::scan, ec);
      if (!ec) {
        fill(out, response, keep_alive);
        arm(c, options.request_timeout);
        co_await bhttp::async_write(c->stream, out, asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      response = to_response(Problem{404, "Not Found", "the file is gone"});  // removed since the handler saw it
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(response.status), 11};
    out.body() = std::move(response.body);
    fill(out, response, keep_alive);
    arm(c, options.request_timeout);  // a client that does not read is not waited for
    co_await bhttp::async_write(c->stream, out, asio::redirect_error(asio::use_awaitable, ec));
  }

  template <typename Stream>
  asio::awaitable<void> serve(std::shared_ptr<Connection<Stream>> c, std::string peer, bool tls) {
    beast::flat_buffer buffer;  // the parser bounds what it holds
    for (bool first = true;; first = false) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(options.max_body);
      parser.header_limit(options.max_header);
      // Idle between requests; once one starts, the whole of it within
      // request_timeout (a slow drip is cut off).
      arm(c, first ? options.request_timeout : options.idle_timeout);
      boost::system::error_code ec;
      co_await bhttp::async_read_some(c->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !parser.is_done()) {
        if (!first) arm(c, options.request_timeout);
        co_await bhttp::async_read(c->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) {
        if (c->timed_out && !parser.got_some()) co_return;  // an idle keep-alive connection
        if (auto problem = problem_for(ec, c->timed_out, options.max_body)) {
          spdlog::info("http client={} status={} error=\"{}\"", peer, problem->status, problem->detail);
          co_await write(c, to_response(*problem), false);
        }
        co_return;
      }
      c->timer.cancel();  // the handler may take its time: the spool decides
      auto message = parser.release();
      const bool keep_alive = message.keep_alive();
      Request request = to_request(message, peer, tls);
      Response response;
      try {
        response = co_await handler(request);
      } catch (const std::exception& e) {
        spdlog::error("http client={} {} {}: internal error: {}", peer, request.method, request.path, e.what());
        response = to_response(Problem{500, "Internal Server Error", "see petreld's log"});
      }
      co_await write(c, std::move(response), keep_alive);
      if (!keep_alive) co_return;
    }
  }

  asio::awaitable<void> plain(tcp::socket socket, std::string peer) {
    auto executor = socket.get_executor();
    auto c = std::make_shared<Connection<beast::tcp_stream>>(executor, std::move(socket));
    co_await serve(c, peer, false);
    boost::system::error_code ec;
    c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    c->timer.cancel();
  }

  asio::awaitable<void> secure(tcp::socket socket, std::string peer) {
    auto executor = socket.get_executor();
    const auto context = options.tls->context();
    auto c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(executor, std::move(socket), *context);
    arm(c, options.request_timeout);
    boost::system::error_code ec;
    co_await c->stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await serve(c, peer, true);
      arm(c, std::chrono::seconds(2));
      co_await c->stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }
    c->timer.cancel();
  }

  asio::awaitable<void> connection(tcp::socket socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) co_return;
    const std::string peer = endpoint_text(remote);
    struct Count {
      std::atomic<std::size_t>& n;
      ~Count() { --n; }
    } count{connections};
    if (++connections > options.max_connections) {
      auto executor = socket.get_executor();
      auto c = std::make_shared<Connection<beast::tcp_stream>>(executor, std::move(socket));
      co_await write(c, to_response(Problem{503, "Service Unavailable", "too many connections", "", 0, 0, 1}), false);
      c->timer.cancel();
      co_return;
    }
    if (options.tls) {
      co_await secure(std::move(socket), peer);
    } else {
      co_await plain(std::move(socket), peer);
    }
  }

  asio::awaitable<void> accept(tcp::acceptor& acceptor) {
    for (;;) {
      // Each connection on a strand of its own: its coroutine and its
      // deadline never run at once, on any of the threads.
      auto strand = asio::make_strand(io);
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;  // EMFILE and the like: the next accept may work
      asio::co_spawn(strand, connection(std::move(socket)), asio::detached);
    }
  }
};

Listener::Listener(ListenerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {
  for (const std::string& text : impl_->options.listen) {
    const tcp::endpoint endpoint = parse_endpoint(text);
    tcp::acceptor acceptor(impl_->io);
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen for HTTP on " + text + ": " + ec.message());
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (auto& acceptor : impl_->acceptors) asio::co_spawn(impl_->io, impl_->accept(acceptor), asio::detached);
  for (unsigned i = 0; i < std::max(1u, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

Listener::~Listener() { stop(); }

void Listener::stop() {
  impl_->io.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

std::vector<std::string> Listener::endpoints() const {
  std::vector<std::string> out;
  for (const auto& a : impl_->acceptors) {
    boost::system::error_code ec;
    out.push_back(endpoint_text(a.local_endpoint(ec)));
  }
  return out;
}

}  // namespace petrel::http
