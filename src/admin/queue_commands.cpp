#include "admin/queue_commands.hpp"
#include "admin/cluster_commands.hpp"
#include "admin/suppress_commands.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <optional>
#include <utility>

#include "queue/queue_manager.hpp"
#include "spool/spool.hpp"

namespace petrel::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxPage = 10000;

json to_json(const queue::QueueEntry& e) {
  json recipients = json::array();
  for (const auto& r : e.recipients) recipients.push_back({{"address", r.address}, {"state", r.state}});
  return {{"id", e.id},
          {"arrival", e.arrival_unix_seconds},
          {"size", e.size},
          {"sender", e.sender},
          {"recipients", recipients},
          {"attempts", e.attempts},
          {"next_attempt", e.next_attempt_unix_seconds},
          {"last_error", e.last_error},
          {"held", e.held},
          {"in_flight", e.in_flight},
          {"campaign", e.campaign.empty() ? json(nullptr) : json(e.campaign)},
          {"tenant", e.tenant.empty() ? json(nullptr) : json(e.tenant)}};
}

// RFC 3339 in UTC, as the JSON of `sites` gives times.
std::string rfc3339(std::int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json to_json(const queue::SiteView& s) {
  json limits = {{"connection_limit", s.limits.connection_limit},
                 {"max_connection_rate", shaping::to_string(s.limits.max_connection_rate)},
                 {"max_deliveries_per_connection", s.limits.max_deliveries_per_connection},
                 {"max_message_rate", shaping::to_string(s.limits.max_message_rate)}};
  json sources = json::array();
  for (const auto& source : s.sources) {
    sources.push_back({{"name", source.name},
                       {"connections", source.connections},
                       {"sent_today", source.sent_today},
                       {"warmup_cap_today", source.cap_today ? json(*source.cap_today) : json(nullptr)}});
  }
  return {{"site", s.site},
          {"domains", s.domains},
          {"provider", s.provider.empty() ? json(nullptr) : json(s.provider)},
          {"state", s.state},
          {"queued", s.queued},
          {"ready", s.ready},
          {"connections", s.connections},
          {"rate", s.delivered_last_minute},
          {"suspended_until", s.suspended_until ? json(rfc3339(*s.suspended_until)) : json(nullptr)},
          {"suspend_reason", s.suspend_reason},
          {"last_reply", s.last_reply},
          {"limits", limits},
          {"sources", sources}};
}

json error(const std::string& text) { return {{"ok", false}, {"error", text}}; }

// The header section of a message (up to the first empty line).
std::string headers_of(const std::string& content) {
  auto end = content.find("\r\n\r\n");
  end = end == std::string::npos ? content.size() : end + 2;
  return content.substr(0, std::min(end, kMaxHeaderBytes));
}

json list(const json& request, queue::QueueManager& queue) {
  queue::ListFilter filter;
  filter.after = request.value("after", "");
  filter.domain = request.value("domain", "");
  filter.site = request.value("site", "");
  filter.campaign = request.value("campaign", "");
  filter.tenant = request.value("tenant", "");
  if (request.contains("limit")) {
    if (!request["limit"].is_number_unsigned() || request["limit"].get<std::size_t>() == 0) {
      return error("\"limit\" must be a whole number ≥ 1");
    }
    filter.limit = std::min(request["limit"].get<std::size_t>(), kMaxPage);
  }
  const queue::ListPage page = queue.list(filter);
  json messages = json::array();
  for (const auto& e : page.entries) messages.push_back(to_json(e));
  return {{"ok", true}, {"messages", messages}, {"next", page.next.empty() ? json(nullptr) : json(page.next)}};
}

json show(const json& request, queue::QueueManager& queue, spool::Spool& spool) {
  const std::string id = request.value("id", "");
  auto entry = queue.find(id);
  if (!entry) return error("no message " + id + " in the queue");
  json out = to_json(*entry);
  if (auto content = spool.load_content(spool::QueueId{id})) {
    out["size"] = content->size();
    out["headers"] = headers_of(*content);
  }
  return {{"ok", true}, {"message", out}};
}

json for_each_id(const json& request, queue::Outcome (queue::QueueManager::*action)(std::string_view),
                 queue::QueueManager& queue) {
  if (!request.contains("ids") || !request["ids"].is_array()) return error("\"ids\" must be an array of queue IDs");
  json done = json::array(), unknown = json::array(), in_flight = json::array();
  for (const auto& id : request["ids"]) {
    if (!id.is_string()) return error("\"ids\" must be an array of queue IDs");
    const std::string text = id.get<std::string>();
    switch ((queue.*action)(text)) {
      case queue::Outcome::done: done.push_back(text); break;
      case queue::Outcome::in_flight:
        done.push_back(text);
        in_flight.push_back(text);
        break;
      case queue::Outcome::unknown: unknown.push_back(text); break;
    }
  }
  return {{"ok", true}, {"done", done}, {"unknown", unknown}, {"in_flight", in_flight}};
}

// {"site": NAME}, {"domain": D}, {"campaign": C} or {"tenant": T}.
json on_target(const json& request, queue::QueueManager& queue, bool suspend) {
  using Scope = queue::QueueManager::Scope;
  constexpr std::pair<const char*, Scope> kScopes[] = {
      {"site", Scope::site}, {"domain", Scope::domain}, {"campaign", Scope::campaign}, {"tenant", Scope::tenant}};
  std::optional<std::pair<Scope, std::string>> target;
  for (const auto& [key, scope] : kScopes) {
    if (!request.contains(key)) continue;
    if (target || !request[key].is_string() || request[key].get<std::string>().empty()) {
      return error("name one \"site\", \"domain\", \"campaign\" or \"tenant\" (a non-empty string)");
    }
    target.emplace(scope, request[key].get<std::string>());
  }
  if (!target) return error("name a \"site\", \"domain\", \"campaign\" or \"tenant\"");
  std::int64_t seconds = 0;
  if (request.contains("seconds")) {
    if (!request["seconds"].is_number_integer() || request["seconds"].get<std::int64_t>() < 0) {
      return error("\"seconds\" must be a whole number ≥ 0");
    }
    seconds = request["seconds"].get<std::int64_t>();
  }
  const std::string problem = suspend ? queue.suspend(target->first, target->second, std::chrono::seconds(seconds))
                                      : queue.resume(target->first, target->second);
  if (!problem.empty()) return error(problem);
  return {{"ok", true}};
}

json suspensions(const queue::QueueManager& queue) {
  json out = json::array();
  for (const auto& s : queue.suspensions()) {
    out.push_back({{s.scope == queue::QueueManager::Scope::campaign ? "campaign" : "tenant", s.target},
                   {"until", s.until == 0 ? json(nullptr) : json(rfc3339(s.until))}});
  }
  return out;
}

// The webhook batches set aside (records "of/<webhook>/<seq>"), newest last.
json events_failed(const json& request, spool::Spool& spool) {
  const std::size_t limit = request.value("limit", std::size_t{100});
  json out = json::array();
  const auto ec = spool.scan_records("of/", "", [&](std::string_view, std::string_view value) {
    json batch = json::parse(value, nullptr, false);
    if (!batch.is_discarded()) out.push_back(std::move(batch));
    if (out.size() > limit) out.erase(out.begin());
    return true;
  });
  if (ec) return error("the spool cannot be read: " + ec.message());
  return {{"ok", true}, {"failed", out}};
}

json dispatch(const json& request, queue::QueueManager& queue, spool::Spool& spool) {
  if (!request.is_object() || !request.contains("command") || !request["command"].is_string()) {
    return error("a request is a JSON object with a \"command\"");
  }
  const std::string command = request["command"].get<std::string>();
  if (command == "list") return list(request, queue);
  if (command == "show") return show(request, queue, spool);
  if (command == "flush") return {{"ok", true}, {"flushed", queue.flush(request.value("domain", ""))}};
  if (command == "hold") return for_each_id(request, &queue::QueueManager::hold, queue);
  if (command == "release") return for_each_id(request, &queue::QueueManager::release, queue);
  if (command == "delete") return for_each_id(request, &queue::QueueManager::remove, queue);
  if (command == "sites") {
    json sites = json::array();
    for (const auto& s : queue.sites()) sites.push_back(to_json(s));
    const auto stats = queue.stats();
    return {{"ok", true},
            {"sites", sites},
            {"queue",
             {{"messages", queue.pending()},
              {"scheduled", stats.scheduled},
              {"active", stats.active},
              {"spool_errors", stats.spool_errors},
              {"last_spool_error", stats.last_spool_error}}},
            {"suspensions", suspensions(queue)}};
  }
  if (command == "suspend") return on_target(request, queue, true);
  if (command == "resume") return on_target(request, queue, false);
  if (auto reply = handle_suppress(request, spool)) return *reply;
  if (auto reply = handle_cluster(request)) return *reply;
  if (command == "events-failed") return events_failed(request, spool);
  return error("unknown command \"" + command +
               "\" (list, show, flush, hold, release, delete, sites, suspend, resume, suppress-list, suppress-add, "
               "suppress-remove, events-failed, cluster-status)");
}

}  // namespace

std::string handle_request(std::string_view line, queue::QueueManager& queue, spool::Spool& spool) {
  json reply;
  try {
    reply = dispatch(json::parse(line), queue, spool);
  } catch (const json::exception& e) {
    reply = error(std::string("bad request: ") + e.what());
  }
  // Message IDs and addresses may hold any octet: replace what is not UTF-8.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace petrel::admin
