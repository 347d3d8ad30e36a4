// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
// 2) that a TCP load balancer sends before anything else, to tell the
// server who its client is. Sans-I/O: give parse() the octets received so
// far and it says whether they are a whole header, the start of one, or
// not one at all. Nothing here touches a socket or allocates beyond the
// address strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::proxy {

// A v1 header is at most 107 octets with its CRLF (spec §2.1).
inline constexpr std::size_t kMaxV1Length = 107;
// A v2 header's 16 fixed octets.
inline constexpr std::size_t kV2FixedLength = 16;
// The spec lets a v2 header announce up to 65535 more octets (TLVs). A mail
// server needs none of them, so past the addresses only this much is taken
// (the minimum TCP segment a sender may assume, spec §2.2): enough for the
// largest address block (UNIX, 216) and the usual TLVs (ALPN, authority,
// CRC32C, unique ID, SSL) of a balancer.
inline constexpr std::size_t kMaxV2Length = 536;
// What a reader must be ready to hold: the longer of the two.
inline constexpr std::size_t kMaxHeaderLength = kMaxV2Length;

enum class Version { v1, v2 };

struct Endpoint {
  std::string address;  // as inet_ntop writes it: "192.0.2.1", "2001:db8::1"
  std::uint16_t port = 0;
};

struct Header {
  Version version = Version::v1;
  std::size_t length = 0;  // octets the header takes; what follows is the client's
  // The client and the address it connected to, as the balancer saw them.
  // Absent for v2 LOCAL (a health check by the balancer itself), v1
  // UNKNOWN, and v2 UNSPEC or UNIX addresses: the connection's own peer
  // is then the client.
  std::optional<Endpoint> source;
  std::optional<Endpoint> destination;
};

enum class Error {
  bad_signature,     // starts like neither "PROXY " nor the v2 signature
  bad_v1_protocol,   // not TCP4, TCP6 or UNKNOWN
  bad_v1_syntax,     // spaces, fields or line ending not as the spec writes them
  bad_v1_address,    // not an address of the protocol's family
  bad_v1_port,       // not a decimal 0..65535 without leading zeros
  v1_too_long,       // no CRLF within 107 octets
  bad_v2_version,    // the version nibble is not 2
  bad_v2_command,    // neither LOCAL nor PROXY
  bad_v2_family,     // an address family or transport the spec does not define, or not TCP
  v2_too_short,      // the length is smaller than the family's addresses
  v2_too_long,       // past kMaxV2Length
  bad_v2_tlv,        // a TLV that runs past the header
};

// A short name for the log and the metric's label: "bad_signature", ...
const char* error_name(Error error);

struct Result {
  enum class Status { need_more, done, error };
  Status status = Status::need_more;
  Header header;           // when done
  Error error = Error::bad_signature;  // when error

  bool done() const { return status == Status::done; }
  bool need_more() const { return status == Status::need_more; }
  bool failed() const { return status == Status::error; }
};

// Reads the header at the start of `received` (everything received on the
// connection so far). need_more means every octet given belongs to a
// header not yet complete, so a reader may take them off the connection
// and ask again with more. When done, header.length octets are the header.
Result parse(std::string_view received);

}  // namespace petrel::proxy
