// The webhook outbox (docs/events.md, webhooks): events that webhooks are
// to receive, kept as records in the spool's database ("o/<seq>"), each
// written in the same batch as the change of state it reports (the
// message stored, its progress recorded, its removal), so that after a
// crash either both are there or neither. Its readers (the webhooks, the
// NATS publisher) each keep a cursor of their own ("oc/<webhook>",
// "on/jetstream"); events stay until every reader has passed them.
// Sequence numbers only grow, across restarts too ("ox/forgotten"
// remembers the last one forgotten), so a cursor never points past new
// events.
//
// Bounded on disk: past max_bytes, new events are not written to the
// outbox (mail is never held back for them): counted as dropped, and
// warned about.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"
#include "spool/spool.hpp"

namespace petrel::events {

class Outbox {
 public:
  // Reads where the outbox stands (its last sequence number and size).
  // `readers`: how many read it, each reporting with passed().
  Outbox(spool::Spool& spool, std::uint64_t max_bytes, unsigned readers = 1);

  // Records that put these events in the outbox; pass them to the spool
  // write of the change of state. Empty when the outbox is full.
  std::vector<spool::Spool::Record> records_for(const std::vector<Event>& events);

  // An event that is not written with a change of state of a message
  // (see written_with_mail), written on its own as it is emitted: a crash
  // between the change and this write loses it.
  std::error_code record(const Event& event);

  // Events after sequence number `after`, in order, until visit returns false.
  using Visit = std::function<bool(std::uint64_t seq, std::string_view json)>;
  std::error_code scan(std::uint64_t after, const Visit& visit) const;
  // Reader `reader` (0 to readers - 1) is done with events up to `upto`.
  // Those every reader is done with are forgotten, a thousand or a
  // second's worth at a time (each removal is a write of the spool). Any
  // thread; returns the error of the removal, if one was made.
  std::error_code passed(unsigned reader, std::uint64_t upto);
  // Forgets events up to and including `upto` (every reader has them);
  // not synced: deletes lost in a crash are made again after the restart.
  std::error_code forget_upto(std::uint64_t upto);
  std::uint64_t last_seq() const { return next_seq_.load() - 1; }
  std::uint64_t bytes() const { return bytes_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

  static std::string key(std::uint64_t seq);  // "o/" + 16 hex digits
  static constexpr std::string_view kPrefix = "o/";
  static constexpr std::string_view kForgottenKey = "ox/forgotten";

 private:
  spool::Spool& spool_;
  std::uint64_t max_bytes_;
  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::mutex forget_mutex_;  // the readers' cursors, and forgetting
  std::vector<std::uint64_t> passed_;
  std::chrono::steady_clock::time_point last_forget_{};
  std::uint64_t forgotten_upto_ = 0;
};

// Mail events (Reception, Delivery, TransientFailure, Bounce, Expiration)
// go to the outbox in the spool write of the change they report; the
// others (suppressions, unsubscribes, complaints, operator actions) are
// recorded when emitted.
bool written_with_mail(Type type);

// The outbox the emitters write to, if webhooks or NATS are configured (set once
// at start, before mail flows); records_for() of it, or none.
void set_outbox(Outbox* outbox);
Outbox* outbox();
std::vector<spool::Spool::Record> outbox_records(const std::vector<Event>& events);

}  // namespace petrel::events
