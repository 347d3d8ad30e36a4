// SPF macro strings (RFC 7208 §7): their syntax, checked when a record is
// read, and their expansion, done while a record is evaluated and for the
// exp= explanation. Pure: the values of the macro letters come in a
// MacroContext.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/records.hpp"

namespace petrel::spf {

// Where a macro string appears decides what it may hold (§7.1).
enum class MacroUse {
  domain_spec,      // after a mechanism or redirect=/exp=: no c, r, t, no SP
  explanation,      // the TXT record exp= points at: every letter, and SP
  unknown_modifier  // name=value of a modifier we ignore: every letter, no SP
};

// The values the macro letters stand for (§7.3).
struct MacroContext {
  std::string sender;                    // s: "local@domain"
  std::string local_part;                // l: "postmaster" when the sender had none (§4.3)
  std::string sender_domain;             // o
  std::string domain;                    // d: the domain whose record is being evaluated
  dns::IpAddress client;                 // i, c, v
  std::string validated_name = "unknown";  // p (§7.3 discourages looking it up)
  std::string helo;                      // h
  std::string receiver;                  // r: "unknown" when empty
  std::int64_t now = 0;                  // t: seconds since the epoch
};

// True when `text` is a macro-string for `use`; else `error` says why.
bool check_macro_string(std::string_view text, MacroUse use, std::string& error);

// `text` with its macros expanded, or nullopt with `error` when its syntax
// is not valid for `use`.
std::optional<std::string> expand(std::string_view text, const MacroContext& context, MacroUse use,
                                  std::string& error);

// A domain-spec expanded into the name to look up: no trailing dot, and
// longer than 253 octets cut from the left a label at a time (§7.3).
// nullopt when the syntax is wrong.
std::optional<std::string> expand_domain(std::string_view domain_spec, const MacroContext& context,
                                         std::string& error);

// The dotted nibbles of an IPv6 address, or the dotted quad of an IPv4 one:
// what %{i} gives (§7.3).
std::string dotted_address(const dns::IpAddress& address);

}  // namespace petrel::spf
