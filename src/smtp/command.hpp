// Splitting a command line into verb and argument (RFC 5321 §4.1.1).
#pragma once

#include <string_view>

namespace petrel::smtp {

enum class Verb {
  helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help,
  turn, etrn, atrn, starttls, auth, unknown,
};

struct CommandLine {
  Verb verb = Verb::unknown;
  std::string_view verb_text;  // as sent, for "unrecognized command" replies
  std::string_view argument;   // after the verb and its separating spaces, right-trimmed
};

// `line` excludes the CRLF. Verbs are case-insensitive.
CommandLine split_command(std::string_view line);

std::string_view verb_name(Verb v);  // "MAIL", ...

// If `text` starts with `prefix` (case-insensitive), the rest; else nullopt-like empty + false.
bool consume_prefix_icase(std::string_view& text, std::string_view prefix);

}  // namespace petrel::smtp
