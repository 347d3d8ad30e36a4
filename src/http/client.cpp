#include "http/client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <openssl/ssl.h>

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace petrel::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kMaxReplyBytes = 64 << 20;  // a reply for 10,000 recipients is about 1 MB

std::string_view text(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_ip(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// "host", "host:port", "[v6]", "[v6]:port" into url.host and url.port.
bool split_authority(std::string_view authority, Url& url) {
  std::string_view port;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    url.host = std::string(authority.substr(1, close - 1));
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(":")) return false;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return false;
  if (port.empty()) return true;
  unsigned value = 0;
  const auto result = std::from_chars(port.data(), port.data() + port.size(), value);
  if (result.ec != std::errc() || result.ptr != port.data() + port.size() || value == 0 || value > 65535) return false;
  url.port = static_cast<std::uint16_t>(value);
  return true;
}

std::string why(const std::string& step, const error_code& ec) {
  return step + ": " + (ec == beast::error::timeout ? std::string("timed out") : ec.message());
}

// A post that got no reply. (Built by a plain function: GCC 12 has
// trouble with braced temporaries in co_return.)
ClientReply no_reply(std::string why) {
  ClientReply reply;
  reply.error = std::move(why);
  return reply;
}

std::optional<unsigned> retry_after(std::string_view value) {
  unsigned seconds = 0;
  const auto result = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (result.ec != std::errc() || result.ptr != value.data() + value.size()) return std::nullopt;
  return seconds;
}

}  // namespace

std::optional<Url> parse_url(std::string_view text, std::string& error) {
  Url url;
  const std::size_t scheme_end = text.find("://");
  const std::string scheme = scheme_end == std::string_view::npos ? "" : lower(text.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    error = "'" + std::string(text) + "' is not an http:// or https:// URL";
    return std::nullopt;
  }
  url.tls = scheme == "https";
  url.port = url.tls ? 443 : 80;
  std::string_view rest = text.substr(scheme_end + 3);
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    error = "'" + std::string(text) + "': the URL may have a path but no user, query or fragment";
    return std::nullopt;
  }
  const std::size_t slash = rest.find('/');
  if (!split_authority(rest.substr(0, slash), url)) {
    error = "'" + std::string(text) + "': expected http[s]://HOST[:PORT][/PATH]";
    return std::nullopt;
  }
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (path.ends_with("/")) path.pop_back();
  url.target = path;
  return url;
}

struct Client::Impl {
  Impl(asio::io_context& io, Url url, ClientOptions options)
      : io(io), url(std::move(url)), options(std::move(options)), tls_context(asio::ssl::context::tls_client) {}

  asio::io_context& io;
  Url url;
  ClientOptions options;
  asio::ssl::context tls_context;
  std::string tls_error;  // the CA file could not be loaded
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool abandoned = false;
  bool tls_failed = false;  // the last connect() failed in TLS for good

  void set_up_tls() {
    error_code ec;
    if (options.insecure) {
      tls_context.set_verify_mode(asio::ssl::verify_none);
      return;
    }
    tls_context.set_verify_mode(asio::ssl::verify_peer);
    if (options.ca_file.empty()) {
      tls_context.set_default_verify_paths(ec);
    } else {
      tls_context.load_verify_file(options.ca_file, ec);
    }
    if (ec) tls_error = "CA certificates" + (options.ca_file.empty() ? "" : " in " + options.ca_file) + ": " + ec.message();
  }

