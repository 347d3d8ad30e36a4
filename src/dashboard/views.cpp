#include "dashboard/views.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "admin/queue_commands.hpp"
#include "queue/queue_manager.hpp"

namespace petrel::dashboard {
namespace {

using nlohmann::json;
using http::Problem;

constexpr std::size_t kPage = 100;           // messages shown per search
constexpr std::size_t kScanPage = 1000;      // messages read per admin "list" while searching
constexpr std::size_t kMaxScanned = 20000;   // per search request; the reply says where to go on
constexpr std::size_t kMaxIds = 1000;        // per hold, release or delete
constexpr std::size_t kQueryMax = 320;       // a search text, in octets

http::Response reply(const json& body) {
  return http::json_response(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// A command of the admin channel (docs/admin.md), as `petrel queue` sends it.
json admin(const Backends& b, const json& request) {
  return json::parse(admin::handle_request(request.dump(), b.queue, b.spool));
}

http::Response admin_reply(const Backends& b, const json& request) {
  json r = admin(b, request);
  if (!r.value("ok", false)) return to_response(Problem{400, "Bad Request", r.value("error", "the command failed")});
  r.erase("ok");
  return reply(r);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

json event_json(const events::Event& e) { return json::parse(events::to_json_line(e)); }

json events_json(const std::vector<events::Event>& events) {
  json out = json::array();
  for (const auto& e : events) out.push_back(event_json(e));
  return out;
}

// Does the admin channel's listing entry `m` match `text` (lower case) as `by` says?
bool matches(const json& m, std::string_view by, const std::string& text) {
  const auto has = [&text](const json& v) { return v.is_string() && lower(v.get<std::string>()).find(text) != std::string::npos; };
  bool recipient = false;
  for (const auto& r : m["recipients"]) recipient = recipient || has(r["address"]);
  if (by == "recipient") return recipient;
  return recipient || has(m["id"]) || has(m["campaign"]) || has(m["sender"]);  // "any"
}

// Pages through the queue from `after`, keeping what matches, until a page
// is full or kMaxScanned messages were read.
json scan(const Backends& b, std::string_view by, const std::string& text, std::string after) {
  json found = json::array();
  std::size_t scanned = 0;
  while (found.size() < kPage && scanned < kMaxScanned) {
    const json page = admin(b, {{"command", "list"}, {"after", after}, {"limit", kScanPage}});
    for (const auto& m : page["messages"]) {
      ++scanned;
      after = m["id"].get<std::string>();
      if (matches(m, by, text)) found.push_back(m);
      if (found.size() >= kPage) break;
    }
    if (!page["next"].is_string()) {
      if (found.size() < kPage) after.clear();  // read to the end
      break;
    }
  }
  return {{"messages", found}, {"next", after.empty() ? json(nullptr) : json(after)}, {"scanned", scanned}};
}

std::optional<json> body_object(const http::Request& request) {
  if (request.body.empty()) return json::object();
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  return body;
}

}  // namespace

http::Response overview(const Backends& b, std::int64_t now_ms) {
  const std::size_t queued = b.queue.pending();
  b.stats.sample_depth(queued, now_ms);
  const auto hour = b.stats.last_hour(now_ms);
  json t = json::array(), received = json::array(), delivered = json::array(), deferred = json::array(),
       bounced = json::array(), depth = json::array();
  json totals = {{"received", 0}, {"delivered", 0}, {"deferred", 0}, {"bounced", 0}};
  for (const auto& m : hour) {
    t.push_back(m.start_ms / 1000);
    received.push_back(m.received);
    delivered.push_back(m.delivered);
    deferred.push_back(m.deferred);
    bounced.push_back(m.bounced);
    depth.push_back(m.depth ? json(*m.depth) : json(nullptr));
    totals["received"] = totals["received"].get<std::uint64_t>() + m.received;
    totals["delivered"] = totals["delivered"].get<std::uint64_t>() + m.delivered;
    totals["deferred"] = totals["deferred"].get<std::uint64_t>() + m.deferred;
    totals["bounced"] = totals["bounced"].get<std::uint64_t>() + m.bounced;
  }
  const auto stats = b.queue.stats();
  return reply({{"now", now_ms},
                {"status", flow_name(flow(hour, queued))},
                {"queue",
                 {{"messages", queued},
                  {"held", stats.held},
                  {"active", stats.active},
                  {"parked", stats.parked},
                  {"spool_errors", stats.spool_errors}}},
                {"last_hour", totals},
                {"minutes",
                 {{"t", t},
                  {"received", received},
                  {"delivered", delivered},
                  {"deferred", deferred},
                  {"bounced", bounced},
                  {"depth", depth}}}});
}

http::Response sites(const Backends& b) { return admin_reply(b, {{"command", "sites"}}); }

http::Response queue_search(const Backends& b, const http::Request& request) {
  const std::string by = http::query_param(request.query, "by").value_or("any");
  const std::string q = http::query_param(request.query, "q").value_or("");
  const std::string after = http::query_param(request.query, "after").value_or("");
  if (q.size() > kQueryMax) return to_response(Problem{400, "Bad Request", "the search text is too long", "/q"});
  if (q.empty() || by == "campaign" || by == "site" || by == "domain") {
    json list = {{"command", "list"}, {"after", after}, {"limit", kPage}};
    if (!q.empty()) list[by] = q;
    return admin_reply(b, list);
  }
  if (by == "id") {
    json shown = admin(b, {{"command", "show"}, {"id", q}});
    json messages = json::array();
    if (shown.value("ok", false)) {
      shown["message"].erase("headers");
      messages.push_back(shown["message"]);
    }
    return reply({{"messages", messages}, {"next", nullptr}});
  }
  if (by != "any" && by != "recipient") {
    return to_response(Problem{400, "Bad Request", "by is one of any, id, recipient, campaign, site, domain", "/by"});
  }
  return reply(scan(b, by, lower(q), after));
}

http::Response message(const Backends& b, const http::Request& request) {
  const std::string id = http::query_param(request.query, "id").value_or("");
  if (id.empty()) return to_response(Problem{400, "Bad Request", "name the message: ?id=QUEUE_ID", "/id"});
  json shown = admin(b, {{"command", "show"}, {"id", id}});
  if (!shown.value("ok", false)) return to_response(Problem{404, "Not Found", shown.value("error", "no such message")});
  json out = shown["message"];
  out["history"] = events_json(b.stats.history(id));
  return reply(out);
}

http::Response campaigns(const Backends& b) {
  json out = json::array();
  for (const auto& c : b.stats.campaigns()) {
    out.push_back({{"campaign", c.name},
                   {"sent", c.sent},
                   {"delivered", c.delivered},
                   {"deferred", c.deferred},
                   {"bounced", c.bounced},
                   {"bounced_by_class", c.bounced_by_class},
                   {"unsubscribed", c.unsubscribed},
                   {"complained", c.complained},
                   {"last", events::rfc3339_ms(c.last_ms)}});
  }
  return reply({{"campaigns", out}});
}

http::Response feed(const Backends& b) {
  return reply({{"bounces", events_json(b.stats.recent_bounces())},
                {"suppressions", events_json(b.stats.recent_suppressions())}});
}

http::Response queue_action(const Backends& b, std::string_view action, const http::Request& request) {
  const auto body = body_object(request);
  if (!body) return to_response(Problem{400, "Bad Request", "the body must be a JSON object"});
  if (action == "flush") {
    json command = {{"command", "flush"}};
    if (body->contains("domain")) {
      if (!(*body)["domain"].is_string()) return to_response(Problem{400, "Bad Request", "domain must be a string", "/domain"});
      command["domain"] = (*body)["domain"];
    }
    return admin_reply(b, command);
  }
  if (!body->contains("ids") || !(*body)["ids"].is_array() || (*body)["ids"].empty()) {
    return to_response(Problem{400, "Bad Request", "ids must be a non-empty array of queue IDs", "/ids"});
  }
  if ((*body)["ids"].size() > kMaxIds) {
    return to_response(Problem{400, "Bad Request", "at most " + std::to_string(kMaxIds) + " ids at once", "/ids"});
  }
  return admin_reply(b, {{"command", std::string(action)}, {"ids", (*body)["ids"]}});
}

http::Response site_action(const Backends& b, std::string_view action, const http::Request& request) {
  const auto body = body_object(request);
  if (!body) return to_response(Problem{400, "Bad Request", "the body must be a JSON object"});
  if (!body->contains("site") || !(*body)["site"].is_string() || (*body)["site"].get<std::string>().empty()) {
    return to_response(Problem{400, "Bad Request", "site must name a site", "/site"});
  }
  json command = {{"command", std::string(action)}, {"site", (*body)["site"]}};
  if (action == "suspend" && body->contains("seconds")) command["seconds"] = (*body)["seconds"];
  return admin_reply(b, command);
}

}  // namespace petrel::dashboard
