// The DATA reader (RFC 5321 §4.1.1.4, §4.5.2): takes the bytes after "354",
// removes dot-stuffing, and finds the one thing that ends the message,
// <CRLF>.<CRLF>. No I/O: bytes in, content out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/session_options.hpp"

namespace petrel::smtp {

class DotReader {
 public:
  enum class Verdict {
    ok,
    too_big,            // over max_message_size: 552 5.3.4
    bare_line_ending,   // a CR or LF not in a CRLF pair, under the reject policy
    line_too_long,      // a line over max_text_line
  };

  struct Limits {
    std::uint64_t max_size = 0;  // content octets; 0 = no limit
    std::size_t max_line = 0;    // octets including CRLF; 0 = no limit
    BareLineEndingPolicy bare_line_endings = BareLineEndingPolicy::reject;
  };

  explicit DotReader(Limits limits) : limits_(limits) {}

  // Consumes bytes up to and including the final <CRLF>.<CRLF> and appends
  // the content to `out`; returns how many bytes of `in` were consumed (all
  // of them unless the end was found). After a limit is exceeded the reader
  // keeps reading to the end but appends nothing more: stopping early would
  // make the rest of the message be read as commands.
  std::size_t feed(std::string_view in, std::string& out);

  bool done() const { return state_ == State::done; }
  Verdict verdict() const { return verdict_; }
  std::uint64_t size() const { return size_; }

 private:
  enum class State { line_start, line_start_dot, line_start_dot_cr, in_line, in_line_cr, done };

  void emit(std::string_view bytes, std::string& out);
  void end_line(std::string& out);  // a real CRLF
  void bare_line_ending(char c, std::string& out);  // c is '\r' or '\n'
  void violate(Verdict v);
  std::size_t scan_line(std::string_view in, std::size_t pos, std::string& out);

  Limits limits_;
  State state_ = State::line_start;
  // True when the current line began after a normalized bare CR/LF rather
  // than a real CRLF: then "." alone on it does not end the message, so a
  // "\n.\r\n" can never smuggle in a second transaction.
  bool synthetic_line_start_ = false;
  std::size_t line_length_ = 0;
  std::uint64_t size_ = 0;
  Verdict verdict_ = Verdict::ok;
};

}  // namespace petrel::smtp
