// A libgsasl client for driving the authenticator through whole exchanges,
// as a mail client would.
#pragma once

#include <gsasl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "smtp/sasl.hpp"

namespace petrel::auth::testing {

class SaslClient {
 public:
  SaslClient(const std::string& mechanism, std::string authid, std::string password, std::string authzid = "")
      : authid_(std::move(authid)), password_(std::move(password)), authzid_(std::move(authzid)) {
    if (gsasl_init(&ctx_) != GSASL_OK) throw std::runtime_error("gsasl_init");
    gsasl_callback_set(ctx_, &callback);
    if (gsasl_client_start(ctx_, mechanism.c_str(), &session_) != GSASL_OK) throw std::runtime_error("client start");
    gsasl_session_hook_set(session_, this);
  }
  ~SaslClient() {
    gsasl_finish(session_);
    gsasl_done(ctx_);
  }
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  // The client's base64 answer to a base64 challenge ("" for the first).
  std::string respond(std::string_view challenge) {
    char* out = nullptr;
    last_rc_ = gsasl_step64(session_, std::string(challenge).c_str(), &out);
    if (last_rc_ != GSASL_OK && last_rc_ != GSASL_NEEDS_MORE) throw std::runtime_error("client step failed");
    std::string response(out ? out : "");
    gsasl_free(out);
    return response;
  }
  // GSASL_OK once the client has checked the server (SCRAM's v=).
  int last_rc() const { return last_rc_; }

 private:
  static int callback(Gsasl*, Gsasl_session* session, Gsasl_property prop) {
    auto* self = static_cast<SaslClient*>(gsasl_session_hook_get(session));
    switch (prop) {
      case GSASL_AUTHID:
        return gsasl_property_set(session, prop, self->authid_.c_str());
      case GSASL_PASSWORD:
        return gsasl_property_set(session, prop, self->password_.c_str());
      case GSASL_AUTHZID:
        return self->authzid_.empty() ? GSASL_NO_CALLBACK : gsasl_property_set(session, prop, self->authzid_.c_str());
      default:
        return GSASL_NO_CALLBACK;
    }
  }

  std::string authid_, password_, authzid_;
  Gsasl* ctx_ = nullptr;
  Gsasl_session* session_ = nullptr;
  int last_rc_ = GSASL_NEEDS_MORE;
};

// Runs an exchange to its end. With `initial_response` the client's first
// message goes with AUTH, as RFC 4954 §4 allows; otherwise the server asks.
inline smtp::SaslStep run_exchange(smtp::SaslExchange& exchange, SaslClient& client, bool initial_response) {
  smtp::SaslStep step = initial_response ? exchange.step(client.respond("")) : exchange.step(std::nullopt);
  for (int round = 0; step.outcome == smtp::SaslStep::Outcome::challenge && round < 10; ++round) {
    step = exchange.step(client.respond(step.challenge));
  }
  return step;
}

}  // namespace petrel::auth::testing
