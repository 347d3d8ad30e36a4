// Blocking calls over Asio: each one starts an asynchronous operation and
// runs the private io_context for at most the timeout; an operation still
// pending then is cancelled, and its handler drained, before returning.
#include "cli/smtp_connection.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "cli/terminal.hpp"
#include "tls/openssl_support.hpp"
#include "tls/server_tls.hpp"

namespace petrel::cli {
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

std::string_view to_string(NetError error) {
  switch (error) {
    case NetError::none: return "none";
    case NetError::refused: return "refused";
    case NetError::timeout: return "timeout";
    case NetError::reset: return "reset";
    case NetError::closed: return "closed";
    case NetError::unreachable: return "unreachable";
    case NetError::tls: return "tls";
    case NetError::protocol: return "protocol";
    case NetError::other: return "other";
  }
  return "other";
}

std::string TlsDetails::describe() const {
  return version + " with cipher " + cipher + " (" + std::to_string(bits) + " bits)";
}

namespace {

constexpr Millis kDrain{1000};  // for a cancelled operation's handler to run
constexpr std::size_t kReadChunk = 16 * 1024;
// read_available() takes at most this much per call, so a server that
// floods cannot keep the shell in it (or grow `input`) without end; the
// rest is still readable on the next poll().
constexpr int kMaxChunksPerPoll = 16;

NetError classify(const boost::system::error_code& ec) {
  namespace err = asio::error;
  if (ec == err::connection_refused) return NetError::refused;
  if (ec == err::timed_out || ec == err::operation_aborted) return NetError::timeout;
  if (ec == err::connection_reset || ec == err::broken_pipe || ec == err::connection_aborted) return NetError::reset;
  if (ec == err::eof || ec == asio::ssl::error::stream_truncated) return NetError::closed;
  if (ec == err::host_unreachable || ec == err::network_unreachable) return NetError::unreachable;
  if (ec.category() == asio::error::get_ssl_category()) return NetError::tls;
  return NetError::other;
}

using tls::detail::BioPtr;
using tls::detail::GeneralNamesPtr;
using tls::detail::X509Ptr;

// "CN=mx.example.org,O=Example" (RFC 2253 order and escaping).
std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::int64_t unix_time(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<std::string> alt_names(X509* cert) {
  std::vector<std::string> names;
  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!sans) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans.get(), i);
    if (n->type == GEN_DNS) {
      const auto* s = n->d.dNSName;
      names.push_back(printable(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                            static_cast<std::size_t>(ASN1_STRING_length(s)))));
    } else if (n->type == GEN_IPADD) {
      const auto* s = n->d.iPAddress;
      const unsigned char* b = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4) {
        names.push_back(asio::ip::make_address_v4(asio::ip::address_v4::bytes_type{b[0], b[1], b[2], b[3]}).to_string());
      } else if (ASN1_STRING_length(s) == 16) {
        asio::ip::address_v6::bytes_type bytes{};
        std::copy(b, b + 16, bytes.begin());
        names.push_back(asio::ip::make_address_v6(bytes).to_string());
      }
    }
  }
  return names;
}

// The peer certificate as the report shows it, and whether it verified
// and is valid for `name` (a host name, or an IP literal).
// OpenSSL's DANE (RFC 7671): `name` is the TLSA base domain; DANE-EE
// checks no names (RFC 7672 §3.1.1). False when no record could be used.
bool enable_dane(SSL* ssl, const std::string& name, const std::vector<dns::TlsaRecord>& records) {
  if (SSL_dane_enable(ssl, name.c_str()) <= 0) return false;
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  int added = 0;
  for (const auto& r : records) {
    if (SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size()) > 0) ++added;
  }
  ERR_clear_error();
  return added > 0;
}

