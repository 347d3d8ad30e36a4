#include "auth/gsasl_authenticator.hpp"

#include <gsasl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "auth/password_hash.hpp"
#include "smtp/reply_codes.hpp"

namespace petrel::auth {

struct GsaslDone {
  void operator()(Gsasl* ctx) const { gsasl_done(ctx); }
};

struct GsaslAuthenticator::Shared {
  std::unique_ptr<Gsasl, GsaslDone> ctx;
  // Checked instead of a missing user's hash, so that an unknown name takes
  // as long as a wrong password and timing does not reveal which exist.
  std::string decoy_hash;
  // Keys the made-up SCRAM salt of a user who cannot use SCRAM (unknown, or
  // stored with another scheme): stable per name, so asking twice does not
  // tell such a user from a real one, and unguessable.
  std::string decoy_salt_key;
};

namespace {

using Outcome = smtp::SaslStep::Outcome;
using Shared = GsaslAuthenticator::Shared;

enum class Mechanism { plain, login, scram_sha256, cram_md5 };

struct MechanismName {
  std::string_view name;
  Mechanism mechanism;
};
constexpr std::array kMechanisms{
    MechanismName{"PLAIN", Mechanism::plain},
    MechanismName{"LOGIN", Mechanism::login},
    MechanismName{"SCRAM-SHA-256", Mechanism::scram_sha256},
    MechanismName{"CRAM-MD5", Mechanism::cram_md5},
};

// RFC 4422 §3.1: mechanism names are upper case; SMTP verbs and their
// arguments are case-insensitive, so clients may send "auth plain".
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::optional<Mechanism> find_mechanism(std::string_view name) {
  for (const auto& m : kMechanisms) {
    if (m.name == name) return m.mechanism;
  }
  return std::nullopt;
}

std::string random_base64(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (gsasl_random(raw.data(), raw.size()) != GSASL_OK) throw std::runtime_error("libgsasl: no randomness");
  char* out = nullptr;
  if (gsasl_base64_to(raw.data(), raw.size(), &out, nullptr) != GSASL_OK) throw std::bad_alloc();
  std::string encoded(out);
  gsasl_free(out);
  return encoded;
}

// What libgsasl's error codes mean for the session: the client broke the
// protocol (501), or the credentials did not check out (535). Anything
// unexpected counts as a failure, so it is throttled like one.
Outcome outcome_of_error(int rc) {
  switch (rc) {
    case GSASL_BASE64_ERROR:
    case GSASL_MECHANISM_PARSE_ERROR:
    case GSASL_MECHANISM_CALLED_TOO_MANY_TIMES:
    case GSASL_SASLPREP_ERROR:
      return Outcome::malformed;
    default:
      return Outcome::failure;
  }
}

class GsaslExchange final : public smtp::SaslExchange {
 public:
  GsaslExchange(std::shared_ptr<const Shared> shared, std::shared_ptr<const PasswdFile> users, Mechanism mechanism,
                Gsasl_session* session)
      : shared_(std::move(shared)), users_(std::move(users)), mechanism_(mechanism), session_(session) {
    gsasl_session_hook_set(session_, this);
  }
  ~GsaslExchange() override { gsasl_finish(session_); }
  GsaslExchange(const GsaslExchange&) = delete;
  GsaslExchange& operator=(const GsaslExchange&) = delete;

  smtp::SaslStep step(std::optional<std::string_view> client_base64) override;
  int on_property(Gsasl_property prop);

 private:
  enum class State { first, running, awaiting_empty_response, done };
  struct StepResult {
    int rc;
    std::string output;  // base64
  };

  StepResult run(std::optional<std::string_view> client_base64);
  smtp::SaslStep handle(const StepResult& result, std::optional<std::string_view> client_base64);
  smtp::SaslStep end(Outcome outcome);
  smtp::SaslStep succeed();
  void forget_secrets();

  bool authzid_acceptable() const;
  const std::string* stored_password() const;
  std::optional<ScramSecrets> scram_secrets() const;
  std::optional<std::string> decoy_salt(const char* user) const;

  int validate_simple();
  int supply_scram_parameter(Gsasl_property prop);
  int supply_scram_key(Gsasl_property prop);
  int supply_cleartext();

