// Delivery to an alias's command ("|command") or file ("/path"), allowed
// by [local] allow_commands (docs/aliases.md). Both block: the queue runs
// them on a thread of their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>

namespace petrel::delivery {

struct AliasOutcome {
  enum class Kind { delivered, deferred, failed };
  Kind kind = Kind::deferred;
  std::string status;  // RFC 3463: "2.0.0", "4.3.0", "5.3.0" ...
  std::string reply;   // "250 2.0.0 ...", "550 5.3.0 command exited with status 1: ..."
};

// What the command is told, as Postfix's local(8) tells it, in its
// environment (SENDER, RECIPIENT, ORIGINAL_RECIPIENT, LOCAL, DOMAIN).
struct CommandEnvironment {
  std::string sender;              // "" for the null sender
  std::string recipient;           // the address whose alias named the command
  std::string original_recipient;  // what the client named
};

struct CommandLimits {
  std::chrono::milliseconds timeout{std::chrono::seconds(1000)};
  std::size_t output_limit = 4096;  // octets of stdout+stderr kept for the reply
  // Set when the server stops: the command is killed, the recipient deferred.
  const std::atomic<bool>* cancel = nullptr;
};

// The message as a UNIX text file: CRLF line ends become LF (commands and
// mbox files expect them, as Postfix hands them over).
std::string unix_text(std::string_view crlf_message);

// Runs `/bin/sh -c command` (Postfix's way: the shell parses the line),
// with the message on stdin, in its own process group, from "/", with a
// small fixed environment. Exit 0: delivered; 75 (EX_TEMPFAIL): deferred;
// any other status, a signal or the time limit: failed, with the
// sysexits(3) name and the first line of the output in the reply.
AliasOutcome run_command(const std::string& command, std::string_view message, const CommandEnvironment& env,
                         const CommandLimits& limits);

// The sysexits(3) code's RFC 3463 status and name ("5.1.1", "EX_NOUSER").
std::pair<std::string, std::string> sysexit_status(int code);

// Appends the message to an mbox file (created 0600 if missing; not
// through a symbolic link), under an fcntl lock: a "From sender date"
// line, the message with mboxrd quoting (">From " for any line that is
// ">*From "), and an empty line. A failed write is cut back off.
AliasOutcome append_to_mbox(const std::string& path, std::string_view sender, std::string_view message,
                            std::time_t now);

// The "From " line's sender and date: "MAILER-DAEMON" for the null sender,
// the date as asctime(3) gives it, in UTC.
std::string mbox_from_line(std::string_view sender, std::time_t now);
// mboxrd quoting of a LF text, ending in an empty line.
std::string mbox_quoted(std::string_view message);

}  // namespace petrel::delivery