TlsDetails inspect_peer_certificate(SSL* ssl, const std::string& name) {
  TlsDetails details;
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) {
    details.verify_error = "no certificate";
    return details;
  }
  details.subject = name_text(X509_get_subject_name(cert.get()));
  details.issuer = name_text(X509_get_issuer_name(cert.get()));
  details.names = alt_names(cert.get());
  details.not_before = unix_time(X509_get0_notBefore(cert.get()));
  details.not_after = unix_time(X509_get0_notAfter(cert.get()));
  const long verify = SSL_get_verify_result(ssl);
  details.chain_verified = verify == X509_V_OK;
  if (!details.chain_verified) details.verify_error = X509_verify_cert_error_string(verify);
  boost::system::error_code not_ip;
  asio::ip::make_address(name, not_ip);
  details.name_matches = not_ip ? X509_check_host(cert.get(), name.data(), name.size(), 0, nullptr) == 1
                                : X509_check_ip_asc(cert.get(), name.c_str(), 0) == 1;
  return details;
}

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

}  // namespace

struct SmtpConnection::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  std::unique_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_stream;
  ConnectOptions options;
  std::string host;

  std::string input;        // received, not yet given to the reader
  std::string reply_bytes;  // what the reader took of the reply it is assembling
  smtp::ReplyReader reader;
  std::vector<std::string> raw_lines;
  std::optional<TlsDetails> tls;
  Result last;
  bool gone = false;  // the peer closed or reset: nothing more will come
  // An operation outlived its cancel: it may still hold a caller's buffer,
  // so the io_context must never run again (the destructor discards it).
  bool wedged = false;
  std::array<char, kReadChunk> read_buffer{};  // a member: a cancelled read may still write to it

  // Runs `start(handler)` for at most `timeout`; the error it ended with,
  // or timed_out when the clock ran out first. The handler's state is
  // shared, so that one that never ran after a cancel touches no dead frame.
  template <class Start>
  boost::system::error_code run(Start start, Millis timeout, std::size_t* transferred = nullptr) {
    struct State {
      bool done = false;
      boost::system::error_code ec;
      std::size_t n = 0;
    };
    if (wedged) return asio::error::bad_descriptor;
    auto state = std::make_shared<State>();
    start([state](const boost::system::error_code& ec, std::size_t n = 0) {
      state->done = true;
      state->ec = ec;
      state->n = n;
    });
    io.restart();
    if (timeout > Millis(0)) {
      io.run_for(timeout);
    } else {
      io.poll();
    }
    if (!state->done) {
      boost::system::error_code ignored;
      socket.cancel(ignored);
      io.restart();
      io.run_for(kDrain);
      if (!state->done) gone = wedged = true;
    }
    if (transferred != nullptr) *transferred = state->n;
    return state->done && state->ec != asio::error::operation_aborted ? state->ec : asio::error::timed_out;
  }

  void fail(const boost::system::error_code& ec, const std::string& what, Clock::time_point start) {
    last.error = classify(ec);
    if (ec == asio::error::operation_aborted) last.error = NetError::timeout;
    last.detail = what + ": " + (ec == asio::error::timed_out ? std::string("timed out") : ec.message());
    if (ec.category() == asio::error::get_ssl_category()) {
      last.detail = what + ": " + ec.message();
    }
    last.elapsed = since(start);
    if (last.error == NetError::closed || last.error == NetError::reset) gone = true;
  }

  void succeed(Clock::time_point start) {
    last = Result{};
    last.elapsed = since(start);
  }

  // Gives buffered input to the reader until it holds a whole reply.
  void feed() {
    while (!input.empty() && !reader.ready() && reader.error() == smtp::ReplyReader::Error::none) {
      const std::size_t used = reader.feed(input);
      if (used == 0) break;
      reply_bytes.append(input, 0, used);
      input.erase(0, used);
    }
  }

  std::optional<smtp::ServerReply> take_reply() {
    raw_lines.clear();
    std::size_t start = 0;
    while (start < reply_bytes.size()) {
      std::size_t end = reply_bytes.find('\n', start);
      if (end == std::string::npos) end = reply_bytes.size();
      std::string line = reply_bytes.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      raw_lines.push_back(printable(std::move(line)));
      start = end + 1;
    }
    reply_bytes.clear();
    return reader.take();
  }

  template <class Handler>
  void async_read(asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_stream) {
      tls_stream->async_read_some(buffer, std::forward<Handler>(handler));
    } else {
      socket.async_read_some(buffer, std::forward<Handler>(handler));
    }
  }

  // One read of whatever arrives within `timeout`.
  bool read_some(Millis timeout) {
    const auto start = Clock::now();
    std::size_t n = 0;
    const auto ec = run([&](auto handler) { async_read(asio::buffer(read_buffer), handler); }, timeout, &n);
    input.append(read_buffer.data(), n);
    if (ec && n == 0) {
      fail(ec, "read", start);
      return false;
    }
    succeed(start);
    return true;
  }

  boost::system::error_code connect_one(const tcp::endpoint& endpoint, Millis timeout) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return run([&](auto handler) { socket.async_connect(endpoint, handler); }, timeout);
  }

  boost::system::error_code handshake(Millis timeout);
};

