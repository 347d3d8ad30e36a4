// The queue manager: takes every message the spool holds, delivers it
// (Maildir for local recipients, SMTP/LMTP for the others), bounces what
// fails for good, retries the rest on schedule, and removes a message from
// the spool once every recipient has an outcome. Runs on its own thread;
// remote deliveries run on RemoteDelivery's and report back.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delivery/local_routing.hpp"
#include "delivery/remote_delivery.hpp"
#include "delivery/route.hpp"
#include "spool/spool.hpp"

namespace petrel::delivery {

struct QueueOptions {
  LocalRouting routing;
  std::string hostname;  // for Maildir file names
  // Waits between attempts after a failed local delivery; the last repeats.
  // Filled from config::Config::retry_intervals, where the default lives.
  std::vector<std::chrono::milliseconds> retry_intervals;
  // How long the first ready message waits for others to share its batch's
  // syncs; a full batch goes at once.
  std::chrono::milliseconds batch_window{10};
  std::size_t max_batch = 512;
  // Contents of waiting messages kept in memory, at most; beyond it a
  // message waits as its envelope and its content is read back from the
  // spool when its turn comes, so a backlog cannot exhaust memory.
  std::size_t max_content_in_memory = 64u << 20;
  // Scheduling priority of the delivery thread relative to the sessions
  // (0 = equal; 10: sessions first under load).
  int nice = 10;

  // Mail for other domains: the transport map and relayhost, and how to
  // reach other servers. Without `remote`, such recipients wait in the
  // queue ("no transport") until they expire.
  RoutingTable routes;
  // STARTTLS policy by recipient domain (A-label; ".parent" for subdomains),
  // over RemoteOptions::tls.
  std::map<std::string, smtp::TlsPolicy> tls_policies;
  std::optional<RemoteOptions> remote;
  // Undelivered after this long: bounced with 4.4.7 (RFC 3463).
  std::chrono::milliseconds max_queue_lifetime{std::chrono::hours(24 * 5)};
  // Still undelivered after this long: the sender is told, once, where
  // NOTIFY allows (RFC 3461 §4.1 DELAY). 0: never.
  std::chrono::milliseconds delay_warning{std::chrono::hours(4)};
  std::string double_bounce;  // where a bounce that cannot be delivered goes; "": dropped, logged
};

// One message as the queue listing shows it.
struct QueueEntry {
  std::string id;
  std::int64_t arrival_unix_seconds = 0;
  std::size_t size = 0;  // octets of content; 0 while it is only in the spool
  std::string sender;    // "" for <>
  struct Recipient {
    std::string address;
    std::string state;  // "pending", "delivered", "bounced"
  };
  std::vector<Recipient> recipients;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt_unix_seconds = 0;  // 0: now or being delivered
  std::string last_error;
  bool held = false;
};

class QueueManager {
 public:
  QueueManager(spool::Spool& spool, QueueOptions options);
  ~QueueManager();  // stops the thread; undelivered messages stay in the spool
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  void start();  // loads the spool (recovery) and starts delivering
  void stop();

  // A message the spool has just stored durably. Thread-safe.
  void submit(std::shared_ptr<const spool::SpooledMessage> message);

  // Messages waiting (not yet delivered). Thread-safe.
  std::size_t pending() const;

  // Queue control (petrel queue ..., ETRN). Thread-safe. The ID functions
  // return false for an ID the queue does not have.
  std::vector<QueueEntry> list() const;
  std::optional<QueueEntry> find(std::string_view id) const;
  // Everything waiting for a retry that has a pending recipient in `domain`
  // ("" for all) is tried now; returns how many messages.
  std::size_t flush(std::string_view domain);
  bool hold(std::string_view id);     // not delivered until released (not kept over a restart)
  bool release(std::string_view id);  // back in the queue, tried now
  bool remove(std::string_view id);   // deleted from the spool, never delivered

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::delivery
