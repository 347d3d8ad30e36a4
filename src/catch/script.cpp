#include "catch/script.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "smtp/reply_codes.hpp"

namespace petrel::catcher {
namespace {

using smtp::HookPoint;

constexpr std::size_t kMaxReplyText = 500;  // RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets
constexpr auto kMaxDelay = std::chrono::minutes(10);

struct PointName {
  HookPoint point;
  std::string_view name;
};
constexpr std::array kPoints{
    PointName{HookPoint::connect, "connect"}, PointName{HookPoint::ehlo, "EHLO"},
    PointName{HookPoint::mail, "MAIL"},       PointName{HookPoint::rcpt, "RCPT"},
    PointName{HookPoint::data, "DATA"},       PointName{HookPoint::bdat, "BDAT"},
    PointName{HookPoint::end_of_data, "end-of-data"},
};

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// "4.7.1": class.subject.detail, RFC 3463 §2 (1-3 digits each after the class).
bool is_enhanced(std::string_view word) {
  if (word.size() < 5 || word[1] != '.') return false;
  std::size_t parts = 0;
  std::size_t digits = 0;
  for (std::size_t i = 2; i <= word.size(); ++i) {
    if (i == word.size() || word[i] == '.') {
      if (digits == 0 || digits > 3) return false;
      ++parts;
      digits = 0;
    } else if (std::isdigit(static_cast<unsigned char>(word[i]))) {
      ++digits;
    } else {
      return false;
    }
  }
  return parts == 2;
}

// One character of a [set] at pattern[i] (after the '['); advances i past
// the ']' and says whether c is in it; false for an unclosed set.
bool in_set(std::string_view pattern, std::size_t& i, char c, bool& closed) {
  const bool negated = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negated) ++i;
  bool found = false;
  bool first = true;
  closed = false;
  while (i < pattern.size()) {
    const char p = pattern[i];
    if (p == ']' && !first) {
      ++i;
      closed = true;
      return found != negated;
    }
    first = false;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      if (lower(c) >= lower(p) && lower(c) <= lower(pattern[i + 2])) found = true;
      i += 3;
    } else {
      if (lower(c) == lower(p)) found = true;
      ++i;
    }
  }
  return false;
}

bool holds(const Rule& rule, const Moment& m) {
  if (rule.command && *rule.command != m.point) return false;
  if (rule.nth && *rule.nth != m.nth) return false;
  if (rule.after_messages && m.messages < *rule.after_messages) return false;
  if (rule.mail && !(m.mail && glob_match(*rule.mail, *m.mail))) return false;
  if (rule.rcpt && std::none_of(m.rcpts.begin(), m.rcpts.end(),
                                [&](const std::string& r) { return glob_match(*rule.rcpt, r); })) {
    return false;
  }
  if (rule.first_attempt_only && !(m.point == HookPoint::rcpt && m.first_attempt)) return false;
  if (rule.action.kind == Action::Kind::require_tls) {
    // Only where a client could have taken STARTTLS first, and only in the clear.
    const bool in_transaction = m.point == HookPoint::mail || m.point == HookPoint::rcpt ||
                                m.point == HookPoint::data || m.point == HookPoint::bdat;
    if (m.tls || !in_transaction) return false;
  }
  return true;
}

}  // namespace

std::string ScriptReply::str() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!text.empty()) out += " " + text;
  return out;
}

