// petreld's network front: listeners, I/O threads each with its own
// io_context, and a
// session per connection. Asio stays behind this header.
#pragma once

#include <memory>

namespace petrel::config {
struct Config;
}
namespace petrel::spool {
class Spool;
}
namespace petrel::queue {
class QueueManager;
}

namespace petrel::server {

// Loads what the configuration's [tls] and [auth] name, as the server will
// at start, and throws (naming the file) when something does not load:
// for --check-config.
void check_named_files(const config::Config& config);

class Server {
 public:
  // Binds every listen address; throws std::runtime_error naming the
  // address when one cannot be bound.
  Server(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves until SIGTERM/SIGINT or stop(); then stops accepting and returns.
  // Sessions in progress are dropped (nothing they had not been told 250
  // for is lost: the client retries).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::server
