#include "catch/content_scan.hpp"

namespace petrel::catcher {

void ContentScanner::feed(std::string_view raw) {
  for (const char c : raw) byte(static_cast<unsigned char>(c));
}

void ContentScanner::keep(char c) {
  if (!in_header_) return;
  if (facts_.header.size() < kMaxHeader) {
    facts_.header.push_back(c);
  } else {
    facts_.header_truncated = true;
  }
}

void ContentScanner::byte(unsigned char c) {
  ++raw_octets_;
  ++line_octets_;
  if (c == '\n') {
    end_line(!prev_cr_);
    return;
  }
  if (prev_cr_) {  // a CR not followed by LF
    if (facts_.bare_cr_line == 0) facts_.bare_cr_line = line_number_;
    keep('\r');
  }
  prev_cr_ = c == '\r';
  if (line_octets_ == 1) terminator_ = false;
  // RFC 5321 §4.5.2: a line the client starts with "." is either the end
  // (".\r\n") or stuffed (".."); a single dot before anything else means the
  // client did not stuff, and the server takes that dot away.
  if (dot_stuffed_ && line_octets_ == 1 && c == '.') {
    dot_at_start_ = true;
    return;
  }
  if (dot_at_start_) {
    dot_at_start_ = false;
    if (c == '.') {
      ++stuffing_;
      line_empty_ = false;
      keep('.');
      return;
    }
    if (c == '\r') {
      terminator_ = true;
      return;
    }
    if (facts_.unstuffed_dot_line == 0) facts_.unstuffed_dot_line = line_number_;
  }
  if (c == '\r') return;
  terminator_ = false;
  line_empty_ = false;
  if (c == 0 && facts_.nul_line == 0) facts_.nul_line = line_number_;
  if (c >= 0x80) {
    auto& first = in_header_ ? facts_.eight_bit_header_line : facts_.eight_bit_body_line;
    if (first == 0) first = line_number_;
  }
  keep(static_cast<char>(c));
}

void ContentScanner::end_line(bool bare_lf) {
  if (bare_lf && facts_.bare_lf_line == 0) facts_.bare_lf_line = line_number_;
  if (dot_at_start_) terminator_ = true;  // ".\n"
  if (line_octets_ > facts_.longest_line) facts_.longest_line = line_octets_;
  if (max_line_ != 0 && line_octets_ > max_line_ && facts_.long_line == 0) facts_.long_line = line_number_;
  if (in_header_) {
    if (line_empty_) {
      in_header_ = false;  // the empty line ends the header section (RFC 5322 §2.1)
    } else if (!terminator_) {
      keep('\r');
      keep('\n');
    }
  }
  last_line_octets_ = line_octets_;
  line_octets_ = 0;
  prev_cr_ = false;
  dot_at_start_ = false;
  line_empty_ = true;
  ++line_number_;
}

const ContentFacts& ContentScanner::finish() {
  if (finished_) return facts_;
  finished_ = true;
  if (prev_cr_ && facts_.bare_cr_line == 0) facts_.bare_cr_line = line_number_;
  std::uint64_t size = raw_octets_ - stuffing_;
  // The terminating ".\r\n" is the server's, not the message's; the line
  // before it ends in the CRLF that belongs to the message.
  if (dot_stuffed_ && terminator_ && line_octets_ == 0) size -= last_line_octets_;
  facts_.size = size;
  // A final line without a line ending (BDAT) counts too.
  if (line_octets_ > facts_.longest_line) facts_.longest_line = line_octets_;
  if (max_line_ != 0 && line_octets_ > max_line_ && facts_.long_line == 0) facts_.long_line = line_number_;
  return facts_;
}

}  // namespace petrel::catcher
