// The SPF record (RFC 7208 §4.5, §5, §6, §12): which of a domain's TXT
// records it is, and its terms, read without I/O. Macro strings are checked
// here (§7.1) and expanded while the record is evaluated.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"

namespace petrel::spf {

// §4.6.2: the result a matching mechanism gives.
enum class Qualifier { pass, fail, softfail, neutral };

struct Mechanism {
  enum class Kind { all, include, a, mx, ptr, ip4, ip6, exists };
  Kind kind = Kind::all;
  Qualifier qualifier = Qualifier::pass;
  std::string domain_spec;            // macro-string; empty for a, mx, ptr: the current domain
  std::optional<dns::IpAddress> network;  // ip4, ip6
  unsigned cidr4 = 32;                // ip4, a, mx
  unsigned cidr6 = 128;               // ip6, a, mx
  std::string text;                   // the term as written, for the log: "-ip4:192.0.2.0/24"

  // include, a, mx, ptr and exists count toward the limit of 10 (§4.6.4).
  bool queries_dns() const;
};

struct Record {
  std::vector<Mechanism> mechanisms;  // in order
  std::optional<std::string> redirect;     // redirect= domain-spec (§6.1)
  std::optional<std::string> explanation;  // exp= domain-spec (§6.2)

  bool has_all() const;  // §6.1: then redirect= is ignored
};

// The record in `text` ("v=spf1 ..."), or nullopt with `error` saying why:
// any syntax error makes the whole record a permerror (§4.6). Unknown
// modifiers are skipped; redirect= or exp= given twice is an error (§6).
std::optional<Record> parse_record(std::string_view text, std::string& error);

// §4.5: the TXT records that start with "v=spf1" (then SP or the end), in
// any case. `text` is set when there is exactly one.
struct Selection {
  enum class State { none, one, several };
  State state = State::none;
  std::string text;
};
Selection select_record(const std::vector<dns::TxtRecord>& records);
bool is_spf_record(std::string_view text);

}  // namespace petrel::spf
