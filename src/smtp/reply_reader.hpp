// Server replies as an SMTP client reads them (RFC 5321 §4.2): bytes in,
// complete replies out, multi-line replies joined, the enhanced status code
// (RFC 2034, RFC 3463) split off. No I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace petrel::smtp {

// A reply from the server, or one this client made up in its stead
// (connection lost, message too big for the server...): then `local` is
// true and there is no remote text to quote in a DSN.
struct ServerReply {
  int code = 0;
  std::string enhanced;            // "5.1.1"; empty when the server gave none
  std::vector<std::string> lines;  // text after the code and enhanced code; control octets shown as '?'
  bool local = false;

  bool positive() const { return code >= 200 && code < 300; }
  bool intermediate() const { return code >= 300 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }

  // "550 5.1.1 first line second line": one line for logs and for a DSN's
  // Diagnostic-Code (RFC 3464 §2.3.6).
  std::string str() const;

  static ServerReply made_here(Status status, std::string text);
};

class ReplyReader {
 public:
  struct Limits {
    // Octets of a reply line with its CRLF. RFC 5321 §4.5.3.1.5 says 512;
    // real servers send longer ones, so this is a sanity bound, not the RFC's.
    std::size_t max_line = 2048;
    std::size_t max_lines = 100;  // lines of one reply (EHLO answers have ~20)
  };
  enum class Error { none, malformed, line_too_long, too_many_lines };

  ReplyReader() = default;
  explicit ReplyReader(Limits limits) : limits_(limits) {}

  // Consumes bytes up to the end of the next complete reply and returns how
  // many it took: all of `in`, or fewer when a reply became ready() or an
  // error() occurred. Takes nothing while a reply is ready or after an error.
  std::size_t feed(std::string_view in);

  bool ready() const { return ready_; }
  ServerReply take();  // the ready reply; ready() becomes false
  Error error() const { return error_; }
  // Part of a reply has arrived and the rest has not.
  bool partial() const { return !ready_ && (!line_.empty() || !reply_.lines.empty()); }

 private:
  void end_line();
  void fail(Error e) { error_ = e; }

  Limits limits_;
  std::string line_;    // the line being read, without its line ending
  ServerReply reply_;   // the reply being assembled
  bool ready_ = false;
  Error error_ = Error::none;
};

std::string_view describe(ReplyReader::Error e);

}  // namespace petrel::smtp
