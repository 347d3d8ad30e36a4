#include "api/unsubscribe_handler.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "spool/spool.hpp"
#include "suppress/suppression_list.hpp"
#include "template/template.hpp"
#include "util/async_callback.hpp"

namespace petrel::api {
namespace asio = boost::asio;

namespace {

// "a***@example.org": enough for the owner to recognise, not a list of
// addresses for whoever sees the page.
std::string masked(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0) return "***";
  return std::string(address.substr(0, 1)) + "***" + std::string(address.substr(at));
}

http::Response page(unsigned status, std::string_view title, std::string_view body_html) {
  http::Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
           "content=\"width=device-width,initial-scale=1\"><title>" +
           std::string(title) +
           "</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;"
           "color:#222}button{font:inherit;padding:.6em 1.4em;border:0;border-radius:.3em;background:#1a5fb4;"
           "color:#fff;cursor:pointer}</style></head><body>" +
           std::string(body_html) + "</body></html>\n";
  // Nothing on the page loads from anywhere; it cannot be framed; the
  // token does not leave in a Referer.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

http::Response not_found() {
  return page(404, "Link not valid",
              "<h1>This unsubscribe link is not valid</h1><p>It may have been cut short by your mail program. "
              "Use the link in the message again, or reply to its sender.</p>");
}

template <typename Token>
auto async_unsubscribe(Unsubscriber& u, const suppress::Subscription& who, std::string how, Token&& token) {
  auto start = [&u, &who, how = std::move(how)](std::function<void(std::error_code)> done) mutable {
    u.unsubscribe(who, std::move(how), std::move(done));
  };
  return util::async_callback<std::error_code>(std::move(start), std::forward<Token>(token));
}

}  // namespace

std::optional<suppress::Subscription> Unsubscriber::resolve(std::string_view token) const {
  std::string upper(token);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto id = suppress::UnsubscribeTokens::queue_id_of(upper);
  if (!id) return std::nullopt;
  std::string value;
  std::error_code ec;
  if (!spool_.read_record(suppress::subscription_key(*id), value, ec)) return std::nullopt;
  auto who = suppress::parse_subscription(value);
  if (!who || !tokens_.verify(upper, *who)) return std::nullopt;
  return who;
}

void Unsubscriber::unsubscribe(const suppress::Subscription& who, std::string how,
                               std::function<void(std::error_code)> done) {
  suppress::Entry e;
  e.tenant = who.tenant;
  e.address = who.recipient;
  e.reason = suppress::Reason::unsubscribe;
  e.campaign = who.campaign;
  e.detail = std::move(how);
  e.at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  spdlog::info("unsubscribe address={} campaign={} tenant={} via={}", who.recipient, who.campaign.empty() ? "-" : who.campaign,
               who.tenant.empty() ? "-" : who.tenant, e.detail);
  list_.add({std::move(e)}, std::move(done));
}

asio::awaitable<http::Response> Unsubscriber::handle(const http::Request& request) {
  const std::string_view token = std::string_view(request.path).substr(3);  // after "/u/"
  const auto who = resolve(token);
  if (!who) co_return not_found();
  if (request.method == "GET" || request.method == "HEAD") {
    co_return page(200, "Unsubscribe",
                   "<h1>Unsubscribe</h1><p>Stop sending mail to <b>" + tmpl::html_escape(masked(who->recipient)) + "</b>" +
                       (who->campaign.empty() ? std::string() : " from &ldquo;" + tmpl::html_escape(who->campaign) + "&rdquo;") +
                       "?</p><form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                       "<button type=\"submit\">Unsubscribe</button></form>");
  }
  if (request.method != "POST") {
    auto r = to_response(http::Problem{405, "Method Not Allowed", "GET shows the page, POST unsubscribes"});
    r.headers.emplace_back("Allow", "GET, POST");
    co_return r;
  }
  const std::error_code ec =
      co_await async_unsubscribe(*this, *who, request.body.find("One-Click") != std::string::npos ? "one-click" : "web",
                                 asio::use_awaitable);
  if (ec) {
    spdlog::error("unsubscribe address={} not stored: {}", who->recipient, ec.message());
    co_return page(503, "Try again", "<h1>Please try again in a minute</h1><p>Your request could not be stored.</p>");
  }
  co_return page(200, "Unsubscribed",
                 "<h1>You are unsubscribed</h1><p><b>" + tmpl::html_escape(masked(who->recipient)) +
                     "</b> will get no more of this mail.</p>");
}

}  // namespace petrel::api
