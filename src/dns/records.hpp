// DNS answers as values: what a lookup found (records, TTL, DNSSEC status)
// or which kind of failure it was. No I/O here; the resolver fills these in.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::dns {

// How a lookup ended, as a mail server has to tell it apart.
enum class Outcome {
  ok,                 // NOERROR with at least one record of the type asked
  nxdomain,           // the name does not exist (RCODE 3): permanent
  nodata,             // the name exists, but has no record of this type
  temporary_failure,  // SERVFAIL, REFUSED, timeout, network error, DNSSEC bogus
};

// DNSSEC status of one answer. With validation off every answer is
// `insecure`: not proven, which is what DANE and MTA-STS need to know.
enum class Dnssec {
  insecure,  // no chain of trust (or validation off)
  secure,    // validated from the trust anchor
  bogus,     // validation failed: the answer is withheld (temporary_failure)
};

std::string_view to_string(Outcome outcome);
std::string_view to_string(Dnssec status);

class IpAddress {
 public:
  enum class Family { v4, v6 };

  static IpAddress v4(std::array<std::uint8_t, 4> bytes);
  static IpAddress v6(std::array<std::uint8_t, 16> bytes);
  // "192.0.2.1", "2001:db8::1"; nullopt for anything else (no brackets,
  // no zone index).
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v6() const { return family_ == Family::v6; }
  // 4 or 16 bytes in network order.
  const std::uint8_t* bytes() const { return bytes_.data(); }
  std::size_t size() const { return is_v6() ? 16 : 4; }
  std::string str() const;  // canonical text form (RFC 5952 for IPv6)

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

// The name a PTR lookup asks for: "1.2.0.192.in-addr.arpa" or the
// nibble form under ip6.arpa (RFC 3596 §2.5).
std::string reverse_name(const IpAddress& address);

// Domain names are in text form without the trailing dot, lower case as the
// server sent them, with "." standing for the root (the null MX target).
struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;
  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

// RFC 6698 §2.1, for DANE (RFC 7672).
struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t matching_type = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

// One TXT record: its character-strings, and their concatenation, which is
// what MTA-STS (RFC 8461 §3.1) and SPF read.
struct TxtRecord {
  std::vector<std::string> strings;
  std::string joined() const;
};

// One lookup's answer. `records` is empty unless outcome is ok. `ttl` is how
// long the answer may be reused (for a negative answer: the negative TTL,
// possibly 0). `canonical_name` is set when a CNAME chain was followed.
// `error` says what went wrong for the log ("SERVFAIL", "timed out").
template <class Record>
struct Answer {
  Outcome outcome = Outcome::temporary_failure;
  std::vector<Record> records;
  std::chrono::seconds ttl{0};
  Dnssec dnssec = Dnssec::insecure;
  std::string canonical_name;
  std::string error;

  bool ok() const { return outcome == Outcome::ok; }
};

using MxAnswer = Answer<MxRecord>;
using AddressAnswer = Answer<IpAddress>;  // A or AAAA
using TlsaAnswer = Answer<TlsaRecord>;
using TxtAnswer = Answer<TxtRecord>;
using PtrAnswer = Answer<std::string>;    // host names

}  // namespace petrel::dns
