// The queue manager's state, shared by queue_manager.cpp (delivery) and
// queue_control.cpp (listing and operator commands). Internal to
// src/delivery/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "delivery/dsn.hpp"
#include "delivery/queue_manager.hpp"
#include "delivery/remote_delivery.hpp"

namespace petrel::delivery {
namespace detail {

using Clock = std::chrono::steady_clock;
using State = spool::SpooledMessage::RecipientState;

// A message in the queue, with what this process learnt about it.
struct Item {
  // The content may be left in the spool (content_in_memory false).
  std::shared_ptr<const spool::SpooledMessage> message;
  bool content_in_memory = false;
  std::uint32_t attempts = 0;
  std::vector<State> states;  // per recipient, so a retry skips the settled ones
  bool warned_no_transport = false;
  // False only for a message accepted by this process and not yet tried:
  // no copy of it can be in a Maildir, so delivery skips looking for one.
  bool may_be_delivered = true;
  // This attempt: remote jobs still out, recipients that failed for good
  // (for the bounce), whether a remote server took some (the progress must
  // then be synced), and the last temporary error.
  std::size_t jobs_out = 0;
  std::vector<RecipientStatus> failed_now;
  std::vector<RecipientStatus> delivered_now;  // with NOTIFY=SUCCESS (RFC 3461): a success DSN
  bool remote_settled = false;
  bool delay_warned = false;  // persisted: the delay DSN goes out once
  std::string last_error;

  bool all_settled() const {
    return std::none_of(states.begin(), states.end(), [](State st) { return st == State::pending; });
  }
};

// A finished remote job, on its way back to the queue thread.
struct Completion {
  std::string queue_id;
  JobResult result;
};

const char* state_name(State state);
QueueEntry entry_of(const spool::SpooledMessage& m);
bool has_pending_recipient_in(const Item& item, std::string_view domain);

}  // namespace detail

struct QueueManager::Impl {
  using Item = detail::Item;
  using Completion = detail::Completion;
  using Clock = detail::Clock;

  Impl(spool::Spool& s, QueueOptions o);

  void enqueue(std::shared_ptr<const spool::SpooledMessage> message, bool fresh, bool with_content);
  bool load_contents(std::vector<Item>& batch);
  void release_content(Item& item);
  void run();
  std::vector<Item> next_batch(std::unique_lock<std::mutex>& lock);
  void deliver(std::vector<Item>& batch);
  void dispatch_remote(Item& item, const std::vector<std::size_t>& recipients);
  void complete(const Completion& c);
  void settle(Item item);
  void expire(Item& item);
  void warn_of_delay(Item& item);
  void queue_bounce(const Item& item, DsnKind kind, const std::vector<RecipientStatus>& recipients);
  void defer(Item item);
  // What the spool keeps of an item between attempts.
  spool::SpooledMessage progress_of(const Item& item) const;

  spool::Spool& spool;
  QueueOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Item> ready;                       // guarded by mutex
  std::multimap<Clock::time_point, Item> later;  // guarded by mutex
  // Every message this queue holds, for listing; guarded by mutex.
  std::map<std::string, QueueEntry, std::less<>> queued;
  std::map<std::string, Item, std::less<>> held;  // guarded by mutex
  std::unordered_set<std::string> deleted;      // in flight when deleted; guarded by mutex
  std::size_t content_bytes = 0;                // of items with content_in_memory; guarded by mutex
  bool stopping = false;                        // guarded by mutex
  std::deque<Completion> completions;           // guarded by mutex
  std::map<std::string, Item> in_flight;        // waiting for remote jobs; queue thread only
  std::unique_ptr<RemoteDelivery> remote;       // null: no remote delivery
  std::thread thread;
};


}  // namespace petrel::delivery
