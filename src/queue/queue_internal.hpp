// The queue manager's state, shared by queue_manager.cpp (admitting and
// attempting), queue_settle.cpp (the end of an attempt) and
// queue_control.cpp (listing and operator commands). Internal to src/queue/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "events/event.hpp"
#include "delivery/dsn.hpp"
#include "queue/alias_jobs.hpp"
#include "queue/odmr_index.hpp"
#include "queue/queue_manager.hpp"
#include "queue/remote_queue.hpp"
#include "queue/schedule.hpp"

namespace petrel::queue {
namespace detail {

using Clock = std::chrono::steady_clock;
using State = spool::SpooledMessage::RecipientState;

constexpr std::int64_t kSpoolErrorRetry = 10;  // seconds before an unreadable entry is tried again

// A message being attempted (active): its envelope, and its content while
// content_in_memory.
struct Item {
  std::shared_ptr<const spool::SpooledMessage> message;
  bool content_in_memory = false;
  // A big message's head (its tail stays in its file), read for a local
  // delivery and dropped after it.
  std::shared_ptr<const spool::SpooledMessage> head;
  std::uint32_t attempts = 0;
  std::vector<State> states;  // per recipient, so a retry skips the settled ones
  std::set<std::string> counted_domains;  // pending domains, as counted in domain_counts
  // False only for a message accepted by this process and not yet tried:
  // no copy of it can be in a Maildir, so delivery skips looking for one.
  bool may_be_delivered = true;
  // This attempt: remote jobs still out, recipients that failed for good
  // (for the bounce), whether a remote server took some (the progress must
  // then be synced), and the last temporary error.
  std::size_t jobs_out = 0;
  std::vector<delivery::RecipientStatus> failed_now;
  std::vector<delivery::RecipientStatus> delivered_now;  // with NOTIFY=SUCCESS (RFC 3461): a success DSN
  bool remote_settled = false;
  bool attempted = false;       // some destination was really tried (counts as an attempt)
  std::int64_t not_before = 0;  // a site said when to come back (unix s); 0: the retry schedule
  std::int64_t room_retry = 0;  // a full site turned a job away: it waits for room, this at the latest
  bool delay_warned = false;    // persisted: the delay DSN goes out once
  // This attempt's events (docs/events.md), by recipient: written to the
  // webhook outbox with the spool write that records them, then emitted.
  std::vector<std::pair<std::size_t, events::Event>> events_now;
  bool warned_no_transport = false;
  bool odmr_held = false;  // a recipient waits for its domain's ATRN (RFC 2645): rechecked, not attempted
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

// Why a domain's messages are not loaded until a time: its site is down,
// suspended or has a full ready queue (learnt from a job's result).
struct Gate {
  std::int64_t until = 0;  // unix seconds
};

const char* state_name(State state);
QueueEntry entry_of(const spool::SpooledMessage& m);
// The A-label domains with a pending recipient that is not local.
std::set<std::string> pending_domains(const spool::SpooledMessage& m, const std::vector<State>& states,
                                      const QueueOptions& options);

}  // namespace detail

struct QueueManager::Impl {
  using Item = detail::Item;
  using Completion = detail::Completion;
  using Clock = detail::Clock;

  Impl(spool::Spool& s, QueueOptions o);

  // queue_manager.cpp
  void index(const spool::SpooledMessage& m);  // recovery: one schedule entry
  // Under the lock: message `id` has (count) or no longer has (uncount) a
  // pending recipient in `domain`; domain_counts and odmr_index follow (a
  // message held by an operator is counted but not claimable by ATRN).
  void count_domain(const std::string& id, const std::string& domain, bool claimable = true);
  // Under the lock: an operator's hold takes `m` out of odmr_index, its
  // release puts it back.
  void set_claimable(const spool::SpooledMessage& m, bool claimable);
  void uncount_domain(const std::string& id, const std::string& domain);
  bool is_odmr_domain(const std::string& domain) const;
  void add_fresh(std::shared_ptr<const spool::SpooledMessage> message);
  Item make_item(std::shared_ptr<const spool::SpooledMessage> message, bool with_content, bool fresh);
  void run();
  void admit_due(std::unique_lock<std::mutex>& lock);
  // When a campaign's or tenant's suspension holds the message back until
  // (unix s), or 0; under the lock.
  std::int64_t suspended_until(const spool::SpooledMessage& m, std::int64_t now);
  // The suspensions of campaigns or of tenants; null for sites and domains.
  std::map<std::string, std::int64_t>* suspensions_of(Scope scope) {
    if (scope == Scope::campaign) return &campaign_suspensions;
    if (scope == Scope::tenant) return &tenant_suspensions;
    return nullptr;
  }
  std::vector<Item> next_batch(std::unique_lock<std::mutex>& lock);
  bool load_contents(std::vector<Item>& batch);
  void release_content(Item& item);
  void deliver(std::vector<Item>& batch);
  void dispatch_remote(Item& item, const std::vector<std::size_t>& recipients);
  void dispatch_alias(Item& item, const std::vector<std::size_t>& recipients);
  void complete(const Completion& c);
  void gate_on(const std::string& domain, const JobResult& result);  // guarded by mutex
  // Events: noted on the item as they happen, and written (outbox records
  // for the spool write of the change) and emitted when it is recorded.
  void note_event(Item& item, std::size_t recipient, events::Event event);
  std::vector<spool::Spool::Record> event_records(const Item& item);
  void emit_events(Item& item);
  void on_room(const std::vector<std::string>& site_domains, std::size_t room);  // delivery thread
  std::int64_t jitter(std::int64_t seconds);  // seconds stretched by up to 10 %
  void note_spool_error(const std::string& what, std::error_code ec);

