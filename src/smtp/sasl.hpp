// What the session needs of SASL (RFC 4422) for AUTH (RFC 4954), kept as an
// interface so the protocol core stays free of libraries and password files.
// The default implementation is src/auth/ (GNU SASL and a passwd-file).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace petrel::smtp {

// One step of an exchange: the client's response (base64, as sent after
// "AUTH MECH " or on a line of its own) in, the server's verdict out.
struct SaslStep {
  enum class Outcome {
    challenge,  // send "334 " + challenge (base64, may be empty) and wait for a line
    success,    // authenticated as `user`
    failure,    // wrong credentials or unknown user: 535 5.7.8
    malformed,  // not base64 or not what the mechanism expects: 501 5.5.2
  };
  Outcome outcome = Outcome::failure;
  std::string challenge;  // base64, for Outcome::challenge
  std::string user;       // for Outcome::success
};

class SaslExchange {
 public:
  virtual ~SaslExchange() = default;
  // nullopt: AUTH was sent without an initial response (the first call
  // only). An initial response of "=" (RFC 4954 §4) is passed as "".
  virtual SaslStep step(std::optional<std::string_view> client_base64) = 0;
};

// Shared by all sessions of a server; must be thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Mechanism names for EHLO, e.g. {"PLAIN", "LOGIN", "SCRAM-SHA-256"}.
  virtual std::vector<std::string> mechanisms() const = 0;
  // A new exchange, or nullptr when the mechanism is not offered.
  virtual std::unique_ptr<SaslExchange> start(std::string_view mechanism) = 0;
  // Before an exchange starts: a reply (421 4.7.0) when this client is
  // locked out after too many failures.
  virtual std::optional<Reply> refuse_client(std::string_view client_address) = 0;
  // After an exchange: records the outcome and returns how long the session
  // should wait before sending the 535 (zero after a success).
  virtual std::chrono::milliseconds record_outcome(std::string_view client_address, bool success) = 0;
};

}  // namespace petrel::smtp
