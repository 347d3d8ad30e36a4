#include "smtp/submission_headers.hpp"

#include <cctype>

#include "smtp/received_header.hpp"

namespace petrel::smtp {
namespace {

bool starts_with_field(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') {
    // "Date :" (obsolete syntax, RFC 5322 §4.5) still names the field.
    std::size_t i = name.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == name.size() || i >= line.size() || line[i] != ':') return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string missing_submission_headers(std::string_view content, std::string_view hostname,
                                       std::string_view queue_id, std::time_t now) {
  bool has_message_id = false;
  bool has_date = false;
  while (!content.empty()) {
    const auto eol = content.find('\n');
    std::string_view line = content.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    has_message_id = has_message_id || starts_with_field(line, "Message-ID");
    has_date = has_date || starts_with_field(line, "Date");
    if (eol == std::string_view::npos) break;
    content.remove_prefix(eol + 1);
  }
  std::string out;
  if (!has_date) out += "Date: " + rfc5322_date(now) + "\r\n";
  if (!has_message_id) {
    out += "Message-ID: <" + std::string(queue_id) + "@" + std::string(hostname) + ">\r\n";
  }
  return out;
}

}  // namespace petrel::smtp
