#include "smtp/received_header.hpp"

#include <array>

namespace petrel::smtp {
namespace {

// A HELO name is client text: keep it from breaking the header's syntax.
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 255)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '(' || c == ')' || c == '\\') continue;
    out += c;
  }
  return out.empty() ? std::string("unknown") : out;
}

}  // namespace

std::string rfc5322_date(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string received_header(const Envelope& envelope, std::string_view hostname, std::string_view queue_id,
                            std::time_t when) {
  std::string h = "Received: from ";
  h += header_safe(envelope.helo_name);
  h += " ([";
  if (envelope.client_address.find(':') != std::string::npos) h += "IPv6:";  // RFC 5321 §4.1.3
  h += envelope.client_address;
  h += "])\r\n\t";
  if (!envelope.tls.empty()) {
    h += "(using " + envelope.tls + ")\r\n\t";
  }
  h += "by ";
  h += hostname;
  h += " (Petrel) with ";
  h += envelope.protocol.empty() ? "ESMTP" : envelope.protocol;
  h += " id ";
  h += queue_id;
  if (envelope.recipients.size() == 1) {
    h += "\r\n\tfor <";
    h += envelope.recipients.front().forward_path.str();
    h += ">";
  }
  h += "; ";
  h += rfc5322_date(when);
  h += "\r\n";
  return h;
}

}  // namespace petrel::smtp
