// The queue manager: takes every message the spool holds, delivers it
// (Maildir for local recipients, SMTP/LMTP for the others through the
// per-site ready queues of RemoteQueue), bounces what fails for good,
// retries the rest on schedule, and removes a message from the spool once
// every recipient has an outcome. Runs on its own thread.
//
// Memory does not grow with the queue: a waiting message is a compact
// entry of the schedule (schedule.hpp); at most active_limit messages are
// loaded (envelope, and content only while it fits max_content_in_memory)
// at once, as Postfix's qmgr_message_active_limit. The spool is the truth.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "delivery/alias_delivery.hpp"
#include "delivery/local_routing.hpp"
#include "delivery/route.hpp"
#include "queue/remote_queue.hpp"
#include "spool/spool.hpp"

namespace petrel::suppress {
class SuppressionList;
}
namespace petrel::feedback {
class Classifier;
enum class Category;
}

namespace petrel::queue {

struct QueueOptions {
  delivery::LocalRouting routing;
  std::string hostname;  // for Maildir file names
  // Aliases' commands: their time limit and how much of their output is
  // kept ([local] command_timeout, command_output_limit).
  delivery::CommandLimits alias_commands;
  // Waits between attempts after a failed delivery; the last repeats.
  // Filled from config::Config::retry_intervals, where the default lives.
  std::vector<std::chrono::milliseconds> retry_intervals;
  // How long the first ready message waits for others to share its batch's
  // syncs; a full batch goes at once.
  std::chrono::milliseconds batch_window{10};
  std::size_t max_batch = 512;
  // Contents of active messages kept in memory, at most; beyond it a
  // message's content is read from the spool when its delivery needs it.
  std::size_t max_content_in_memory = 64u << 20;
  // Messages loaded and being attempted at once; the rest wait in the
  // schedule as compact entries (Postfix's qmgr_message_active_limit).
  std::size_t active_limit = 10000;
  // Scheduling priority of the delivery thread relative to the sessions
  // (0 = equal; 10: sessions first under load).
  int nice = 10;

  // Mail for other domains: the transport map and relayhost, and how to
  // reach other servers. Without `remote`, such recipients wait in the
  // queue ("no transport") until they expire.
  delivery::RoutingTable routes;
  // STARTTLS policy by recipient domain (A-label; ".parent" for subdomains),
  // over RemoteOptions::tls.
  std::map<std::string, smtp::TlsPolicy> tls_policies;
  std::optional<RemoteOptions> remote;
  // Undelivered after this long: bounced with 4.4.7 (RFC 3463), whatever
  // the message's state (waiting, suspended, down, ready).
  std::chrono::milliseconds max_queue_lifetime{std::chrono::hours(24 * 5)};
  // Still undelivered after this long: the sender is told, once, where
  // NOTIFY allows (RFC 3461 §4.1 DELAY). 0: never.
  std::chrono::milliseconds delay_warning{std::chrono::hours(4)};
  std::string double_bounce;  // where a bounce that cannot be delivered goes; "": dropped, logged
  // What receivers' replies mean (docs/bounces.md): the class goes into the
  // log line and the DSN. Null: not classified.
  const feedback::Classifier* classifier = nullptr;
  // Bulk mail only (a campaign's, a tenant's or the API's): recipients on
  // the suppression list fail before each attempt, and a failure whose
  // class is in `suppressing` puts the recipient on it. Null: off.
  suppress::SuppressionList* suppressions = nullptr;
  std::vector<feedback::Category> suppressing;
};

// One message as the queue listing shows it.
struct QueueEntry {
  std::string id;
  std::int64_t arrival_unix_seconds = 0;
  std::size_t size = 0;  // octets of content; 0 when not read (show reads it)
  std::string sender;    // "" for <>
  struct Recipient {
    std::string address;
    std::string state;  // "pending", "delivered", "bounced"
  };
  std::vector<Recipient> recipients;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt_unix_seconds = 0;  // 0: now
  std::string last_error;
  bool held = false;
  bool in_flight = false;  // being attempted right now
  std::string campaign;
  std::string tenant;
};

struct ListFilter {
  std::string after;        // the last ID of the previous page; "": from the start
  std::size_t limit = 100;  // per page
  std::string domain;       // only messages with a pending recipient here
  std::string site;         // only messages for this site's domains
  std::string campaign;     // only this campaign's
  std::string tenant;       // only this tenant's
};

struct ListPage {
  std::vector<QueueEntry> entries;
  std::string next;  // pass as `after` for the next page; "": no more
};

// ODMR (RFC 2645): a message held for a domain that fetches its mail with
// ATRN, taken by one reversed session.
struct OdmrClaim {
  std::shared_ptr<const spool::SpooledMessage> message;  // with its content
  std::vector<std::size_t> recipients;  // its pending recipients in the claimed domains
};

// What an operator's command on one message did.
enum class Outcome {
  done,
  in_flight,  // being delivered: takes effect when the current attempt ends
  unknown,    // no such message
};

struct QueueStats {
  std::size_t scheduled = 0;  // entries in the schedule
  std::size_t active = 0;     // loaded and being attempted
  std::uint64_t spool_errors = 0;  // reads or writes the spool failed (retried)
  std::string last_spool_error;
  std::size_t parked = 0;            // of scheduled: held back by a campaign's or tenant's suspension
  std::size_t waiting_for_room = 0;  // of scheduled: set aside while their site's ready queue is full
  std::size_t held = 0;              // held by an operator (in the spool, not scheduled)
};

class QueueManager {
 public:
  QueueManager(spool::Spool& spool, QueueOptions options);
  ~QueueManager();  // stops the thread; undelivered messages stay in the spool
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  void start();  // indexes the spool (envelopes only) and starts delivering
  void stop();

