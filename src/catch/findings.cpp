#include "catch/findings.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

namespace petrel::catcher {
namespace {

struct Known {
  std::string_view id;
  Level level;
  std::string_view title;
};

// The catalogue: an id's level never changes (scripts depend on it).
constexpr std::array kCatalogue{
    // Faults.
    Known{"pipelining-without-offer", Level::fail, "Waits for each reply unless PIPELINING is offered"},  // RFC 2920 §3.1
    Known{"size-mismatch", Level::fail, "Sends no more than the SIZE= it declared"},             // RFC 1870 §5
    Known{"8bit-without-8bitmime", Level::fail, "Declares BODY=8BITMIME for 8-bit content"},     // RFC 6152 §3
    Known{"utf8-without-smtputf8", Level::fail, "Declares SMTPUTF8 for non-ASCII addresses and header fields"},     // RFC 6531 §3.2
    Known{"binary-without-binarymime", Level::fail, "Declares BODY=BINARYMIME for binary content"}, // RFC 3030 §3
    Known{"bare-lf", Level::fail, "Lines end in CRLF, never a bare LF"},                   // RFC 5321 §2.3.8
    Known{"bare-cr", Level::fail, "No bare CR in the content"},                   // RFC 5321 §2.3.8
    Known{"line-too-long", Level::fail, "Lines of at most 1000 octets"},             // RFC 5321 §4.5.3.1.6
    Known{"unstuffed-dot", Level::fail, "Dot-stuffs lines that start with '.'"},             // RFC 5321 §4.5.2
    Known{"auth-in-clear", Level::fail, "Sends no password without TLS"},             // RFC 4954 §4, RFC 8314 §4
    Known{"extension-without-offer", Level::fail, "Uses only the extensions offered"},  // RFC 5321 §2.2.1
    Known{"dkim-invalid", Level::fail, "DKIM signatures verify"},                       // RFC 6376 §6
    // Lapses.
    Known{"helo-not-ehlo", Level::warn, "Greets with EHLO"},       // RFC 5321 §4.1.1.1
    Known{"no-size-declared", Level::warn, "Declares SIZE= when SIZE is offered"},    // RFC 1870 §5
    Known{"starttls-not-taken", Level::warn, "Takes STARTTLS when offered"},  // RFC 3207, RFC 8314
    Known{"no-quit", Level::warn, "Ends the session with QUIT"},             // RFC 5321 §4.1.1.10
    Known{"no-message-id", Level::warn, "Messages carry a Message-ID:"},       // RFC 5322 §3.6.4
    Known{"no-date", Level::warn, "Messages carry a Date:"},             // RFC 5322 §3.6
    Known{"bad-from", Level::warn, "Messages carry one From: with an address"},            // RFC 5322 §3.6.2
    Known{"retry-ignored", Level::warn, "Tries again after a 4xx"},                       // RFC 5321 §4.2.5, §4.5.4.1
    // Facts.
    Known{"pipelining-used", Level::info, "Pipelined commands"},
    Known{"chunking-used", Level::info, "Sent in BDAT chunks"},
    Known{"tls-version", Level::info, "TLS version"},
    Known{"auth-mechanism", Level::info, "AUTH mechanism"},
};

const Known& known(std::string_view id) {
  for (const auto& k : kCatalogue) {
    if (k.id == id) return k;
  }
  throw std::out_of_range("unknown finding id: " + std::string(id));
}

}  // namespace

std::string_view level_name(Level level) {
  switch (level) {
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::fail: return "fail";
  }
  return "info";
}

Level level_of(std::string_view id) { return known(id).level; }

std::string_view title_of(std::string_view id) { return known(id).title; }

std::vector<std::string_view> graded_ids() {
  std::vector<std::string_view> ids;
  for (const auto& k : kCatalogue) {
    if (k.level != Level::info) ids.push_back(k.id);
  }
  return ids;
}

void add_finding(std::vector<Finding>& findings, std::string_view id, std::string text) {
  const auto it = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.id == id; });
  if (it != findings.end()) {
    ++it->count;
    return;
  }
  findings.push_back(Finding{std::string(id), level_of(id), std::move(text), 1});
}

Level verdict(const std::vector<Finding>& findings) {
  Level worst = Level::info;
  for (const auto& f : findings) worst = std::max(worst, f.level);
  return worst;
}

int exit_code(const std::vector<Finding>& findings) {
  switch (verdict(findings)) {
    case Level::info: return 0;
    case Level::warn: return 1;
    case Level::fail: return 2;
  }
  return 0;
}

}  // namespace petrel::catcher
