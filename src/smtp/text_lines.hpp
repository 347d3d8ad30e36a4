// DATA's line rules for content that arrives without dot-stuffing: BDAT
// with a 7BIT or 8BITMIME body (RFC 3030 §3 leaves such content RFC 5322
// text). Without this, a bare LF could ride in by BDAT and become a
// smuggling payload when the message is relayed with DATA.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "smtp/dot_reader.hpp"

namespace petrel::smtp {

// The rules over content fed in chunks of any size, cut anywhere (a CRLF
// may be split between two chunks): the verdict and the output are the
// same however the content is cut. max_line counts the CRLF; 0 = no limit.
class TextLineChecker {
 public:
  TextLineChecker(std::size_t max_line, BareLineEndingPolicy policy) : max_line_(max_line), policy_(policy) {}

  // Appends `chunk` to `out`, a bare CR or LF rewritten to CRLF under the
  // normalize policy (which goes on normalizing after a line too long).
  // Under the reject policy, after the first violation the rest is appended
  // unchecked: the message will be refused, but its size still counts.
  void feed(std::string_view chunk, std::string& out);
  // The end of the content: settles a CR left at the end of the last chunk.
  DotReader::Verdict finish(std::string& out);

 private:
  void bare_line_ending(std::string& out);
  void count(std::size_t octets);

  std::size_t max_line_;
  BareLineEndingPolicy policy_;
  bool pending_cr_ = false;  // the last chunk ended in a CR
  std::size_t line_length_ = 0;
  DotReader::Verdict verdict_ = DotReader::Verdict::ok;
};

// Checks every line of `content`; under the normalize policy a bare CR or LF
// is rewritten to CRLF in place. max_line counts the CRLF; 0 = no limit.
DotReader::Verdict check_text_lines(std::string& content, std::size_t max_line, BareLineEndingPolicy policy);

}  // namespace petrel::smtp