boost::system::error_code SmtpConnection::Impl::handshake(Millis timeout) {
  tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = tls_context->native_handle();
  if (options.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
  } else if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    ERR_clear_error();  // then nothing verifies, which the report says
  }
  // The chain is checked and the result kept (SSL_get_verify_result), but a
  // failure does not stop the handshake: probe reports it, shell carries on.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  if (!options.tlsa.empty()) SSL_CTX_dane_enable(ctx);
  tls_stream = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *tls_context);
  const std::string name = options.tls_name.empty() ? host : options.tls_name;
  const bool dane = !options.tlsa.empty() && enable_dane(tls_stream->native_handle(), name, options.tlsa);
  boost::system::error_code not_ip;
  asio::ip::make_address(name, not_ip);
  if (!name.empty() && not_ip) SSL_set_tlsext_host_name(tls_stream->native_handle(), name.c_str());
  auto ec = run([&](auto handler) { tls_stream->async_handshake(asio::ssl::stream_base::client, handler); }, timeout);
  if (ec) {
    tls_stream.reset();
    return ec;
  }
  SSL* ssl = tls_stream->native_handle();
  const tls::TlsInfo info = tls::describe(ssl);
  TlsDetails details = inspect_peer_certificate(ssl, name);
  details.version = info.protocol;
  details.cipher = info.cipher;
  details.bits = info.bits;
  if (dane) {
    details.dane_checked = true;
    std::uint8_t usage = 0, selector = 0, mtype = 0;
    details.dane_matched = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, nullptr, nullptr) >= 0;
    if (details.dane_matched) {
      details.dane_match = "TLSA " + std::to_string(usage) + " " + std::to_string(selector) + " " + std::to_string(mtype);
    }
  }
  tls = std::move(details);
  return {};
}

SmtpConnection::SmtpConnection() : impl_(std::make_unique<Impl>()) {}

SmtpConnection::~SmtpConnection() {
  // No TLS close_notify: the server has answered QUIT or is gone, and a
  // shutdown that waits for the peer would only add a timeout.
  boost::system::error_code ignored;
  impl_->socket.close(ignored);
}

std::unique_ptr<SmtpConnection> SmtpConnection::open(const std::string& host, std::uint16_t port,
                                                     const ConnectOptions& options, Result& result) {
  std::unique_ptr<SmtpConnection> c(new SmtpConnection());
  Impl& d = *c->impl_;
  d.options = options;
  d.host = host;
  const auto start = Clock::now();
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, port);
  } else {
    tcp::resolver resolver(d.io);
    const auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec) {
      result = Result{NetError::other, "cannot resolve " + host + ": " + ec.message(), since(start)};
      return nullptr;
    }
    for (const auto& e : found) {
      if (e.endpoint().address().is_v4()) endpoints.push_back(e.endpoint());  // A first
    }
    for (const auto& e : found) {
      if (e.endpoint().address().is_v6()) endpoints.push_back(e.endpoint());
    }
  }
  for (const auto& endpoint : endpoints) {
    ec = d.connect_one(endpoint, options.timeout);
    if (!ec) break;
    if (ec == asio::error::connection_refused) break;  // the host answered: another address would too
  }
  if (ec) {
    d.fail(ec, "connect", start);
    result = d.last;
    return nullptr;
  }
  boost::system::error_code ignored;
  d.socket.set_option(tcp::no_delay(true), ignored);
  if (options.implicit_tls) {
    ec = d.handshake(options.timeout);
    if (ec) {
      d.fail(ec, "TLS handshake", start);
      result = d.last;
      return nullptr;
    }
  }
  d.succeed(start);
  result = d.last;
  return c;
}

