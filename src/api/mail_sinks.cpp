#include "api/mail_sinks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "api/unsubscribe_handler.hpp"
#include "config/config.hpp"
#include "feedback/arf.hpp"
#include "smtp/address.hpp"
#include "suppress/suppression_list.hpp"

namespace petrel::api {
namespace {

constexpr std::string_view kUnsubscribe = "unsubscribe+";

std::string lower(std::string_view s) { return suppress::normalize(s); }

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool token_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string token_in(std::string_view value) {
  for (const std::string_view marker : {std::string_view("/u/"), kUnsubscribe}) {
    const auto at = value.find(marker);
    if (at == std::string_view::npos) continue;
    std::size_t end = at + marker.size();
    while (end < value.size() && token_char(value[end])) ++end;
    return std::string(value.substr(at + marker.size(), end - at - marker.size()));
  }
  return "";
}

MailSinks::MailSinks(const config::Config& config, Unsubscriber& unsubscriber, suppress::SuppressionList& list)
    : complaints_address_(lower(config.bounces.complaints_address)), unsubscriber_(unsubscriber), list_(list) {
  if (config.unsubscribe.mailto) {
    mailto_domain_ = lower(config.unsubscribe.mailto_domain.empty() ? config.hostname : config.unsubscribe.mailto_domain);
  }
}

bool MailSinks::accepts(const smtp::Address& rcpt) const {
  if (!complaints_address_.empty() && lower(rcpt.str()) == complaints_address_) return true;
  return !mailto_domain_.empty() && smtp::normalize_domain(rcpt.domain) == mailto_domain_ &&
         lower(rcpt.local_part).starts_with(kUnsubscribe);
}

void MailSinks::consume(const smtp::Address& rcpt, const std::string& content, std::function<void(std::error_code)> done) {
  if (!complaints_address_.empty() && lower(rcpt.str()) == complaints_address_) {
    complaint(content, std::move(done));
    return;
  }
  const std::string token = rcpt.local_part.substr(kUnsubscribe.size());
  const auto who = unsubscriber_.resolve(token);
  if (!who) {
    spdlog::warn("unsubscribe by mail to <{}>: the token is not valid; dropped", rcpt.str());
    done({});
    return;
  }
  unsubscriber_.unsubscribe(*who, "mailto", std::move(done));
}

void MailSinks::complaint(const std::string& content, std::function<void(std::error_code)> done) {
  std::string reason;
  const auto report = feedback::parse_arf(content, reason);
  if (!report) {
    spdlog::warn("complaint: not an ARF report ({}); dropped", reason);
    done({});
    return;
  }
  suppress::Entry e;
  e.reason = suppress::Reason::complaint;
  e.detail = report->feedback_type.empty() ? "abuse" : report->feedback_type;
  e.at = unix_now();
  // Best: the token of the message complained about names recipient,
  // campaign and tenant exactly. Else Original-Rcpt-To, for every tenant.
  if (const auto who = unsubscriber_.resolve(token_in(report->list_unsubscribe))) {
    e.tenant = who->tenant;
    e.address = who->recipient;
    e.campaign = who->campaign;
  } else if (!report->original_rcpt_to.empty()) {
    std::string address = report->original_rcpt_to;
    address.erase(std::remove_if(address.begin(), address.end(), [](char c) { return c == '<' || c == '>'; }),
                  address.end());
    e.address = suppress::normalize(address);
  } else {
    spdlog::warn("complaint: the ARF report names no recipient (no List-Unsubscribe token, no Original-Rcpt-To); dropped");
    done({});
    return;
  }
  spdlog::info("complaint address={} campaign={} tenant={} type={}", e.address, e.campaign.empty() ? "-" : e.campaign,
               e.tenant.empty() ? "-" : e.tenant, e.detail);
  list_.add({std::move(e)}, std::move(done));
}

}  // namespace petrel::api
