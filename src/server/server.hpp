// petreld's network front: listeners, I/O threads each with its own
// io_context, and a
// session per connection. Asio stays behind this header.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace petrel::config {
struct Config;
}
namespace petrel::spool {
class Spool;
}
namespace petrel::queue {
class QueueManager;
}
namespace petrel::smtp {
struct Address;
}
namespace petrel::dkim {
struct DomainKey;
}

namespace petrel::server {

// Loads what the configuration's [tls] and [auth] name, as the server will
// at start, and throws (naming the file) when something does not load:
// for --check-config.
void check_named_files(const config::Config& config);

// What other components lend the sessions; each may be absent.
struct ServerExtras {
  // Mail from a trusted network or an authenticated client whose From:
  // domain has a key is signed before it is stored.
  const std::vector<dkim::DomainKey>* dkim_keys = nullptr;
  // Mail the server consumes instead of queueing (docs/suppression.md):
  // sink_accepts says yes at RCPT, from any client; once the message is in,
  // sink_consume gets it for each such recipient and calls done (on any
  // thread) when what it records is durable. Both or neither.
  std::function<bool(const smtp::Address&)> sink_accepts;
  std::function<void(const smtp::Address&, const std::string& content, std::function<void(std::error_code)> done)>
      sink_consume;
};

class Server {
 public:
  // Binds every listen address; throws std::runtime_error naming the
  // address when one cannot be bound.
  Server(const config::Config& config, spool::Spool& spool, queue::QueueManager& queue, const ServerExtras& extras = {});
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
