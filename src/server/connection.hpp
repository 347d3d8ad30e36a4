// One client connection: runs a smtp::ServerSession over a socket, in the
// clear or over TLS. Internal to src/server/ (includes Asio).
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "queue/queue_manager.hpp"
#include "server/body_budget.hpp"
#include "server/connection_limiter.hpp"
#include "server/mail_policy.hpp"
#include "server/server.hpp"
#include "server/rate_limiter.hpp"
#include "smtp/sasl.hpp"
#include "spool/spool.hpp"
#include "util/cidr.hpp"

namespace petrel::tls {
class ServerTls;
}
namespace petrel::auth_checks {
class Checker;
}

namespace petrel::server {

// What kind of port a listener is (RFC 8314 §3, RFC 6409, RFC 2645).
enum class ListenerKind { smtp, submission, smtps, odmr, odmrs };

struct Listener {
  std::string address;  // as configured, "ADDR:PORT"
  ListenerKind kind = ListenerKind::smtp;
  smtp::SessionOptions options;  // STARTTLS, AUTH and submission rules for this port
  bool proxy_protocol = false;   // a PROXY header comes first ([server] proxy_protocol)
  bool implicit_tls() const { return kind == ListenerKind::smtps || kind == ListenerKind::odmrs; }
};

// "smtp", "submission", "smtps", "odmr" or "odmrs", for the log.
const char* listener_kind_name(ListenerKind kind);

// Who a session's client is: the socket's peer, or on a PROXY protocol
// listener the client the balancer's header names. The one place the
// sessions take the client's address from: policy, limits, the log,
// Received: and the inbound checks all see this.
struct ClientAddress {
  std::string ip;          // as Asio or inet_ntop writes it
  unsigned short port = 0;
  std::string via;         // the balancer's "IP:PORT" when a header named the client; "" otherwise

  std::string peer() const;  // "IP:PORT", "[IPv6]:PORT"
};

// What every session shares; lives as long as the Server.
struct SessionContext {
  const config::Config& config;
  MailPolicy& policy;
  spool::Spool& spool;
  queue::QueueManager& queue;
  ConnectionLimiter& limiter;
  RateLimiter& connection_rate;
  BodyBudget& body_budget;
  std::vector<util::Cidr> trusted_networks;
  std::vector<util::Cidr> proxy_trusted;  // [server] proxy_trusted; empty: any peer of a PROXY listener
  tls::ServerTls* tls = nullptr;                 // null: no certificate
  smtp::Authenticator* authenticator = nullptr;  // null: no AUTH
  // Password checks run here, not on the I/O threads: each costs
  // milliseconds of CPU by design and would stall every session of a thread.
  boost::asio::thread_pool* auth_pool = nullptr;
  ServerExtras extras;

  bool trusted(std::string_view ip) const;
  bool may_send_proxy_header(std::string_view ip) const;
};

// `checker`: the inbound checks of the connection's thread; null when off.
boost::asio::awaitable<void> run_connection(boost::asio::ip::tcp::socket socket, SessionContext& context,
                                            const Listener& listener, auth_checks::Checker* checker);

}  // namespace petrel::server
