// petreld's HTTP/1.1 listener (Boost.Beast over Asio, optionally TLS):
// reads requests within bounds (body size, header size, time), hands each
// to a handler coroutine and writes its response. Asio shows in this
// header, so only src/http/ and src/api/ include it.
#pragma once

#include <utility>  // Boost 1.74's Asio needs std::exchange declared first

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace petrel::tls {
class ServerTls;
}

namespace petrel::http {

struct ListenerOptions {
  std::vector<std::string> listen;        // "ADDR:PORT"
  std::shared_ptr<tls::ServerTls> tls;    // null: plain HTTP
  std::uint64_t max_body = 10ull << 20;   // larger: 413
  std::uint32_t max_header = 16u << 10;   // larger request line + headers: 431
  std::size_t max_connections = 256;      // more: 503 and close
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  // a whole request: else 408
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     // between keep-alive requests
  unsigned threads = 1;
  std::string server_name = "petreld";
};

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

class Listener {
 public:
  // Binds every address (throws std::runtime_error naming one that cannot
  // be bound) and starts serving on its own threads.
  Listener(ListenerOptions options, Handler handler);
  ~Listener();  // stop(), then frees what the connections held

  // Stops accepting and serving and joins the threads; the io_context
  // lives on (handlers still posted to it go nowhere) until destruction.
  void stop();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The bound endpoints, "ADDR:PORT" (port 0 resolved), for logs and tests.
  std::vector<std::string> endpoints() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::http
