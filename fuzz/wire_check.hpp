// What every reply Petrel writes must look like on the wire (RFC 5321
// §4.2): lines "DDD-text" CRLF ... "DDD text" CRLF, one code per reply, and
// no CR or LF inside the text, so nothing a client sends can forge a reply.
#pragma once

#include <string_view>

#include "fuzz_check.hpp"

namespace petrel::fuzz {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Checks that `wire` is a sequence of whole replies; returns how many.
inline std::size_t check_wire_replies(std::string_view wire) {
  std::size_t replies = 0;
  std::string_view code;  // of the multi-line reply in progress
  while (!wire.empty()) {
    const auto eol = wire.find("\r\n");
    FUZZ_CHECK(eol != std::string_view::npos);  // every line is CRLF-terminated
    const std::string_view line = wire.substr(0, eol);
    wire.remove_prefix(eol + 2);
    FUZZ_CHECK(line.size() >= 4);
    FUZZ_CHECK(line[0] >= '2' && line[0] <= '5' && is_digit(line[1]) && is_digit(line[2]));
    FUZZ_CHECK(line[3] == ' ' || line[3] == '-');
    FUZZ_CHECK(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
    FUZZ_CHECK(code.empty() || code == line.substr(0, 3));  // continuation lines keep the code
    if (line[3] == '-') {
      code = line.substr(0, 3);
    } else {
      code = {};
      ++replies;
    }
  }
  FUZZ_CHECK(code.empty());  // no reply left half-written
  return replies;
}

}  // namespace petrel::fuzz
