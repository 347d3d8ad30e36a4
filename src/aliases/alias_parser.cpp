#include "aliases/alias_parser.hpp"

#include <algorithm>

#include "smtp/address.hpp"

namespace petrel::aliases {
namespace {

constexpr std::string_view kWhite = " \t";
constexpr std::string_view kInclude = ":include:";

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kWhite);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kWhite);
  return s.substr(first, last - first + 1);
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// One physical line of a logical line, with its number.
struct Piece {
  std::string_view text;
  std::size_t line;
};
using LogicalLine = std::vector<Piece>;

// Each line that is neither blank nor a comment: the line as written
// (without its CR LF), its content trimmed, and its number.
template <typename Visit>
void for_each_line(std::string_view text, Visit visit) {
  std::size_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') continue;
    visit(line, content, number);
  }
}

// Splits text into logical lines: comment and blank lines dropped, a line
// starting with white space joined to the one before (aliases(5)).
std::vector<LogicalLine> logical_lines(std::string_view text, const std::string& file, std::vector<Problem>& errors) {
  std::vector<LogicalLine> out;
  for_each_line(text, [&](std::string_view line, std::string_view content, std::size_t number) {
    if (kWhite.find(line.front()) == std::string_view::npos) {
      out.push_back({{content, number}});
    } else if (out.empty()) {
      errors.push_back({{file, number}, "a continuation line (starting with white space) with no entry before it"});
    } else {
      out.back().push_back({content, number});
    }
  });
  return out;
}

// RFC 5321 mailbox "local@domain", nothing else.
bool valid_address(std::string_view text) {
  const smtp::PathParse p = smtp::parse_path(text, /*allow_null=*/false, /*utf8_allowed=*/true);
  return p.error == smtp::AddressError::none && p.consumed == text.size() && p.path.mailbox &&
         !p.path.mailbox->domain.empty() && text.front() != '<';
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.find('@') == std::string_view::npos && valid_address(std::string(name) + "@a.invalid");
}

bool valid_domain(std::string_view domain) {
  return !domain.empty() && domain.find('@') == std::string_view::npos && valid_address("x@" + std::string(domain));
}

// "\"a\\\"b\"" at the start of text: its content and where it ends
// (after the closing quote), or npos when it does not close.
std::size_t unquote(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      out.push_back(text[++i]);
    } else if (text[i] == '"') {
      return i + 1;
    } else {
      out.push_back(text[i]);
    }
  }
  return std::string_view::npos;
}

// What one target is; an error message when it is none of them.
std::string classify(std::string_view text, Target& t) {
  if (!text.empty() && text.front() == '<' && text.back() == '>') text = trim(text.substr(1, text.size() - 2));
  if (text.empty()) return "an empty target";
  if (text.front() == '|') {
    t.kind = Target::Kind::command;
    t.value = std::string(trim(text.substr(1)));
    return t.value.empty() ? "a pipe target with no command" : "";
  }
  if (starts_with_icase(text, kInclude)) {
    t.kind = Target::Kind::include;
    t.value = std::string(trim(text.substr(kInclude.size())));
    return t.value.empty() || t.value.front() != '/' ? "an :include: target needs an absolute path" : "";
  }
  if (text.front() == '/') {
    t.kind = Target::Kind::file;
    t.value = std::string(text);
    return t.value.back() == '/' ? "a file target ending in '/' (a Maildir) is not supported" : "";
  }
  t.value = std::string(text);
  if (text.find('@') != std::string_view::npos) {
    t.kind = Target::Kind::address;
    return valid_address(text) ? "" : "'" + t.value + "' is not a valid address";
  }
  t.kind = Target::Kind::name;
  return valid_name(text) ? "" : "'" + t.value + "' is not a valid address or user name";
}

