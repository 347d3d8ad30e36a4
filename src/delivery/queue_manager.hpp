// The queue manager: takes every message the spool holds, delivers it
// (Maildir for local recipients, SMTP/LMTP for the others), bounces what
// fails for good, retries the rest on schedule, and removes a message from
// the spool once every recipient has an outcome. Runs on its own thread;
// remote deliveries run on RemoteDelivery's and report back.
#pragma once

#include <chrono>
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
  std::optional<RemoteOptions> remote;
  // Undelivered after this long: bounced with 4.4.7 (RFC 3463).
  std::chrono::milliseconds max_queue_lifetime{std::chrono::hours(24 * 5)};
  std::string double_bounce;  // where a bounce that cannot be delivered goes; "": dropped, logged
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace petrel::delivery
