#include "smtp/header_field.hpp"

#include <cctype>

namespace petrel::smtp {

bool is_field(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') {
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

namespace {

bool equals_icase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// The value of a field (after the first ':'), with folding and the
// surrounding white space taken out.
std::string_view trimmed_value(std::string_view field) {
  std::string_view v = field.substr(field.find(':') + 1);
  const auto first = v.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return v.substr(first, v.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

bool tls_required_no(std::string_view content) {
  std::size_t pos = 0;
  while (pos < content.size() && !content.substr(pos).starts_with("\r\n")) {
    std::size_t next = content.find("\r\n", pos);
    next = next == std::string_view::npos ? content.size() : next + 2;
    while (next < content.size() && (content[next] == ' ' || content[next] == '\t')) {
      const std::size_t more = content.find("\r\n", next);
      next = more == std::string_view::npos ? content.size() : more + 2;
    }
    const std::string_view field = content.substr(pos, next - pos);
    if (is_field(field, "TLS-Required") && equals_icase(trimmed_value(field), "No")) return true;
    pos = next;
  }
  return false;
}

}  // namespace petrel::smtp