// Comma-separated targets of one piece (aliases and :include: files); a
// quoted target may hold commas and spaces.
void targets_of(const Piece& piece, const std::string& file, std::vector<Target>& out, std::vector<Problem>& errors) {
  std::string_view rest = piece.text;
  while (!rest.empty()) {
    rest = trim(rest);
    if (rest.empty()) break;
    if (rest.front() == ',') {
      rest.remove_prefix(1);
      continue;
    }
    std::string text;
    if (rest.front() == '"') {
      const std::size_t end = unquote(rest, text);
      if (end == std::string_view::npos) {
        errors.push_back({{file, piece.line}, "a quoted target without its closing '\"'"});
        return;
      }
      rest.remove_prefix(end);
      const std::string_view after = trim(rest.substr(0, rest.find(',')));
      if (!after.empty()) {
        errors.push_back({{file, piece.line}, "text after a quoted target: '" + std::string(after) + "'"});
        return;
      }
    } else {
      const auto comma = rest.find(',');
      text = std::string(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
      const bool spaced = text.find_first_of(kWhite) != std::string::npos;
      if (spaced && text.front() != '|') {
        errors.push_back({{file, piece.line}, "'" + text + "': a target with spaces must be quoted"});
        continue;
      }
    }
    Target t;
    t.line = piece.line;
    if (std::string error = classify(trim(text), t); !error.empty()) {
      errors.push_back({{file, piece.line}, error});
      continue;
    }
    out.push_back(std::move(t));
  }
}

// "name:" or "\"name\":" at the start of an aliases line: the name and the
// rest of the line, or an error.
std::string alias_name(std::string_view text, std::string& name, std::string_view& rest) {
  std::size_t colon = 0;
  if (text.front() == '"') {
    const std::size_t end = unquote(text, name);
    if (end == std::string_view::npos) return "a quoted name without its closing '\"'";
    const std::string_view after = text.substr(end);
    const std::size_t skip = after.find_first_not_of(kWhite);
    if (skip == std::string_view::npos || after[skip] != ':') return "expected ':' after the alias name";
    colon = end + skip;
  } else {
    colon = text.find(':');
    if (colon == std::string_view::npos) return "expected 'name: target, ...'";
    name = std::string(trim(text.substr(0, colon)));
    if (name.find_first_of(kWhite) != std::string::npos) return "'" + name + "': an alias name with spaces must be quoted";
  }
  if (name.find('@') != std::string::npos) {
    return "'" + name + "': an alias name has no domain (addresses belong in [local] virtual_aliases)";
  }
  // A quoted name is a quoted local part: any printable text.
  const bool quoted = text.front() == '"';
  const auto printable = [](unsigned char c) { return c >= 0x20 && c != 0x7f; };
  if (quoted ? name.empty() || !std::all_of(name.begin(), name.end(), printable) : !valid_name(name)) {
    return "'" + name + "' is not a valid alias name";
  }
  name = lower(name);
  rest = text.substr(colon + 1);
  return "";
}

// A virtual(5) key, lower-cased: "user@domain", "@domain" or "domain".
std::string virtual_key(std::string_view key, std::string& out) {
  out = lower(key);
  if (out.front() == '@') return valid_domain(out.substr(1)) ? "" : "'" + std::string(key) + "' is not a valid @domain";
  if (out.find('@') == std::string::npos) return valid_domain(out) ? "" : "'" + std::string(key) + "' is not a valid domain";
  return valid_address(out) ? "" : "'" + std::string(key) + "' is not a valid address";
}

// Virtual targets: separated by commas or white space; addresses and
// bare names only.
void virtual_targets(const Piece& piece, const std::string& file, std::vector<Target>& out, std::vector<Problem>& errors) {
  std::string_view rest = piece.text;
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \t,");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \t,");
    const std::string_view token = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    Target t;
    t.line = piece.line;
    if (std::string error = classify(token, t); !error.empty()) {
      errors.push_back({{file, piece.line}, error});
    } else if (t.kind != Target::Kind::address && t.kind != Target::Kind::name) {
      errors.push_back({{file, piece.line}, "'" + std::string(token) +
                                                "': commands, files and :include: belong in the aliases file, "
                                                "not in virtual_aliases"});
    } else {
      out.push_back(std::move(t));
    }
  }
}

}  // namespace

Parsed parse_aliases(std::string_view text, const std::string& file) {
  Parsed out;
  for (const LogicalLine& line : logical_lines(text, file, out.errors)) {
    Entry entry;
    entry.origin = {file, line.front().line};
    std::string_view rest;
    if (std::string error = alias_name(line.front().text, entry.key, rest); !error.empty()) {
      out.errors.push_back({entry.origin, error});
      continue;
    }
    const std::size_t errors_before = out.errors.size();
    targets_of({rest, line.front().line}, file, entry.targets, out.errors);
    for (std::size_t i = 1; i < line.size(); ++i) targets_of(line[i], file, entry.targets, out.errors);
    if (out.errors.size() != errors_before) continue;
    if (entry.targets.empty()) {
      out.errors.push_back({entry.origin, "alias '" + entry.key + "' has no targets"});
      continue;
    }
    out.entries.push_back(std::move(entry));
  }
  return out;
}

Parsed parse_virtual(std::string_view text, const std::string& file) {
  Parsed out;
  for (const LogicalLine& line : logical_lines(text, file, out.errors)) {
    Entry entry;
    entry.origin = {file, line.front().line};
    const std::string_view first = line.front().text;
    const auto space = first.find_first_of(kWhite);
    if (std::string error = virtual_key(first.substr(0, space), entry.key); !error.empty()) {
      out.errors.push_back({entry.origin, error});
      continue;
    }
    const std::size_t errors_before = out.errors.size();
    const std::string_view rest = space == std::string_view::npos ? std::string_view() : first.substr(space);
    std::vector<Target> targets;
    virtual_targets({rest, line.front().line}, file, targets, out.errors);
    for (std::size_t i = 1; i < line.size(); ++i) virtual_targets(line[i], file, targets, out.errors);
    if (out.errors.size() != errors_before) continue;
    if (targets.empty()) {
      out.errors.push_back({entry.origin, "'" + entry.key + "' has no targets"});
      continue;
    }
    // "example.com anything": the domain is a virtual alias domain; what
    // follows is a placeholder (Postfix's convention).
    if (entry.key.find('@') != std::string::npos) entry.targets = std::move(targets);
    out.entries.push_back(std::move(entry));
  }
  return out;
}

Parsed parse_include(std::string_view text, const std::string& file) {
  Parsed out;
  Entry entry;
  entry.origin = {file, 1};
  for_each_line(text, [&](std::string_view, std::string_view content, std::size_t number) {
    targets_of({content, number}, file, entry.targets, out.errors);
  });
  out.entries.push_back(std::move(entry));
  return out;
}

}  // namespace petrel::aliases
