// `petrel shell` after a 250 to ATRN (RFC 2645 §4.3): the shell turns into
// the SMTP server on the same connection, answers the provider with
// shell::ReverseServer, shows the reversed dialogue and a line for each
// message, and saves the messages when asked to. The I/O around the
// sans-I/O ReverseServer.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "cli/shell_session.hpp"
#include "cli/smtp_connection.hpp"

namespace petrel::cli::shell {

struct ReversedEnd {
  bool failed = false;  // the connection broke or timed out before QUIT
  std::string why;      // "Connection closed.", "No command within 30 s: giving up."
};

ReversedEnd serve_reversed(SmtpConnection& conn, const ShellOptions& options,
                           const std::function<void(std::string_view)>& print);

}  // namespace petrel::cli::shell
