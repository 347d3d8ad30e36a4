// The reversed session of On-Demand Mail Relay (RFC 2645 §4.3): after 250
// to ATRN the server is the SMTP client on the connection the customer
// opened. It waits for the customer's greeting, says EHLO and delivers the
// mail claimed from the queue for the customer's domains (claiming more,
// a batch at a time, until none is left), then QUIT. Every recipient's
// result goes back to the queue as any delivery's does. Internal to
// src/server/.
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "queue/queue_manager.hpp"

namespace petrel::server {

class ClientStream;

struct OdmrRelayContext {
  ClientStream& stream;
  queue::QueueManager& queue;
  boost::asio::thread_pool* pool;  // claims read the spool there; null: on the caller's thread
  std::string helo_name;
  std::string peer;  // "192.0.2.1:40000", for logs and the delivery records
  std::string user;
  std::string tls;   // "" in the clear, else the TLS facts as logged
  std::vector<std::string> domains;
  std::size_t batch = 100;
  std::chrono::milliseconds reply_timeout{std::chrono::minutes(5)};
};

// Takes a batch of the mail waiting for `domains`, but what this session
// has had already (`tried`): empty when there is none.
boost::asio::awaitable<std::vector<queue::OdmrClaim>> claim_odmr(queue::QueueManager& queue,
                                                                 boost::asio::thread_pool* pool,
                                                                 const std::vector<std::string>& domains,
                                                                 std::size_t batch,
                                                                 const std::set<std::string>& tried = {});

// Delivers `claims` (and what more waits) over the reversed connection.
// `leftover`: bytes the customer sent after ATRN, already read. Every
// claim is handed back to the queue, delivered or not.
boost::asio::awaitable<void> relay_on_demand(OdmrRelayContext context, std::vector<queue::OdmrClaim> claims,
                                             std::string leftover);

}  // namespace petrel::server
