#include "smtp/client_commands.hpp"

#include <array>

namespace petrel::smtp {
namespace {

void append_path(std::string& out, const Path& path) {
  out += '<';
  if (path.mailbox) out += path.mailbox->str();
  out += '>';
}

std::string notify_value(std::uint8_t notify) {
  if (notify & notify_never) return "NEVER";
  std::string out;
  const auto add = [&](std::uint8_t bit, std::string_view name) {
    if (!(notify & bit)) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(notify_success, "SUCCESS");
  add(notify_failure, "FAILURE");
  add(notify_delay, "DELAY");
  return out;
}

}  // namespace

std::string mail_command(const Path& reverse_path, const MailParams& params, std::uint64_t size,
                         const Capabilities& caps) {
  std::string out = "MAIL FROM:";
  append_path(out, reverse_path);
  if (caps.size) out += " SIZE=" + std::to_string(size);  // RFC 1870 §6
  if (caps.eight_bit_mime || caps.binary_mime) {
    switch (params.body) {
      case BodyType::seven_bit: out += " BODY=7BIT"; break;
      case BodyType::eight_bit_mime: out += " BODY=8BITMIME"; break;
      case BodyType::binary_mime: out += " BODY=BINARYMIME"; break;
      case BodyType::unspecified: break;
    }
  }
  if (params.smtputf8 && caps.smtputf8) out += " SMTPUTF8";
  if (params.requiretls && caps.requiretls) out += " REQUIRETLS";  // RFC 8689 §4.2.1
  if (caps.dsn) {
    if (params.ret == DsnRet::full) out += " RET=FULL";
    if (params.ret == DsnRet::headers) out += " RET=HDRS";
    if (!params.envid.empty()) out += " ENVID=" + xtext_encode(params.envid);
  }
  out += "\r\n";
  return out;
}

std::string rcpt_command(const Recipient& recipient, const Capabilities& caps) {
  std::string out = "RCPT TO:<" + recipient.forward_path.str() + ">";
  if (caps.dsn) {
    if (recipient.notify != notify_unspecified) out += " NOTIFY=" + notify_value(recipient.notify);
    // Kept decoded as "addr-type;address"; the address part is xtext.
    if (const auto semi = recipient.orcpt.find(';'); semi != std::string::npos && semi > 0) {
      out += " ORCPT=" + recipient.orcpt.substr(0, semi) + ";" + xtext_encode(recipient.orcpt.substr(semi + 1));
    }
  }
  out += "\r\n";
  return out;
}

std::string xtext_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 33 && u <= 126 && c != '+' && c != '=') {
      out += c;
    } else {
      out += '+';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void append_dot_stuffed(std::string_view content, std::string& out) {
  out.reserve(out.size() + content.size() + content.size() / 64 + 5);
  bool line_start = true;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\r' || c == '\n') {
      out += "\r\n";
      if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ++i;
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
}

bool has_eight_bit(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) > 127) return true;
  }
  return false;
}

}  // namespace petrel::smtp
