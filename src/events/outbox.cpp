#include "events/outbox.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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

Outbox::Outbox(spool::Spool& spool, std::uint64_t max_bytes) : spool_(spool), max_bytes_(max_bytes) {
  std::uint64_t last = 0;
  std::uint64_t bytes = 0;
  const auto ec = spool_.scan_records(kPrefix, "", [&](std::string_view k, std::string_view value) {
    last = seq_of(k);
    bytes += k.size() + value.size();
    return true;
  });
  if (ec) throw std::runtime_error("events: cannot read the webhook outbox: " + ec.message());
  next_seq_ = last + 1;
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
        spdlog::error("events: the webhook outbox is full ([events] max_outbox_size, {} octets): events are "
                      "dropped for the webhooks until they catch up", max_bytes_);
      }
      metrics::webhook_events().with({"*", "dropped"}).inc();
      continue;
    }
    bytes_ += size;
    records.push_back({key(next_seq_++), std::move(json)});
  }
  return records;
}

std::error_code Outbox::scan(std::uint64_t after, const Visit& visit) const {
  const std::string from = after == 0 ? "" : key(after);
  return spool_.scan_records(kPrefix, from, [&](std::string_view k, std::string_view value) {
    return visit(seq_of(k), value);
  });
}

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
