// The two alias file formats, parsed without I/O (docs/aliases.md):
//   aliases(5):  "name: target, target"  (the local domains' aliases)
//   virtual(5):  "address target, target" and "@domain target" (any domain)
// Text in, entries with their line numbers and errors out; reading the
// files and following :include: is alias_files.cpp's job.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::aliases {

struct Target {
  enum class Kind : unsigned char {
    address,  // "user@domain"
    name,     // "user": that user at the domain the alias was addressed to
    include,  // ":include:/path": the addresses listed in that file
    command,  // "|command": the message on the command's stdin
    file,     // "/path": the message appended to an mbox file
  };
  Kind kind = Kind::address;
  std::string value;  // the address, name, path or command (without '|' or ":include:")
  std::size_t line = 0;
};

// Where an entry or an error comes from: "FILE:LINE".
struct Origin {
  std::string file;
  std::size_t line = 0;
  std::string str() const { return line ? file + ":" + std::to_string(line) : file; }  // line 0: the file
};

struct Entry {
  // aliases: the name, lower-cased ("postmaster"); virtual: "user@domain"
  // or "@domain", lower-cased; a bare "domain" only names a virtual alias
  // domain (Postfix's "example.com anything") and has no targets.
  std::string key;
  std::vector<Target> targets;
  Origin origin;
};

struct Problem {
  Origin origin;
  std::string message;
  std::string str() const { return origin.str() + ": " + message; }
};

struct Parsed {
  std::vector<Entry> entries;
  std::vector<Problem> errors;
};

// aliases(5): "#" starts a comment line; a line starting with white space
// continues the one before; names are case-insensitive and may be quoted
// ("my name": ...); targets are comma-separated, each an address, a bare
// name, "|command", "/file" or ":include:/file", quoted when it holds
// commas or spaces ("|/usr/bin/vacation -a alice").
Parsed parse_aliases(std::string_view text, const std::string& file);

// virtual(5): "KEY TARGETS" where KEY is user@domain, @domain (catch-all)
// or domain (declares a virtual alias domain); targets are separated by
// commas or white space and are addresses or bare names (commands, files
// and includes belong in the aliases file).
Parsed parse_virtual(std::string_view text, const std::string& file);

// An :include: file: targets separated by commas or lines, "#" comment
// lines; what a target may be is the aliases file's rule.
Parsed parse_include(std::string_view text, const std::string& file);

}  // namespace petrel::aliases
