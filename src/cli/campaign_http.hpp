// The HTTP client of `petrel campaign send`: POST to petreld's
// /api/v1/messages over one keep-alive connection (HTTP or HTTPS), with a
// timeout on every step. Boost.Beast over Asio, kept in the .cpp. One
// client per concurrency slot; all of them on one io_context's thread.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace petrel::cli {

// --api URL: http[s]://host[:port][/prefix]. The messages endpoint is
// prefix + /api/v1/messages, unless the URL names it already.
struct ApiUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target;  // "/api/v1/messages"
};
// nullopt, with `error` set, when the URL is not one.
std::optional<ApiUrl> parse_api_url(std::string_view url, std::string& error);

struct HttpOptions {
  bool insecure = false;  // HTTPS without verifying the certificate (self-signed test servers)
  std::string ca_file;    // "" = the system store
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // connect, TLS, request, reply: each
  std::string user_agent = "petrel";
};

struct HttpReply {
  unsigned status = 0;  // 0: no reply; `error` says why
  std::string error;
  std::string content_type;
  std::string body;
  std::optional<unsigned> retry_after;  // Retry-After in seconds
  bool replayed = false;                // Idempotent-Replayed: true
  bool hopeless = false;  // no reply, and trying again cannot help (TLS: the certificate, the CA file)
};

class HttpClient {
 public:
  HttpClient(boost::asio::io_context& io, ApiUrl url, HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` as application/json with the bearer token. A kept-alive
  // connection the server has closed meanwhile is reopened once.
  boost::asio::awaitable<HttpReply> post(std::string body, std::string token);
  // Closes the connection: a post in flight ends with an error.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::cli
