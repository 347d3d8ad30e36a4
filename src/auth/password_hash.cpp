#include "auth/password_hash.hpp"

#include <argon2.h>
#include <crypt.h>
#include <gsasl.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace petrel::auth {
namespace {

// Cost parameters for new hashes: interactive logins, where every AUTH
// pays them once. Verification reads the parameters from the stored value.
constexpr unsigned long kBcryptCost = 10;         // ~2^10 rounds, tens of ms
constexpr std::uint32_t kArgon2TimeCost = 2;      // OWASP's second option:
constexpr std::uint32_t kArgon2MemoryKiB = 19456; // t=2, m=19 MiB, p=1
constexpr std::uint32_t kArgon2Lanes = 1;
constexpr std::size_t kArgon2SaltBytes = 16;
constexpr std::size_t kArgon2HashBytes = 32;
constexpr unsigned kScramIterations = 4096;       // RFC 7677 §4 minimum
constexpr std::size_t kScramSaltBytes = 16;
constexpr std::size_t kScramKeyBytes = GSASL_HASH_SHA256_SIZE;

struct SchemeName {
  std::string_view name;
  PasswordScheme scheme;
};
constexpr std::array kSchemeNames{
    SchemeName{"PLAIN", PasswordScheme::plain},
    SchemeName{"CRYPT", PasswordScheme::crypt},
    SchemeName{"SHA512-CRYPT", PasswordScheme::sha512_crypt},
    SchemeName{"BLF-CRYPT", PasswordScheme::blf_crypt},
    SchemeName{"YESCRYPT", PasswordScheme::yescrypt},
    SchemeName{"ARGON2ID", PasswordScheme::argon2id},
    SchemeName{"SCRAM-SHA-256", PasswordScheme::scram_sha256},
};

std::string_view scheme_name(PasswordScheme scheme) {
  for (const auto& s : kSchemeNames) {
    if (s.scheme == scheme) return s.name;
  }
  return {};
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    auto up = [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; };
    return up(x) == up(y);
  });
}

// Looks at every byte whatever the content, so the time taken does not tell
// an attacker how much of a guessed hash was right.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// A NUL-terminated copy of a password for C APIs, wiped when done so the
// cleartext does not linger in freed heap memory.
class SecretCopy {
 public:
  explicit SecretCopy(std::string_view s) : buf_(s.begin(), s.end()) { buf_.push_back('\0'); }
  ~SecretCopy() { explicit_bzero(buf_.data(), buf_.size()); }
  SecretCopy(const SecretCopy&) = delete;
  SecretCopy& operator=(const SecretCopy&) = delete;
  const char* c_str() const { return buf_.data(); }

 private:
  std::vector<char> buf_;
};

struct GsaslFree {
  void operator()(char* p) const { gsasl_free(p); }
};

std::optional<std::string> base64_decode(std::string_view in) {
  char* out = nullptr;
  std::size_t len = 0;
  if (gsasl_base64_from(in.data(), in.size(), &out, &len) != GSASL_OK) return std::nullopt;
  std::unique_ptr<char, GsaslFree> owned(out);
  return std::string(out ? out : "", len);
}

std::string base64_encode(std::string_view in) {
  char* out = nullptr;
  if (gsasl_base64_to(in.data(), in.size(), &out, nullptr) != GSASL_OK) throw std::bad_alloc();
  std::unique_ptr<char, GsaslFree> owned(out);
  return std::string(out);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = getrandom(out.data() + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    done += static_cast<std::size_t>(got);
  }
  return out;
}

// ---- crypt(3) family ----

// Letters, digits and `extra`: crypt(3) strings use "./" beside them plus
// "$,=" in parameter fields, PHC strings (Argon2) base64's "+/". Anything
// else means a damaged line.
bool only_chars(std::string_view s, std::string_view extra) {
  return std::ranges::all_of(s, [extra](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           extra.find(c) != std::string_view::npos;
  });
}

std::string_view last_field(std::string_view s) { return s.substr(s.rfind('$') + 1); }

// A structural check only: computing a hash per user at load time would make
// reloading a large file slow (bcrypt and yescrypt are slow on purpose).
std::optional<std::string> crypt_problem(PasswordScheme scheme, std::string_view data) {
  if (data.empty() || !only_chars(data, "./$,=")) return "not a crypt(3) hash";
  const std::string setting(data);
  const int check = crypt_checksalt(setting.c_str());
  if (check != CRYPT_SALT_OK && check != CRYPT_SALT_METHOD_LEGACY) return "crypt(3) method not supported";
  const bool modern = data.front() == '$';
  if (modern && last_field(data).empty()) return "crypt(3) hash has no hash part";
  if (!modern && data.size() != 13) return "crypt(3) hash has the wrong length";  // traditional DES
  switch (scheme) {
    case PasswordScheme::sha512_crypt:
      if (!data.starts_with("$6$") || last_field(data).size() != 86) return "not a SHA512-CRYPT ($6$) hash";
      break;
    case PasswordScheme::blf_crypt:
      if (!(data.starts_with("$2a$") || data.starts_with("$2b$") || data.starts_with("$2y$")) || data.size() != 60)
        return "not a BLF-CRYPT ($2b$) hash";
      break;
    case PasswordScheme::yescrypt:
      if (!data.starts_with("$y$") || last_field(data).size() != 43) return "not a YESCRYPT ($y$) hash";
      break;
    default:
      break;
  }
  return std::nullopt;
}

