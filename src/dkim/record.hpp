// The DKIM key record, the TXT record at SELECTOR._domainkey.DOMAIN (RFC
// 6376 §3.6.1, RFC 8463 §4), read without I/O: `petrel dkim check` judges
// a published key with it. Pure, and fuzzed with the canonicalizers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/algorithm.hpp"

namespace petrel::dkim {

struct KeyRecord {
  std::string version;                       // v=: "DKIM1", or "" when absent
  std::string key_type = "rsa";              // k=, in lower case; "rsa" when absent
  std::vector<std::string> hash_algorithms;  // h=, in lower case; empty: any
  std::vector<std::string> service_types;    // s=, in lower case; empty: any ("*")
  std::vector<std::string> flags;            // t=, in lower case: "y" (testing), "s" (strict)
  std::string notes;                         // n=, as published
  std::string public_key;                    // p=, decoded from base64; empty: the key is revoked

  bool revoked() const { return public_key.empty(); }
  bool testing() const;  // t=y: verifiers must not treat a failure differently from no signature
  bool strict() const;   // t=s: i= may not be a subdomain of d=
  // The algorithm k= names, or nullopt for a key type Petrel does not sign with.
  std::optional<Algorithm> algorithm() const;
  bool allows_sha256() const;  // h= absent or naming sha256: both algorithms hash with SHA-256
  bool for_email() const;      // s= absent, "*" or "email"
};

// The record in `text` (a TXT record's strings joined), or nullopt with
// `error` saying why not: a tag without '=' or with a bad name, a tag
// given twice (§3.2), v= other than "DKIM1" or not first, no p=, p= not
// base64. Tags this version does not know are skipped (§3.6.1).
std::optional<KeyRecord> parse_key_record(std::string_view text, std::string& error);

}  // namespace petrel::dkim
