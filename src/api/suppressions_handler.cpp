#include "api/suppressions_handler.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <chrono>

#include "api/inject_request.hpp"
#include "suppress/suppression_list.hpp"
#include "util/async_callback.hpp"

namespace petrel::api {
namespace asio = boost::asio;
using http::Problem;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxAddresses = 10000;  // per request
constexpr std::size_t kMaxPage = 1000;

// Complete with the list's verdict on the caller's executor. (The entries
// travel inside `start`, an initiation argument of util::async_callback:
// GCC 12 destroys a lambda's moved-in captures twice when the lambda
// itself is a temporary inside co_await.)
template <typename Token>
auto async_add(suppress::SuppressionList& list, std::vector<suppress::Entry> entries, Token&& token) {
  auto start = [&list, entries = std::move(entries)](std::function<void(std::error_code)> done) mutable {
    list.add(std::move(entries), std::move(done));
  };
  return util::async_callback<std::error_code>(std::move(start), std::forward<Token>(token));
}

template <typename Token>
auto async_remove(suppress::SuppressionList& list, const std::string& tenant, const std::vector<std::string>& addresses,
                  Token&& token) {
  auto start = [&list, &tenant, &addresses](std::function<void(std::error_code)> done) {
    list.remove(tenant, addresses, std::move(done));
  };
  return util::async_callback<std::error_code>(std::move(start), std::forward<Token>(token));
}

json to_json(const suppress::Entry& e) {
  json j = {{"address", e.address}, {"tenant", e.tenant}, {"reason", suppress::to_string(e.reason)}, {"at", e.at}};
  if (!e.campaign.empty()) j["campaign"] = e.campaign;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j;
}

// The tenant a request acts for: the token's, or what it names.
std::optional<Problem> tenant_for(const http::Caller& caller, const std::optional<std::string>& asked, std::string& out) {
  out = asked.value_or("");
  if (!caller.tenant.empty()) {
    if (asked && *asked != caller.tenant) {
      return Problem{403, "Forbidden", "this token may only act for tenant '" + caller.tenant + "'", "/tenant"};
    }
    out = caller.tenant;
  }
  if (!suppress::valid_tenant(out)) return Problem{400, "Bad Request", "not a tenant name", "/tenant"};
  return std::nullopt;
}

http::Response list_page(const http::Request& request, const http::Caller& caller, suppress::SuppressionList& list) {
  const auto asked = http::query_param(request.query, "tenant");
  std::string tenant;
  if (auto p = tenant_for(caller, asked, tenant)) return to_response(*p);
  std::size_t limit = 100;
  if (const auto l = http::query_param(request.query, "limit")) {
    limit = std::strtoul(l->c_str(), nullptr, 10);
    if (limit == 0 || limit > kMaxPage) return to_response(Problem{400, "Bad Request", "limit is 1 to 1000", "/limit"});
  }
  const std::string after = http::query_param(request.query, "after").value_or("");
  std::error_code ec;
  // Without ?tenant= an unbound token lists every tenant's entries.
  const bool all = !asked && caller.tenant.empty();
  auto page = list.list(all ? std::nullopt : std::optional<std::string>(tenant), after, limit, ec);
  if (ec) return to_response(Problem{503, "Service Unavailable", "the list could not be read", "", 0, 0, 5});
  json entries = json::array();
  for (const auto& e : page.entries) entries.push_back(to_json(e));
  json reply = {{"suppressions", std::move(entries)}};
  if (!page.next.empty()) reply["next"] = page.next;
  return http::json_response(200, reply.dump());
}

// {"tenant", "addresses": [...], "reason", "detail"}: checked, or a problem.
std::optional<Problem> read_change(const http::Request& request, const http::Caller& caller, std::string& tenant,
                                   std::vector<std::string>& addresses, suppress::Entry& model) {
  const json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) return Problem{400, "Bad Request", "the body must be a JSON object"};
  std::optional<std::string> asked;
  if (body.contains("tenant")) {
    if (!body["tenant"].is_string()) return Problem{400, "Bad Request", "'tenant' must be a string", "/tenant"};
    asked = body["tenant"].get<std::string>();
  }
  if (auto p = tenant_for(caller, asked, tenant)) return p;
  const auto it = body.find("addresses");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return Problem{400, "Bad Request", "'addresses' must be a non-empty array", "/addresses"};
  }
  if (it->size() > kMaxAddresses) return Problem{413, "Content Too Large", "at most 10000 addresses per request", "/addresses"};
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    smtp::Address parsed;
    if (!a.is_string() || !check_email(a.get<std::string>(), parsed).empty()) {
      return Problem{400, "Bad Request", "not an address", "/addresses/" + std::to_string(i)};
    }
    addresses.push_back(a.get<std::string>());
  }
  if (body.contains("reason")) {
    const auto reason = body["reason"].is_string() ? suppress::reason_from_string(body["reason"].get<std::string>()) : std::nullopt;
    if (!reason) return Problem{400, "Bad Request", "reason is unsubscribe, hard_bounce, complaint or manual", "/reason"};
    model.reason = *reason;
  }
  if (body.contains("detail") && body["detail"].is_string()) model.detail = body["detail"].get<std::string>();
  return std::nullopt;
}

}  // namespace

asio::awaitable<http::Response> handle_suppressions(const http::Request& request, const http::Caller& caller,
                                                    suppress::SuppressionList& list) {
  if (request.method == "GET") co_return list_page(request, caller, list);
  if (request.method != "POST" && request.method != "DELETE") {
    auto r = to_response(Problem{405, "Method Not Allowed", "GET, POST or DELETE"});
    r.headers.emplace_back("Allow", "GET, POST, DELETE");
    co_return r;
  }
  std::string tenant;
  std::vector<std::string> addresses;
  suppress::Entry model;
  constexpr std::string_view kBase = "/api/v1/suppressions/";
  if (request.method == "DELETE" && request.path.starts_with(kBase)) {
    const auto address = http::percent_decode(std::string_view(request.path).substr(kBase.size()));
    if (auto p = tenant_for(caller, http::query_param(request.query, "tenant"), tenant)) co_return to_response(*p);
    if (!address || address->empty()) co_return to_response(Problem{400, "Bad Request", "no address in the path"});
    addresses.push_back(*address);
  } else if (auto p = read_change(request, caller, tenant, addresses, model)) {
    co_return to_response(*p);
  }
  std::error_code ec;
  if (request.method == "POST") {
    model.at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::vector<suppress::Entry> entries;
    for (const auto& a : addresses) {
      suppress::Entry e = model;
      e.tenant = tenant;
      e.address = suppress::normalize(a);
      entries.push_back(std::move(e));
    }
    ec = co_await async_add(list, std::move(entries), asio::use_awaitable);
  } else {
    ec = co_await async_remove(list, tenant, addresses, asio::use_awaitable);
  }
  if (ec) co_return to_response(Problem{503, "Service Unavailable", "the list could not be written", "", 0, 0, 5});
  spdlog::info("suppressions token={} tenant={} {} {}", caller.name, tenant.empty() ? "-" : tenant,
               request.method == "POST" ? "added" : "removed", addresses.size());
  co_return http::json_response(200, json{{request.method == "POST" ? "added" : "removed", addresses.size()}}.dump());
}

}  // namespace petrel::api
