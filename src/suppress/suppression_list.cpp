#include "suppress/suppression_list.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "events/mail_events.hpp"
#include "spool/spool.hpp"

namespace petrel::suppress {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "s/";
constexpr std::string_view kReasons[] = {"unsubscribe", "hard_bounce", "complaint", "manual"};

bool decode(std::string_view key, std::string_view value, Entry& out) {
  if (!key.starts_with(kPrefix)) return false;
  key.remove_prefix(kPrefix.size());
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return false;
  out.tenant = std::string(key.substr(0, slash));
  out.address = std::string(key.substr(slash + 1));
  const json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return false;
  out.reason = reason_from_string(j.value("reason", "manual")).value_or(Reason::manual);
  out.campaign = j.value("campaign", "");
  out.detail = j.value("detail", "");
  out.at = j.value("at", std::int64_t{0});
  return true;
}

std::mutex observer_mutex;
ChangeObserver observer;  // guarded by observer_mutex

void notify(const std::vector<Change>& changes) {
  ChangeObserver copy;
  {
    std::lock_guard lock(observer_mutex);
    copy = observer;
  }
  if (copy && !changes.empty()) copy(changes);
}

}  // namespace

void set_change_observer(ChangeObserver o) {
  std::lock_guard lock(observer_mutex);
  observer = std::move(o);
}

std::optional<Entry> parse_record(std::string_view key, std::string_view value) {
  Entry e;
  if (!decode(key, value, e)) return std::nullopt;
  return e;
}

std::string_view to_string(Reason reason) { return kReasons[static_cast<int>(reason)]; }

std::optional<Reason> reason_from_string(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kReasons); ++i) {
    if (kReasons[i] == name) return static_cast<Reason>(i);
  }
  return std::nullopt;
}

std::string normalize(std::string_view address) {
  std::string out(address);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c);
  });
  return out;
}

bool valid_tenant(std::string_view tenant) {
  return tenant.size() <= 64 && std::none_of(tenant.begin(), tenant.end(), [](char c) {
           return static_cast<unsigned char>(c) <= ' ' || c == '/' || c == 0x7f;
         });
}

std::string record_key(std::string_view tenant, std::string_view address) {
  return std::string(kPrefix) + std::string(tenant) + "/" + normalize(address);
}

std::string record_value(const Entry& e) {
  json j = {{"reason", to_string(e.reason)}, {"at", e.at}};
  if (!e.campaign.empty()) j["campaign"] = e.campaign;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Entry> SuppressionList::find(std::string_view tenant, std::string_view address,
                                           std::error_code& ec) const {
  std::string value;
  for (const std::string_view scope : {tenant, std::string_view{}}) {
    const std::string key = record_key(scope, address);
    if (spool_.read_record(key, value, ec)) {
      Entry e;
      if (decode(key, value, e)) return e;
    }
    if (ec || scope.empty()) break;
  }
  return std::nullopt;
}

namespace {

events::Event suppression_event(events::Type type, const Entry& e, std::string detail) {
  events::Event ev;
  ev.type = type;
  ev.event_id = events::random_event_id();
  ev.timestamp_ms = events::now_ms();
  ev.recipient = e.address;
  if (const auto at = e.address.rfind('@'); at != std::string::npos) ev.domain = e.address.substr(at + 1);
  ev.campaign = e.campaign;
  ev.tenant = e.tenant;
  ev.detail = std::move(detail);
  return ev;
}

// Once stored: a Suppression event per entry, and before it the
// Unsubscribe or Complaint that caused it.
void emit_added(const std::vector<Entry>& entries) {
  if (!events::listened()) return;
  for (const Entry& e : entries) {
    if (e.reason == Reason::unsubscribe) events::emit(suppression_event(events::Type::Unsubscribe, e, e.detail));
    if (e.reason == Reason::complaint) events::emit(suppression_event(events::Type::Complaint, e, e.detail));
    events::emit(suppression_event(events::Type::Suppression, e,
                                   "added: " + std::string(to_string(e.reason)) + (e.detail.empty() ? "" : ": " + e.detail)));
  }
}

}  // namespace

void SuppressionList::add(std::vector<Entry> entries, std::function<void(std::error_code)> done) {
  std::vector<spool::Spool::Record> records;
  records.reserve(entries.size());
  for (const Entry& e : entries) records.push_back({record_key(e.tenant, e.address), record_value(e)});
  spool_.store_group({}, std::move(records), [entries = std::move(entries), done = std::move(done)](std::error_code ec) {
    if (!ec) {
      emit_added(entries);
      std::vector<Change> changes;
      changes.reserve(entries.size());
      for (const Entry& e : entries) changes.push_back({Change::Op::add, e});
      notify(changes);
    }
    done(ec);
  });
}

void SuppressionList::remove(std::string_view tenant, const std::vector<std::string>& addresses,
                             std::function<void(std::error_code)> done) {
  std::vector<spool::Spool::Record> records;
  records.reserve(addresses.size());
  for (const auto& a : addresses) records.push_back({record_key(tenant, a), std::nullopt});
  spool_.store_group({}, std::move(records),
                     [tenant = std::string(tenant), addresses, done = std::move(done)](std::error_code ec) {
                       if (!ec) {
                         const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch());
                         std::vector<Change> changes;
                         for (const auto& a : addresses) {
                           Entry e;
                           e.tenant = tenant;
                           e.address = a;
                           e.at = now.count();
                           if (events::listened()) events::emit(suppression_event(events::Type::Suppression, e, "removed"));
                           e.address = normalize(a);
                           changes.push_back({Change::Op::remove, std::move(e)});
                         }
                         notify(changes);
                       }
                       done(ec);
                     });
}

SuppressionList::Page SuppressionList::list(const std::optional<std::string>& tenant, std::string_view after,
                                            std::size_t limit, std::error_code& ec) const {
  Page page;
  const std::string prefix = std::string(kPrefix) + (tenant ? *tenant + "/" : "");
  std::string last;
  ec = spool_.scan_records(prefix, after, [&](std::string_view key, std::string_view value) {
    if (page.entries.size() == limit) {
      page.next = last;
      return false;
    }
    Entry e;
    if (decode(key, value, e)) page.entries.push_back(std::move(e));
    last = std::string(key);
    return true;
  });
  return page;
}

}  // namespace petrel::suppress
