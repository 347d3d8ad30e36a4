#include "cli/shell_command.hpp"

#include <cstdio>
#include <memory>

#include "cli/shell_commands.hpp"
#include "cli/shell_session.hpp"

namespace petrel::cli {
namespace {

constexpr std::uint16_t kSmtpPort = 25;   // SMTP's well-known port
constexpr std::uint16_t kSmtpsPort = 465;  // RFC 8314 §7.3: submissions, implicit TLS
constexpr int kExitUsage = 2;

struct ShellFlags {
  std::string target;
  bool tls = false;
  double timeout_seconds = 30;
  std::string ca_file;
  std::string tls_name;
  bool no_history = false;
  std::string save_dir;
  std::uint64_t max_message_size = 50ull * 1024 * 1024;
};

}  // namespace

void add_shell_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ShellFlags>();
  CLI::App* shell = app.add_subcommand(
      "shell", "Talk SMTP to a server by hand: line editing, history, Tab completion, replies as they arrive, "
               ".starttls, .auth and .data helpers (docs/petrel-shell.md)");
  shell->add_option("target", flags->target, "The server: HOST, HOST:PORT or [IPv6]:PORT (port 25, or 465 with --tls)")
      ->required();
  shell->add_flag("--tls", flags->tls, "Implicit TLS: the handshake before the greeting (RFC 8314; default port 465)");
  shell->add_option("--timeout", flags->timeout_seconds,
                    "Seconds to wait for the connection, a TLS handshake, or a reply the shell waits for (default 30)")
      ->check(CLI::Range(0.001, 86400.0));
  shell->add_option("--ca-file", flags->ca_file,
                    "PEM file of CA certificates to verify the server's certificate against (default: the system store)")
      ->type_name("FILE");
  shell->add_option("--tls-name", flags->tls_name,
                    "Name sent in SNI and checked in the certificate (default: HOST)")
      ->type_name("NAME");
  shell->add_flag("--no-history", flags->no_history, "Neither read nor write the history file ~/.petrel_history");
  shell->add_option("--save-dir", flags->save_dir,
                    "After ATRN (RFC 2645), save each message received in DIR, one .eml file each")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  shell->add_option("--max-message-size", flags->max_message_size,
                    "After ATRN, the largest message taken, in octets (offered as SIZE; default 52428800)")
      ->type_name("OCTETS")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  shell->footer(
      "Exit status: 0 the session ended by QUIT, .quit, Ctrl-D or the end of a script on stdin; 1 the server closed\n"
      "the connection, it broke, or a script got no reply in time; 2 bad usage; 3 could not connect.");
  shell->callback([flags, &exit_code] {
    const auto target = shell::parse_target(flags->target, flags->tls ? kSmtpsPort : kSmtpPort);
    if (!target) {
      std::fprintf(stderr, "petrel shell: %s is not HOST, HOST:PORT or [IPv6]:PORT\n", flags->target.c_str());
      exit_code = kExitUsage;
      return;
    }
    shell::ShellOptions options;
    options.host = target->host;
    options.port = target->port;
    options.implicit_tls = flags->tls;
    options.timeout = std::chrono::milliseconds(static_cast<long>(flags->timeout_seconds * 1000));
    options.ca_file = flags->ca_file;
    options.tls_name = flags->tls_name;
    options.history = !flags->no_history;
    options.save_dir = flags->save_dir;
    options.max_message_size = flags->max_message_size;
    exit_code = shell::run_shell(options);
  });
}

}  // namespace petrel::cli
