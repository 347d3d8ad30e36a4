#include "dns/rdata.hpp"

#include <cstdio>

namespace petrel::dns::rdata {
namespace {

constexpr std::size_t kMaxNameLength = 255;  // RFC 1035 §2.3.4, wire form

bool plain_label_byte(std::uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

void append_label_byte(std::string& out, std::uint8_t c) {
  if (c >= 'A' && c <= 'Z') c = static_cast<std::uint8_t>(c - 'A' + 'a');
  if (plain_label_byte(c)) {
    out += static_cast<char>(c);
    return;
  }
  char escaped[5];
  std::snprintf(escaped, sizeof escaped, "\\%03u", static_cast<unsigned>(c));
  out += escaped;
}

}  // namespace

std::optional<std::string> name(Bytes data, std::size_t& pos) {
  std::string out;
  const std::size_t start = pos;
  while (true) {
    if (pos >= data.size()) return std::nullopt;
    const std::uint8_t length = data[pos++];
    if (length == 0) break;
    if (length > 63) return std::nullopt;  // 0xC0 pointers and reserved label types
    if (pos + length > data.size()) return std::nullopt;
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < length; ++i) append_label_byte(out, data[pos + i]);
    pos += length;
    if (pos - start > kMaxNameLength) return std::nullopt;
  }
  if (out.empty()) return std::string(".");
  return out;
}

std::optional<IpAddress> a(Bytes data) {
  if (data.size() != 4) return std::nullopt;
  std::array<std::uint8_t, 4> bytes;
  std::copy(data.begin(), data.end(), bytes.begin());
  return IpAddress::v4(bytes);
}

std::optional<IpAddress> aaaa(Bytes data) {
  if (data.size() != 16) return std::nullopt;
  std::array<std::uint8_t, 16> bytes;
  std::copy(data.begin(), data.end(), bytes.begin());
  return IpAddress::v6(bytes);
}

std::optional<MxRecord> mx(Bytes data) {
  if (data.size() < 3) return std::nullopt;
  std::size_t pos = 2;
  auto host = name(data, pos);
  if (!host || pos != data.size()) return std::nullopt;
  const auto preference = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
  return MxRecord{preference, std::move(*host)};
}

std::optional<std::string> ptr(Bytes data) {
  std::size_t pos = 0;
  auto host = name(data, pos);
  if (!host || pos != data.size()) return std::nullopt;
  return host;
}

std::optional<TxtRecord> txt(Bytes data) {
  if (data.empty()) return std::nullopt;  // at least one character-string
  TxtRecord record;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t length = data[pos++];
    if (pos + length > data.size()) return std::nullopt;
    record.strings.emplace_back(reinterpret_cast<const char*>(data.data() + pos), length);
    pos += length;
  }
  return record;
}

std::optional<TlsaRecord> tlsa(Bytes data) {
  if (data.size() < 3) return std::nullopt;
  TlsaRecord record;
  record.usage = data[0];
  record.selector = data[1];
  record.matching_type = data[2];
  record.data.assign(data.begin() + 3, data.end());
  return record;
}

}  // namespace petrel::dns::rdata
