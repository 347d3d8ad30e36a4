#include "events/event.hpp"

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
  // A reply code (RFC 5321 §4.2): three digits, the first 1 to 5.
  if (at == 3 && reply[0] >= '1' && reply[0] <= '5') {
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

namespace {

// The length of the well-formed UTF-8 sequence that s starts with (RFC
// 3629 §4: no overlong forms, no surrogates, nothing past U+10FFFF), or 0.
std::size_t utf8_length(std::string_view s) {
  const auto at = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) { return at(k) >= lo && at(k) <= hi; };
  const unsigned c = at(0);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// JSON string escaping (RFC 8259 §7); bytes that are not UTF-8 become
// U+FFFD, so a line always parses.
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += fmt::format("\\u{:04x}", c);
      }
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // A whole UTF-8 sequence, or U+FFFD for a bad one.
      const std::size_t n = utf8_length(s.substr(i));
      if (n > 0) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out += "\xef\xbf\xbd";
        ++i;
      }
    }
  }
  out += '"';
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) { out_ += '{'; }
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += k;
    out_ += "\":";
  }
  void text(std::string_view k, std::string_view v) {
    key(k);
    append_string(out_, v);
  }
  void text_if(std::string_view k, std::string_view v) {
    if (!v.empty()) text(k, v);
  }
  template <typename N>
  void number(std::string_view k, N v) {
    key(k);
    out_ += fmt::format("{}", v);
  }
  void end() { out_ += "}\n"; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

std::string to_json_line(const Event& e) {
  std::string line;
  line.reserve(512);
  Writer w(line);
  w.text("type", type_name(e.type));
  w.text("event_id", e.event_id);
  w.text("timestamp", rfc3339_ms(e.timestamp_ms));
  w.text_if("queue_id", e.queue_id);
  // The null sender is a sender too: bounces carry it.
  const bool mail = e.type == Type::Reception || e.type == Type::Delivery || e.type == Type::TransientFailure ||
                    e.type == Type::Bounce || e.type == Type::Expiration;
  if (mail) {
    w.text("sender", e.sender);
  } else {
    w.text_if("sender", e.sender);
  }
  w.text_if("recipient", e.recipient);
  w.text_if("campaign", e.campaign);
  w.text_if("tenant", e.tenant);
  w.text_if("site", e.site);
  w.text_if("domain", e.domain);
  w.text_if("mx_host", e.mx_host);
  w.text_if("peer_address", e.peer_address);
  w.text_if("source", e.source);
  w.text_if("tls", e.tls);
  if (e.response) {
    w.key("response");
    line += fmt::format("{{\"code\":{},\"enhanced_code\":", e.response->code);
    append_string(line, e.response->enhanced_code);
    line += ",\"text\":";
    append_string(line, e.response->text);
    line += '}';
  }
  w.text_if("bounce_class", e.bounce_class);
  if (e.attempt) w.number("attempt", *e.attempt);
  if (e.size) w.number("size", *e.size);
  if (e.queue_time_ms) w.number("queue_time_ms", *e.queue_time_ms);
  w.text_if("listener", e.listener);
  w.text_if("client_address", e.client_address);
  w.text_if("detail", e.detail);
  w.end();
  return line;
}

}  // namespace petrel::events