  // queue_feedback.cpp
  // A bulk message's recipient on the suppression list fails now (true).
  bool fail_if_suppressed(Item& item, std::size_t recipient, std::time_t now);
  // The reply's class ("" without a classifier); a failure of a class that
  // suppresses puts a bulk message's recipient on the list.
  std::string learn_from_reply(const Item& item, std::size_t recipient, const std::string& reply, bool failed);

  // queue_odmr.cpp
  std::vector<OdmrClaim> claim_odmr(const std::vector<std::string>& domains, std::size_t max,
                                    const std::set<std::string>& tried);
  std::vector<std::string> take(const std::vector<std::string>& candidates, const std::vector<std::string>& domains,
                                std::size_t max, std::vector<OdmrClaim>& claims);
  // An ODMR claim's result has come back: the claim becomes an in-flight
  // item for complete(); in_flight.end() when there is none.
  std::map<std::string, Item>::iterator take_odmr_claim(const std::string& queue_id);
  std::int64_t odmr_recheck() const;  // seconds between looks at held mail (expiry, delay warning)

  // queue_settle.cpp
  void settle(Item item);
  void expire(Item& item);
  void warn_of_delay(Item& item);
  bool queue_bounce(const Item& item, delivery::DsnKind kind, const std::vector<delivery::RecipientStatus>& recipients);
  void defer(Item item);
  enum class After { scheduled, held, deleted, finished };
  After leave_active(Item& item, const std::set<std::string>& pending, std::optional<std::int64_t> next);
  spool::SpooledMessage progress_of(const Item& item) const;  // what the spool keeps between attempts
  std::uint32_t schedule_domain(const std::set<std::string>& domains);  // guarded by mutex

  spool::Spool& spool;
  QueueOptions options;
  std::unique_ptr<RemoteQueue> remote;  // null: no remote delivery
  std::unique_ptr<AliasJobs> alias_jobs;  // made for the first command or file target

  mutable std::mutex mutex;
  std::condition_variable wake;
  Schedule schedule;                                   // guarded by mutex
  DomainTable domains;                                 // guarded by mutex
  std::unordered_map<std::uint32_t, detail::Gate> gates;  // guarded by mutex
  std::map<std::string, std::size_t> domain_counts;    // queued messages per pending domain; guarded by mutex
  OdmrIndex odmr_index;                                // queued messages per pending ODMR domain; guarded by mutex
  std::deque<Item> ready;                              // active, to be attempted; guarded by mutex
  std::unordered_set<std::string> active;              // IDs of active messages; guarded by mutex
  std::unordered_set<std::string> deleted;             // active when deleted; guarded by mutex
  std::unordered_set<std::string> to_hold;             // active when held; guarded by mutex
  std::size_t content_bytes = 0;                       // of items with content_in_memory; guarded by mutex
  std::size_t queued = 0;                              // messages in the queue; guarded by mutex
  std::atomic<std::size_t> held{0};                    // of those, held by an operator
  // Campaigns and tenants held back: value -> until (unix s; 0: until
  // resumed); guarded by mutex.
  std::map<std::string, std::int64_t> campaign_suspensions;
  std::map<std::string, std::int64_t> tenant_suspensions;
  std::uint64_t spool_errors = 0;                      // guarded by mutex
  std::string last_spool_error;                        // guarded by mutex
  bool stopping = false;                               // guarded by mutex
  bool rescheduled = false;  // entries were made due by a command: look again; guarded by mutex
  std::deque<Completion> completions;                  // guarded by mutex
  std::map<std::string, Item> in_flight;               // waiting for remote jobs; queue thread only
  std::map<std::string, Item> odmr_claims;             // taken by ATRN sessions; guarded by mutex
  std::mt19937_64 random{std::random_device{}()};      // queue thread only
  std::thread thread;
};

}  // namespace petrel::queue
