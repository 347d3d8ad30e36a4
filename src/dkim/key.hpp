// DKIM private keys: read from PEM (RSA as PKCS#1 or PKCS#8, Ed25519 as
// PKCS#8), made new, written as PKCS#8 PEM, and the key record that
// publishes their public half. OpenSSL stays in key.cpp: a Key is an
// immutable handle, cheap to copy and safe to use from several threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dkim/algorithm.hpp"

namespace petrel::dkim {

// RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits and
// SHOULD use at least 2048.
inline constexpr int kMinRsaBits = 1024;
inline constexpr int kRecommendedRsaBits = 2048;
// The largest key `generate_key` makes: its record (about 740 octets of
// base64 at 4096 bits) still fits a DNS answer over UDP.
inline constexpr int kMaxRsaBits = 4096;

class Key {
 public:
  Algorithm algorithm() const;
  int bits() const;  // the RSA modulus; 256 for Ed25519

  // The b= signature of `data` (the canonical header fields), raw octets:
  // RSASSA-PKCS1-v1_5 over SHA-256 (RFC 6376 §3.3.1), or PureEdDSA over
  // the SHA-256 hash of the data (RFC 8463 §3). Throws std::runtime_error
  // if OpenSSL fails, which it does not for a key it loaded.
  std::string sign(std::string_view data) const;

  // What the p= tag carries, raw: the DER SubjectPublicKeyInfo for RSA
  // (RFC 6376 §3.6.1), the 32-octet public key for Ed25519 (RFC 8463 §4).
  std::string public_key_data() const;
  // "v=DKIM1; k=rsa; p=BASE64" / "v=DKIM1; k=ed25519; p=BASE64".
  std::string dns_record() const;
  // "-----BEGIN PRIVATE KEY-----" (PKCS#8), unencrypted.
  std::string private_key_pem() const;

 private:
  struct Impl;             // key.cpp: the EVP_PKEY
  friend class KeyAccess;  // key.cpp: makes keys
  explicit Key(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The private key in `pem`, or nullopt with `error` saying what it is
// instead ("not a PEM private key (...)", "a 512-bit RSA key; ..."): not
// a PEM private key, encrypted, neither RSA nor Ed25519, not of the
// `expected` algorithm (when given), RSA below kMinRsaBits.
std::optional<Key> load_key(std::string_view pem, std::optional<Algorithm> expected, std::string& error);
// The same from a file; `error` is "PATH: ...", also "PATH: cannot read:
// No such file or directory".
std::optional<Key> load_key_file(const std::string& path, std::optional<Algorithm> expected, std::string& error);

// A new key; `rsa_bits` (kMinRsaBits to kMaxRsaBits) only for RSA. Throws
// std::invalid_argument for a size out of range, std::runtime_error if
// OpenSSL fails.
Key generate_key(Algorithm algorithm, int rsa_bits = kRecommendedRsaBits);

// A public key as a key record's p= carries it (decoded from base64).
struct PublicKeyInfo {
  Algorithm algorithm = Algorithm::rsa_sha256;
  int bits = 0;
  std::string data;  // as Key::public_key_data() gives it, so the two compare with ==
};
// Reads p= for the record's key type. RSA is a SubjectPublicKeyInfo, or a
// bare PKCS#1 RSAPublicKey as some publish it; Ed25519 is 32 octets.
// nullopt with `error` when it is neither.
std::optional<PublicKeyInfo> read_public_key(Algorithm algorithm, std::string_view data, std::string& error);

// Whether `signature` is `key`'s signature of `data`, as Key::sign makes
// it (RSASSA-PKCS1-v1_5 with SHA-256; Ed25519 over the SHA-256 of data).
bool verify_signature(const PublicKeyInfo& key, std::string_view data, std::string_view signature);

}  // namespace petrel::dkim
