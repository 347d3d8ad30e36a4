// The two header forms of HAProxy's proxy-protocol.txt: v1, one line of
// text (§2.1), and v2, a binary block with a 12-octet signature (§2.2).
// Both are read strictly: a balancer writes them one way only, and
// anything else on a PROXY listener is a client that should not be there.
#include "proxy/proxy_header.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace petrel::proxy {

namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
// §2.2: chosen so that it can appear in no v1 header nor in any common
// protocol's first octets.
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

Result need_more() { return {}; }

Result fail(Error error) {
  Result r;
  r.status = Result::Status::error;
  r.error = error;
  return r;
}

Result done(Header header) {
  Result r;
  r.status = Result::Status::done;
  r.header = std::move(header);
  return r;
}

// True when `received` could still grow into `whole` (or already holds it).
bool starts_like(std::string_view received, std::string_view whole) {
  const std::size_t n = std::min(received.size(), whole.size());
  return received.substr(0, n) == whole.substr(0, n);
}

// ---- v1 ----

std::optional<std::string> read_address(std::string_view text, int family) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN - 1) return std::nullopt;
  char zeroed[INET6_ADDRSTRLEN] = {};
  std::memcpy(zeroed, text.data(), text.size());
  std::array<unsigned char, 16> binary{};
  // inet_pton takes dotted quads only (no "1.2.3", no hex, no leading zeros).
  if (inet_pton(family, zeroed, binary.data()) != 1) return std::nullopt;
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, binary.data(), out, sizeof out) == nullptr) return std::nullopt;
  return std::string(out);
}

std::optional<std::uint16_t> read_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// Splits on single spaces; false when there are not exactly `n` fields or
// a field is empty (two spaces in a row, a leading or trailing space).
bool split_fields(std::string_view line, std::string_view* fields, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t space = line.find(' ');
    const bool last = i + 1 == n;
    if (last != (space == std::string_view::npos)) return false;
    fields[i] = last ? line : line.substr(0, space);
    if (fields[i].empty()) return false;
    line.remove_prefix(last ? line.size() : space + 1);
  }
  return true;
}

// "TCP4 SRC DST SPORT DPORT", "TCP6 ..." or "UNKNOWN[ anything]": the line
// after "PROXY " and before its CRLF.
Result parse_v1_line(std::string_view line, std::size_t length) {
  Header header;
  header.version = Version::v1;
  header.length = length;
  // §2.1: after UNKNOWN the receiver ignores the rest of the line.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return done(std::move(header));
  std::string_view f[5];
  if (!line.starts_with("TCP4 ") && !line.starts_with("TCP6 ")) {
    return fail(line.starts_with("TCP4") || line.starts_with("TCP6") ? Error::bad_v1_syntax : Error::bad_v1_protocol);
  }
  if (!split_fields(line, f, 5)) return fail(Error::bad_v1_syntax);
  const int family = f[0] == "TCP4" ? AF_INET : AF_INET6;
  auto source = read_address(f[1], family);
  auto destination = read_address(f[2], family);
  if (!source || !destination) return fail(Error::bad_v1_address);
  const auto source_port = read_port(f[3]);
  const auto destination_port = read_port(f[4]);
  if (!source_port || !destination_port) return fail(Error::bad_v1_port);
  header.source = Endpoint{std::move(*source), *source_port};
  header.destination = Endpoint{std::move(*destination), *destination_port};
  return done(std::move(header));
}

Result parse_v1(std::string_view received) {
  if (!starts_like(received, kV1Prefix)) return fail(Error::bad_signature);
  const std::string_view window = received.substr(0, kMaxV1Length);
  for (std::size_t i = 0; i < window.size(); ++i) {
    const char c = window[i];
    if (c == '\r') {
      if (i + 1 == window.size()) return window.size() == kMaxV1Length ? fail(Error::v1_too_long) : need_more();
      if (window[i + 1] != '\n') return fail(Error::bad_v1_syntax);
      if (i < kV1Prefix.size()) return fail(Error::bad_signature);
      return parse_v1_line(window.substr(kV1Prefix.size(), i - kV1Prefix.size()), i + 2);
    }
    // A line of printable US-ASCII (§2.1 writes nothing else).
    if (c < 0x20 || c > 0x7e) return fail(Error::bad_v1_syntax);
  }
  return window.size() == kMaxV1Length ? fail(Error::v1_too_long) : need_more();
}

// ---- v2 ----

