// Shared by the fuzz targets: an invariant check that survives NDEBUG (so a
// RelWithDebInfo fuzz build still stops on a broken invariant), and a
// reader for the few setting octets that lead each input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// A failed invariant aborts; libFuzzer then saves the input as crash-*.
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace petrel::fuzz {

// The input as "settings octets, then the bytes under test". An input too
// short for its settings reads them as zero, so every input is usable.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : bytes_(reinterpret_cast<const char*>(data), size) {}

  std::uint8_t setting() {
    if (bytes_.empty()) return 0;
    const auto v = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return v;
  }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

// Piece lengths for feeding a stream in parts, derived from one octet so
// the same input always splits the same way: small pieces (1..16 octets)
// for some seeds, larger ones (up to 256) for others.
class Splitter {
 public:
  explicit Splitter(std::uint8_t seed) : state_(seed * 2654435761u + 1), max_(seed & 0x80 ? 256 : 16) {}
  std::size_t next() {
    state_ = state_ * 1103515245u + 12345u;
    return 1 + (state_ >> 8) % max_;
  }

 private:
  std::uint32_t state_;
  std::uint32_t max_;
};

inline bool within(std::string_view outer, std::string_view inner) {
  return inner.empty() || (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

// True when every CR is followed by LF and every LF preceded by CR.
inline bool crlf_clean(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

// The longest line in s, counting its CRLF (the last line counts 2 for it
// even when it has none, as check_text_lines does).
inline std::size_t longest_line(std::string_view s) {
  std::size_t longest = 0;
  std::size_t start = 0;
  for (;;) {
    const auto eol = s.find("\r\n", start);
    const std::size_t end = eol == std::string_view::npos ? s.size() : eol;
    if (eol == std::string_view::npos && start == s.size()) break;
    if (end - start + 2 > longest) longest = end - start + 2;
    if (eol == std::string_view::npos) break;
    start = eol + 2;
  }
  return longest;
}

}  // namespace petrel::fuzz
