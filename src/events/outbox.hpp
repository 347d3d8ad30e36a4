// The webhook outbox (docs/events.md, webhooks): events that webhooks are
// to receive, kept as records in the spool's database ("o/<seq>"), each
// written in the same batch as the change of state it reports (the
// message stored, its progress recorded, its removal), so that after a
// crash either both are there or neither. Events stay until every webhook
// has had them (its cursor "oc/<webhook>" passed them).
//
// Bounded on disk: past max_bytes, new events are not written to the
// outbox (mail is never held back for them): counted as dropped, and
// warned about.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.hpp"
#include "spool/spool.hpp"

namespace petrel::events {

class Outbox {
 public:
  // Reads where the outbox stands (its last sequence number and size).
  Outbox(spool::Spool& spool, std::uint64_t max_bytes);

  // Records that put these events in the outbox; pass them to the spool
  // write of the change of state. Empty when the outbox is full.
  std::vector<spool::Spool::Record> records_for(const std::vector<Event>& events);

  // Events after sequence number `after`, in order, until visit returns false.
  using Visit = std::function<bool(std::uint64_t seq, std::string_view json)>;
  std::error_code scan(std::uint64_t after, const Visit& visit) const;
  // Forgets events up to and including `upto` (every webhook has them);
  // not synced: deletes lost in a crash are made again after the restart.
  std::error_code forget_upto(std::uint64_t upto);
  std::uint64_t last_seq() const { return next_seq_.load() - 1; }
  std::uint64_t bytes() const { return bytes_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

  static std::string key(std::uint64_t seq);  // "o/" + 16 hex digits
  static constexpr std::string_view kPrefix = "o/";

 private:
  spool::Spool& spool_;
  std::uint64_t max_bytes_;
  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t forgotten_upto_ = 0;  // forget_upto's caller is one thread
};

// The outbox the emitters write to, if webhooks are configured (set once
// at start, before mail flows); records_for() of it, or none.
void set_outbox(Outbox* outbox);
Outbox* outbox();
std::vector<spool::Spool::Record> outbox_records(const std::vector<Event>& events);

}  // namespace petrel::events
