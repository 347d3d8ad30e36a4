// `petrel shell`: one SMTP session driven by a person at a terminal (line
// editing, replies shown as they arrive) or by a script on stdin (each
// line sent, then its reply awaited with a timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace petrel::cli::shell {

struct ShellOptions {
  std::string host;
  std::uint16_t port = 25;
  bool implicit_tls = false;  // --tls: TLS before the greeting (RFC 8314, port 465)
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::string ca_file;       // "" = the system store
  std::string tls_name;      // "" = the host
  bool history = true;       // ~/.petrel_history
  // After ATRN, as the server (RFC 2645): where to save each message
  // received ("" = not saved), and the largest message taken (SIZE).
  std::string save_dir;
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
};

// Exit statuses of `petrel shell`.
inline constexpr int kExitOk = 0;           // ended by QUIT, .quit, Ctrl-D or the end of the script
inline constexpr int kExitConnectionLost = 1;  // closed by the server, a write failed, or a script got no reply
inline constexpr int kExitCannotConnect = 3;   // refused, timed out, unreachable, TLS failed at connect

int run_shell(const ShellOptions& options);

}  // namespace petrel::cli::shell
