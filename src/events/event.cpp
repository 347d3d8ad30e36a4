#include "events/event.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>

#include <fmt/format.h>

namespace petrel::events {
namespace {

constexpr std::array<std::string_view, 9> kTypeNames = {
    "Reception", "Delivery", "TransientFailure", "Bounce", "Expiration",
    "Suppression", "Unsubscribe", "Complaint", "AdminAction"};

bool is_enhanced_code(std::string_view s) {
  // class.subject.detail (RFC 3463): 2, 4 or 5, then 1-3 and 1-3 digits.
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t dots = 0;
  for (char c : s.substr(2)) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 1 && s.back() != '.';
}

}  // namespace

std::string_view type_name(Type type) { return kTypeNames[static_cast<std::size_t>(type)]; }

std::optional<Type> type_named(std::string_view name) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<Type>(i);
  }
  return std::nullopt;
}

Response parse_response(std::string_view reply) {
  Response r;
  std::size_t at = 0;
  while (at < reply.size() && at < 3 && std::isdigit(static_cast<unsigned char>(reply[at]))) ++at;
  if (at == 3) {
    r.code = (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
    reply.remove_prefix(3);
    if (!reply.empty() && (reply[0] == ' ' || reply[0] == '-')) reply.remove_prefix(1);
    const auto space = reply.find(' ');
    const std::string_view first = reply.substr(0, space);
    if (is_enhanced_code(first)) {
      r.enhanced_code = std::string(first);
      reply = space == std::string_view::npos ? std::string_view{} : reply.substr(space + 1);
    }
  }
  r.text = std::string(reply);
  return r;
}

std::string rfc3339_ms(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
}

std::string random_event_id() {
  static std::mutex mutex;
  static std::mt19937_64 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  return fmt::format("{:016x}{:016x}", random(), random());
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string to_json_line(const Event& e) {
  nlohmann::ordered_json j;
  j["type"] = type_name(e.type);
  j["event_id"] = e.event_id;
  j["timestamp"] = rfc3339_ms(e.timestamp_ms);
  const auto text = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  text("queue_id", e.queue_id);
  // The null sender is a sender too: bounces carry it.
  if (e.type == Type::Reception || e.type == Type::Delivery || e.type == Type::TransientFailure ||
      e.type == Type::Bounce || e.type == Type::Expiration) {
    j["sender"] = e.sender;
  } else {
    text("sender", e.sender);
  }
  text("recipient", e.recipient);
  text("campaign", e.campaign);
  text("tenant", e.tenant);
  text("site", e.site);
  text("domain", e.domain);
  text("mx_host", e.mx_host);
  text("peer_address", e.peer_address);
  text("source", e.source);
  text("tls", e.tls);
  if (e.response) {
    j["response"] = {{"code", e.response->code}, {"enhanced_code", e.response->enhanced_code},
                     {"text", e.response->text}};
  }
  text("bounce_class", e.bounce_class);
  if (e.attempt) j["attempt"] = *e.attempt;
  if (e.size) j["size"] = *e.size;
  if (e.queue_time_ms) j["queue_time_ms"] = *e.queue_time_ms;
  text("listener", e.listener);
  text("client_address", e.client_address);
  text("detail", e.detail);
  // Invalid UTF-8 (a header, a reply) is replaced, never a throw.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  return line;
}

}  // namespace petrel::events
