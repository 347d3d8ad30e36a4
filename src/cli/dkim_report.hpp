// The pure part of `petrel dkim` (docs/dkim.md): the zone-file line keygen
// prints, and check's judgement of the key record a domain publishes, as
// text and as JSON. The DNS lookup and the files are in dkim_command.cpp.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/key.hpp"
#include "dns/records.hpp"

namespace petrel::cli {

// Where a key record lives: SELECTOR._domainkey.DOMAIN (RFC 6376 §3.6.2.1).
std::string dkim_record_name(std::string_view domain, std::string_view selector);

// `S._domainkey.D. IN TXT "..." "..."`: the record cut into strings of at
// most 255 octets, the longest a DNS character-string holds (RFC 1035
// §3.3); a resolver joins them again.
std::string dkim_zone_line(std::string_view domain, std::string_view selector, std::string_view record);

enum class DkimStatus {
  ok,           // one usable key record (that matches --key, if given)
  not_found,    // NXDOMAIN, or no TXT record at the name
  dns_failure,  // SERVFAIL, timeout: nothing is known
  invalid,      // a record, but not one a receiver can use
  revoked,      // p= is empty
  mismatch,     // the published key is not the public half of --key
};
std::string_view to_string(DkimStatus status);

struct DkimCheck {
  std::string name;                  // SELECTOR._domainkey.DOMAIN
  DkimStatus status = DkimStatus::not_found;
  dns::Dnssec dnssec = dns::Dnssec::insecure;
  std::optional<std::string> record;  // the TXT record's strings joined, made printable
  std::string key_type;               // k=: "rsa", "ed25519"
  int bits = 0;                       // of the published key
  std::vector<std::string> flags;     // t=
  std::vector<std::string> hash_algorithms;  // h=
  std::string key_file;               // --key
  std::optional<bool> key_matches;    // with --key and a readable published key
  std::vector<std::string> problems;  // why the status is not ok
  std::vector<std::string> warnings;  // usable, but worth knowing (t=y, RSA under 2048 bits)
};

// Judges the TXT answer at `name`; `key` (with its file name) is the
// private key given with --key, or null.
DkimCheck judge_dkim_record(std::string name, const dns::TxtAnswer& answer, const dkim::Key* key,
                            std::string key_file);

// 0 for DkimStatus::ok, 1 otherwise.
int dkim_check_exit_status(const DkimCheck& check);

void print_dkim_check(const DkimCheck& check, bool validating, std::FILE* out);
std::string dkim_check_json(const DkimCheck& check, bool validating);

}  // namespace petrel::cli
