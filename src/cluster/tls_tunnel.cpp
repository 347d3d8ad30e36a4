#include "cluster/tls_tunnel.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <sys/stat.h>

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::cluster {
namespace asio = boost::asio;
using asio::ip::tcp;
using Local = asio::local::stream_protocol;
using Tls = asio::ssl::stream<tcp::socket>;

namespace {

constexpr std::chrono::seconds kHandshakeTimeout{10};

asio::ssl::context make_context(const TlsTunnelOptions& o) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  if (o.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(o.ca_file, ec);
  }
  if (ec) throw std::runtime_error("redis TLS: cannot load the CAs " + o.ca_file + ": " + ec.message());
  if (!o.cert_file.empty()) {
    ctx.use_certificate_chain_file(o.cert_file, ec);
    if (!ec) ctx.use_private_key_file(o.key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("redis TLS: cannot load " + o.cert_file + " / " + o.key_file + ": " + ec.message());
  }
  return ctx;
}

// Copies one direction until either side ends; then closes both.
template <class From, class To>
asio::awaitable<void> pump(From& from, To& to, std::shared_ptr<bool> done) {
  std::array<char, 16 * 1024> buffer;
  boost::system::error_code ec;
  while (!*done) {
    const std::size_t n = co_await from.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || *done) break;
    co_await asio::async_write(to, asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  *done = true;
}

}  // namespace

struct TlsTunnel::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, TlsTunnelOptions o)
      : io(io), options(std::move(o)), context(make_context(options)), acceptor(io) {}

  asio::io_context& io;
  TlsTunnelOptions options;
  asio::ssl::context context;
  Local::acceptor acceptor;
  std::string dir;
  std::string path;
  bool closing = false;

  void open() {
    std::string pattern = (std::filesystem::temp_directory_path() / "petrel-redis-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("redis TLS: cannot make a private directory");
    dir = pattern;  // mkdtemp makes it 0700: only this user reaches the socket
    path = dir + "/redis.sock";
    acceptor.open(Local());
    acceptor.bind(Local::endpoint(path));
    acceptor.listen();
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!closing) {
      boost::system::error_code ec;
      Local::socket plain = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (closing || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(io, carry(std::move(plain)), asio::detached);
    }
  }

  // One hiredis connection: TCP and TLS to Redis, then bytes both ways.
  asio::awaitable<void> carry(Local::socket plain) {
    auto self = shared_from_this();
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    const auto endpoints = co_await resolver.async_resolve(options.host, std::to_string(options.port),
                                                           asio::redirect_error(asio::use_awaitable, ec));
    Tls tls(io, context);
    if (!ec) co_await asio::async_connect(tls.next_layer(), endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      // SNI, and the name (or address) the certificate must carry.
      SSL_set_tlsext_host_name(tls.native_handle(), options.host.c_str());
      tls.set_verify_callback(asio::ssl::host_name_verification(options.host));
      asio::steady_timer timer(io, kHandshakeTimeout);
      timer.async_wait([&tls](const boost::system::error_code& e) {
        if (!e) tls.next_layer().close();
      });
      co_await tls.async_handshake(Tls::client, asio::redirect_error(asio::use_awaitable, ec));
      timer.cancel();
    }
    if (ec) {
      spdlog::warn("redis TLS: cannot reach {}:{}: {}", options.host, options.port, ec.message());
      co_return;  // hiredis sees its connection close and tries again later
    }
    auto done = std::make_shared<bool>(false);
    auto up = std::make_shared<bool>(false);
    asio::co_spawn(io, pump(plain, tls, done), [up](std::exception_ptr) { *up = true; });
    co_await pump(tls, plain, done);
    plain.close(ec);
    tls.next_layer().close(ec);
    // The other direction ends on the closed sockets; the frames it uses
    // (plain, tls) live here until it has.
    asio::steady_timer wait(io);
    while (!*up) {
      wait.expires_after(std::chrono::milliseconds(5));
      co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  void close() {
    closing = true;
    boost::system::error_code ec;
    acceptor.close(ec);
    std::error_code fs;
    if (!dir.empty()) std::filesystem::remove_all(dir, fs);
  }
};

TlsTunnel::TlsTunnel(asio::io_context& io, TlsTunnelOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  impl_->open();
  asio::co_spawn(io, impl_->accept_loop(), asio::detached);
}

TlsTunnel::~TlsTunnel() { impl_->close(); }

const std::string& TlsTunnel::socket_path() const { return impl_->path; }

}  // namespace petrel::cluster

#pragma GCC diagnostic pop
