#include "smtp/transfer_encoding.hpp"

#include <cstdint>

#include "smtp/client_commands.hpp"

namespace petrel::smtp {
namespace {

constexpr std::size_t kQpLine = 76;   // RFC 2045 §6.7 rule 5
constexpr std::size_t kB64Line = 76;  // RFC 2045 §6.8
constexpr std::string_view kHex = "0123456789ABCDEF";

}  // namespace

std::string base64_lines(std::string_view data) {
  const std::string b = smtp::base64_encode(data);
  std::string out;
  out.reserve(b.size() + b.size() / kB64Line * 2 + 2);
  for (std::size_t i = 0; i < b.size(); i += kB64Line) {
    out.append(b, i, kB64Line);
    out += "\r\n";
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find("\r\n", start);
    const bool has_end = end != std::string_view::npos;
    if (!has_end) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool blank = c == ' ' || c == '\t';
      const bool literal = (c >= 33 && c <= 126 && c != '=') || (blank && i + 1 < line.size());
      const std::string token =
          literal ? std::string(1, static_cast<char>(c)) : std::string{'=', kHex[c >> 4], kHex[c & 0xf]};
      // Room for the '=' of a soft break unless this is the line's end.
      const std::size_t limit = i + 1 == line.size() ? kQpLine : kQpLine - 1;
      if (width + token.size() > limit) {
        out += "=\r\n";
        width = 0;
      }
      out += token;
      width += token.size();
    }
    if (has_end) out += "\r\n";
    start = end + 2;
  }
  return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t group = 0;
  int have = 0;     // sextets in group
  int padding = 0;  // '=' seen
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    else if (c == '=' && have >= 2) {
      ++padding;
      ++have;
      group <<= 6;
    } else {
      return std::nullopt;
    }
    if (v >= 0) {
      if (padding > 0) return std::nullopt;  // data after '='
      group = (group << 6) | static_cast<std::uint32_t>(v);
      ++have;
    }
    if (have == 4) {
      out += static_cast<char>((group >> 16) & 0xff);
      if (padding < 2) out += static_cast<char>((group >> 8) & 0xff);
      if (padding < 1) out += static_cast<char>(group & 0xff);
      group = 0;
      have = 0;
      if (padding > 0) padding = 3;  // nothing may follow the padded group
    }
  }
  if (have != 0) return std::nullopt;
  return out;
}

}  // namespace petrel::smtp
