#include "smtp/submission_headers.hpp"

#include "smtp/header_field.hpp"
#include "smtp/received_header.hpp"

namespace petrel::smtp {

std::string missing_submission_headers(std::string_view content, std::string_view hostname,
                                       std::string_view queue_id, std::time_t now) {
  bool has_message_id = false;
  bool has_date = false;
  while (!content.empty()) {
    const auto eol = content.find('\n');
    std::string_view line = content.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    has_message_id = has_message_id || is_field(line, "Message-ID");
    has_date = has_date || is_field(line, "Date");
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
