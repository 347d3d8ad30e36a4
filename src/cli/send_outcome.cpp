#include "cli/send_outcome.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace petrel::cli {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The word starting at `pos`, without trailing punctuation: "4XyZ." -> "4XyZ".
std::string word_at(std::string_view text, std::size_t pos) {
  std::size_t end = pos;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
  std::string_view w = text.substr(pos, end - pos);
  while (!w.empty() && std::string_view(".,;)>").find(w.back()) != std::string_view::npos) w.remove_suffix(1);
  while (!w.empty() && (w.front() == '<' || w.front() == '(')) w.remove_prefix(1);
  return std::string(w);
}

bool valid_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

std::optional<ServerSpec> parse_server(std::string_view text) {
  ServerSpec spec;
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    spec.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return spec;
    if (rest.front() != ':' || !valid_port(rest.substr(1), spec.port)) return std::nullopt;
    return spec;
  }
  const std::size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    spec.host = std::string(text);  // a bare IPv6 literal: no port
    return spec;
  }
  spec.host = std::string(text.substr(0, colon));
  if (spec.host.empty()) return std::nullopt;
  if (colon != std::string_view::npos && !valid_port(text.substr(colon + 1), spec.port)) return std::nullopt;
  return spec;
}

std::string queue_id_from(const smtp::ServerReply& reply) {
  if (!reply.positive() || reply.local) return "";
  for (const std::string& line : reply.lines) {
    const std::string l = lower(line);
    if (const auto at = l.find("queued as "); at != std::string::npos) return word_at(line, at + 10);
    if (const auto at = l.find("id="); at != std::string::npos && (at == 0 || l[at - 1] == ' ')) {
      return word_at(line, at + 3);
    }
    if (const auto at = l.find(" message accepted for delivery"); at != std::string::npos && at > 0) {
      const std::size_t start = l.rfind(' ', at - 1);
      return word_at(line, start == std::string::npos ? 0 : start + 1);
    }
  }
  return "";
}

std::vector<std::string> reply_lines(const smtp::ServerReply& reply) {
  std::vector<std::string> out;
  const std::string code = std::to_string(reply.code);
  const std::string enhanced = reply.enhanced.empty() ? "" : reply.enhanced + " ";
  for (std::size_t i = 0; i < reply.lines.size(); ++i) {
    std::string line = code;
    line += i + 1 == reply.lines.size() ? " " : "-";
    line += enhanced;
    line += reply.lines[i];
    while (line.ends_with(' ')) line.pop_back();
    out.push_back(std::move(line));
  }
  if (out.empty()) out.push_back(code);
  return out;
}

SendStatus classify(const std::vector<smtp::RecipientResult>& recipients, bool mail_sent) {
  using smtp::DeliveryOutcome;
  const auto count = [&](auto pred) { return std::count_if(recipients.begin(), recipients.end(), pred); };
  const auto deferred = count([](const auto& r) { return r.outcome == DeliveryOutcome::deferred; });
  // A reply made here that defers: the connection failed or was lost.
  const auto lost = count([](const auto& r) { return r.outcome == DeliveryOutcome::deferred && r.reply.local; });
  const auto accepted = count([](const auto& r) { return r.outcome == DeliveryOutcome::delivered; });
  if (recipients.empty() || (!mail_sent && deferred > 0) || lost > 0) return SendStatus::not_sent;
  if (accepted == static_cast<std::ptrdiff_t>(recipients.size())) return SendStatus::accepted;
  return accepted == 0 ? SendStatus::rejected : SendStatus::partly_refused;
}

std::string_view to_string(SendStatus status) {
  switch (status) {
    case SendStatus::accepted: return "accepted";
    case SendStatus::partly_refused: return "partly_refused";
    case SendStatus::rejected: return "rejected";
    case SendStatus::not_sent: return "not_sent";
  }
  return "not_sent";
}

std::string_view to_string(smtp::DeliveryOutcome o) {
  switch (o) {
    case smtp::DeliveryOutcome::delivered: return "accepted";
    case smtp::DeliveryOutcome::deferred: return "deferred";
    case smtp::DeliveryOutcome::failed: return "refused";
  }
  return "deferred";
}

}  // namespace petrel::cli
