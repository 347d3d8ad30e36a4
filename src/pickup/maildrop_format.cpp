#include "pickup/maildrop_format.hpp"

#include <charconv>

namespace petrel::pickup {
namespace {

constexpr std::string_view kMagic = "petrel-maildrop 1";
constexpr std::size_t kMaxLine = 1000;  // RFC 5321 §4.5.3.1.6, with room for the keyword

// The next "\n"-terminated line of `rest`, taken off it; nullopt when there
// is none (or it is too long).
std::optional<std::string_view> take_line(std::string_view& rest) {
  const auto end = rest.find('\n');
  if (end == std::string_view::npos || end > kMaxLine) return std::nullopt;
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end + 1);
  return line;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "<addr>" in full: nothing before or after it.
std::optional<smtp::Path> read_path(std::string_view text, bool allow_null) {
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') return std::nullopt;
  const smtp::PathParse p = smtp::parse_path(text, allow_null, true);
  if (p.error != smtp::AddressError::none || p.consumed != text.size()) return std::nullopt;
  if (!allow_null && (p.path.is_null() || p.path.mailbox->domain.empty())) return std::nullopt;
  return p.path;
}

}  // namespace

std::string encode_maildrop(const MaildropMessage& message) {
  std::string out;
  out.reserve(message.content.size() + 128 + 80 * message.recipients.size());
  out.append(kMagic).append("\n");
  out.append("sender ").append(message.sender.str()).append("\n");
  for (const auto& r : message.recipients) out.append("rcpt <").append(r.str()).append(">\n");
  out.append("size ").append(std::to_string(message.content.size())).append("\n\n");
  out.append(message.content);
  return out;
}

std::optional<MaildropMessage> decode_maildrop(std::string_view file, const MaildropLimits& limits,
                                               std::string& error) {
  const auto bad = [&error](std::string what) -> std::optional<MaildropMessage> {
    error = std::move(what);
    return std::nullopt;
  };
  std::string_view rest = file;
  const auto magic = take_line(rest);
  if (!magic || *magic != kMagic) return bad("not a maildrop file (no \"petrel-maildrop 1\" line)");
  MaildropMessage m;
  const auto sender_line = take_line(rest);
  if (!sender_line || !starts_with(*sender_line, "sender ")) return bad("no sender line");
  const auto sender = read_path(sender_line->substr(7), true);
  if (!sender) return bad("bad sender address");
  m.sender = *sender;
  for (;;) {
    const auto line = take_line(rest);
    if (!line) return bad("the envelope ends before its size line");
    if (starts_with(*line, "rcpt ")) {
      if (m.recipients.size() >= limits.max_recipients) return bad("more recipients than the server allows");
      const auto rcpt = read_path(line->substr(5), false);
      if (!rcpt) return bad("bad recipient address");
      m.recipients.push_back(*rcpt->mailbox);
      continue;
    }
    if (!starts_with(*line, "size ")) return bad("unknown envelope line");
    const std::string_view digits = line->substr(5);
    std::uint64_t size = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) return bad("bad size line");
    if (size > limits.max_content) return bad("the message is larger than the server's max message size");
    const auto blank = take_line(rest);
    if (!blank || !blank->empty()) return bad("no empty line after the envelope");
    if (rest.size() != size) return bad("the message is not as long as its size line says (truncated?)");
    break;
  }
  if (m.recipients.empty()) return bad("no recipient");
  m.content.assign(rest);
  return m;
}

bool valid_maildrop_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace petrel::pickup

namespace petrel::pickup {

bool sender_allowed(SenderRule rule, const smtp::Path& sender, std::string_view login, bool privileged,
                    const std::vector<std::string>& domains) {
  if (rule == SenderRule::any || privileged) return true;
  if (sender.is_null() || sender.mailbox->local_part != login) return false;
  const std::string domain = smtp::normalize_domain(sender.mailbox->domain);
  for (const auto& d : domains) {
    if (smtp::normalize_domain(d) == domain) return true;
  }
  return false;
}

}  // namespace petrel::pickup
