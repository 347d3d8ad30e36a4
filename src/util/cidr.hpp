// An IPv4 or IPv6 network in CIDR notation ("192.0.2.0/24", "2001:db8::/32",
// or a bare address meaning just that host), for trusted_networks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace petrel::util {

class Cidr {
 public:
  // nullopt on bad syntax or a prefix longer than the address.
  static std::optional<Cidr> parse(std::string_view text);

  // `address` is an IP literal as the server prints it ("127.0.0.1",
  // "::1"). An IPv4-mapped IPv6 address matches the IPv4 network.
  bool contains(std::string_view address) const;
  std::string str() const;

 private:
  bool v6_ = false;
  std::array<std::uint8_t, 16> network_{};
  unsigned prefix_ = 0;
};

// The client a per-IP limit counts: an IPv4 address as it is, an IPv6
// address as its network of `v6_prefix` bits ("2001:db8:1:2::/64"), since
// one IPv6 customer gets a whole /64 (or more) and could walk around a limit
// per address. An IPv4-mapped IPv6 address counts as its IPv4 address;
// text that is not an address comes back unchanged.
std::string client_network(std::string_view address, unsigned v6_prefix);

}  // namespace petrel::util
