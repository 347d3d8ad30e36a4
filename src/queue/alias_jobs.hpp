// Deliveries to aliases' commands and files (docs/aliases.md), one at a
// time on a thread of their own, so that a slow command (bounded by
// [local] command_timeout) holds up neither the queue thread nor the
// Maildir deliveries. Results come back as a JobResult, like a remote job's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "delivery/alias_delivery.hpp"
#include "queue/remote_queue.hpp"
#include "spool/spooled_message.hpp"

namespace petrel::queue {

struct AliasJob {
  std::shared_ptr<const spool::SpooledMessage> message;  // with its content
  std::vector<std::size_t> recipients;                    // each with an alias_target
  std::vector<std::string> headers;                       // Return-Path and Delivered-To, per recipient
};

class AliasJobs {
 public:
  explicit AliasJobs(delivery::CommandLimits limits);
  ~AliasJobs();
  AliasJobs(const AliasJobs&) = delete;
  AliasJobs& operator=(const AliasJobs&) = delete;

  // `done` is called on the worker thread.
  void submit(AliasJob job, std::function<void(JobResult)> done);
  // Finishes the job under way; the others are dropped (their messages
  // stay in the spool, pending).
  void stop();

 private:
  void run();
  JobResult deliver(const AliasJob& job) const;

  delivery::CommandLimits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<AliasJob, std::function<void(JobResult)>>> jobs_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};  // kills a command under way
  std::thread thread_;
};

}  // namespace petrel::queue
