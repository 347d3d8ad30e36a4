// Delivery to other servers: for each job (some recipients of one message,
// all at one destination) find the endpoints (the route's host, or the
// domain's MX hosts by RFC 5321 §5.1) and hand the message to the SMTP or
// LMTP client. Runs its own thread with an event loop, so the queue
// manager's thread never waits on the network; at most
// destination_concurrency connections per destination run at once, and a
// connection goes on with the jobs waiting for its destination.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/route.hpp"
#include "smtp/client_session.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::delivery {

struct RemoteOptions {
  std::string hostname;  // HELO name; also an MX naming it is a loop (RFC 5321 §5.1)
  std::string resolver;  // "ADDR:PORT" to ask; "" for /etc/resolv.conf
  smtp::TlsPolicy tls = smtp::TlsPolicy::may;
  std::string tls_ca_file;  // CAs that TlsPolicy::verify trusts (PEM); "": the system store
  // MTA-STS (RFC 8461) for mail routed by MX to a domain without a
  // configured TLS policy: an enforced policy restricts the MX hosts and
  // makes TLS `verify`. The policy fetch trusts tls_ca_file too.
  bool mta_sts = true;
  std::optional<smtp::Credentials> relayhost_credentials;  // AUTH towards the relayhost
  std::size_t destination_concurrency = 20;
  // A connection that has delivered its message takes the next one waiting
  // for the same destination, up to this many in all (connection reuse).
  std::size_t messages_per_connection = 100;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // Shorter reply timeouts than RFC 5321's, for tests; nullopt: the RFC's.
  std::optional<std::chrono::milliseconds> reply_timeout;
};

struct RemoteJob {
  std::shared_ptr<const spool::SpooledMessage> message;  // with its content
  std::vector<std::size_t> recipients;  // indices into message->envelope.recipients
  std::string domain;                   // their domain, A-label form
  std::optional<Route> route;           // nullopt: the domain's MX hosts
  bool to_relayhost = false;            // the route is the relayhost: use its credentials
  // This destination's STARTTLS policy; nullopt: RemoteOptions::tls. The
  // place where DANE (RFC 7672) and MTA-STS (RFC 8461) results will plug in.
  std::optional<smtp::TlsPolicy> tls;
};

struct RecipientOutcome {
  std::size_t recipient = 0;  // index into the envelope's recipients
  smtp::DeliveryOutcome outcome = smtp::DeliveryOutcome::deferred;
  std::string reply;          // "550 5.1.1 ..." as the server said it, or made here
  std::string status;         // RFC 3463 code: the reply's, or one for its class
  std::string remote_mta;     // the host that answered; "" when none did
};

struct JobResult {
  std::vector<RecipientOutcome> outcomes;  // one per job recipient, same order
  std::string endpoint;                    // "mx1.example.org[192.0.2.1]:25", "" when none answered
  std::string tls;                         // "" in the clear
  // RFC 3461 §5.2.2: a server without DSN cannot pass NOTIFY=SUCCESS on,
  // so the success notice is ours: "relayed", or "delivered" over LMTP.
  bool dsn_passed_on = false;
  bool final_delivery = false;  // LMTP: the server delivered into the mailbox
};

class RemoteDelivery {
 public:
  explicit RemoteDelivery(RemoteOptions options);  // throws when the resolver cannot start
  ~RemoteDelivery();  // stops its thread; callbacks of unfinished jobs are dropped
  RemoteDelivery(const RemoteDelivery&) = delete;
  RemoteDelivery& operator=(const RemoteDelivery&) = delete;

  // Thread-safe. `done` runs on the delivery thread, once.
  void submit(RemoteJob job, std::function<void(JobResult)> done);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::delivery
