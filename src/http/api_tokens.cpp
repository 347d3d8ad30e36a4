#include "http/api_tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace petrel::http {
namespace {

constexpr std::size_t kMinTokenLength = 16;

std::array<unsigned char, 32> digest_of(std::string_view token) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool printable_token(std::string_view s) {
  for (const char c : s) {
    if (c <= ' ' || c > '~') return false;
  }
  return !s.empty();
}

}  // namespace

ApiTokens ApiTokens::parse(std::string_view text, const std::string& name) {
  ApiTokens tokens;
  std::set<std::string> names;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = trim(text.substr(start, end - start));
    start = end + 1;
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const auto fail = [&](const std::string& what) {
      std::string message = name;
      message += ':';
      message += std::to_string(line_number);
      message += ": ";
      message += what;
      throw std::runtime_error(message);
    };
    const std::size_t first = line.find(':');
    if (first == std::string_view::npos) fail("expected name:token or name:token:tenant");
    const std::size_t second = line.find(':', first + 1);
    const std::string_view who = line.substr(0, first);
    const std::string_view token =
        line.substr(first + 1, second == std::string_view::npos ? std::string_view::npos : second - first - 1);
    const std::string_view tenant = second == std::string_view::npos ? std::string_view{} : line.substr(second + 1);
    if (!printable_token(who)) fail("a token needs a name (printable, no spaces)");
    if (!printable_token(token) || token.size() < kMinTokenLength) {
      fail("the token of '" + std::string(who) + "' must be at least 16 printable characters (openssl rand -hex 32)");
    }
    if (second != std::string_view::npos && !printable_token(tenant)) fail("an empty or bad tenant after the token");
    if (!names.insert(std::string(who)).second) fail("the name '" + std::string(who) + "' is used twice");
    tokens.entries_.push_back({{std::string(who), std::string(tenant)}, digest_of(token)});
  }
  return tokens;
}

ApiTokens ApiTokens::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": cannot read the API tokens file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw std::runtime_error(path + ": the API tokens file must be readable by its owner only (chmod 600)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read the API tokens file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

std::optional<Caller> ApiTokens::authenticate(std::string_view authorization) const {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {  // the scheme is case-insensitive (RFC 9110 §11.1)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  const auto presented = digest_of(trim(authorization.substr(kScheme.size())));
  // Digests of equal length, every entry compared: the time taken tells
  // nothing about which token, or how much of one, was right.
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    if (CRYPTO_memcmp(e.digest.data(), presented.data(), presented.size()) == 0) found = &e;
  }
  if (!found) return std::nullopt;
  return found->caller;
}

}  // namespace petrel::http
