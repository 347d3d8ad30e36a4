// The queue manager: takes every message the spool holds, delivers it, and
// removes it from the spool once delivered. Runs on its own thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "delivery/local_routing.hpp"
#include "spool/spool.hpp"

namespace petrel::delivery {

struct QueueOptions {
  LocalRouting routing;
  std::string hostname;  // for Maildir file names
  // Waits between attempts after a failed local delivery; the last repeats.
  std::vector<std::chrono::milliseconds> retry_intervals{
      std::chrono::seconds(30), std::chrono::minutes(5), std::chrono::minutes(10),
      std::chrono::minutes(20), std::chrono::minutes(40), std::chrono::hours(1)};
  std::size_t max_batch = 512;
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
