// Stored passwords in Dovecot's "{SCHEME}data" form: checking a cleartext
// password against one, making new ones, and telling a well-formed stored
// value from a broken one so the passwd-file loader can name the line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace petrel::auth {

enum class PasswordScheme {
  plain,         // {PLAIN}cleartext: for tests and for SCRAM without stored keys
  crypt,         // {CRYPT}: any crypt(3) string libxcrypt accepts ($y$, $2b$, $6$, ...)
  sha512_crypt,  // {SHA512-CRYPT}$6$...
  blf_crypt,     // {BLF-CRYPT}$2b$... (bcrypt)
  yescrypt,      // {YESCRYPT}$y$...
  argon2id,      // {ARGON2ID}$argon2id$v=19$m=..,t=..,p=..$salt$hash
  scram_sha256,  // {SCRAM-SHA-256}iter,salt,storedkey,serverkey (base64 each)
};

// Scheme names are case-insensitive, as in Dovecot.
std::optional<PasswordScheme> parse_password_scheme(std::string_view name);

// A stored value split at its "{SCHEME}" prefix; `data` points into the input.
struct StoredPassword {
  PasswordScheme scheme;
  std::string_view data;
};
std::optional<StoredPassword> split_stored_password(std::string_view stored);

// What RFC 5802 §3 lets a server keep instead of the password. All base64,
// exactly as in the stored value and as GNU SASL's properties expect them.
struct ScramSecrets {
  unsigned iterations = 0;
  std::string salt_base64;
  std::string stored_key_base64;
  std::string server_key_base64;
};
// The secrets of a {SCRAM-SHA-256} value's data, or nullopt if malformed.
std::optional<ScramSecrets> parse_scram_sha256(std::string_view data);

// Why a stored value cannot be used, or nullopt when it is well-formed. The
// reason never quotes the value, so it is safe to log.
std::optional<std::string> stored_password_problem(std::string_view stored);

// True when `password` matches `stored`. Unknown schemes and malformed data
// give false. Hash comparisons take time independent of where they differ.
bool verify_password(std::string_view stored, std::string_view password);

// A new stored value "{SCHEME}..." with a fresh random salt. "CRYPT" makes
// yescrypt, the recommended default. Throws std::invalid_argument for an
// unknown scheme, std::runtime_error if the system cannot hash.
std::string make_password_hash(std::string_view scheme, std::string_view password);

}  // namespace petrel::auth
