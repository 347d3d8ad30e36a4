#include "spf/macro.hpp"

#include <algorithm>
#include <vector>

namespace petrel::spf {
namespace {

constexpr std::size_t kMaxName = 253;    // §7.3: a longer expansion is cut to fit
constexpr unsigned kMaxParts = 1000;     // more digits than any value has parts

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// §7.1: delimiter = "." / "-" / "+" / "," / "/" / "_" / "="
bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

// macro-literal = %x21-24 / %x26-7E; an explain-string also has SP.
bool is_literal(char c, MacroUse use) {
  return (c >= 0x21 && c <= 0x7e && c != '%') || (c == ' ' && use == MacroUse::explanation);
}

bool letter_allowed(char letter, MacroUse use) {
  const std::string_view always = "sloidphv";
  if (always.find(letter) != std::string_view::npos) return true;
  // §7.1: c, r and t only in the explanation; an unknown modifier is never expanded.
  return (letter == 'c' || letter == 'r' || letter == 't') && use != MacroUse::domain_spec;
}

struct Macro {
  char letter = 's';
  bool escape = false;     // upper-case letter: URL-escape the value (§7.3)
  unsigned parts = 0;      // 0: all of them
  bool reverse = false;
  std::string_view delimiters;
};

// "{" letter *DIGIT ["r"] *delimiter "}" at text[pos]; pos ends after "}".
std::optional<Macro> read_macro(std::string_view text, std::size_t& pos, MacroUse use, std::string& error) {
  Macro macro;
  if (pos + 1 >= text.size()) {
    error = "unterminated macro";
    return std::nullopt;
  }
  macro.escape = text[pos + 1] >= 'A' && text[pos + 1] <= 'Z';
  macro.letter = lower(text[pos + 1]);
  if (!letter_allowed(macro.letter, use)) {
    error = std::string("%{") + text[pos + 1] + "} is not a macro here (RFC 7208 §7.1)";
    return std::nullopt;
  }
  std::size_t i = pos + 2;
  const std::size_t digits = i;
  for (; i < text.size() && is_digit(text[i]); ++i) macro.parts = std::min(macro.parts * 10 + (text[i] - '0'), kMaxParts);
  if (i > digits && macro.parts == 0) {
    error = "a macro's digit transformer must not be zero (RFC 7208 §7.3)";
    return std::nullopt;
  }
  if (i < text.size() && lower(text[i]) == 'r') {
    macro.reverse = true;
    ++i;
  }
  const std::size_t delimiters = i;
  while (i < text.size() && is_delimiter(text[i])) ++i;
  macro.delimiters = text.substr(delimiters, i - delimiters);
  if (i >= text.size() || text[i] != '}') {
    error = "malformed macro \"%" + std::string(text.substr(pos, std::min<std::size_t>(i + 1 - pos, 20))) + "\"";
    return std::nullopt;
  }
  pos = i + 1;
  return macro;
}

std::string letter_value(char letter, const MacroContext& c) {
  switch (letter) {
    case 's': return c.sender;
    case 'l': return c.local_part;
    case 'o': return c.sender_domain;
    case 'd': return c.domain;
    case 'i': return dotted_address(c.client);
    case 'p': return c.validated_name;
    case 'h': return c.helo;
    case 'v': return c.client.is_v6() ? "ip6" : "in-addr";
    case 'c': return c.client.str();
    case 'r': return c.receiver.empty() ? "unknown" : c.receiver;
    case 't': return std::to_string(c.now);
  }
  return {};
}

// Split on the delimiters ("." by default), reverse, keep the rightmost
// `parts`, join with "." (§7.3).
std::string transform(std::string_view value, const Macro& macro) {
  if (macro.parts == 0 && !macro.reverse && macro.delimiters.empty()) return std::string(value);
  const std::string_view delimiters = macro.delimiters.empty() ? std::string_view(".") : macro.delimiters;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (macro.reverse) std::reverse(parts.begin(), parts.end());
  const std::size_t keep = macro.parts == 0 ? parts.size() : std::min<std::size_t>(macro.parts, parts.size());
  std::string out;
  for (std::size_t i = parts.size() - keep; i < parts.size(); ++i) {
    if (i > parts.size() - keep) out += '.';
    out += parts[i];
  }
  return out;
}

// Everything outside RFC 3986's unreserved set becomes %XX.
std::string url_escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
  return out;
}

// Reads `text` as a macro-string; with a context, also appends its expansion to `out`.
bool walk(std::string_view text, MacroUse use, const MacroContext* context, std::string* out, std::string& error) {
  for (std::size_t pos = 0; pos < text.size();) {
    const char c = text[pos];
    if (c != '%') {
      if (!is_literal(c, use)) {
        error = "a macro string holds a character it may not (RFC 7208 §7.1)";
        return false;
      }
      if (out) *out += c;
      ++pos;
      continue;
    }
    const char next = pos + 1 < text.size() ? text[pos + 1] : '\0';
    if (next == '{') {
      ++pos;
      const auto macro = read_macro(text, pos, use, error);
      if (!macro) return false;
      if (!context) continue;
      std::string value = transform(letter_value(macro->letter, *context), *macro);
      *out += macro->escape ? url_escape(value) : value;
      continue;
    }
    const std::string_view escapes[] = {"%", " ", "%20"};  // "%%", "%_", "%-"
    const std::size_t which = std::string_view("%_-").find(next);
    if (next == '\0' || which == std::string_view::npos) {
      error = "'%' must be followed by '{', '%', '_' or '-' (RFC 7208 §7.1)";
      return false;
    }
    if (out) *out += escapes[which];
    pos += 2;
  }
  return true;
}

}  // namespace

bool check_macro_string(std::string_view text, MacroUse use, std::string& error) {
  return walk(text, use, nullptr, nullptr, error);
}

std::optional<std::string> expand(std::string_view text, const MacroContext& context, MacroUse use,
                                  std::string& error) {
  std::string out;
  if (!walk(text, use, &context, &out, error)) return std::nullopt;
  return out;
}

std::optional<std::string> expand_domain(std::string_view domain_spec, const MacroContext& context,
                                         std::string& error) {
  auto name = expand(domain_spec, context, MacroUse::domain_spec, error);
  if (!name) return std::nullopt;
  if (!name->empty() && name->back() == '.') name->pop_back();
  while (name->size() > kMaxName) {
    const std::size_t dot = name->find('.');
    name->erase(0, dot == std::string::npos ? name->size() : dot + 1);
  }
  return name;
}

std::string dotted_address(const dns::IpAddress& address) {
  if (!address.is_v6()) return address.str();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += kHex[address.bytes()[i] >> 4];
    out += '.';
    out += kHex[address.bytes()[i] & 0x0f];
  }
  return out;
}

}  // namespace petrel::spf
