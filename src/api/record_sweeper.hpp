// The spool's small records that outlive their use are deleted here, so
// that storage does not grow with every request and every message sent:
//   "i/..."  idempotency replies and windows, after [http]'s 24 hours;
//   "u/..."  the subscriptions behind unsubscribe links, after
//            [unsubscribe] link_lifetime (a link older than that gets 404).
// A thread of its own wakes once an hour (and a minute after start) and
// pages through the records; deletions need not be synced (a record that
// comes back after a crash is deleted next time).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace petrel::spool {
class Spool;
}

namespace petrel::api {

struct SweepOptions {
  std::chrono::seconds idempotency_lifetime{std::chrono::hours(24)};
  std::chrono::seconds link_lifetime{std::chrono::hours(24 * 180)};
  std::chrono::seconds first{std::chrono::minutes(1)};
  std::chrono::seconds every{std::chrono::hours(1)};
};

class RecordSweeper {
 public:
  RecordSweeper(spool::Spool& spool, SweepOptions options);
  ~RecordSweeper();  // stops the thread
  RecordSweeper(const RecordSweeper&) = delete;
  RecordSweeper& operator=(const RecordSweeper&) = delete;

  // One pass now, on the caller's thread: the records deleted. For tests.
  std::size_t sweep(std::int64_t now_unix);

 private:
  std::size_t sweep_prefix(const std::string& prefix, const char* field, std::int64_t oldest);
  void run();

  spool::Spool& spool_;
  SweepOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace petrel::api
