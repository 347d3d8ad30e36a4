// STARTTLS (RFC 3207) and AUTH (RFC 4954): the commands that change who the
// session is talking to. The handshake and the SASL mechanisms themselves
// are the caller's (src/server/, src/auth/).
#include <algorithm>

#include "smtp/command.hpp"
#include "smtp/reply_codes.hpp"
#include "smtp/server_session.hpp"

namespace petrel::smtp {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool listed(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

bool ServerSession::auth_offered() const {
  // AUTH only where the password cannot be read off the wire, unless the
  // listener is explicitly trusted or the mechanism never sends it.
  return authenticator_ != nullptr && esmtp_ && (tls_ || options_.auth_without_tls || !options_.auth_in_clear.empty());
}

std::vector<std::string> ServerSession::offered_mechanisms() const {
  std::vector<std::string> out;
  if (authenticator_ == nullptr) return out;
  const bool secure = tls_ || options_.auth_without_tls;
  for (auto& m : authenticator_->mechanisms()) {
    if (!options_.auth_mechanisms.empty() && !listed(options_.auth_mechanisms, m)) continue;
    if (!secure && !listed(options_.auth_in_clear, m)) continue;
    out.push_back(m);
  }
  return out;
}

void ServerSession::starttls(const CommandLine& cmd) {
  if (tls_) return error_reply(codes::k503BadSequence, "TLS already active");
  if (!options_.starttls) return error_reply(codes::k502NotImplemented, "STARTTLS not available");
  if (!cmd.argument.empty()) return error_reply(codes::k501Syntax, "Syntax: STARTTLS");
  if (has_transaction()) return error_reply(codes::k503BadSequence, "MAIL transaction in progress");
  reply(codes::k220ReadyForTls, "Ready to start TLS");
  need_ = Need::start_tls;
}

void ServerSession::auth(const CommandLine& cmd) {
  if (!esmtp_) return error_reply(codes::k503BadSequence, "Send EHLO first");
  if (authenticator_ == nullptr) return error_reply(codes::k503BadSequence, "Authentication not enabled");
  if (!auth_offered()) {
    return error_reply(codes::k538EncryptionRequired, "Encryption required for requested authentication mechanism");
  }
  if (!auth_user_.empty()) return error_reply(codes::k503BadSequence, "Already authenticated");
  if (has_transaction()) return error_reply(codes::k503BadSequence, "AUTH not permitted during a mail transaction");

  const auto space = cmd.argument.find(' ');
  const std::string_view mechanism = cmd.argument.substr(0, space);
  std::optional<std::string_view> initial_response;
  if (space != std::string_view::npos) {
    initial_response = cmd.argument.substr(space + 1);
    if (*initial_response == "=") initial_response = std::string_view{};  // RFC 4954 §4: empty response
  }
  if (mechanism.empty()) return error_reply(codes::k501Syntax, "Syntax: AUTH mechanism [initial-response]");
  if (!listed(offered_mechanisms(), upper(mechanism))) {
    // Known, but here only over TLS (PLAIN on the ODMR port in the clear).
    const bool over_tls = !tls_ && listed(authenticator_->mechanisms(), upper(mechanism)) &&
                          (options_.auth_mechanisms.empty() || listed(options_.auth_mechanisms, upper(mechanism)));
    if (over_tls) {
      return error_reply(codes::k538EncryptionRequired, "Encryption required for requested authentication mechanism");
    }
    return error_reply(codes::k504UnknownMechanism, "Unrecognized authentication type");
  }
  if (auto refusal = authenticator_->refuse_client(client_address_)) {
    return close_with(refusal->status, refusal->lines.front(), "auth lockout");
  }
  sasl_ = authenticator_->start(mechanism);
  if (!sasl_) return error_reply(codes::k504UnknownMechanism, "Unrecognized authentication type");
  auth_step(initial_response);
}

void ServerSession::auth_response(std::string_view line) {
  if (line == "*") {
    sasl_.reset();
    phase_ = Phase::ready;
    return error_reply(codes::k501AuthCancelled, "Authentication cancelled");
  }
  auth_step(line);
}

void ServerSession::auth_step(std::optional<std::string_view> response) {
  sasl_response_.reset();
  if (response) sasl_response_ = std::string(*response);
  need_ = Need::authenticate;
}

void ServerSession::authenticate() {
  if (need_ != Need::authenticate || !sasl_) return;
  need_ = Need::input;
  SaslStep step = sasl_->step(sasl_response_ ? std::optional<std::string_view>(*sasl_response_) : std::nullopt);
  sasl_response_.reset();
  if (step.outcome == SaslStep::Outcome::challenge) {
    phase_ = Phase::auth;
    // RFC 4954 §4: "334" SP base64; the text is the challenge, nothing else.
    return reply(codes::k334AuthChallenge, std::move(step.challenge));
  }
  sasl_.reset();
  phase_ = Phase::ready;
  switch (step.outcome) {
    case SaslStep::Outcome::success:
      auth_user_ = std::move(step.user);
      authenticator_->record_outcome(client_address_, true);
      return reply(codes::k235AuthSucceeded, "Authentication successful");
    case SaslStep::Outcome::malformed:
      return error_reply(codes::k501BadBase64, "Invalid authentication response");
    default:
      reply_delay_ = authenticator_->record_outcome(client_address_, false);
      return error_reply(codes::k535AuthFailed, "Authentication credentials invalid");
  }
}

}  // namespace petrel::smtp