std::optional<ScriptReply> parse_script_reply(std::string_view text, std::string& error) {
  const auto bad = [&error](std::string message) {
    error = std::move(message);
    return std::nullopt;
  };
  if (text.size() < 3 || !std::all_of(text.begin(), text.begin() + 3, [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("a reply starts with a three-digit code, as in \"451 4.7.1 try later\"");
  }
  ScriptReply r;
  std::from_chars(text.data(), text.data() + 3, r.code);
  // RFC 5321 §4.2.1: 2yz, 4yz and 5yz are answers; 1yz and 3yz ask for more.
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return bad("the code must be 2xx, 4xx or 5xx, not " + std::string(text.substr(0, 3)));
  if (text[1] > '5') return bad("the code " + std::string(text.substr(0, 3)) + " is not an SMTP reply code (x0z to x5z)");
  text.remove_prefix(3);
  if (!text.empty() && text.front() != ' ') return bad("a space must follow the code");
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  const std::string_view first = text.substr(0, text.find(' '));
  if (is_enhanced(first)) {
    if (first[0] != std::to_string(r.code)[0]) {
      return bad("the enhanced code " + std::string(first) + " is not of the class of " + std::to_string(r.code));
    }
    r.enhanced = std::string(first);
    text.remove_prefix(first.size());
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  if (text.empty()) return bad("the reply has no text after its code");
  if (text.size() > kMaxReplyText) return bad("the reply text is longer than " + std::to_string(kMaxReplyText) + " octets");
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f; })) {
    return bad("the reply text must be printable ASCII, on one line");
  }
  r.text = std::string(text);
  return r;
}

std::optional<std::chrono::milliseconds> parse_script_delay(std::string_view text) {
  std::uint64_t factor = 1000;
  if (text.ends_with("ms")) {
    factor = 1;
    text.remove_suffix(2);
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    factor = 60'000;
    text.remove_suffix(1);
  } else {
    return std::nullopt;  // a unit is required: "2" could be anything
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value > static_cast<std::uint64_t>(std::chrono::milliseconds(kMaxDelay).count()) / factor) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

std::string Action::describe() const {
  switch (kind) {
    case Kind::reply: return "reply " + reply.str();
    case Kind::delay: return "delay " + std::to_string(delay.count()) + "ms";
    case Kind::close: return "close";
    case Kind::require_tls: return "require_tls";
  }
  return "";
}

std::optional<Decision> decide(const Script& script, const Moment& moment, const std::function<double()>& random) {
  for (std::size_t i = 0; i < script.rules.size(); ++i) {
    const Rule& rule = script.rules[i];
    if (!holds(rule, moment)) continue;
    if (rule.probability && !(random() < *rule.probability)) continue;
    return Decision{i + 1, &rule};
  }
  return std::nullopt;
}

smtp::HookOverride override_for(const Action& action) {
  smtp::HookOverride o;
  o.close_reason = "scripted";
  switch (action.kind) {
    case Action::Kind::reply: o.reply = action.reply.reply(); break;
    case Action::Kind::delay: o.delay = action.delay; break;
    case Action::Kind::close: o.close = true; break;
    case Action::Kind::require_tls:
      o.reply = smtp::Reply(smtp::codes::k530StartTlsFirst, "Must issue a STARTTLS command first");
      break;
  }
  return o;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative, with one backtrack point for the last '*': linear in practice.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = ++p;
      star_text = t;
      continue;
    }
    if (p < pattern.size()) {
      std::size_t next = p + 1;
      bool match = false;
      if (pattern[p] == '?') {
        match = true;
      } else if (pattern[p] == '[') {
        bool closed = false;
        match = in_set(pattern, next, text[t], closed);
        if (!closed) {
          next = p + 1;
          match = text[t] == '[';
        }
      } else if (pattern[p] == '\\' && p + 1 < pattern.size()) {
        match = lower(pattern[p + 1]) == lower(text[t]);
        next = p + 2;
      } else {
        match = lower(pattern[p]) == lower(text[t]);
      }
      if (match) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    p = star;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view point_name(HookPoint point) {
  for (const auto& p : kPoints) {
    if (p.point == point) return p.name;
  }
  return "";
}

std::optional<HookPoint> point_from_name(std::string_view name) {
  if (iequal(name, "HELO")) return HookPoint::ehlo;
  for (const auto& p : kPoints) {
    if (iequal(p.name, name)) return p.point;
  }
  return std::nullopt;
}

}  // namespace petrel::catcher
