// The SASL side of petrel catch: users given on the command line
// (--auth USER:PASS), PLAIN and LOGIN (RFC 4616, draft-murchison-sasl-login).
// A test server's credentials, compared as given; not for a real server,
// which uses src/auth/.
#pragma once

#include <map>
#include <string>

#include "smtp/sasl.hpp"

namespace petrel::catcher {

class CatchAuthenticator final : public smtp::Authenticator {
 public:
  explicit CatchAuthenticator(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  std::vector<std::string> mechanisms() const override { return {"PLAIN", "LOGIN"}; }
  std::unique_ptr<smtp::SaslExchange> start(std::string_view mechanism) override;
  std::optional<smtp::Reply> refuse_client(std::string_view) override { return std::nullopt; }
  std::chrono::milliseconds record_outcome(std::string_view, bool) override { return std::chrono::milliseconds(0); }

  bool check(const std::string& user, const std::string& password) const;

 private:
  std::map<std::string, std::string> users_;
};

// RFC 4648 base64; nullopt when `in` is not valid base64.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

}  // namespace petrel::catcher
