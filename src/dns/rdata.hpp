// Record data (RDATA) in wire format to values. Pure functions over bytes,
// so they are tested without a resolver; the resolver calls them on what
// libunbound hands back (uncompressed, without the RDLENGTH prefix).
// Internal to src/dns/.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "dns/records.hpp"

namespace petrel::dns::rdata {

using Bytes = std::span<const std::uint8_t>;

// An uncompressed domain name starting at `pos`, which is moved past it.
// Lower case, no trailing dot, "." for the root; a byte outside
// [a-z0-9-_] in a label is escaped as \DDD (RFC 1035 §5.1). nullopt when the
// name is malformed or uses a compression pointer.
std::optional<std::string> name(Bytes data, std::size_t& pos);

std::optional<IpAddress> a(Bytes data);
std::optional<IpAddress> aaaa(Bytes data);
std::optional<MxRecord> mx(Bytes data);      // RFC 1035 §3.3.9
std::optional<std::string> ptr(Bytes data);  // RFC 1035 §3.3.12
std::optional<TxtRecord> txt(Bytes data);    // RFC 1035 §3.3.14
std::optional<TlsaRecord> tlsa(Bytes data);  // RFC 6698 §2.1

}  // namespace petrel::dns::rdata
