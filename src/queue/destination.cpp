#include "queue/destination.hpp"

#include <algorithm>

#include "util/idn.hpp"

namespace petrel::queue::detail {

Destination destination_of(const QueueOptions& options, const smtp::Address& rcpt) {
  Destination d;
  if (rcpt.domain.empty()) {  // the bare Postmaster
    d.mailbox = delivery::mailbox_directory(options.routing, rcpt);
    return d;
  }
  d.domain = util::ascii_domain(rcpt.domain);
  const bool local = delivery::is_local_domain(options.routing, d.domain);
  d.route = delivery::route_for(options.routes, d.domain, local);
  if (d.route && d.route->kind == delivery::Route::Kind::local) {
    d.mailbox = delivery::mailbox_directory(options.routing, rcpt);
    d.route.reset();
    return d;
  }
  d.remote = true;
  d.odmr = d.route && d.route->kind == delivery::Route::Kind::odmr;
  return d;
}

Destination destination_of(const QueueOptions& options, const smtp::Recipient& rcpt) {
  if (rcpt.alias_target.empty()) return destination_of(options, rcpt.forward_path);
  Destination d;
  d.alias_target = true;
  return d;
}

std::optional<smtp::TlsPolicy> tls_policy_for(const QueueOptions& options, std::string_view domain) {
  const auto& policies = options.tls_policies;
  if (auto exact = policies.find(std::string(domain)); exact != policies.end()) return exact->second;
  for (auto dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1)) {
    if (auto parent = policies.find(std::string(domain.substr(dot))); parent != policies.end()) return parent->second;
  }
  return std::nullopt;
}

std::shared_ptr<const spool::SpooledMessage> envelope_only(const spool::SpooledMessage& m) {
  auto light = std::make_shared<spool::SpooledMessage>(m);
  light->content.clear();
  light->content.shrink_to_fit();
  return light;
}

// Header values come from the envelope; a CR or LF there would start a
// header of the sender's choosing.
namespace {

std::string header_safe(std::string text) {
  std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
  return text;
}

}  // namespace

std::string delivery_header(const smtp::Envelope& e, const smtp::Address& rcpt, const delivery::LocalRouting& routing) {
  const std::string sender = e.reverse_path.is_null() ? "" : e.reverse_path.mailbox->str();
  // The bare Postmaster is delivered in the first local domain: say so.
  std::string recipient = rcpt.str();
  if (rcpt.domain.empty() && !routing.local_domains.empty()) {
    recipient += "@" + routing.local_domains.front();
  }
  return "Return-Path: <" + header_safe(sender) + ">\r\nDelivered-To: " + header_safe(recipient) + "\r\n";
}

}  // namespace petrel::queue::detail