enum Command : unsigned { kLocal = 0x0, kProxy = 0x1 };
enum Family : unsigned { kUnspec = 0x0, kInet = 0x1, kInet6 = 0x2, kUnix = 0x3 };
enum Transport : unsigned { kUnspecTransport = 0x0, kStream = 0x1, kDgram = 0x2 };

unsigned octet(std::string_view s, std::size_t i) { return static_cast<unsigned char>(s[i]); }
std::uint16_t big_endian16(std::string_view s, std::size_t i) {
  return static_cast<std::uint16_t>(octet(s, i) << 8 | octet(s, i + 1));
}

// The octets the address block of a family takes (§2.2).
std::size_t address_length(unsigned family) {
  switch (family) {
    case kInet: return 12;    // two IPv4 addresses, two ports
    case kInet6: return 36;   // two IPv6 addresses, two ports
    case kUnix: return 216;   // two 108-octet paths
    default: return 0;
  }
}

Endpoint endpoint(int family, std::string_view binary, std::uint16_t port) {
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, binary.data(), out, sizeof out);
  return {out, port};
}

// Type (1 octet), length (2), value: each must end within the header.
bool tlvs_fit(std::string_view tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < 3) return false;
    const std::size_t length = big_endian16(tlvs, 1);
    if (tlvs.size() - 3 < length) return false;
    tlvs.remove_prefix(3 + length);
  }
  return true;
}

Result parse_v2(std::string_view received) {
  if (!starts_like(received, kV2Signature)) return fail(Error::bad_signature);
  if (received.size() > 12 && octet(received, 12) >> 4 != 0x2) return fail(Error::bad_v2_version);
  if (received.size() < kV2FixedLength) return need_more();
  const unsigned command = octet(received, 12) & 0x0f;
  const unsigned family = octet(received, 13) >> 4;
  const unsigned transport = octet(received, 13) & 0x0f;
  const std::size_t length = kV2FixedLength + big_endian16(received, 14);
  if (command != kLocal && command != kProxy) return fail(Error::bad_v2_command);
  if (length > kMaxV2Length) return fail(Error::v2_too_long);
  // LOCAL: the receiver uses the connection's own addresses and ignores
  // the family and whatever follows (§2.2).
  if (command == kProxy) {
    if (family > kUnix || transport > kDgram) return fail(Error::bad_v2_family);
    // Mail comes over TCP only: an INET/INET6 client must be a stream.
    if ((family == kInet || family == kInet6) && transport != kStream) return fail(Error::bad_v2_family);
    if (length - kV2FixedLength < address_length(family)) return fail(Error::v2_too_short);
  }
  if (received.size() < length) return need_more();
  Header header;
  header.version = Version::v2;
  header.length = length;
  if (command == kLocal) return done(std::move(header));
  const std::string_view block = received.substr(kV2FixedLength, length - kV2FixedLength);
  if (!tlvs_fit(block.substr(address_length(family)))) return fail(Error::bad_v2_tlv);
  if (family == kInet) {
    header.source = endpoint(AF_INET, block.substr(0, 4), big_endian16(block, 8));
    header.destination = endpoint(AF_INET, block.substr(4, 4), big_endian16(block, 10));
  } else if (family == kInet6) {
    header.source = endpoint(AF_INET6, block.substr(0, 16), big_endian16(block, 32));
    header.destination = endpoint(AF_INET6, block.substr(16, 16), big_endian16(block, 34));
  }
  // UNSPEC and UNIX: no IP client to report; the connection's peer stands.
  return done(std::move(header));
}

}  // namespace

const char* error_name(Error error) {
  switch (error) {
    case Error::bad_signature: return "bad_signature";
    case Error::bad_v1_protocol: return "bad_v1_protocol";
    case Error::bad_v1_syntax: return "bad_v1_syntax";
    case Error::bad_v1_address: return "bad_v1_address";
    case Error::bad_v1_port: return "bad_v1_port";
    case Error::v1_too_long: return "v1_too_long";
    case Error::bad_v2_version: return "bad_v2_version";
    case Error::bad_v2_command: return "bad_v2_command";
    case Error::bad_v2_family: return "bad_v2_family";
    case Error::v2_too_short: return "v2_too_short";
    case Error::v2_too_long: return "v2_too_long";
    case Error::bad_v2_tlv: return "bad_v2_tlv";
  }
  return "unknown";
}

Result parse(std::string_view received) {
  if (received.empty()) return need_more();
  if (received.front() == 'P') return parse_v1(received);
  if (received.front() == '\r') return parse_v2(received);
  return fail(Error::bad_signature);
}

}  // namespace petrel::proxy
