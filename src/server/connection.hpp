// One client connection: runs a smtp::ServerSession over a socket. Internal
// to src/server/ (includes Asio).
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "delivery/queue_manager.hpp"
#include "server/connection_limiter.hpp"
#include "server/local_recipient_policy.hpp"
#include "spool/spool.hpp"

namespace petrel::server {

// What every session shares; lives as long as the Server.
struct SessionContext {
  const config::Config& config;
  const LocalRecipientPolicy& policy;
  spool::Spool& spool;
  delivery::QueueManager& queue;
  ConnectionLimiter& limiter;
};

boost::asio::awaitable<void> run_connection(boost::asio::ip::tcp::socket socket, SessionContext& context);

}  // namespace petrel::server
