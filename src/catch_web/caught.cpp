#include "catch_web/caught.hpp"

#include <charconv>
#include <ctime>

#include "http/message.hpp"

namespace petrel::catchweb {
namespace {

bool id_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '.': case '_': case '-': case ',': case '=': case '+': case '\\': return true;
    default: return false;
  }
}

// A decimal number of at most 9 digits (no sign, no spaces), else nullopt.
std::optional<std::size_t> small_number(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

std::string_view id_of_file(std::string_view file_name) { return file_name.substr(0, file_name.find(':')); }

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 255 || id.front() == '.') return false;
  for (const char c : id) {
    if (!id_char(c)) return false;
  }
  return true;
}

std::optional<Paging> parse_paging(std::string_view query, std::string& field) {
  Paging paging;
  if (const auto limit = http::query_param(query, "limit")) {
    const auto n = small_number(*limit);
    if (!n || *n == 0) {
      field = "limit";
      return std::nullopt;
    }
    paging.limit = std::min(*n, kMaxLimit);
  }
  if (const auto offset = http::query_param(query, "offset")) {
    const auto n = small_number(*offset);
    if (!n) {
      field = "offset";
      return std::nullopt;
    }
    paging.offset = *n;
  }
  return paging;
}

std::string rfc3339(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(text, n);
}

}  // namespace petrel::catchweb