std::optional<smtp::ServerReply> SmtpConnection::read_reply(Millis timeout) {
  Impl& d = *impl_;
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  for (;;) {
    d.feed();
    if (d.reader.ready()) {
      d.succeed(start);
      return d.take_reply();
    }
    if (d.reader.error() != smtp::ReplyReader::Error::none) {
      d.last = Result{NetError::protocol, std::string(smtp::describe(d.reader.error())), since(start)};
      return std::nullopt;
    }
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left <= Millis(0)) {
      d.last = Result{NetError::timeout, "no reply within " + std::to_string(timeout.count()) + " ms", since(start)};
      return std::nullopt;
    }
    if (d.gone || !d.read_some(left)) {
      if (d.gone && d.last.ok()) d.last = Result{NetError::closed, "connection closed", since(start)};
      if (d.last.error == NetError::timeout) {
        d.last.detail = "no reply within " + std::to_string(timeout.count()) + " ms";
      }
      return std::nullopt;
    }
  }
}

std::optional<std::string> SmtpConnection::read_bytes(Millis timeout) {
  Impl& d = *impl_;
  // What the reply reader holds of an unfinished "reply" is the start of a
  // command now: given back with the rest, and the reader starts afresh.
  std::string bytes = std::exchange(d.reply_bytes, {}) + std::exchange(d.input, {});
  d.reader = smtp::ReplyReader();
  if (!bytes.empty()) return bytes;
  if (d.gone) {
    d.last = Result{NetError::closed, "connection closed", {}};
    return std::nullopt;
  }
  if (!d.read_some(timeout)) return std::nullopt;
  return std::exchange(d.input, {});
}

const std::vector<std::string>& SmtpConnection::last_raw_lines() const { return impl_->raw_lines; }

bool SmtpConnection::write(std::string_view bytes, Millis timeout) {
  Impl& d = *impl_;
  const auto start = Clock::now();
  const auto buffer = asio::buffer(bytes.data(), bytes.size());
  const auto ec = d.run(
      [&](auto handler) {
        if (d.tls_stream) {
          asio::async_write(*d.tls_stream, buffer, handler);
        } else {
          asio::async_write(d.socket, buffer, handler);
        }
      },
      timeout);
  if (ec) {
    d.fail(ec, "write", start);
    return false;
  }
  d.succeed(start);
  return true;
}

std::optional<TlsDetails> SmtpConnection::start_tls(Millis timeout) {
  Impl& d = *impl_;
  // RFC 3207 §4.2: anything received before the handshake came in the clear
  // and must not be taken as part of the encrypted dialogue.
  d.input.clear();
  d.reply_bytes.clear();
  d.reader = smtp::ReplyReader();
  const auto start = Clock::now();
  const auto ec = d.handshake(timeout);
  if (ec) {
    d.fail(ec, "TLS handshake", start);
    return std::nullopt;
  }
  d.succeed(start);
  return d.tls;
}

const std::optional<TlsDetails>& SmtpConnection::tls() const { return impl_->tls; }

int SmtpConnection::native_handle() const { return impl_->socket.native_handle(); }

bool SmtpConnection::read_available() {
  Impl& d = *impl_;
  if (d.gone) return false;
  const auto start = Clock::now();
  // Keeps reading while data is there; a zero timeout makes run() poll:
  // it runs only what is ready now, TLS records included, and never waits.
  for (int chunk = 0; chunk < kMaxChunksPerPoll; ++chunk) {
    std::size_t n = 0;
    const auto ec = d.run([&](auto handler) { d.async_read(asio::buffer(d.read_buffer), handler); }, Millis(0), &n);
    d.input.append(d.read_buffer.data(), n);
    if (ec == asio::error::timed_out) break;  // nothing more for now
    if (ec) {
      d.fail(ec, "read", start);
      d.gone = true;
      break;
    }
  }
  d.feed();
  return !d.gone;
}

bool SmtpConnection::reply_ready() const {
  impl_->feed();
  return impl_->reader.ready();
}

const SmtpConnection::Result& SmtpConnection::last_result() const { return impl_->last; }

std::string SmtpConnection::peer_address() const {
  boost::system::error_code ec;
  const auto endpoint = impl_->socket.remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

std::uint16_t SmtpConnection::peer_port() const {
  boost::system::error_code ec;
  const auto endpoint = impl_->socket.remote_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

}  // namespace petrel::cli
