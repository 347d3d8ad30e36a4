#include "smtp/bulk_headers.hpp"

#include <algorithm>

#include "smtp/header_field.hpp"

namespace petrel::smtp {
namespace {

constexpr std::size_t kMaxValue = 128;

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
  remove_fields(content, [&](std::string_view field) {
    if (!campaign_header.empty() && is_field(field, campaign_header)) {
      if (fields.campaign.empty()) fields.campaign = value_of(field);
      return true;
    }
    if (!tenant_header.empty() && is_field(field, tenant_header)) {
      if (fields.tenant.empty()) fields.tenant = value_of(field);
      return true;
    }
    return false;
  });
  return fields;
}

}  // namespace petrel::smtp