  // A message the spool has just stored durably. Thread-safe.
  void submit(std::shared_ptr<const spool::SpooledMessage> message);

  // Messages in the queue. Thread-safe.
  std::size_t pending() const;

  // Queue control (petrel queue ..., ETRN). Thread-safe; never O(queue)
  // per message ID.
  ListPage list(const ListFilter& filter) const;  // pages through the spool
  std::optional<QueueEntry> find(std::string_view id) const;
  // Everything waiting for a retry that has a pending recipient in `domain`
  // ("" for all), or with_subdomains in it or below it, is tried now;
  // returns how many messages.
  std::size_t flush(std::string_view domain, bool with_subdomains = false);
  Outcome hold(std::string_view id);     // not delivered until released (kept over a restart)

  // ODMR (RFC 2645). Takes up to `max` messages with a pending recipient
  // in `domains` (A-label, lower case; each routed "odmr"), for this caller
  // alone: neither the queue nor another claim touches them until
  // odmr_done(). Thread-safe; reads the spool, so not for an I/O thread.
  // `tried`: what this session has had already (a message its client put
  // off with a 4xx is not offered to it again in the same session). The
  // contents a claim reads stop at 32 MiB, after the first message.
  std::vector<OdmrClaim> claim_odmr(const std::vector<std::string>& domains, std::size_t max,
                                    const std::set<std::string>& tried = {});
  // The end of a claim: the outcomes of its recipients (in the claim's
  // order), recorded as any delivery's (2xx durable, 5xx bounced, 4xx
  // retried); a result not attempted gives the message back untouched.
  // Thread-safe.
  void odmr_done(const std::string& queue_id, JobResult result);
  Outcome release(std::string_view id);  // back in the queue, tried now
  Outcome remove(std::string_view id);   // deleted from the spool, never delivered

  // Sites and their traffic (petrel queue sites, suspend, resume).
  std::vector<SiteView> sites() const;
  // What a suspension holds back: a site (by name, or the site a domain's
  // mail goes to), or one campaign's or tenant's mail wherever it goes.
  enum class Scope { site, domain, campaign, tenant };
  // duration 0: until resumed. Returns "" or what went wrong.
  std::string suspend(Scope scope, const std::string& target, std::chrono::milliseconds duration);
  std::string resume(Scope scope, const std::string& target);
  struct Suspension {
    Scope scope;
    std::string target;
    std::int64_t until = 0;  // unix seconds; 0: until resumed
  };
  std::vector<Suspension> suspensions() const;  // of campaigns and tenants

  QueueStats stats() const;

 private:
  std::size_t flush_tree(const std::string& domain);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::queue