bool verify_crypt(std::string_view data, std::string_view password) {
  // struct crypt_data is 32 KiB: on the heap, one per call, so threads
  // never share one.
  auto work = std::make_unique<crypt_data>();
  const SecretCopy phrase(password);
  const std::string setting(data);
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), work.get(), sizeof(crypt_data));
  const bool ok = out != nullptr && out[0] != '*' && constant_time_equal(out, data);
  explicit_bzero(work.get(), sizeof(crypt_data));
  return ok;
}

std::string make_crypt(std::string_view prefix, unsigned long cost, std::string_view password) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  // Null random bytes: libxcrypt draws the salt from the kernel itself.
  if (!crypt_gensalt_rn(std::string(prefix).c_str(), cost, nullptr, 0, setting.data(), setting.size()))
    throw std::runtime_error("crypt_gensalt_rn failed");
  auto work = std::make_unique<crypt_data>();
  const SecretCopy phrase(password);
  const char* out = crypt_rn(phrase.c_str(), setting.data(), work.get(), sizeof(crypt_data));
  if (!out || out[0] == '*') throw std::runtime_error("crypt_rn failed");
  std::string hash(out);
  explicit_bzero(work.get(), sizeof(crypt_data));
  return hash;
}

// ---- Argon2id ----

bool parse_u32(std::string_view s, std::uint32_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

// "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH", the PHC string libargon2 writes.
std::optional<std::string> argon2id_problem(std::string_view data) {
  constexpr std::string_view kPrefix = "$argon2id$v=19$m=";
  if (!data.starts_with(kPrefix) || !only_chars(data, "+/$,=")) return "not an $argon2id$v=19$ string";
  std::string_view rest = data.substr(kPrefix.size());
  std::uint32_t m = 0, t = 0, p = 0;
  const auto comma1 = rest.find(",t="), comma2 = rest.find(",p="), dollar = rest.find('$');
  if (comma1 == rest.npos || comma2 == rest.npos || dollar == rest.npos || !(comma1 < comma2 && comma2 < dollar))
    return "argon2id parameters malformed";
  if (!parse_u32(rest.substr(0, comma1), m) || !parse_u32(rest.substr(comma1 + 3, comma2 - comma1 - 3), t) ||
      !parse_u32(rest.substr(comma2 + 3, dollar - comma2 - 3), p) || t == 0 || p == 0 || m < 8 * p)
    return "argon2id parameters malformed";
  const std::string_view salt_hash = rest.substr(dollar + 1);
  const auto sep = salt_hash.find('$');
  if (sep == salt_hash.npos || sep == 0 || sep + 1 == salt_hash.size() ||
      salt_hash.find('$', sep + 1) != salt_hash.npos)
    return "argon2id salt or hash missing";
  return std::nullopt;
}

bool verify_argon2id(std::string_view data, std::string_view password) {
  const std::string encoded(data);
  // argon2id_verify compares the hashes in constant time itself.
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

std::string make_argon2id(std::string_view password) {
  const std::string salt = random_bytes(kArgon2SaltBytes);
  std::string encoded(argon2_encodedlen(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes, kArgon2SaltBytes,
                                        kArgon2HashBytes, Argon2_id),
                      '\0');
  const int rc = argon2id_hash_encoded(kArgon2TimeCost, kArgon2MemoryKiB, kArgon2Lanes, password.data(),
                                       password.size(), salt.data(), salt.size(), kArgon2HashBytes,
                                       encoded.data(), encoded.size());
  if (rc != ARGON2_OK) throw std::runtime_error(std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

// ---- SCRAM-SHA-256 ----

struct ScramKeys {
  std::string stored_key;  // raw bytes
  std::string server_key;
};

std::optional<ScramKeys> derive_scram_keys(std::string_view password, unsigned iterations, std::string_view salt) {
  std::array<char, kScramKeyBytes> salted{}, client{}, server{}, stored{};
  const SecretCopy pw(password);
  const int rc = gsasl_scram_secrets_from_password(GSASL_HASH_SHA256, pw.c_str(), iterations, salt.data(),
                                                   salt.size(), salted.data(), client.data(), server.data(),
                                                   stored.data());
  explicit_bzero(salted.data(), salted.size());
  explicit_bzero(client.data(), client.size());
  if (rc != GSASL_OK) return std::nullopt;
  return ScramKeys{std::string(stored.data(), stored.size()), std::string(server.data(), server.size())};
}

bool verify_scram(std::string_view data, std::string_view password) {
  const auto secrets = parse_scram_sha256(data);
  if (!secrets) return false;
  const auto salt = base64_decode(secrets->salt_base64);
  const auto stored_key = base64_decode(secrets->stored_key_base64);
  if (!salt || !stored_key) return false;
  const auto derived = derive_scram_keys(password, secrets->iterations, *salt);
  return derived && constant_time_equal(derived->stored_key, *stored_key);
}

std::string make_scram(std::string_view password) {
  const std::string salt = random_bytes(kScramSaltBytes);
  const auto keys = derive_scram_keys(password, kScramIterations, salt);
  if (!keys) throw std::runtime_error("SCRAM-SHA-256 key derivation failed");
  return std::to_string(kScramIterations) + "," + base64_encode(salt) + "," + base64_encode(keys->stored_key) +
         "," + base64_encode(keys->server_key);
}

}  // namespace

std::optional<PasswordScheme> parse_password_scheme(std::string_view name) {
  for (const auto& s : kSchemeNames) {
    if (iequals(s.name, name)) return s.scheme;
  }
  return std::nullopt;
}

std::optional<StoredPassword> split_stored_password(std::string_view stored) {
  if (!stored.starts_with('{')) return std::nullopt;
  const auto close = stored.find('}');
  if (close == stored.npos) return std::nullopt;
  const auto scheme = parse_password_scheme(stored.substr(1, close - 1));
  if (!scheme) return std::nullopt;
  return StoredPassword{*scheme, stored.substr(close + 1)};
}

std::optional<ScramSecrets> parse_scram_sha256(std::string_view data) {
  std::array<std::string_view, 4> fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto comma = data.find(',');
    if ((comma == data.npos) != (i + 1 == fields.size())) return std::nullopt;
    fields[i] = data.substr(0, comma);
    data = comma == data.npos ? std::string_view{} : data.substr(comma + 1);
  }
  ScramSecrets s;
  const auto [end, ec] = std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), s.iterations);
  if (ec != std::errc{} || end != fields[0].data() + fields[0].size() || s.iterations == 0) return std::nullopt;
  const auto salt = base64_decode(fields[1]);
  const auto stored = base64_decode(fields[2]);
  const auto server = base64_decode(fields[3]);
  if (!salt || salt->empty() || !stored || stored->size() != kScramKeyBytes || !server ||
      server->size() != kScramKeyBytes)
    return std::nullopt;
  s.salt_base64 = fields[1];
  s.stored_key_base64 = fields[2];
  s.server_key_base64 = fields[3];
  return s;
}

