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

// The end of the header section: the offset just past its last CRLF (the
// empty line follows), or the whole content when there is no body.
std::size_t header_end(std::string_view content) {
  if (content.starts_with("\r\n")) return 0;
  const auto blank = content.find("\r\n\r\n");
  return blank == std::string_view::npos ? content.size() : blank + 2;
}

}  // namespace

std::size_t remove_fields(std::string& content, const std::function<bool(std::string_view field)>& drop) {
  const std::size_t end = header_end(content);
  std::string kept;
  std::size_t removed = 0;
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
    if (drop(field)) {
      if (removed++ == 0) kept.assign(content, 0, pos);
    } else if (removed > 0) {
      kept.append(field);
    }
    pos = next;
  }
  if (removed > 0) content.replace(0, end, kept);
  return removed;
}

}  // namespace petrel::smtp
