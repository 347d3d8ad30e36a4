// What `petrel shell` knows about the commands a user types: the SMTP verbs
// with their syntax, a one-line description and the RFC that defines them,
// the shell's own dot-commands, tab-completion over both, and the small text
// transformations of the dialogue (dot-stuffing a DATA line, decoding a 334
// challenge). Pure functions, no terminal and no socket: unit-tested.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::cli::shell {

struct CommandHelp {
  std::string_view name;         // "EHLO", ".auth"
  std::string_view syntax;       // "EHLO domain"
  std::string_view description;  // one line
  std::string_view reference;    // "RFC 5321 §4.1.1.1"; "" for the shell's own commands
};

// The SMTP commands, in the order of a dialogue, then the shell's commands.
const std::vector<CommandHelp>& smtp_commands();
const std::vector<CommandHelp>& local_commands();

// `.help`: every command, one line each. `.help NAME`: that command's entry
// (NAME in any case, with or without the dot for local ones); nullopt when
// there is no such command.
std::string help_text();
std::optional<std::string> help_text(std::string_view name);

// A line that starts with '.' outside DATA mode is for the shell.
struct LocalCommand {
  enum class Kind { starttls, auth, data, quit, help, unknown };
  Kind kind = Kind::unknown;
  std::vector<std::string> args;  // words after the command
  std::string error;              // usage problem: "usage: .auth plain|login|cram-md5 USER"
};
std::optional<LocalCommand> parse_local(std::string_view line);

// Tab-completion of the text left of the cursor. `insert` is what to add at
// the cursor (the longest common continuation), `candidates` what to list
// when it is ambiguous. `list_dir(dir)` gives the entries of a directory
// ("" = the current one), directories with a trailing '/', for `.data FILE`.
struct Completion {
  std::string insert;
  std::vector<std::string> candidates;
};
using DirLister = std::function<std::vector<std::string>(const std::string& dir)>;
Completion complete(std::string_view before_cursor, const DirLister& list_dir);

// The first word of a command line in upper case: "mail from:<a>" -> "MAIL".
std::string verb_of(std::string_view line);

// A line typed in DATA mode as it goes on the wire, CRLF included: a leading
// '.' doubled (RFC 5321 §4.5.2) so that only the lone "." ends the message.
std::string stuff_data_line(std::string_view line);

// What to show (and keep in the history) instead of a typed line that
// carries credentials: "AUTH PLAIN <credentials hidden>" for an AUTH with an
// initial response (RFC 4954 §4), "<credentials hidden>" for any answer to
// a 334 challenge; nullopt when the line can be shown as it is.
std::optional<std::string> hide_credentials(std::string_view line, bool answering_challenge);

// The text of a 334 challenge (RFC 4954 §4) when it is base64 of printable
// text ("VXNlcm5hbWU6" -> "Username:"); nullopt otherwise.
std::optional<std::string> decode_challenge(std::string_view base64);

// The answer to a CRAM-MD5 challenge (RFC 2195 §2): base64 of the user, a
// space, and the hex HMAC-MD5 (RFC 2104) of the decoded challenge keyed with
// the password. nullopt when the challenge is not base64.
std::optional<std::string> cram_md5_response(std::string_view user, std::string_view password,
                                             std::string_view challenge_base64);

// HOST[:PORT] or [IPv6]:PORT; `default_port` when no port is given.
struct Target {
  std::string host;
  std::uint16_t port = 25;
};
std::optional<Target> parse_target(std::string_view text, std::uint16_t default_port);

}  // namespace petrel::cli::shell
