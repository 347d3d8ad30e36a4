// Reading the alias files named by [local] aliases and virtual_aliases:
// the files and their :include: lists are read, parsed and checked into
// one Tables value (at start, on SIGHUP and by --check-config).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "aliases/alias_parser.hpp"
#include "aliases/expander.hpp"

namespace petrel::aliases {

struct Files {
  std::string aliases;          // "" : none
  std::string virtual_aliases;  // "" : none
  bool allow_commands = false;
};

struct Loaded {
  std::shared_ptr<const Tables> tables;  // never null; the entries that loaded
  // What makes the files unusable: syntax, an unreadable file or
  // :include:, a duplicate. A configuration error (exit 2).
  std::vector<Problem> errors;
  // Pipe and file targets while allow_commands is off: --check-config
  // reports them; a running server refuses mail for those aliases.
  std::vector<Problem> refused;
};

Loaded load(const Files& files);

}  // namespace petrel::aliases
