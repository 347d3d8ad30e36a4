#include "dns/records.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace petrel::dns {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::nxdomain: return "nxdomain";
    case Outcome::nodata: return "nodata";
    case Outcome::temporary_failure: return "temporary failure";
  }
  return "?";
}

std::string_view to_string(Dnssec status) {
  switch (status) {
    case Dnssec::insecure: return "insecure";
    case Dnssec::secure: return "secure";
    case Dnssec::bogus: return "bogus";
  }
  return "?";
}

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> bytes) {
  IpAddress address;
  address.family_ = Family::v4;
  std::copy(bytes.begin(), bytes.end(), address.bytes_.begin());
  return address;
}

IpAddress IpAddress::v6(std::array<std::uint8_t, 16> bytes) {
  IpAddress address;
  address.family_ = Family::v6;
  address.bytes_ = bytes;
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string copy(text);  // inet_pton needs a terminated string
  std::array<std::uint8_t, 16> bytes{};
  if (::inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1) {
    return v4({bytes[0], bytes[1], bytes[2], bytes[3]});
  }
  if (::inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1) return v6(bytes);
  return std::nullopt;
}

std::string IpAddress::str() const {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(is_v6() ? AF_INET6 : AF_INET, bytes_.data(), text, sizeof text);
  return text;
}

std::string reverse_name(const IpAddress& address) {
  std::string name;
  const std::uint8_t* bytes = address.bytes();
  if (!address.is_v6()) {
    for (int i = 3; i >= 0; --i) name += std::to_string(bytes[i]) + ".";
    return name + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    name += kHex[bytes[i] & 0x0f];
    name += '.';
    name += kHex[bytes[i] >> 4];
    name += '.';
  }
  return name + "ip6.arpa";
}

std::string TxtRecord::joined() const {
  std::string out;
  for (const auto& s : strings) out += s;
  return out;
}

}  // namespace petrel::dns
