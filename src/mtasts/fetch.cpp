#include "mtasts/fetch.hpp"

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>

#include <openssl/ssl.h>

#include "mtasts/policy.hpp"

namespace petrel::mtasts {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

bool is_text_plain(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type == "text/plain";
}

// One fetch: a deadline timer closes the socket, which ends whatever
// operation is pending with an error.
struct Fetch {
  Fetch(const asio::any_io_executor& executor, const std::string& domain, const FetchOptions& options)
      : host("mta-sts." + domain), options(options), context(asio::ssl::context::tls_client), socket(executor),
        deadline(executor) {}

  std::string host;
  FetchOptions options;
  asio::ssl::context context;
  tcp::socket socket;
  asio::steady_timer deadline;
  bool timed_out = false;

  std::string setup_tls(error_code& ec) {
    context.set_verify_mode(asio::ssl::verify_peer);
    if (options.ca_file.empty()) {
      context.set_default_verify_paths(ec);
    } else {
      context.load_verify_file(options.ca_file, ec);
    }
    return ec ? "CA certificates: " + ec.message() : "";
  }

  std::string why(const std::string& step, const error_code& ec) const {
    return step + ": " + (timed_out ? std::string("timed out") : ec.message());
  }

  asio::awaitable<FetchResult> run(std::string address) {
    FetchResult result;
    deadline.expires_after(options.timeout);
    deadline.async_wait([this](const error_code& ec) {
      if (ec) return;
      timed_out = true;
      error_code ignored;
      socket.close(ignored);
    });
    error_code ec;
    result.error = setup_tls(ec);
    if (ec) co_return result;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) co_return FetchResult{std::nullopt, "bad address " + address};
    co_await socket.async_connect(tcp::endpoint(ip, options.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return FetchResult{std::nullopt, why("connect to " + address, ec)};
    asio::ssl::stream<tcp::socket&> tls(socket, context);
    SSL_set_tlsext_host_name(tls.native_handle(), host.c_str());
    tls.set_verify_callback(asio::ssl::host_name_verification(host));
    co_await tls.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return FetchResult{std::nullopt, why("TLS with " + host, ec)};
    http::request<http::empty_body> request{http::verb::get, "/.well-known/mta-sts.txt", 11};
    request.set(http::field::host, host);
    request.set(http::field::user_agent, "petreld");
    request.set(http::field::connection, "close");
    co_await http::async_write(tls, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return FetchResult{std::nullopt, why("HTTP request", ec)};
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxPolicyBytes);
    co_await http::async_read(tls, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return FetchResult{std::nullopt, why("HTTP response", ec)};
    deadline.cancel();
    const auto& response = parser.get();
    // §3.3: redirects are not followed; anything but 200 is no policy.
    if (response.result_int() != 200) co_return FetchResult{std::nullopt, "HTTP " + std::to_string(response.result_int())};
    const auto content_type = response[http::field::content_type];
    if (!is_text_plain(std::string_view(content_type.data(), content_type.size()))) {
      co_return FetchResult{std::nullopt, "Content-Type is not text/plain"};
    }
    co_return FetchResult{response.body(), ""};
  }
};

}  // namespace

// GCC 12 warns of a new/delete mismatch in Asio 1.74's coroutine frame
// allocator; the frame's own operator new and delete are used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void fetch_policy(asio::io_context& io, const std::string& domain, const std::string& address,
                  const FetchOptions& options, std::function<void(FetchResult)> done) {
  auto fetch = std::make_shared<Fetch>(io.get_executor(), domain, options);
  asio::co_spawn(io, fetch->run(address),
                 [fetch, done = std::move(done)](std::exception_ptr error, FetchResult result) {
                   if (error) result = FetchResult{std::nullopt, "local error"};
                   done(std::move(result));
                 });
}
#pragma GCC diagnostic pop

}  // namespace petrel::mtasts
