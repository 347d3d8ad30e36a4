// Host and domain names as shaping compares them. Internal to src/shaping/.
#pragma once

#include <string>
#include <string_view>

namespace petrel::shaping::detail {

// Lower-case (ASCII), without the trailing dot of the root: DNS names
// compare without case (RFC 4343), and "mx.example." is "mx.example".
inline std::string normalize_host(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace petrel::shaping::detail
