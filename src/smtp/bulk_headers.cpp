#include "smtp/bulk_headers.hpp"

#include <algorithm>

#include "smtp/header_field.hpp"

namespace petrel::smtp {
namespace {

constexpr std::size_t kMaxValue = 128;

// The end of the header section: the offset just past its last CRLF (the
// empty line follows), or the whole content when there is no body.
std::size_t header_end(std::string_view content) {
  if (content.starts_with("\r\n")) return 0;
  const auto blank = content.find("\r\n\r\n");
  return blank == std::string_view::npos ? content.size() : blank + 2;
}

// The field's value: after the first ':', unfolded and trimmed; "" when unusable.
std::string value_of(std::string_view field) {
  std::string value;
  for (char c : field.substr(field.find(':') + 1)) {
    if (c == '\r' || c == '\n') continue;  // unfolding (RFC 5322 §2.2.3)
    value += c == '\t' ? ' ' : c;
  }
  const auto first = value.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  value = value.substr(first, value.find_last_not_of(' ') - first + 1);
  const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) != 0x7f;
  });
  return printable && value.size() <= kMaxValue ? value : "";
}

}  // namespace

BulkFields take_bulk_fields(std::string& content, std::string_view campaign_header, std::string_view tenant_header) {
  BulkFields fields;
  const std::size_t end = header_end(content);
  std::string kept;
  kept.reserve(end);
  std::size_t pos = 0;
  while (pos < end) {
    // One field: its first line and the folded lines after it.
    std::size_t next = content.find("\r\n", pos);
    next = next == std::string::npos || next + 2 > end ? end : next + 2;
    while (next < end && (content[next] == ' ' || content[next] == '\t')) {
      const std::size_t more = content.find("\r\n", next);
      next = more == std::string::npos || more + 2 > end ? end : more + 2;
    }
    const std::string_view field(content.data() + pos, next - pos);
    if (!campaign_header.empty() && is_field(field, campaign_header)) {
      if (fields.campaign.empty()) fields.campaign = value_of(field);
    } else if (!tenant_header.empty() && is_field(field, tenant_header)) {
      if (fields.tenant.empty()) fields.tenant = value_of(field);
    } else {
      kept.append(field);
    }
    pos = next;
  }
  if (kept.size() != end) content.replace(0, end, kept);
  return fields;
}

}  // namespace petrel::smtp
