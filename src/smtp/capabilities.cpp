#include "smtp/capabilities.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace petrel::smtp {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    const std::size_t end = std::min(s.find(' ', pos), s.size());
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

void add_auth(Capabilities& caps, const std::vector<std::string_view>& mechanisms) {
  for (auto m : mechanisms) {
    std::string name = upper(m);
    if (std::find(caps.auth.begin(), caps.auth.end(), name) == caps.auth.end()) caps.auth.push_back(std::move(name));
  }
}

}  // namespace

bool Capabilities::offers_auth(std::string_view mechanism) const {
  return std::find(auth.begin(), auth.end(), mechanism) != auth.end();
}

Capabilities parse_capabilities(const ServerReply& reply) {
  Capabilities caps;
  caps.esmtp = true;
  if (reply.lines.empty()) return caps;
  const auto greeting = words(reply.lines.front());
  if (!greeting.empty()) caps.server_name = std::string(greeting.front());
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const std::string& line = reply.lines[i];
    auto items = words(line);
    if (items.empty()) continue;
    caps.keywords.push_back(line);
    const std::string keyword = upper(items.front());
    const std::string_view first = items.front();
    items.erase(items.begin());
    if (keyword == "SIZE") {
      std::uint64_t limit = 0;  // no number, or one we cannot read: no fixed limit
      if (!items.empty()) std::from_chars(items[0].data(), items[0].data() + items[0].size(), limit);
      caps.size = limit;
    } else if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "ATRN") {
      caps.atrn = true;
    } else if (keyword == "REQUIRETLS") {
      caps.requiretls = true;
    } else if (keyword == "CHUNKING") {
      caps.chunking = true;
    } else if (keyword == "BINARYMIME") {
      caps.binary_mime = true;
    } else if (keyword == "DSN") {
      caps.dsn = true;
    } else if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (keyword == "AUTH") {
      add_auth(caps, items);
    } else if (keyword.starts_with("AUTH=")) {
      // Pre-RFC 4954 form still sent by some servers: "AUTH=LOGIN PLAIN".
      if (first.size() > 5) add_auth(caps, {first.substr(5)});
      add_auth(caps, items);
    }
  }
  return caps;
}

}  // namespace petrel::smtp
