// The admin channel's socket: a UNIX socket only its owner may use (mode
// 0600), or a loopback TCP port whose requests must carry the token that
// petreld writes next to the spool. Internal to src/server/ (Asio).
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace petrel::queue {
class QueueManager;
}
namespace petrel::spool {
class Spool;
}

namespace petrel::server {

class AdminListener {
 public:
  // `where`: "unix:PATH" or "127.0.0.1:PORT". Throws std::runtime_error
  // naming it when it cannot listen there.
  AdminListener(boost::asio::io_context& io, const std::string& where, const std::string& token_file,
                queue::QueueManager& queue, spool::Spool& spool);
  ~AdminListener();
  void start();  // accepting from now on, on io's thread

 private:
  struct Impl;
  // Owned here, not by the accept coroutine: the acceptor must go before
  // the io_context does (the coroutine's frame is only destroyed with it).
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::server
