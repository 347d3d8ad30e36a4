#include "cli/shell_commands.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dkim/base64.hpp"
#include "smtp/client_commands.hpp"

namespace petrel::cli::shell {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  if (prefix.size() > text.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) { return lower(a) == lower(b); });
}

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

// What Tab offers for the first word. A trailing space or "<" is part of the
// completion where an argument must follow, so that Tab leaves the cursor
// where the user types next.
const std::vector<std::string_view> kVerbCompletions = {
    "HELO ", "EHLO ", "STARTTLS", "AUTH ", "MAIL FROM:<", "RCPT TO:<", "DATA", "BDAT ",
    "RSET",  "NOOP",  "VRFY ",    "EXPN ", "HELP",        "ETRN ",     "ATRN ", "QUIT"};
const std::vector<std::string_view> kLocalCompletions = {".starttls", ".auth ", ".data ", ".help", ".quit"};
const std::vector<std::string_view> kAuthMechanisms = {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2"};
const std::vector<std::string_view> kLocalAuth = {"plain ", "login ", "cram-md5 "};
// RFC 1870 SIZE, RFC 6152 / RFC 3030 BODY, RFC 6531 SMTPUTF8, RFC 3461 RET/ENVID, RFC 4954 §5 AUTH.
const std::vector<std::string_view> kMailParams = {"SIZE=",     "BODY=7BIT", "BODY=8BITMIME", "BODY=BINARYMIME",
                                                   "SMTPUTF8", "RET=FULL",  "RET=HDRS",      "ENVID=",
                                                   "AUTH=<>"};
// RFC 3461 §4.1, §4.2.
const std::vector<std::string_view> kRcptParams = {"NOTIFY=SUCCESS", "NOTIFY=FAILURE", "NOTIFY=DELAY",
                                                   "NOTIFY=NEVER", "ORCPT=rfc822;"};

// The user typed lower case: offer lower case, as SMTP verbs are
// case-insensitive (RFC 5321 §2.4) and mixing looks like a typo.
bool typed_in_lower_case(std::string_view word) {
  const bool has_lower = std::any_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  const bool has_upper = std::any_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return has_lower && !has_upper;
}

std::string trim_right(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// The completion of `word` among `options`: the longest common continuation,
// and the options themselves when more than one fits.
Completion complete_from(std::string_view word, const std::vector<std::string>& options) {
  std::vector<std::string> matches;
  for (const auto& option : options) {
    if (starts_with_icase(option, word)) matches.push_back(option);
  }
  Completion out;
  if (matches.empty()) return out;
  std::string common = matches.front();
  for (const auto& m : matches) {
    std::size_t n = 0;
    while (n < common.size() && n < m.size() && common[n] == m[n]) ++n;
    common.resize(n);
  }
  if (common.size() > word.size()) out.insert = common.substr(word.size());
  if (matches.size() > 1) {
    for (const auto& m : matches) out.candidates.push_back(trim_right(m));
  }
  return out;
}

Completion complete_from(std::string_view word, const std::vector<std::string_view>& options) {
  const bool lower_case = typed_in_lower_case(word);
  std::vector<std::string> cased;
  cased.reserve(options.size());
  for (auto option : options) cased.push_back(lower_case ? to_lower(option) : std::string(option));
  return complete_from(word, cased);
}

Completion complete_path(std::string_view typed, const DirLister& list_dir) {
  const auto slash = typed.rfind('/');
  const std::string dir(slash == std::string_view::npos ? std::string_view{} : typed.substr(0, slash + 1));
  const std::string_view base = typed.substr(dir.size());
  std::vector<std::string> matches;
  for (const auto& entry : list_dir(dir)) {
    if (entry.starts_with(base) && (entry.front() != '.' || base.starts_with('.'))) matches.push_back(entry);
  }
  std::sort(matches.begin(), matches.end());
  Completion out = complete_from(base, matches);
  // complete_from ignores case; file names do not.
  if (!out.insert.empty() && matches.size() == 1) out.insert = matches.front().substr(base.size());
  return out;
}

std::vector<std::string_view> all_command_names() {
  std::vector<std::string_view> out;
  for (const auto& c : smtp_commands()) out.push_back(c.name);
  for (const auto& c : local_commands()) out.push_back(c.name);
  return out;
}

Completion complete_local(std::string_view before, const DirLister& list_dir) {
  const auto space = before.find(' ');
  if (space == std::string_view::npos) return complete_from(before, kLocalCompletions);
  const std::string verb = to_lower(before.substr(0, space));
  std::string_view rest = before.substr(space + 1);
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  if (verb == ".auth" && rest.find(' ') == std::string_view::npos) return complete_from(rest, kLocalAuth);
  if (verb == ".data") return complete_path(rest, list_dir);
  if (verb == ".help" && rest.find(' ') == std::string_view::npos) return complete_from(rest, all_command_names());
  return {};
}

Completion complete_argument(std::string_view before) {
  const std::string verb = verb_of(before);
  const auto last_space = before.rfind(' ');
  const std::string_view word = before.substr(last_space + 1);
  const std::size_t arguments = words(before.substr(0, last_space)).size();  // words before `word`
  if (verb == "AUTH" && arguments == 1) return complete_from(word, kAuthMechanisms);
  if (verb == "HELP" && arguments == 1) {
    std::vector<std::string_view> names;
    for (const auto& c : smtp_commands()) names.push_back(c.name);
    return complete_from(word, names);
  }
  // Parameters follow the closing '>' of the path (RFC 5321 §4.1.2).
  const auto close = before.find('>');
  if (close == std::string_view::npos || close > last_space) return {};
  if (verb == "MAIL") return complete_from(word, kMailParams);
  if (verb == "RCPT") return complete_from(word, kRcptParams);
  return {};
}

}  // namespace

const std::vector<CommandHelp>& smtp_commands() {
  static const std::vector<CommandHelp> table = {
      {"HELO", "HELO domain", "Say who you are, plain SMTP (no extensions)", "RFC 5321 §4.1.1.1"},
      {"EHLO", "EHLO domain", "Say who you are and get the server's extensions", "RFC 5321 §4.1.1.1"},
      {"STARTTLS", "STARTTLS", "Switch to TLS; the shell does the handshake on 220", "RFC 3207"},
      {"AUTH", "AUTH mechanism [initial-response]", "Log in (.auth encodes the credentials for you)", "RFC 4954"},
      {"MAIL", "MAIL FROM:<address> [parameters]", "Start a message: the envelope sender (<> for bounces)",
       "RFC 5321 §4.1.1.2"},
      {"RCPT", "RCPT TO:<address> [parameters]", "Add a recipient; repeat for each one", "RFC 5321 §4.1.1.3"},
      {"DATA", "DATA", "Send the message after 354; a line with only '.' ends it", "RFC 5321 §4.1.1.4"},
      {"BDAT", "BDAT size [LAST]", "Send the message in chunks of exactly size octets", "RFC 3030 §2"},
      {"RSET", "RSET", "Abandon the current message, keep the connection", "RFC 5321 §4.1.1.5"},
      {"NOOP", "NOOP", "Do nothing; shows the server is still there", "RFC 5321 §4.1.1.9"},
      {"VRFY", "VRFY address", "Ask whether a mailbox exists (often disabled)", "RFC 5321 §4.1.1.6"},
      {"EXPN", "EXPN list", "Ask for the members of a mailing list (often disabled)", "RFC 5321 §4.1.1.7"},
      {"HELP", "HELP [command]", "The server's own help text", "RFC 5321 §4.1.1.8"},
      {"ETRN", "ETRN domain", "Ask the server to deliver the mail it holds for domain", "RFC 1985"},
      {"ATRN", "ATRN [domain,...]", "After AUTH: take the held mail on this connection, the shell as the server",
       "RFC 2645"},
      {"QUIT", "QUIT", "End the session politely", "RFC 5321 §4.1.1.10"},
  };
  return table;
}

const std::vector<CommandHelp>& local_commands() {
  static const std::vector<CommandHelp> table = {
      {".starttls", ".starttls", "STARTTLS, the TLS handshake, and the certificate shown", ""},
      {".auth", ".auth plain|login|cram-md5 USER", "AUTH with the password asked without echo, base64-encoded",
       ""},
      {".data", ".data FILE", "DATA with FILE's contents (dot-stuffed, CRLF line ends), then '.'", ""},
      {".help", ".help [COMMAND]", "This list, or one command in detail", ""},
      {".quit", ".quit", "QUIT, then leave (Ctrl-D does the same)", ""},
  };
  return table;
}

std::string help_text() {
  std::string out = "SMTP commands (sent to the server as typed, with CRLF):\n";
  char line[256];
  for (const auto& c : smtp_commands()) {
    std::snprintf(line, sizeof line, "  %-34.*s %.*s (%.*s)\n", static_cast<int>(c.syntax.size()), c.syntax.data(),
                  static_cast<int>(c.description.size()), c.description.data(), static_cast<int>(c.reference.size()),
                  c.reference.data());
    out += line;
  }
  out += "Shell commands:\n";
  for (const auto& c : local_commands()) {
    std::snprintf(line, sizeof line, "  %-34.*s %.*s\n", static_cast<int>(c.syntax.size()), c.syntax.data(),
                  static_cast<int>(c.description.size()), c.description.data());
    out += line;
  }
  out += "Tab completes commands, Up/Down recall earlier lines. In DATA mode a line with only '.' ends the message.\n";
  return out;
}

std::optional<std::string> help_text(std::string_view name) {
  const std::string wanted = to_lower(name);
  for (const auto* table : {&smtp_commands(), &local_commands()}) {
    for (const auto& c : *table) {
      const std::string have = to_lower(c.name);
      if (have != wanted && have != "." + wanted) continue;
      std::string out = std::string(c.syntax) + "\n  " + std::string(c.description) + "\n";
      if (!c.reference.empty()) out += "  " + std::string(c.reference) + "\n";
      return out;
    }
  }
  return std::nullopt;
}

std::optional<LocalCommand> parse_local(std::string_view line) {
  if (!line.starts_with('.')) return std::nullopt;
  std::vector<std::string> w = words(line);
  LocalCommand out;
  const std::string name = w.empty() ? "." : to_lower(w.front());
  if (!w.empty()) out.args.assign(w.begin() + 1, w.end());
  using Kind = LocalCommand::Kind;
  if (name == ".starttls") {
    out.kind = Kind::starttls;
  } else if (name == ".auth") {
    out.kind = Kind::auth;
    const std::string mechanism = out.args.empty() ? std::string() : to_lower(out.args[0]);
    if (out.args.size() != 2 || (mechanism != "plain" && mechanism != "login" && mechanism != "cram-md5")) {
      out.error = "usage: .auth plain|login|cram-md5 USER";
    } else {
      out.args[0] = to_lower(out.args[0]);
    }
  } else if (name == ".data") {
    out.kind = Kind::data;
    // The file name is the rest of the line, spaces and all.
    const auto space = line.find(' ');
    std::string_view file = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    while (file.starts_with(' ')) file.remove_prefix(1);
    if (file.empty()) out.error = "usage: .data FILE";
    out.args = {std::string(file)};
  } else if (name == ".quit" || name == ".exit") {
    out.kind = Kind::quit;
  } else if (name == ".help" || name == ".?") {
    out.kind = Kind::help;
  } else {
    out.error = "unknown command " + name + " (.help lists them)";
  }
  return out;
}

Completion complete(std::string_view before_cursor, const DirLister& list_dir) {
  if (before_cursor.starts_with('.')) return complete_local(before_cursor, list_dir);
  std::vector<std::string_view> verbs;
  for (auto v : kVerbCompletions) {
    if (starts_with_icase(v, before_cursor)) verbs.push_back(v);
  }
  if (!verbs.empty()) return complete_from(before_cursor, verbs);
  return complete_argument(before_cursor);
}

std::string verb_of(std::string_view line) {
  while (line.starts_with(' ')) line.remove_prefix(1);
  std::string out(line.substr(0, line.find(' ')));
  std::transform(out.begin(), out.end(), out.begin(), upper);
  return out;
}

std::string stuff_data_line(std::string_view line) {
  std::string out;
  out.reserve(line.size() + 3);
  if (line.starts_with('.')) out += '.';
  out += line;
  out += "\r\n";
  return out;
}

std::optional<std::string> hide_credentials(std::string_view line, bool answering_challenge) {
  if (answering_challenge) return std::string("<credentials hidden>");
  const std::vector<std::string> w = words(line);
  if (w.size() < 3 || to_lower(w[0]) != "auth") return std::nullopt;
  return "AUTH " + w[1] + " <credentials hidden>";
}

std::optional<std::string> decode_challenge(std::string_view base64) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (base64.ends_with('=')) base64.remove_suffix(1);
  if (base64.empty()) return std::nullopt;
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : base64) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  const bool printable = std::all_of(out.begin(), out.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (!printable || out.empty()) return std::nullopt;
  return out;
}

std::optional<std::string> cram_md5_response(std::string_view user, std::string_view password,
                                             std::string_view challenge_base64) {
  const auto challenge = dkim::base64_decode(challenge_base64);
  if (!challenge) return std::nullopt;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_md5(), password.data(), static_cast<int>(password.size()),
           reinterpret_cast<const unsigned char*>(challenge->data()), challenge->size(), digest, &length) == nullptr) {
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string answer(user);
  answer += ' ';
  for (unsigned int i = 0; i < length; ++i) {
    answer += kHex[digest[i] >> 4];
    answer += kHex[digest[i] & 0xf];
  }
  return smtp::base64_encode(answer);
}

std::optional<Target> parse_target(std::string_view text, std::uint16_t default_port) {
  Target out;
  out.port = default_port;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return std::nullopt;
    if (!after.empty()) port = after.substr(1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    out.host = std::string(text.substr(0, text.find(':')));
    port = text.substr(text.find(':') + 1);
  } else {
    out.host = std::string(text);  // a name, an IPv4 address or a bare IPv6 address
  }
  if (out.host.empty()) return std::nullopt;
  if (!port.empty() || text.ends_with(':')) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

}  // namespace petrel::cli::shell
