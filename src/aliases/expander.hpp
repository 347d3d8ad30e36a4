// Alias expansion: a pure function over the loaded tables and the local
// routing (docs/aliases.md). Given the address a client named, it says
// whether an alias applies and, if so, the final recipients: addresses
// (local mailboxes or remote), commands and files. Recursive and
// loop-safe: an address that comes back inside its own expansion is final
// (sendmail's and Postfix's "user: user, other"), every address is
// expanded once, and depth and count are limited.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "aliases/alias_parser.hpp"
#include "delivery/local_routing.hpp"
#include "smtp/address.hpp"

namespace petrel::aliases {

// The tables, :include: files already read into their aliases.
struct Tables {
  std::unordered_map<std::string, Entry> aliases;      // by lower-cased name
  std::unordered_map<std::string, Entry> virtual_map;  // "user@domain" or "@domain", A-label domain
  std::unordered_set<std::string> virtual_domains;     // every domain a virtual key names (A-labels)
  bool empty() const { return aliases.empty() && virtual_map.empty() && virtual_domains.empty(); }
};

struct Limits {
  std::size_t max_depth = 20;         // [local] alias_max_depth
  std::size_t max_recipients = 1000;  // [local] alias_max_recipients
  bool allow_commands = false;        // [local] allow_commands
};

// One final recipient of an expansion.
struct Final {
  Target::Kind kind = Target::Kind::address;  // address, command or file
  // The recipient; for a command or file, the address whose alias named it.
  smtp::Address address;
  std::string target;  // the command or the file's path
  std::string via;     // the alias it came through last ("team", "sales@example.com")
};

struct Expansion {
  enum class Result {
    unchanged,  // no alias applies: the address is its own recipient
    expanded,   // `recipients` replace it
    unknown,    // an address of a virtual alias domain that nothing matches
    failed,     // a loop, a limit, a refused command: `error` names the alias
  };
  Result result = Result::unchanged;
  std::vector<Final> recipients;
  std::string error;  // "alias 'team' (aliases:12): expansion loop"
};

// Is `domain` (any form) a virtual alias domain, i.e. named in the virtual
// table and not a local domain?
bool is_virtual_domain(const Tables& tables, const delivery::LocalRouting& routing, std::string_view domain);

// Lookup order (Postfix's): virtual "user+ext@domain", "user@domain",
// "@domain"; then, in a local domain, the aliases "user+ext", "user". A
// bare target name in an alias means that user in the domain the alias
// was addressed to; in the virtual table, in the first local domain.
Expansion expand(const Tables& tables, const delivery::LocalRouting& routing, const Limits& limits,
                 const smtp::Address& address);

}  // namespace petrel::aliases
