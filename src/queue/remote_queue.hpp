// The ready queues: mail for other servers, by site. A job (some
// recipients of one message, all at one destination) goes to its site's
// ready queue: a site is the set of MX hosts its domain resolves to, so
// every domain with the same MX set shares one queue and one set of limits
// (connection_limit, max_connection_rate, max_deliveries_per_connection,
// max_message_rate from [shaping]); a route (transport, relayhost) is a
// site of its own. Connections are opened within those limits and take
// the jobs waiting for their destination; a message's content is read
// from the spool when a connection takes it. A site that fails to answer
// is marked down; the automation rules suspend it or lower its limits on
// the replies it gives. Runs its own thread with an event loop, so the
// queue manager's thread never waits on the network.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"
#include "delivery/route.hpp"
#include "shaping/shaping.hpp"
#include "smtp/client_session.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::spool {
class Spool;
}

namespace petrel::queue {

// Where connections go out from ([egress]): a local address and its EHLO
// name, with an optional warm-up schedule (daily caps per provider).
struct EgressSource {
  std::string name;
  std::string address;
  std::string ehlo_name;  // "": RemoteOptions::hostname
  std::int64_t warmup_start_day = 0;  // unix day (UTC) that is day 1
  std::map<std::string, std::vector<std::uint64_t>> warmup;  // provider ("default": others) -> caps by day
};

struct EgressPool {
  std::string name;
  std::vector<std::pair<std::string, unsigned>> sources;  // name, weight
};

struct RemoteOptions {
  std::string hostname;  // HELO name; also an MX naming it is a loop (RFC 5321 §5.1)
  std::string resolver;  // "ADDR:PORT" to ask; "" for /etc/resolv.conf
  smtp::TlsPolicy tls = smtp::TlsPolicy::may;
  std::string tls_ca_file;  // CAs that TlsPolicy::verify trusts (PEM); "": the system store
  // MTA-STS (RFC 8461) for mail routed by MX to a domain without a
  // configured TLS policy: an enforced policy restricts the MX hosts and
  // makes TLS `verify`. The policy fetch trusts tls_ca_file too.
  bool mta_sts = true;
  // DNSSEC trust anchor (DS or DNSKEY lines): answers are validated, even
  // through `resolver`. "": the root anchor, and only without `resolver`.
  std::string trust_anchor_file;
  // DANE (RFC 7672) for mail routed by MX: where the MX and the host's
  // addresses and TLSA records validate, TLS is required and the
  // certificate must match a TLSA record. Takes precedence over MTA-STS.
  bool dane = true;
  std::optional<smtp::Credentials> relayhost_credentials;  // AUTH towards the relayhost
  shaping::Config shaping;         // per-site limits and automation rules
  shaping::HealthOptions health;   // when a site is down
  // [cluster] with Redis: the limits with scope = "cluster" are shared
  // with the other nodes (docs/cluster.md); nullopt: every limit is local.
  std::optional<cluster::ClusterOptions> cluster;
  std::size_t max_ready = 1000;    // jobs waiting in one site's ready queue; beyond: retried later
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // Shorter reply timeouts than RFC 5321's, for tests; nullopt: the RFC's.
  std::optional<std::chrono::milliseconds> reply_timeout;
  std::chrono::seconds site_ttl{300};  // how long a domain's MX set (its site) is kept
  // Egress: none configured means one implicit source (the system's address).
  std::vector<EgressSource> sources;
  std::vector<EgressPool> pools;
  std::string default_pool;                         // "": the first pool
  std::map<std::string, std::string> tenant_pools;  // tenant -> pool
  // A site that turned jobs away because its ready queue was full has
  // room again (half of max_ready): its domains, and for how many jobs.
  // Called on the delivery thread.
  std::function<void(const std::vector<std::string>& domains, std::size_t room)> on_room;
};

// What the SMTP client sends to the next hop, but the content: the
// envelope's sender and parameters (AUTH= dropped, RFC 4954 §5: it is ours
// to vouch for) and `recipients` (indices into the envelope's). Remote
// delivery and the reversed ODMR session share it.
smtp::OutgoingMessage outgoing_envelope(const spool::SpooledMessage& message, const std::vector<std::size_t>& recipients);

struct RemoteJob {
  // The envelope, and the content when content_loaded (else it is read
  // from the spool when a connection takes the job).
  std::shared_ptr<const spool::SpooledMessage> message;
  bool content_loaded = false;
  std::vector<std::size_t> recipients;  // indices into message->envelope.recipients
  std::string domain;                   // their domain, A-label form
  std::optional<delivery::Route> route;  // nullopt: the domain's MX hosts
  bool to_relayhost = false;            // the route is the relayhost: use its credentials
  // This destination's configured STARTTLS policy; nullopt:
  // RemoteOptions::tls, and DANE (RFC 7672) or MTA-STS (RFC 8461) where
  // the domain publishes them (queue/remote_tls.cpp).
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
  std::string tls_policy;                  // what governed TLS: "dane", "mta-sts", "verify", "may", ...; "" none
  // RFC 3461 §5.2.2: a server without DSN cannot pass NOTIFY=SUCCESS on,
  // so the success notice is ours: "relayed", or "delivered" over LMTP.
  bool dsn_passed_on = false;
  bool final_delivery = false;  // LMTP: the server delivered into the mailbox
  // Not attempted (the site is suspended, down or its ready queue full, or
  // the message was cancelled): no attempt counts, and the recipients are
  // tried again at retry_at (unix seconds).
  bool attempted = true;
  std::int64_t retry_at = 0;
  // Not attempted because the site's ready queue was full: the domain's
  // messages wait for room (RemoteOptions::on_room), retry_at at the latest.
  bool wait_for_room = false;
  double seconds = 0;  // attempted: from a connection taking the job to its last reply
  std::string site;  // the site's name, "" when the domain has none (DNS failure)
  std::string spool_error;  // the content could not be read from the spool: why ("" when it could)
};

// One site as `petrel queue sites` shows it.
struct SiteView {
  std::string site;
  std::vector<std::string> domains;
  std::string provider;  // "" when none matches
  std::string state;     // "active", "down", "suspended"
  std::size_t queued = 0;       // messages in the queue for its domains (filled by the queue manager)
  std::size_t ready = 0;        // jobs in its ready queue
  std::size_t connections = 0;  // open now
  std::size_t delivered_last_minute = 0;
  struct Source {
    std::string name;
    std::size_t connections = 0;
    std::uint64_t sent_today = 0;  // messages, for its warm-up cap
    std::optional<std::uint64_t> cap_today;
  };
  std::vector<Source> sources;  // the egress sources that have sent to it
  std::optional<std::int64_t> suspended_until;  // unix seconds; nullopt: not suspended, or until resumed
  std::string suspend_reason;
  std::string last_reply;
  shaping::EffectiveLimits limits;  // in force now (an automation rule may have lowered them)
};

class RemoteQueue {
 public:
  // spool: where contents not loaded are read from. Throws when the
  // resolver cannot start.
  RemoteQueue(RemoteOptions options, spool::Spool& spool);
  ~RemoteQueue();  // stops its thread; callbacks of unfinished jobs are dropped
  RemoteQueue(const RemoteQueue&) = delete;
  RemoteQueue& operator=(const RemoteQueue&) = delete;

  // Thread-safe. `done` runs on the delivery thread, once.
  void submit(RemoteJob job, std::function<void(JobResult)> done);

  // Jobs of this message not yet on the wire come back not attempted.
  // Thread-safe.
  void cancel(const std::string& queue_id);
  // Ends cancel(): the message's jobs submitted from now on go (a held
  // message released). Thread-safe.
  void uncancel(const std::string& queue_id);

  // An operator's flush: sites that are down (all, or the domain's) are
  // tried again now, as Postfix's flush revives dead destinations.
  // Thread-safe.
  void revive(const std::string& domain);

  // Thread-safe; they wait for the delivery thread.
  std::vector<SiteView> sites() const;
  std::optional<std::string> site_of(const std::string& domain) const;  // when known
  std::string suspend(const std::string& target, bool by_domain, std::chrono::milliseconds duration,
                      const std::string& reason);
  std::string resume(const std::string& target, bool by_domain);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::queue
