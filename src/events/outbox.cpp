#include "events/outbox.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "metrics/petrel_metrics.hpp"

namespace petrel::events {
namespace {

std::atomic<Outbox*> the_outbox{nullptr};

std::uint64_t seq_of(std::string_view key) {
  key.remove_prefix(Outbox::kPrefix.size());
  std::uint64_t seq = 0;
  std::from_chars(key.data(), key.data() + key.size(), seq, 16);
  return seq;
}

}  // namespace

std::string Outbox::key(std::uint64_t seq) { return fmt::format("{}{:016x}", kPrefix, seq); }

Outbox::Outbox(spool::Spool& spool, std::uint64_t max_bytes, unsigned readers)
    : spool_(spool), max_bytes_(max_bytes), passed_(readers, 0) {
  std::uint64_t last = 0;
  std::uint64_t bytes = 0;
  const auto ec = spool_.scan_records(kPrefix, "", [&](std::string_view k, std::string_view value) {
    last = seq_of(k);
    bytes += k.size() + value.size();
    return true;
  });
  if (ec) throw std::runtime_error("events: cannot read the event outbox: " + ec.message());
  std::string forgotten;
  std::error_code read_ec;
  if (spool_.read_record(kForgottenKey, forgotten, read_ec)) {
    std::from_chars(forgotten.data(), forgotten.data() + forgotten.size(), forgotten_upto_);
  }
  next_seq_ = std::max(last, forgotten_upto_) + 1;
  bytes_ = bytes;
}

std::vector<spool::Spool::Record> Outbox::records_for(const std::vector<Event>& events) {
  std::vector<spool::Spool::Record> records;
  records.reserve(events.size());
  for (const Event& e : events) {
    std::string json = to_json_line(e);
    json.pop_back();  // the newline
    const std::uint64_t size = json.size() + 2 + 16;
    if (bytes_.load() + size > max_bytes_) {
      if (dropped_.fetch_add(1) % 10000 == 0) {
        spdlog::error("events: the event outbox is full ([events] max_outbox_size, {} octets): events are "
                      "dropped for the webhooks and NATS until they catch up", max_bytes_);
      }
      metrics::webhook_events().with({"*", "dropped"}).inc();
      continue;
    }
    bytes_ += size;
    records.push_back({key(next_seq_++), std::move(json)});
  }
  return records;
}

std::error_code Outbox::record(const Event& event) {
  const auto records = records_for({event});
  return records.empty() ? std::error_code() : spool_.write_records(records);
}

bool written_with_mail(Type type) {
  switch (type) {
    case Type::Reception:
    case Type::Delivery:
    case Type::TransientFailure:
    case Type::Bounce:
    case Type::Expiration: return true;
    default: return false;
  }
}

std::error_code Outbox::scan(std::uint64_t after, const Visit& visit) const {
  const std::string from = after == 0 ? "" : key(after);
  return spool_.scan_records(kPrefix, from, [&](std::string_view k, std::string_view value) {
    return visit(seq_of(k), value);
  });
}

std::error_code Outbox::passed(unsigned reader, std::uint64_t upto) {
  constexpr std::uint64_t kForgetEvents = 1000;
  constexpr auto kForgetEvery = std::chrono::seconds(1);
  std::lock_guard lock(forget_mutex_);
  if (reader >= passed_.size()) return {};
  passed_[reader] = std::max(passed_[reader], upto);
  const std::uint64_t all = *std::min_element(passed_.begin(), passed_.end());
  if (all <= forgotten_upto_) return {};
  const auto now = std::chrono::steady_clock::now();
  if (all - forgotten_upto_ < kForgetEvents && now - last_forget_ < kForgetEvery) return {};
  last_forget_ = now;
  return forget_upto(all);
}

// Called with forget_mutex_ held (or before the readers start).
std::error_code Outbox::forget_upto(std::uint64_t upto) {
  std::vector<spool::Spool::Record> deletes;
  std::uint64_t freed = 0;
  const auto ec = scan(forgotten_upto_, [&](std::uint64_t seq, std::string_view json) {
    if (seq > upto) return false;
    deletes.push_back({key(seq), std::nullopt});
    freed += json.size() + 2 + 16;
    return true;
  });
  if (ec || deletes.empty()) return ec;
  forgotten_upto_ = upto;
  deletes.push_back({std::string(kForgottenKey), std::to_string(upto)});
  const auto e = spool_.write_records(deletes);
  if (!e) bytes_ -= std::min<std::uint64_t>(freed, bytes_.load());
  return e;
}

void set_outbox(Outbox* outbox) { the_outbox = outbox; }
Outbox* outbox() { return the_outbox.load(); }

std::vector<spool::Spool::Record> outbox_records(const std::vector<Event>& events) {
  Outbox* o = the_outbox.load();
  if (!o || events.empty()) return {};
  return o->records_for(events);
}

}  // namespace petrel::events
