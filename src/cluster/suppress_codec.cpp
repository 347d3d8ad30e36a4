#include "cluster/suppress_codec.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

namespace petrel::cluster {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

std::optional<std::int64_t> signed_number(std::string_view s) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

}  // namespace

std::string suppress_hash_key(std::string_view tenant) {
  return std::string(kSuppressPrefix) + "list:" + std::string(tenant);
}

std::string hash_value(const suppress::Entry& e, std::string_view node) {
  json j = {{"reason", suppress::to_string(e.reason)}, {"at", e.at}, {"node", node}};
  if (!e.campaign.empty()) j["campaign"] = e.campaign;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return dump(j);
}

std::optional<suppress::Entry> entry_from_hash(std::string_view tenant, std::string_view address,
                                               std::string_view value) {
  if (!suppress::valid_tenant(tenant) || address.empty() || address.find('@') == std::string_view::npos) {
    return std::nullopt;
  }
  const json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  suppress::Entry e;
  e.tenant = std::string(tenant);
  e.address = suppress::normalize(address);
  const auto reason = j.find("reason");
  e.reason = reason != j.end() && reason->is_string()
                 ? suppress::reason_from_string(reason->get<std::string>()).value_or(suppress::Reason::manual)
                 : suppress::Reason::manual;
  if (const auto c = j.find("campaign"); c != j.end() && c->is_string()) e.campaign = c->get<std::string>();
  if (const auto d = j.find("detail"); d != j.end() && d->is_string()) e.detail = d->get<std::string>();
  if (const auto at = j.find("at"); at != j.end() && at->is_number_integer()) e.at = at->get<std::int64_t>();
  return e;
}

std::vector<std::string> script_args(const suppress::Change& c, std::string_view node, bool push) {
  const bool add = c.op == suppress::Change::Op::add;
  return {push ? "push" : add ? "add" : "remove", c.entry.tenant, suppress::normalize(c.entry.address),
          std::to_string(c.entry.at), add ? hash_value(c.entry, node) : std::string()};
}

std::optional<LoggedChange> parse_log_entry(const Fields& fields) {
  std::string_view op, tenant, address, at, node, value;
  for (const auto& [name, v] : fields) {
    if (name == "op") op = v;
    else if (name == "tenant") tenant = v;
    else if (name == "address") address = v;
    else if (name == "at") at = v;
    else if (name == "node") node = v;
    else if (name == "value") value = v;
  }
  const auto time = signed_number(at);
  if (!time) return std::nullopt;
  LoggedChange out;
  out.node = std::string(node);
  if (op == "add") {
    auto e = entry_from_hash(tenant, address, value);
    if (!e) return std::nullopt;
    out.change = {suppress::Change::Op::add, std::move(*e)};
    return out;
  }
  if (op != "remove" || !suppress::valid_tenant(tenant) || address.empty()) return std::nullopt;
  out.change.op = suppress::Change::Op::remove;
  out.change.entry.tenant = std::string(tenant);
  out.change.entry.address = suppress::normalize(address);
  out.change.entry.at = *time;
  return out;
}

bool replaces(const suppress::Change& change, const std::optional<suppress::Entry>& local) {
  if (change.op == suppress::Change::Op::add) return true;
  return local && local->at <= change.entry.at;
}

std::optional<StreamId> StreamId::parse(std::string_view text) {
  const auto dash = text.find('-');
  const auto ms = number(text.substr(0, dash));
  if (!ms) return std::nullopt;
  if (dash == std::string_view::npos) return StreamId{*ms, 0};
  const auto seq = number(text.substr(dash + 1));
  if (!seq) return std::nullopt;
  return StreamId{*ms, *seq};
}

std::string StreamId::str() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::string encode_cursor(const Cursor& c) { return dump({{"epoch", c.epoch}, {"last_id", c.last_id}}); }

std::optional<Cursor> decode_cursor(std::string_view value) {
  const json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  const auto epoch = j.find("epoch");
  const auto last = j.find("last_id");
  if (epoch == j.end() || !epoch->is_string() || last == j.end() || !last->is_string()) return std::nullopt;
  Cursor c{epoch->get<std::string>(), last->get<std::string>()};
  if (c.epoch.empty() || !StreamId::parse(c.last_id)) return std::nullopt;
  return c;
}

bool log_trimmed_past(const StreamId& last_applied, const std::optional<StreamId>& max_deleted,
                      const std::optional<StreamId>& first_held, bool nothing_removed) {
  if (nothing_removed) return false;
  if (max_deleted && *max_deleted > last_applied) return true;  // XDEL
  return first_held && *first_held > last_applied;               // MAXLEN trimming
}

std::size_t PendingWrites::push(const std::vector<suppress::Change>& changes) {
  std::size_t dropped = 0;
  for (const auto& c : changes) {
    if (queue_.size() >= limit_) {
      ++dropped;
      continue;
    }
    queue_.push_back(c);
  }
  if (dropped) overflowed_ = true;
  return dropped;
}

std::vector<suppress::Change> PendingWrites::take(std::size_t most) {
  std::vector<suppress::Change> out;
  while (!queue_.empty() && out.size() < most) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

void PendingWrites::put_back(std::vector<suppress::Change> changes) {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) queue_.push_front(std::move(*it));
}

}  // namespace petrel::cluster
