// The DMARC policy record, the TXT record at _dmarc.DOMAIN (RFC 7489 §6.3,
// RFC 9091 for np=), read without I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"

namespace petrel::dmarc {

enum class Policy { none, quarantine, reject };
enum class Alignment { relaxed, strict };
std::string_view to_string(Policy policy);  // "none", "quarantine", "reject"

struct Record {
  Policy policy = Policy::none;               // p=
  std::optional<Policy> subdomain_policy;     // sp=; absent: p applies
  std::optional<Policy> nonexistent_policy;   // np= (RFC 9091); absent: sp, then p
  Alignment dkim_alignment = Alignment::relaxed;  // adkim=
  Alignment spf_alignment = Alignment::relaxed;   // aspf=
  int percent = 100;                          // pct=, 0 to 100
  std::vector<std::string> aggregate_uris;    // rua=, as written ("mailto:a@example.com!10m")
  std::vector<std::string> failure_uris;      // ruf=
  std::string failure_options = "0";          // fo=
  std::string report_format = "afrf";         // rf=
  std::uint32_t report_interval = 86400;      // ri=, seconds
  // §6.6.3: p= (or sp=) was missing or invalid, but rua= named a valid URI,
  // so the record is read as p=none.
  bool policy_defaulted = false;
};

// The record in `text`, or nullopt with `error` saying why it is none:
// v=DMARC1 not first, or no valid p= (and no valid rua= to fall back on,
// §6.6.3). Other tags with bad values take their defaults (§6.3), unknown
// tags are skipped, and a tag given twice keeps its first value.
std::optional<Record> parse_record(std::string_view text, std::string& error);

// §6.6.3: the one TXT record that starts with v=DMARC1. Several, none, or
// none valid: nullopt (no DMARC for this domain), with `error` saying why.
std::optional<Record> select_record(const std::vector<dns::TxtRecord>& records, std::string& error);
bool is_dmarc_record(std::string_view text);

}  // namespace petrel::dmarc
