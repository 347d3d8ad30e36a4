#include "dkim/tag_list.hpp"

#include <algorithm>

namespace petrel::dkim {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// §3.2: tag-name = ALPHA *ALNUMPUNC.
bool is_tag_name(std::string_view name) {
  return !name.empty() && is_alpha(name.front()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

}  // namespace

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return out;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [&lower](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string_view> TagList::find(std::string_view name) const {
  for (const Tag& t : tags) {
    if (t.name == name) return t.value;
  }
  return std::nullopt;
}

std::optional<TagList> parse_tag_list(std::string_view text, std::string& error) {
  TagList list;
  while (!text.empty()) {
    const std::size_t semicolon = text.find(';');
    const std::string_view spec = trim_wsp(text.substr(0, semicolon));
    text.remove_prefix(semicolon == std::string_view::npos ? text.size() : semicolon + 1);
    if (spec.empty()) continue;
    const std::size_t equals = spec.find('=');
    std::string name(trim_wsp(spec.substr(0, equals)));
    if (equals == std::string_view::npos || !is_tag_name(name)) {
      error = "\"" + std::string(spec.substr(0, 40)) + "\" is not a tag (name=value)";
      return std::nullopt;
    }
    if (list.find(name)) {
      error = "the tag " + name + "= is given twice (RFC 6376 §3.2)";
      return std::nullopt;
    }
    list.tags.push_back({std::move(name), trim_wsp(spec.substr(equals + 1))});
  }
  return list;
}

std::vector<std::string> colon_list(std::string_view value) {
  std::vector<std::string> items;
  while (!value.empty()) {
    const std::size_t colon = value.find(':');
    if (const std::string_view item = trim_wsp(value.substr(0, colon)); !item.empty()) items.push_back(ascii_lower(item));
    if (colon == std::string_view::npos) break;
    value.remove_prefix(colon + 1);
  }
  return items;
}

}  // namespace petrel::dkim
