#include "config/reading.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

namespace petrel::config::detail {

// ---- Syntax checks shared by the TOML loader and validate() ----

namespace {
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
}  // namespace

// Decimal digits only (no sign, no spaces); false on overflow.
bool parse_unsigned(std::string_view s, std::uint64_t& out) {
  if (!all_digits(s)) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return r;
}

// A domain name as RFC 5321 §4.1.2 "Domain" allows: dot-separated labels of
// letters, digits and inner hyphens, 1-63 characters each, 253 in all. One
// trailing dot (the root) is allowed. Internationalized names go in as
// A-labels ("xn--...").
bool valid_domain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = d.find('.', start);
    const std::string_view label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string normalize_domain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  return lower(d);
}

// "ADDR:PORT" where ADDR is an IPv4 literal, "[IPv6]" or "localhost", and
// PORT is 1-65535.
bool valid_listen(std::string_view s) {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string addr(s.substr(0, colon));
  std::uint64_t port = 0;
  if (!parse_unsigned(s.substr(colon + 1), port) || port < 1 || port > 65535) return false;
  unsigned char buf[16];
  if (addr == "localhost") return true;
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') {
    return inet_pton(AF_INET6, addr.substr(1, addr.size() - 2).c_str(), buf) == 1;
  }
  return inet_pton(AF_INET, addr.c_str(), buf) == 1;
}

// One printable ASCII character that can sit inside a local part ("+", "-").
bool valid_delimiter(std::string_view s) {
  if (s.empty()) return true;
  const char c = s[0];
  return s.size() == 1 && c > ' ' && c < 0x7f && c != '@' && c != '"' && c != '\\';
}

bool valid_user(std::string_view u) {
  return !u.empty() && std::none_of(u.begin(), u.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '@' || c == 0x7f;
  });
}

bool valid_log_level(std::string_view s) {
  return std::find(std::begin(kLogLevels), std::end(kLogLevels), s) != std::end(kLogLevels);
}

// ---- "Did you mean" ----

namespace {

// Edits (insert, delete, substitute, swap two neighbours) from a to b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

// "Max-Sessions" and "max_sessions" are the same mistake-free intent.
std::string fold(std::string_view s) {
  std::string r = lower(s);
  std::replace(r.begin(), r.end(), '-', '_');
  return r;
}

// The closest candidate, if it is close enough to be a likely typo.
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(fold(word), c);
    if (d < best_distance) best = c, best_distance = d;
  }
  const std::size_t allowed = std::max<std::size_t>(1, word.size() / 3);
  return best_distance <= allowed ? best : std::string_view{};
}


// ---- Reading TOML values ----

bool read_text_file(const std::string& path, std::string& text, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno != 0) {
    error = "cannot read " + path + ": " + std::strerror(read_errno);
    return false;
  }
  return true;
}

std::size_t line_of(const toml::node& n) { return n.source().begin.line; }

std::size_t line_of_key(const toml::key& k, const toml::node& value) {
  return k.source().begin.line != 0 ? k.source().begin.line : line_of(value);
}

// The value as the operator wrote it, for "got ..." in messages.
std::string describe(const toml::node& n) {
  if (auto s = n.as_string()) {
    std::string v = s->get();
    if (v.size() > 60) v = v.substr(0, 57) + "...";
    return "\"" + v + "\"";
  }
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", f->get());
    return buf;
  }
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date/time";
}

[[noreturn]] void Field::fail(const toml::node& at, std::string_view expected) const {
  throw ConfigError(file, line_of(at),
                    "[" + std::string(section) + "] " + std::string(key) + " must be " + std::string(expected) +
                        ", got " + describe(at));
}

std::string read_string(const Field& f, const toml::node& n, bool (*valid)(std::string_view),
                        std::string_view expected) {
  auto s = n.as_string();
  if (!s || !valid(s->get())) f.fail(n, expected);
  return s->get();
}

bool non_empty(std::string_view s) { return !s.empty(); }

std::string read_path(const Field& f) { return read_string(f, f.value, non_empty, "a non-empty path"); }

std::uint64_t read_count(const Field& f, std::uint64_t min, std::uint64_t max) {
  auto i = f.value.as_integer();
  if (!i || i->get() < 0 || static_cast<std::uint64_t>(i->get()) < min || static_cast<std::uint64_t>(i->get()) > max) {
    std::string expected = "a whole number ≥ " + std::to_string(min);
    if (max < static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      expected = "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    }
    f.fail(expected);
  }
  return static_cast<std::uint64_t>(i->get());
}

// A duration string ("300s", "5m", "1500ms") or whole seconds; > 0.
std::chrono::milliseconds read_duration(const Field& f, const toml::node& n) {
  constexpr std::string_view expected = "a duration > 0 such as \"30s\", \"5m\", \"1h\" or whole seconds";
  std::chrono::milliseconds d{0};
  if (auto i = n.as_integer()) {
    if (i->get() <= 0 || !parse_duration(std::to_string(i->get()), d)) f.fail(n, expected);
  } else if (auto s = n.as_string()) {
    if (!parse_duration(s->get(), d)) f.fail(n, expected);
  }
  if (d.count() <= 0) f.fail(n, expected);
  return d;
}

// Whole bytes or a size string ("50M", "50MiB", "1G"); at least min.
std::uint64_t read_size(const Field& f, std::uint64_t min) {
  const std::string expected = "a size ≥ " + std::to_string(min) + " bytes, in bytes or like \"50M\" or \"1G\"";
  std::uint64_t size = 0;
  if (auto i = f.value.as_integer()) {
    if (i->get() < 0) f.fail(expected);
    size = static_cast<std::uint64_t>(i->get());
  } else if (auto s = f.value.as_string()) {
    if (!parse_size(s->get(), size)) f.fail(expected);
  } else {
    f.fail(expected);
  }
  if (size < min) f.fail(expected);
  return size;
}

// One of a fixed set of words; returns its index.
std::size_t read_choice(const Field& f, std::span<const std::string_view> choices) {
  std::string expected = "one of";
  for (std::size_t k = 0; k < choices.size(); ++k) {
    expected += (k == 0 ? " \"" : ", \"") + std::string(choices[k]) + "\"";
  }
  if (auto s = f.value.as_string()) {
    for (std::size_t k = 0; k < choices.size(); ++k) {
      if (s->get() == choices[k]) return k;
    }
  }
  f.fail(expected);
}

bool read_bool(const Field& f) {
  auto b = f.value.as_boolean();
  if (!b) f.fail("true or false");
  return b->get();
}

std::vector<std::string> read_listen_list(const Field& f) {
  std::set<std::string> seen;
  return read_array<std::string>(f, "\"ADDR:PORT\" strings", true, [&](const toml::node& n) {
    std::string s = read_string(f, n, valid_listen, "\"ADDR:PORT\" such as \"0.0.0.0:587\" or \"[::]:465\"");
    if (!seen.insert(s).second) f.fail(n, "free of duplicates");
    return s;
  });
}

[[noreturn]] void unknown_key(const std::string& file, const toml::key& key, const toml::node& value,
                              std::string_view in, std::span<const std::string_view> known) {
  std::string message = "unknown key '" + std::string(key.str()) + "' in [" + std::string(in) + "]";
  if (auto guess = closest(key.str(), known); !guess.empty()) message += " (did you mean '" + std::string(guess) + "'?)";
  throw ConfigError(file, line_of_key(key, value), message);
}

}  // namespace petrel::config::detail