std::optional<std::string> stored_password_problem(std::string_view stored) {
  const auto split = split_stored_password(stored);
  if (!split) return stored.starts_with('{') ? "unknown password scheme" : "password has no {SCHEME} prefix";
  switch (split->scheme) {
    case PasswordScheme::plain:
      if (split->data.empty()) return "empty {PLAIN} password";
      return std::nullopt;
    case PasswordScheme::crypt:
    case PasswordScheme::sha512_crypt:
    case PasswordScheme::blf_crypt:
    case PasswordScheme::yescrypt:
      return crypt_problem(split->scheme, split->data);
    case PasswordScheme::argon2id:
      return argon2id_problem(split->data);
    case PasswordScheme::scram_sha256:
      if (!parse_scram_sha256(split->data)) return "malformed SCRAM-SHA-256 secrets";
      return std::nullopt;
  }
  return "unknown password scheme";
}

bool verify_password(std::string_view stored, std::string_view password) {
  // C APIs see the password up to its first NUL, so one with a NUL inside
  // would match a shorter password; no mechanism can send one anyway.
  if (password.find('\0') != password.npos) return false;
  if (stored_password_problem(stored)) return false;
  const auto split = *split_stored_password(stored);
  switch (split.scheme) {
    case PasswordScheme::plain:
      return constant_time_equal(split.data, password);
    case PasswordScheme::crypt:
    case PasswordScheme::sha512_crypt:
    case PasswordScheme::blf_crypt:
    case PasswordScheme::yescrypt:
      return verify_crypt(split.data, password);
    case PasswordScheme::argon2id:
      return verify_argon2id(split.data, password);
    case PasswordScheme::scram_sha256:
      return verify_scram(split.data, password);
  }
  return false;
}

std::string make_password_hash(std::string_view scheme_text, std::string_view password) {
  const auto scheme = parse_password_scheme(scheme_text);
  if (!scheme) throw std::invalid_argument("unknown password scheme");
  if (password.find('\0') != password.npos) throw std::invalid_argument("password contains NUL");
  const std::string prefix = "{" + std::string(scheme_name(*scheme)) + "}";
  switch (*scheme) {
    case PasswordScheme::plain:
      return prefix + std::string(password);
    case PasswordScheme::crypt:
    case PasswordScheme::yescrypt:
      return prefix + make_crypt("$y$", 0, password);  // 0: libxcrypt's default cost
    case PasswordScheme::sha512_crypt:
      return prefix + make_crypt("$6$", 0, password);  // 0: 5000 rounds, the glibc default
    case PasswordScheme::blf_crypt:
      return prefix + make_crypt("$2b$", kBcryptCost, password);
    case PasswordScheme::argon2id:
      return prefix + make_argon2id(password);
    case PasswordScheme::scram_sha256:
      return prefix + make_scram(password);
  }
  throw std::invalid_argument("unknown password scheme");
}

}  // namespace petrel::auth
