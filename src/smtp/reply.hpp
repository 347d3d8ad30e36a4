// An SMTP reply: basic code, enhanced status code and text. The one place
// replies are formatted for the wire.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace petrel::smtp {

// A basic reply code with its enhanced status code (RFC 3463). Only
// reply_codes.hpp defines values of this type.
struct Status {
  int code;                    // RFC 5321 §4.2, e.g. 550
  std::string_view enhanced;   // RFC 3463, e.g. "5.1.1"; empty for none

  constexpr bool positive() const { return code >= 200 && code < 400; }
  constexpr bool transient() const { return code >= 400 && code < 500; }
  constexpr bool permanent() const { return code >= 500; }
};

struct Reply {
  Status status;
  std::vector<std::string> lines;  // at least one; text only, no code

  Reply(Status s, std::string text) : status(s), lines{std::move(text)} {}
  Reply(Status s, std::vector<std::string> text) : status(s), lines(std::move(text)) {}

  int code() const { return status.code; }

  // The reply as sent: "250-first\r\n250 2.0.0 last\r\n". The enhanced code
  // is put on every line (RFC 2034 §4) when enhanced is true.
  void append_wire(std::string& out, bool enhanced = true) const;
  std::string wire(bool enhanced = true) const;
};

}  // namespace petrel::smtp
