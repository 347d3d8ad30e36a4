// The default smtp::Authenticator: SASL mechanisms by GNU SASL (server
// mode), users from a Dovecot-format passwd-file, failures throttled per
// client address.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_throttle.hpp"
#include "auth/passwd_file.hpp"
#include "smtp/sasl.hpp"

namespace petrel::auth {

class GsaslAuthenticator final : public smtp::Authenticator {
 public:
  // PLAIN and LOGIN (the password in the clear, so AUTH only over TLS),
  // SCRAM-SHA-256 (RFC 7677) and CRAM-MD5 (RFC 2195: for ODMR, RFC 2645;
  // {PLAIN} users only), the mechanisms Petrel has callbacks for.
  static std::vector<std::string> default_mechanisms();

  // `mechanisms`: names from default_mechanisms() or "CRAM-MD5", in the order to offer
  // them; those this libgsasl cannot do are left out. Throws
  // std::invalid_argument for another name, std::runtime_error if libgsasl
  // cannot start.
  explicit GsaslAuthenticator(std::shared_ptr<const PasswdFile> users, ThrottleSettings throttle = {},
                              const std::vector<std::string>& mechanisms = default_mechanisms());
  ~GsaslAuthenticator() override;
  GsaslAuthenticator(const GsaslAuthenticator&) = delete;
  GsaslAuthenticator& operator=(const GsaslAuthenticator&) = delete;

  // For a reload: exchanges that have started keep the users they started
  // with; later ones see the new file.
  void replace_users(std::shared_ptr<const PasswdFile> users);

  std::vector<std::string> mechanisms() const override;
  // Exchanges may outlive the authenticator and may run on any thread, one
  // thread at a time each.
  std::unique_ptr<smtp::SaslExchange> start(std::string_view mechanism) override;
  std::optional<smtp::Reply> refuse_client(std::string_view client_address) override;
  std::chrono::milliseconds record_outcome(std::string_view client_address, bool success) override;

  // What every exchange shares: the libgsasl context and the decoys for
  // unknown users. Opaque here so that gsasl.h stays out of this header.
  struct Shared;

 private:
  std::shared_ptr<const PasswdFile> current_users() const;

  std::shared_ptr<const Shared> shared_;
  std::vector<std::string> mechanisms_;
  AuthThrottle throttle_;
  mutable std::mutex users_mutex_;
  std::shared_ptr<const PasswdFile> users_;
};

}  // namespace petrel::auth