  bool open() const { return plain || secure; }
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void reset() {
    if (open()) lowest().close();
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  asio::awaitable<std::string> connect() {
    tls_failed = !tls_error.empty();
    if (tls_failed) co_return tls_error;
    error_code ec;
    tcp::resolver resolver(io);
    const auto found = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                       asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return "cannot resolve " + url.host + ": " + ec.message();
    if (url.tls) {
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, tls_context);
    } else {
      plain = std::make_unique<beast::tcp_stream>(io);
    }
    lowest().expires_after(options.timeout);
    co_await lowest().async_connect(found, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return why("cannot connect to " + url.host + ":" + std::to_string(url.port), ec);
    if (!url.tls) co_return "";
    if (!is_ip(url.host)) SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str());
    if (!options.insecure) secure->set_verify_callback(asio::ssl::host_name_verification(url.host));
    lowest().expires_after(options.timeout);
    co_await secure->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    // An SSL error (a certificate that does not verify, no common
    // protocol) stays; a reset during the handshake may pass.
    tls_failed = ec && ec.category() == asio::error::get_ssl_category();
    if (ec) co_return why("TLS with " + url.host, ec) + (options.insecure ? "" : " (--insecure skips the certificate check)");
    co_return "";
  }

  template <class Stream>
  asio::awaitable<ClientReply> exchange(Stream& stream, const bhttp::request<bhttp::string_body>& request, bool& got_some,
                                      bool& keep_alive) {
    error_code ec;
    lowest().expires_after(options.timeout);
    co_await bhttp::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return no_reply(why("sending the request", ec));
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxReplyBytes);
    lowest().expires_after(options.timeout);
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    got_some = parser.got_some();
    if (ec) co_return no_reply(why("reading the reply", ec));
    const auto& response = parser.get();
    ClientReply reply;
    reply.status = response.result_int();
    reply.content_type = std::string(text(response[bhttp::field::content_type]));
    reply.body = response.body();
    reply.retry_after = retry_after(text(response[bhttp::field::retry_after]));
    reply.replayed = lower(text(response["Idempotent-Replayed"])) == "true";
    keep_alive = response.keep_alive();
    co_return reply;
  }

  asio::awaitable<ClientReply> attempt(const bhttp::request<bhttp::string_body>& request, bool& got_some) {
    if (!open()) {
      std::string error = co_await connect();
      if (!error.empty()) {
        reset();
        ClientReply reply = no_reply(std::move(error));
        reply.hopeless = tls_failed;
        co_return reply;
      }
    }
    // co_await only in statements of their own: GCC 12 mishandles it in
    // conditions and ?: (temporaries destroyed twice).
    bool keep_alive = false;
    ClientReply reply;
    if (secure) {
      reply = co_await exchange(*secure, request, got_some, keep_alive);
    } else {
      reply = co_await exchange(*plain, request, got_some, keep_alive);
    }
    if (reply.status == 0 || !keep_alive) reset();
    co_return reply;
  }
};

Client::Client(asio::io_context& io, Url url, ClientOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(url), std::move(options))) {
  if (impl_->url.tls) impl_->set_up_tls();
}

Client::~Client() = default;

void Client::close() {
  impl_->abandoned = true;
  if (impl_->open()) impl_->lowest().close();
}

asio::awaitable<ClientReply> Client::post(std::string body, Fields fields) {
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, impl_->url.target.empty() ? "/" : impl_->url.target, 11};
  const bool default_port = impl_->url.port == (impl_->url.tls ? 443 : 80);
  const std::string host = impl_->url.host.find(':') != std::string::npos ? "[" + impl_->url.host + "]" : impl_->url.host;
  request.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(impl_->url.port));
  request.set(bhttp::field::user_agent, impl_->options.user_agent);
  for (const auto& [name, value] : fields) request.set(name, value);
  request.set(bhttp::field::content_type, "application/json");
  request.set(bhttp::field::accept, "application/json, application/problem+json");
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  for (int tries = 0;; ++tries) {
    if (impl_->abandoned) co_return no_reply("abandoned");
    const bool reused = impl_->open();
    bool got_some = false;
    ClientReply reply = co_await impl_->attempt(request, got_some);
    // A kept-alive connection may have been closed by the server while
    // idle: that is no answer to this request, so it goes again, once.
    if (reply.status == 0 && reused && !got_some && tries == 0 && !impl_->abandoned) continue;
    co_return reply;
  }
}
}  // namespace petrel::http

#pragma GCC diagnostic pop
