#include "admin/suppress_commands.hpp"

#include <chrono>
#include <future>

#include "suppress/suppression_list.hpp"

namespace petrel::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxAddresses = 10000;  // per request
constexpr std::size_t kMaxPage = 5000;

json error(const std::string& message) { return {{"ok", false}, {"error", message}}; }

// Writes go through the spool's group commit; the admin channel serves one
// request at a time on its own thread, so it waits here.
std::error_code wait_for(const std::function<void(std::function<void(std::error_code)>)>& start) {
  std::promise<std::error_code> done;
  start([&done](std::error_code ec) { done.set_value(ec); });
  return done.get_future().get();
}

std::optional<json> read_addresses(const json& request, std::vector<std::string>& out) {
  const auto it = request.find("addresses");
  if (it == request.end() || !it->is_array() || it->empty()) return error("\"addresses\" must be a non-empty array");
  if (it->size() > kMaxAddresses) return error("at most 10000 addresses per request");
  for (const auto& a : *it) {
    if (!a.is_string()) return error("addresses are strings");
    const std::string s = a.get<std::string>();
    const auto at = s.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == s.size() || s.find_first_of(" \t\r\n<>") != std::string::npos) {
      return error("'" + s + "' is not an address");
    }
    out.push_back(s);
  }
  return std::nullopt;
}

json to_json(const suppress::Entry& e) {
  return {{"address", e.address}, {"tenant", e.tenant}, {"reason", suppress::to_string(e.reason)},
          {"campaign", e.campaign}, {"detail", e.detail}, {"at", e.at}};
}

json list(const json& request, suppress::SuppressionList& suppressions) {
  std::optional<std::string> tenant;
  if (request.contains("tenant") && request["tenant"].is_string()) tenant = request["tenant"].get<std::string>();
  const std::size_t limit = std::min<std::size_t>(request.value("limit", std::size_t{1000}), kMaxPage);
  std::error_code ec;
  const auto page = suppressions.list(tenant, request.value("after", ""), limit == 0 ? 1 : limit, ec);
  if (ec) return error("the suppression list could not be read: " + ec.message());
  json entries = json::array();
  for (const auto& e : page.entries) entries.push_back(to_json(e));
  json reply = {{"ok", true}, {"suppressions", std::move(entries)}};
  if (!page.next.empty()) reply["next"] = page.next;
  return reply;
}

json change(const json& request, suppress::SuppressionList& suppressions, bool add) {
  const std::string tenant = request.value("tenant", "");
  if (!suppress::valid_tenant(tenant)) return error("not a tenant name: '" + tenant + "'");
  std::vector<std::string> addresses;
  if (auto problem = read_addresses(request, addresses)) return *problem;
  std::error_code ec;
  if (add) {
    const auto reason = suppress::reason_from_string(request.value("reason", "manual"));
    if (!reason) return error("reason is unsubscribe, hard_bounce, complaint or manual");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    std::vector<suppress::Entry> entries;
    for (const auto& a : addresses) {
      entries.push_back({tenant, suppress::normalize(a), *reason, request.value("campaign", ""), request.value("detail", ""),
                         now.count()});
    }
    ec = wait_for([&](auto done) { suppressions.add(std::move(entries), done); });
  } else {
    ec = wait_for([&](auto done) { suppressions.remove(tenant, addresses, done); });
  }
  if (ec) return error("the suppression list could not be written: " + ec.message());
  return {{"ok", true}, {add ? "added" : "removed", addresses.size()}};
}

}  // namespace

std::optional<json> handle_suppress(const json& request, spool::Spool& spool) {
  const std::string command = request.value("command", "");
  if (!command.starts_with("suppress-")) return std::nullopt;
  suppress::SuppressionList suppressions(spool);
  if (command == "suppress-list") return list(request, suppressions);
  if (command == "suppress-add") return change(request, suppressions, true);
  if (command == "suppress-remove") return change(request, suppressions, false);
  return error("unknown command \"" + command + "\" (suppress-list, suppress-add, suppress-remove)");
}

}  // namespace petrel::admin
