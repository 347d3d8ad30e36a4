#include "catch/catch_auth.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <optional>

namespace petrel::catcher {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

using Outcome = smtp::SaslStep::Outcome;

smtp::SaslStep verdict(const CatchAuthenticator& auth, const std::string& user, const std::string& password) {
  smtp::SaslStep step;
  step.outcome = auth.check(user, password) ? Outcome::success : Outcome::failure;
  if (step.outcome == Outcome::success) step.user = user;
  return step;
}

// RFC 4616: [authzid] NUL authcid NUL passwd.
class PlainExchange final : public smtp::SaslExchange {
 public:
  explicit PlainExchange(const CatchAuthenticator& auth) : auth_(auth) {}
  smtp::SaslStep step(std::optional<std::string_view> response) override {
    if (!response) return smtp::SaslStep{Outcome::challenge, "", ""};
    const auto decoded = base64_decode(*response);
    if (!decoded) return smtp::SaslStep{Outcome::malformed, "", ""};
    const auto first = decoded->find('\0');
    const auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
    if (second == std::string::npos) return smtp::SaslStep{Outcome::malformed, "", ""};
    return verdict(auth_, decoded->substr(first + 1, second - first - 1), decoded->substr(second + 1));
  }

 private:
  const CatchAuthenticator& auth_;
};

// LOGIN: "Username:" and "Password:" challenges, one response each.
class LoginExchange final : public smtp::SaslExchange {
 public:
  explicit LoginExchange(const CatchAuthenticator& auth) : auth_(auth) {}
  smtp::SaslStep step(std::optional<std::string_view> response) override {
    if (!response) return smtp::SaslStep{Outcome::challenge, base64_encode(user_seen_ ? "Password:" : "Username:"), ""};
    const auto decoded = base64_decode(*response);
    if (!decoded) return smtp::SaslStep{Outcome::malformed, "", ""};
    if (!user_seen_) {
      user_seen_ = true;
      user_ = *decoded;
      return smtp::SaslStep{Outcome::challenge, base64_encode("Password:"), ""};
    }
    return verdict(auth_, user_, *decoded);
  }

 private:
  const CatchAuthenticator& auth_;
  bool user_seen_ = false;
  std::string user_;
};

}  // namespace

std::unique_ptr<smtp::SaslExchange> CatchAuthenticator::start(std::string_view mechanism) {
  std::string m(mechanism);
  for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (m == "PLAIN") return std::make_unique<PlainExchange>(*this);
  if (m == "LOGIN") return std::make_unique<LoginExchange>(*this);
  return nullptr;
}

bool CatchAuthenticator::check(const std::string& user, const std::string& password) const {
  const auto it = users_.find(user);
  return it != users_.end() && it->second == password;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  std::size_t padding = 0;
  for (const char c : in) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    const auto value = kAlphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1 || padding > 2) return std::nullopt;
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xff));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xff));
    out.push_back(static_cast<char>((bits >> 2) & 0xff));
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (i < in.size()) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace petrel::catcher
