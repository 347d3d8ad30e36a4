// Reads a message's content as the client put it on the wire (DATA still
// dot-stuffed, or BDAT chunks) and notes what breaks the rules: line
// endings, line lengths, dot-stuffing, 8-bit and NUL octets. It also keeps
// the header section (bounded) for the RFC 5322 checks. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace petrel::catcher {

struct ContentFacts {
  std::uint64_t size = 0;  // octets of the message itself: dot-unstuffed, without the final "."
  // 1-based line numbers of the first occurrence; 0: none.
  std::uint64_t bare_lf_line = 0;
  std::uint64_t bare_cr_line = 0;
  std::uint64_t long_line = 0;         // over max_line octets, line ending included
  std::uint64_t longest_line = 0;      // octets, line ending included
  std::uint64_t unstuffed_dot_line = 0;
  std::uint64_t eight_bit_header_line = 0;
  std::uint64_t eight_bit_body_line = 0;
  std::uint64_t nul_line = 0;
  std::string header;  // the header section, unstuffed, up to kMaxHeader octets
  bool header_truncated = false;
};

class ContentScanner {
 public:
  static constexpr std::size_t kMaxHeader = 64 * 1024;

  // dot_stuffed: DATA (the last line is the terminating "."); false: BDAT.
  ContentScanner(bool dot_stuffed, std::size_t max_line) : dot_stuffed_(dot_stuffed), max_line_(max_line) {}

  void feed(std::string_view raw);
  // The server took the content as complete.
  const ContentFacts& finish();

 private:
  void byte(unsigned char c);
  void end_line(bool bare_lf);
  void keep(char c);

  bool dot_stuffed_;
  std::size_t max_line_;
  ContentFacts facts_;
  std::uint64_t line_number_ = 1;
  std::uint64_t line_octets_ = 0;   // of the current line, as sent
  std::uint64_t raw_octets_ = 0;
  std::uint64_t stuffing_ = 0;      // dots removed by unstuffing
  std::uint64_t last_line_octets_ = 0;
  bool prev_cr_ = false;
  bool dot_at_start_ = false;       // the line so far is a single "."
  bool terminator_ = false;         // the current (or last) line is the final "."
  bool in_header_ = true;
  bool line_empty_ = true;          // no octet but CR/LF on this line yet
  bool finished_ = false;
};

}  // namespace petrel::catcher
