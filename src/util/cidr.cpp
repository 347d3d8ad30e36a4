#include "util/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <charconv>
#include <cstring>

namespace petrel::util {
namespace {

struct Ip {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

std::optional<Ip> parse_ip(std::string_view text) {
  const std::string s(text);
  Ip ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  ip.v6 = true;
  // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket.
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes.data(), kMapped, 12) == 0) {
    std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
    std::memset(ip.bytes.data() + 4, 0, 12);
    ip.v6 = false;
  }
  return ip;
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return std::nullopt;
  // A mapped address written with a prefix is ambiguous; keep to plain forms.
  if (!ip->v6 && text.substr(0, slash).find(':') != std::string_view::npos) return std::nullopt;
  const unsigned max = ip->v6 ? 128 : 32;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix > max) {
      return std::nullopt;
    }
  }
  Cidr c;
  c.v6_ = ip->v6;
  c.prefix_ = prefix;
  c.network_ = ip->bytes;
  return c;
}

bool Cidr::contains(std::string_view address) const {
  auto ip = parse_ip(address);
  if (!ip || ip->v6 != v6_) return false;
  return prefix_equal(ip->bytes, network_, prefix_);
}

std::string Cidr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, network_.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix_);
}

std::string client_network(std::string_view address, unsigned v6_prefix) {
  const std::string text(address);
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return text;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0) {
    char v4[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, bytes.data() + 12, v4, sizeof v4) ? std::string(v4) : text;
  }
  const unsigned prefix = std::min(v6_prefix, 128u);
  for (unsigned bit = prefix; bit < 128; ++bit) bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  char out[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, bytes.data(), out, sizeof out)) return text;
  return std::string(out) + "/" + std::to_string(prefix);
}

}  // namespace petrel::util
