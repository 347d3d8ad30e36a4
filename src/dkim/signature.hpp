// A DKIM-Signature field (RFC 6376 §3.5), or one of ARC's signed fields
// (RFC 8617 §4.1.2 ARC-Message-Signature, §4.1.3 ARC-Seal), read without
// I/O. Fuzzed with the key record parser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/algorithm.hpp"
#include "dkim/canonicalize.hpp"

namespace petrel::dkim {

enum class SignatureKind {
  dkim,         // DKIM-Signature: v=1 required
  arc_message,  // ARC-Message-Signature: i= is the ARC instance, no v=
  arc_seal,     // ARC-Seal: i=, cv=, no h=, bh= nor c= (relaxed header fields)
};

struct Signature {
  Algorithm algorithm = Algorithm::rsa_sha256;  // a=
  std::string signature;                        // b=, decoded
  std::string signature_base64;                 // b= as written, without whitespace (header.b= takes its start)
  std::string body_hash;                        // bh=, decoded
  Canonicalization header_canonicalization = Canonicalization::simple;  // c= (default simple/simple)
  Canonicalization body_canonicalization = Canonicalization::simple;
  std::string domain;                // d=, lower case, no trailing dot
  std::vector<std::string> headers;  // h=, lower case
  std::string identity;              // i= (DKIM): "@d" when absent
  std::optional<std::uint64_t> body_length;  // l=
  std::string selector;                      // s=
  std::optional<std::int64_t> timestamp;     // t=
  std::optional<std::int64_t> expiration;    // x=
  int instance = 0;                          // ARC i=, 1 to 50
  std::string chain_validation;              // ARC-Seal cv=: "none", "pass", "fail"

  // SELECTOR._domainkey.DOMAIN, where the key record lives.
  std::string key_name() const { return selector + "._domainkey." + domain; }
};

// The field's value (after "DKIM-Signature:") read as `kind`, or nullopt
// with `error` saying why the signature is unusable (a permerror, RFC 6376
// §6.1.1): a tag missing or malformed, v= not 1, an algorithm other than
// rsa-sha256 and ed25519-sha256 (rsa-sha1 is refused, RFC 8301), h=
// without From, i= outside d=, x= before t=.
std::optional<Signature> parse_signature(std::string_view value, SignatureKind kind, std::string& error);

// The field (name, colon, value) with the value of its b= tag removed and
// everything else kept as it is, which is what the signature covers (§3.7).
std::string without_signature_value(std::string_view raw_field);

}  // namespace petrel::dkim
