// `petrel shell` after ATRN (RFC 2645 §4.3): the roles reverse on the same
// connection and the shell is the SMTP server, taking the mail the ODMR
// provider holds for the user's domains. This is the protocol of that side,
// without I/O: bytes from the provider go in, and out come the replies to
// send and what to show (each command, each reply, each message received).
//
// A small server on purpose: it offers 8BITMIME, PIPELINING and SIZE,
// accepts every sender and recipient the provider gives, and keeps each
// message whole for the shell to summarise or save. It is the customer's
// end of one session, not a mail server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/dot_reader.hpp"

namespace petrel::cli::shell {

struct ReverseLimits {
  std::uint64_t max_message_size = 50ull * 1024 * 1024;  // SIZE (RFC 1870); a larger message gets 552
  std::size_t max_command_line = 4096;  // octets with CRLF (RFC 5321 §4.5.3.1.4 asks for at least 512)
  std::size_t max_recipients = 1000;    // per message (RFC 5321 §4.5.3.1.8 asks for at least 100)
};

// A message the provider handed over.
struct ReceivedMessage {
  std::string reverse_path;                // "<sender@example>" or "<>"
  std::vector<std::string> forward_paths;  // "<rcpt@example>", in RCPT order
  std::string content;                     // dot-stuffing removed, CRLF line ends
  std::size_t lines = 0;                   // text lines of the content
};

// What feed() found, in order.
struct ReverseEvent {
  enum class Kind {
    command,   // text: a command line received (control octets as '?')
    content,   // text: "(N lines, M octets of message content)", at the end of DATA
    reply,     // text: the reply's lines, wire: what to send, code: its code
    message,   // message: a message accepted (after its 250)
    closed,    // after the 221 to QUIT: the provider closes the connection
  };
  Kind kind = Kind::command;
  std::string text;
  std::string wire;
  int code = 0;
  std::optional<ReceivedMessage> message;
};

class ReverseServer {
 public:
  ReverseServer(std::string hostname, ReverseLimits limits);

  // The 220 that starts the reversed session (RFC 2645 §4.3: the client,
  // now the server, speaks first).
  ReverseEvent greeting() const;

  // Consumes all of `bytes`; what they completed, in order. Pipelined
  // commands (RFC 2920) give one reply each, in order.
  std::vector<ReverseEvent> feed(std::string_view bytes);

  bool closed() const { return closed_; }
  bool in_data() const { return dot_.has_value(); }

 private:
  void on_line(std::string_view line, std::vector<ReverseEvent>& out);
  void on_command(std::string_view line, std::vector<ReverseEvent>& out);
  void on_mail(std::string_view argument, std::vector<ReverseEvent>& out);
  void on_rcpt(std::string_view argument, std::vector<ReverseEvent>& out);
  void on_data(std::vector<ReverseEvent>& out);
  void end_of_data(std::vector<ReverseEvent>& out);
  std::size_t feed_data(std::string_view bytes, std::vector<ReverseEvent>& out);
  void reset();

  std::string hostname_;
  ReverseLimits limits_;
  std::string line_;           // a command line so far
  bool line_too_long_ = false;  // discarding to the end of an overlong line
  bool greeted_ = false;       // EHLO or HELO seen
  std::optional<ReceivedMessage> transaction_;  // after MAIL
  std::optional<smtp::DotReader> dot_;          // in DATA
  bool closed_ = false;
};

}  // namespace petrel::cli::shell
