// An HTTP/1.1 client that POSTs JSON over one keep-alive connection (HTTP
// or HTTPS, the certificate checked), with a timeout on every step: the
// client of `petrel campaign send` (to petreld's API) and of petreld's
// webhooks. Boost.Beast over Asio, kept in the .cpp. One client per
// concurrent request; all of them on one io_context's thread.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace petrel::http {

// http[s]://host[:port][/path]: no user, query or fragment.
struct Url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target;  // the path, without a trailing '/'; "" for none
};
// nullopt, with `error` set, when the URL is not one.
std::optional<Url> parse_url(std::string_view url, std::string& error);

struct ClientOptions {
  bool insecure = false;  // HTTPS without verifying the certificate (self-signed test servers)
  std::string ca_file;    // "" = the system store
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // connect, TLS, request, reply: each
  std::string user_agent = "petrel";
};

struct ClientReply {
  unsigned status = 0;  // 0: no reply; `error` says why
  std::string error;
  std::string content_type;
  std::string body;
  std::optional<unsigned> retry_after;  // Retry-After in seconds
  bool replayed = false;                // Idempotent-Replayed: true
  bool hopeless = false;  // no reply, and trying again cannot help (TLS: the certificate, the CA file)
};

class Client {
 public:
  Client(boost::asio::io_context& io, Url url, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POSTs `body` as application/json to the URL's path ("/" if none),
  // with these header fields besides. A kept-alive connection the server
  // has closed meanwhile is reopened once.
  using Fields = std::vector<std::pair<std::string, std::string>>;
  boost::asio::awaitable<ClientReply> post(std::string body, Fields fields);
  // Closes the connection: a post in flight ends with an error.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::http
