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

}  // namespace

void for_each_field(std::string_view content, const std::function<bool(std::string_view field)>& visit) {
  std::size_t pos = 0;
  while (pos < content.size() && !content.substr(pos).starts_with("\r\n")) {
    // One field: its first line and the folded lines after it.
    std::size_t next = content.find("\r\n", pos);
    next = next == std::string_view::npos ? content.size() : next + 2;
    while (next < content.size() && (content[next] == ' ' || content[next] == '\t')) {
      const std::size_t more = content.find("\r\n", next);
      next = more == std::string_view::npos ? content.size() : more + 2;
    }
    if (!visit(content.substr(pos, next - pos))) return;
    pos = next;
  }
}

std::string_view trimmed_value(std::string_view field) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view v = field.substr(colon + 1);
  const auto first = v.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return v.substr(first, v.find_last_not_of(" \t\r\n") - first + 1);
}

bool has_field_value(std::string_view content, std::string_view name, std::string_view value) {
  bool found = false;
  for_each_field(content, [&](std::string_view field) {
    found = is_field(field, name) && equals_icase(trimmed_value(field), value);
    return !found;
  });
  return found;
}

std::size_t remove_fields(std::string& content, const std::function<bool(std::string_view field)>& drop) {
  std::string kept;
  std::size_t removed = 0;
  std::size_t end = 0;  // just past the last field
  for_each_field(content, [&](std::string_view field) {
    const auto pos = static_cast<std::size_t>(field.data() - content.data());
    if (drop(field)) {
      if (removed++ == 0) kept.assign(content, 0, pos);
    } else if (removed > 0) {
      kept.append(field);
    }
    end = pos + field.size();
    return true;
  });
  if (removed > 0) content.replace(0, end, kept);
  return removed;
}

}  // namespace petrel::smtp
