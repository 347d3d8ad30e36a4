// The grader's view of a message: its content as sent (content_scan.cpp)
// against what MAIL FROM declared, and its header section (RFC 5322).
#include <algorithm>
#include <cctype>
#include <string>

#include "catch/grader.hpp"
#include "util/ascii.hpp"

namespace petrel::catcher {
namespace {

using util::ascii_lower;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct HeaderCounts {
  int date = 0;
  int message_id = 0;
  int from = 0;
  std::string from_value;  // unfolded
};

// Field names counted over the unfolded header section (RFC 5322 §2.2.3).
HeaderCounts count_fields(std::string_view header) {
  HeaderCounts counts;
  std::string* current = nullptr;
  while (!header.empty()) {
    const auto eol = header.find('\n');
    std::string_view line = header.substr(0, eol);
    header.remove_prefix(eol == std::string_view::npos ? header.size() : eol + 1);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (current) *current += std::string(trim(line)).insert(0, " ");
      continue;
    }
    current = nullptr;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = ascii_lower(trim(line.substr(0, colon)));
    if (name == "date") ++counts.date;
    if (name == "message-id") ++counts.message_id;
    if (name == "from") {
      if (++counts.from == 1) {
        counts.from_value = std::string(trim(line.substr(colon + 1)));
        current = &counts.from_value;
      }
    }
  }
  return counts;
}

// A From: that names at least one mailbox with a local part and a domain
// (RFC 5322 §3.6.2: From: is a mailbox-list); not a full parser.
bool plausible_from(std::string_view value) {
  const auto at = value.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= value.size()) return false;
  const char before = value[at - 1];
  const char after = value[at + 1];
  return before != ' ' && before != '<' && after != ' ' && after != '>';
}

std::string where(std::size_t message, std::uint64_t line) {
  return "message " + std::to_string(message) + ", line " + std::to_string(line);
}

}  // namespace

void Grader::finish_message() {
  const ContentFacts& facts = content_->finish();
  GradedMessage m = transaction_ ? std::move(*transaction_) : GradedMessage{};
  transaction_.reset();
  m.size = facts.size;
  const std::size_t n = messages_.size() + 1;
  const bool binary = m.body == "BINARYMIME";  // RFC 3030 §3: any octets, no lines
  if (!binary) {
    if (facts.bare_lf_line) add("bare-lf", where(n, facts.bare_lf_line) + " ends in a bare LF, not CRLF");
    if (facts.bare_cr_line) add("bare-cr", where(n, facts.bare_cr_line) + " holds a CR not followed by LF");
    if (facts.long_line) {
      add("line-too-long", where(n, facts.long_line) + ": a line over " + std::to_string(options_.max_line) +
                               " octets (longest " + std::to_string(facts.longest_line) + ")");
    }
    if (facts.nul_line) add("binary-without-binarymime", where(n, facts.nul_line) + " holds a NUL octet, without BODY=BINARYMIME");
    if (facts.eight_bit_body_line && m.body != "8BITMIME") {
      add("8bit-without-8bitmime", where(n, facts.eight_bit_body_line) + " holds 8-bit octets, without BODY=8BITMIME");
    }
  }
  if (facts.unstuffed_dot_line) {
    add("unstuffed-dot", where(n, facts.unstuffed_dot_line) + " starts with a single '.': the client did not dot-stuff");
  }
  if (facts.eight_bit_header_line && !m.smtputf8) {
    add("utf8-without-smtputf8", where(n, facts.eight_bit_header_line) + ": a header field is not ASCII, without SMTPUTF8");
  }
  if (m.declared_size && m.size > *m.declared_size) {
    add("size-mismatch", "message " + std::to_string(n) + " declared SIZE=" + std::to_string(*m.declared_size) +
                             " and sent " + std::to_string(m.size) + " octets");
  }
  const HeaderCounts counts = count_fields(facts.header);
  if (counts.message_id == 0) add("no-message-id", "message " + std::to_string(n) + " has no Message-ID: field");
  if (counts.date == 0) add("no-date", "message " + std::to_string(n) + " has no Date: field");
  if (counts.from == 0) {
    add("bad-from", "message " + std::to_string(n) + " has no From: field");
  } else if (counts.from > 1) {
    add("bad-from", "message " + std::to_string(n) + " has " + std::to_string(counts.from) + " From: fields");
  } else if (!plausible_from(counts.from_value)) {
    add("bad-from", "message " + std::to_string(n) + " has From: " + counts.from_value.substr(0, 80) +
                        ", which names no address");
  }
  messages_.push_back(std::move(m));
  content_.reset();
}

void Grader::dkim_checked(std::size_t message, std::vector<DkimCheck> checks) {
  if (message >= messages_.size()) return;
  for (const auto& check : checks) {
    if (check.result != "fail" && check.result != "permerror") continue;
    add("dkim-invalid", "message " + std::to_string(message + 1) + ": the DKIM signature of d=" + check.domain +
                            " s=" + check.selector + " did not verify (" + check.result + ": " + check.reason + ")");
  }
  messages_[message].dkim = std::move(checks);
}

}  // namespace petrel::catcher