  std::shared_ptr<const Shared> shared_;
  std::shared_ptr<const PasswdFile> users_;  // as they were when the exchange started
  Mechanism mechanism_;
  Gsasl_session* session_;
  State state_ = State::first;
  std::string user_;
};

int gsasl_callback(Gsasl*, Gsasl_session* session, Gsasl_property prop) {
  auto* exchange = session ? static_cast<GsaslExchange*>(gsasl_session_hook_get(session)) : nullptr;
  return exchange ? exchange->on_property(prop) : GSASL_NO_CALLBACK;
}

smtp::SaslStep GsaslExchange::step(std::optional<std::string_view> client_base64) {
  if (state_ == State::done) return end(Outcome::malformed);
  if (state_ == State::awaiting_empty_response) {
    return client_base64 && client_base64->empty() ? succeed() : end(Outcome::malformed);
  }
  // libgsasl takes C strings: a NUL would silently cut the response short.
  if (client_base64 && client_base64->find('\0') != std::string_view::npos) return end(Outcome::malformed);
  const bool first = state_ == State::first;
  state_ = State::running;
  if (first && mechanism_ == Mechanism::login && client_base64 && !client_base64->empty()) {
    // libgsasl's LOGIN ignores an initial response and prompts for the user
    // name, but clients that send one send the user name (which Dovecot and
    // Cyrus SASL accept). Take the prompt, then answer it with that response.
    const StepResult prompt = run(std::nullopt);
    if (prompt.rc != GSASL_NEEDS_MORE) return handle(prompt, std::nullopt);
  }
  return handle(run(client_base64), client_base64);
}

GsaslExchange::StepResult GsaslExchange::run(std::optional<std::string_view> client_base64) {
  const std::string input(client_base64.value_or(""));
  char* output = nullptr;
  const int rc = gsasl_step64(session_, client_base64 ? input.c_str() : nullptr, &output);
  StepResult result{rc, {}};
  if (output) {
    if (rc == GSASL_OK || rc == GSASL_NEEDS_MORE) result.output = output;
    gsasl_free(output);
  }
  return result;
}

smtp::SaslStep GsaslExchange::handle(const StepResult& result, std::optional<std::string_view> client_base64) {
  if (result.rc == GSASL_NEEDS_MORE) {
    // PLAIN and SCRAM answer an empty response with another empty
    // challenge; a client that keeps doing that would loop forever.
    if (client_base64 && client_base64->empty() && result.output.empty()) return end(Outcome::malformed);
    return {Outcome::challenge, result.output, {}};
  }
  if (result.rc != GSASL_OK) return end(outcome_of_error(result.rc));
  // The callbacks refuse a foreign authorization identity already; checked
  // again here so that no mechanism can slip one past them.
  if (!authzid_acceptable()) return end(Outcome::failure);
  user_ = gsasl_property_fast(session_, GSASL_AUTHID);
  if (!result.output.empty()) {
    // SCRAM's server-final message proves the server knew the key. RFC 4954
    // §4: SMTP has no room for it in the 235, so it goes in a 334 and the
    // client answers with an empty line.
    state_ = State::awaiting_empty_response;
    forget_secrets();
    return {Outcome::challenge, result.output, {}};
  }
  return succeed();
}

smtp::SaslStep GsaslExchange::end(Outcome outcome) {
  state_ = State::done;
  forget_secrets();
  return {outcome, {}, {}};
}

// Drops what is password-equivalent as soon as the exchange is decided
// rather than when the session is freed; libgsasl keeps properties until
// told otherwise.
void GsaslExchange::forget_secrets() {
  gsasl_property_set(session_, GSASL_PASSWORD, nullptr);
  gsasl_property_set(session_, GSASL_SCRAM_SALTED_PASSWORD, nullptr);
}

smtp::SaslStep GsaslExchange::succeed() {
  smtp::SaslStep step = end(Outcome::success);
  step.user = user_;
  return step;
}

// Petrel authenticates users; it does not let one act for another. An
// authorization identity is accepted only when it names the user itself.
bool GsaslExchange::authzid_acceptable() const {
  const char* authid = gsasl_property_fast(session_, GSASL_AUTHID);
  const char* authzid = gsasl_property_fast(session_, GSASL_AUTHZID);
  return authid != nullptr && (authzid == nullptr || *authzid == '\0' || std::strcmp(authid, authzid) == 0);
}

const std::string* GsaslExchange::stored_password() const {
  if (!authzid_acceptable()) return nullptr;
  return users_->find(gsasl_property_fast(session_, GSASL_AUTHID));
}

std::optional<ScramSecrets> GsaslExchange::scram_secrets() const {
  const std::string* stored = stored_password();
  if (!stored) return std::nullopt;
  const auto split = split_stored_password(*stored);
  if (!split || split->scheme != PasswordScheme::scram_sha256) return std::nullopt;
  return parse_scram_sha256(split->data);
}

std::optional<std::string> GsaslExchange::decoy_salt(const char* user) const {
  // A keyed one-way function of the name: one PBKDF2 round of HMAC-SHA-256,
  // the primitive libgsasl offers.
  std::array<char, GSASL_HASH_SHA256_SIZE> salted{}, client{}, server{}, stored{};
  if (gsasl_scram_secrets_from_password(GSASL_HASH_SHA256, shared_->decoy_salt_key.c_str(), 1, user,
                                        std::strlen(user), salted.data(), client.data(), server.data(),
                                        stored.data()) != GSASL_OK) {
    return std::nullopt;
  }
  char* out = nullptr;
  constexpr std::size_t kSaltBytes = 16;  // as make_password_hash's SCRAM salts
  if (gsasl_base64_to(stored.data(), kSaltBytes, &out, nullptr) != GSASL_OK) return std::nullopt;
  std::string salt(out);
  gsasl_free(out);
  return salt;
}

int GsaslExchange::on_property(Gsasl_property prop) {
  switch (prop) {
    case GSASL_VALIDATE_SIMPLE:
      return validate_simple();
    case GSASL_SCRAM_ITER:
    case GSASL_SCRAM_SALT:
      return supply_scram_parameter(prop);
    case GSASL_SCRAM_STOREDKEY:
    case GSASL_SCRAM_SERVERKEY:
      return supply_scram_key(prop);
    case GSASL_PASSWORD:
      return supply_cleartext();
    default:
      return GSASL_NO_CALLBACK;
  }
}

// PLAIN and LOGIN: libgsasl has put the identities and the password in
// properties; the verdict is ours.
int GsaslExchange::validate_simple() {
  const char* password = gsasl_property_fast(session_, GSASL_PASSWORD);
  if (password == nullptr) return GSASL_AUTHENTICATION_ERROR;
  const std::string* stored = stored_password();
  const bool match = verify_password(stored ? *stored : shared_->decoy_hash, password);
  return match && stored ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
}

// SCRAM's server-first message. A user without stored SCRAM secrets gets
// made-up ones that look the same, and fails at the proof (RFC 5802 §5.1
// lets a server hide which names exist this way).
int GsaslExchange::supply_scram_parameter(Gsasl_property prop) {
  const auto secrets = scram_secrets();
  if (prop == GSASL_SCRAM_ITER) {
    return gsasl_property_set(session_, prop, std::to_string(secrets ? secrets->iterations : 4096).c_str());
  }
  if (secrets) return gsasl_property_set(session_, prop, secrets->salt_base64.c_str());
  const char* user = gsasl_property_fast(session_, GSASL_AUTHID);
  const auto salt = decoy_salt(user ? user : "");
  return salt ? gsasl_property_set(session_, prop, salt->c_str()) : GSASL_CRYPTO_ERROR;
}

// libgsasl 2.2 wants these base64-encoded (gsasl.h says hex, its SCRAM
// server decodes base64), which is how Dovecot stores them.
int GsaslExchange::supply_scram_key(Gsasl_property prop) {
  const auto secrets = scram_secrets();
  if (!secrets) return GSASL_NO_CALLBACK;
  const std::string& key = prop == GSASL_SCRAM_STOREDKEY ? secrets->stored_key_base64 : secrets->server_key_base64;
  return gsasl_property_set(session_, prop, key.c_str());
}

// SCRAM and CRAM-MD5 (RFC 2195) for a {PLAIN} user: libgsasl derives the
// keys, or the HMAC it expects, from the cleartext (with SCRAM's salt and
// count given above). Never handed out for another mechanism, where the
// client supplies the password.
int GsaslExchange::supply_cleartext() {
  if (mechanism_ != Mechanism::scram_sha256 && mechanism_ != Mechanism::cram_md5) return GSASL_NO_CALLBACK;
  const std::string* stored = stored_password();
  if (!stored) return GSASL_NO_CALLBACK;
  const auto split = split_stored_password(*stored);
  if (!split || split->scheme != PasswordScheme::plain) return GSASL_NO_CALLBACK;
  return gsasl_property_set_raw(session_, GSASL_PASSWORD, split->data.data(), split->data.size());
}

}  // namespace

std::vector<std::string> GsaslAuthenticator::default_mechanisms() {
  std::vector<std::string> names;
  names.reserve(kMechanisms.size());
  for (const auto& m : kMechanisms) {
    // CRAM-MD5 only where asked for (the ODMR listener): it needs {PLAIN} passwords.
    if (m.mechanism != Mechanism::cram_md5) names.emplace_back(m.name);
  }
  return names;
}

GsaslAuthenticator::GsaslAuthenticator(std::shared_ptr<const PasswdFile> users, ThrottleSettings throttle,
                                       const std::vector<std::string>& mechanisms)
    : throttle_(throttle), users_(std::move(users)) {
  if (!users_) throw std::invalid_argument("GsaslAuthenticator: no users");
  auto shared = std::make_shared<Shared>();
  Gsasl* ctx = nullptr;
  const int rc = gsasl_init(&ctx);
  if (rc != GSASL_OK) throw std::runtime_error(std::string("libgsasl: ") + gsasl_strerror(rc));
  shared->ctx.reset(ctx);
  gsasl_callback_set(ctx, &gsasl_callback);
  shared->decoy_hash = make_password_hash("CRYPT", random_base64(16));
  shared->decoy_salt_key = random_base64(32);
  shared_ = std::move(shared);

  for (const auto& requested : mechanisms) {
    const std::string name = upper(requested);
    if (!find_mechanism(name)) throw std::invalid_argument("SASL mechanism not supported by Petrel: " + requested);
    const bool duplicate = std::ranges::find(mechanisms_, name) != mechanisms_.end();
    if (!duplicate && gsasl_server_support_p(ctx, name.c_str())) mechanisms_.push_back(name);
  }
}

GsaslAuthenticator::~GsaslAuthenticator() = default;

void GsaslAuthenticator::replace_users(std::shared_ptr<const PasswdFile> users) {
  if (!users) throw std::invalid_argument("GsaslAuthenticator: no users");
  std::lock_guard lock(users_mutex_);
  users_ = std::move(users);
}

std::shared_ptr<const PasswdFile> GsaslAuthenticator::current_users() const {
  std::lock_guard lock(users_mutex_);
  return users_;
}

std::vector<std::string> GsaslAuthenticator::mechanisms() const { return mechanisms_; }

std::unique_ptr<smtp::SaslExchange> GsaslAuthenticator::start(std::string_view mechanism) {
  const std::string name = upper(mechanism);
  if (std::ranges::find(mechanisms_, name) == mechanisms_.end()) return nullptr;
  Gsasl_session* session = nullptr;
  if (gsasl_server_start(shared_->ctx.get(), name.c_str(), &session) != GSASL_OK) return nullptr;
  return std::make_unique<GsaslExchange>(shared_, current_users(), *find_mechanism(name), session);
}

std::optional<smtp::Reply> GsaslAuthenticator::refuse_client(std::string_view client_address) {
  if (!throttle_.locked_until(client_address, AuthThrottle::Clock::now())) return std::nullopt;
  return smtp::Reply(smtp::codes::k421AuthLockedOut, "too many authentication failures, try again later");
}

std::chrono::milliseconds GsaslAuthenticator::record_outcome(std::string_view client_address, bool success) {
  return throttle_.record(client_address, success, AuthThrottle::Clock::now());
}

}  // namespace petrel::auth
