#include "dkim/key.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "dkim/base64.hpp"

namespace petrel::dkim {
namespace {

template <auto Free>
struct OpensslFree {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, OpensslFree<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree<EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslFree<EVP_MD_CTX_free>>;

// No key file is bigger; a bigger file is a mistake (a mail spool, a log).
constexpr std::size_t kMaxKeyFileBytes = 1 << 20;

// This thread's OpenSSL error queue emptied, its oldest entry as text.
std::string take_openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string(what) + ": " + take_openssl_error()); }

// Never prompt on the terminal (OpenSSL's default would): an encrypted key is an error.
int no_passphrase(char*, int, int, void*) { return 0; }

std::string_view name_of(int type) {
  switch (type) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_EC: return "EC (ECDSA)";
    case EVP_PKEY_ED448: return "Ed448";
    case EVP_PKEY_DSA: return "DSA";
    default: return "unknown";
  }
}

std::optional<Algorithm> algorithm_of(const EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: return Algorithm::rsa_sha256;
    case EVP_PKEY_ED25519: return Algorithm::ed25519_sha256;
    default: return std::nullopt;
  }
}

std::string sha256(std::string_view data) {
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &size, EVP_sha256(),
                 nullptr) != 1) {
    fail("SHA-256");
  }
  digest.resize(size);
  return digest;
}

// One-shot EVP_DigestSign: `md` null for Ed25519, which hashes nothing itself.
std::string digest_sign(EVP_PKEY* pkey, const EVP_MD* md, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1) fail("cannot start signing");
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &size, in, data.size()) != 1) fail("cannot sign");
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in, data.size()) != 1) {
    fail("cannot sign");
  }
  signature.resize(size);
  return signature;
}

std::string spki_der(EVP_PKEY* pkey) {
  const int size = i2d_PUBKEY(pkey, nullptr);
  if (size <= 0) fail("cannot encode the public key");
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(pkey, &out) != size) fail("cannot encode the public key");
  return der;
}

std::string raw_public_key(EVP_PKEY* pkey) {
  std::size_t size = 0;
  if (EVP_PKEY_get_raw_public_key(pkey, nullptr, &size) != 1) fail("cannot read the public key");
  std::string raw(size, '\0');
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &size) != 1) {
    fail("cannot read the public key");
  }
  raw.resize(size);
  return raw;
}

// Why `pkey` will not do ("a 512-bit RSA key; ..."), or "".
std::string unusable(EVP_PKEY* pkey, std::optional<Algorithm> expected) {
  const std::optional<Algorithm> algorithm = algorithm_of(pkey);
  if (!algorithm) {
    return "a key of type " + std::string(name_of(EVP_PKEY_get_base_id(pkey))) +
           "; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)";
  }
  if (expected && *algorithm != *expected) {
    return std::string(*algorithm == Algorithm::rsa_sha256 ? "an RSA" : "an Ed25519") +
           " key, but the algorithm is " + std::string(to_string(*expected));
  }
  if (*algorithm == Algorithm::rsa_sha256 && EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
    return "a " + std::to_string(EVP_PKEY_get_bits(pkey)) + "-bit RSA key; DKIM needs at least " +
           std::to_string(kMinRsaBits) + " bits (RFC 8301), " + std::to_string(kRecommendedRsaBits) + " recommended";
  }
  return {};
}

// The file's contents, or nullopt with `error` saying why not.
std::optional<std::string> read_file(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = std::strerror(errno);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      error = "larger than " + std::to_string(kMaxKeyFileBytes) + " octets: not a key file";
      break;
    }
  }
  ::close(fd);
  if (!error.empty()) return std::nullopt;
  return text;
}

}  // namespace

struct Key::Impl {
  PkeyPtr pkey;
  Algorithm algorithm = Algorithm::rsa_sha256;
  int bits = 0;
};

class KeyAccess {
 public:
  static Key make(PkeyPtr pkey) {
    auto impl = std::make_shared<Key::Impl>();
    impl->algorithm = algorithm_of(pkey.get()).value_or(Algorithm::rsa_sha256);
    impl->bits = EVP_PKEY_get_bits(pkey.get());
    impl->pkey = std::move(pkey);
    return Key(std::move(impl));
  }
};

Algorithm Key::algorithm() const { return impl_->algorithm; }

int Key::bits() const { return impl_->bits; }

std::string Key::sign(std::string_view data) const {
  ERR_clear_error();
  if (impl_->algorithm == Algorithm::ed25519_sha256) return digest_sign(impl_->pkey.get(), nullptr, sha256(data));
  return digest_sign(impl_->pkey.get(), EVP_sha256(), data);
}

std::string Key::public_key_data() const {
  ERR_clear_error();
  return impl_->algorithm == Algorithm::ed25519_sha256 ? raw_public_key(impl_->pkey.get()) : spki_der(impl_->pkey.get());
}

std::string Key::dns_record() const {
  return "v=DKIM1; k=" + std::string(key_type(impl_->algorithm)) + "; p=" + base64_encode(public_key_data());
}

std::string Key::private_key_pem() const {
  ERR_clear_error();
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("cannot write the private key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::optional<Key> load_key(std::string_view pem, std::optional<Algorithm> expected, std::string& error) {
  ERR_clear_error();
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(std::min<std::size_t>(pem.size(), kMaxKeyFileBytes))));
  if (!in) fail("cannot read the key");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    ERR_clear_error();
    error = pem.find("ENCRYPTED") != std::string_view::npos
                ? "an encrypted private key; DKIM keys are read without a passphrase"
                : "not a PEM private key (RSA in PKCS#1 or PKCS#8, Ed25519 in PKCS#8)";
    return std::nullopt;
  }
  if (error = unusable(pkey.get(), expected); !error.empty()) return std::nullopt;
  return KeyAccess::make(std::move(pkey));
}

std::optional<Key> load_key_file(const std::string& path, std::optional<Algorithm> expected, std::string& error) {
  std::string why;
  const std::optional<std::string> pem = read_file(path, why);
  std::optional<Key> key;
  if (pem) key = load_key(*pem, expected, why);
  if (!key) error = path + ": " + (pem ? why : "cannot read: " + why);
  return key;
}

Key generate_key(Algorithm algorithm, int rsa_bits) {
  ERR_clear_error();
  PkeyPtr pkey;
  if (algorithm == Algorithm::ed25519_sha256) {
    pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  } else {
    if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
      throw std::invalid_argument("RSA keys have " + std::to_string(kMinRsaBits) + " to " +
                                  std::to_string(kMaxRsaBits) + " bits");
    }
    pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits)));
  }
  if (!pkey) fail("cannot generate a key");
  return KeyAccess::make(std::move(pkey));
}

namespace {

// Public keys as verification meets them: OpenSSL 3 decodes a key through
// its provider machinery, which costs far more than verifying with it, and
// the same few keys sign most of the mail. Each thread keeps the keys it
// read, by algorithm and p= octets (and by their SPKI form), and forgets
// them all when kMaxCachedKeys is reached: bounded, lock-free.
constexpr std::size_t kMaxCachedKeys = 256;

struct CachedKey {
  PublicKeyInfo info;
  std::shared_ptr<EVP_PKEY> pkey;
};

std::unordered_map<std::string, CachedKey>& key_cache() {
  thread_local std::unordered_map<std::string, CachedKey> cache;
  return cache;
}

std::string cache_key(Algorithm algorithm, std::string_view data) {
  return std::string(1, static_cast<char>(algorithm)) + std::string(data);
}

PkeyPtr decode_public_key(Algorithm algorithm, std::string_view data) {
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  const auto size = static_cast<long>(data.size());
  PkeyPtr pkey;
  if (algorithm == Algorithm::ed25519_sha256) {
    if (data.size() == 32) pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, in, data.size()));
    return pkey;
  }
  const unsigned char* p = in;
  pkey.reset(d2i_PUBKEY(nullptr, &p, size));
  if (!pkey || p != in + size) {
    p = in;
    pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, size));  // PKCS#1 RSAPublicKey
    if (pkey && p != in + size) pkey.reset();
  }
  return pkey;
}

// The key `data` holds, read once per thread while it stays in the cache.
const CachedKey* cached_public_key(Algorithm algorithm, std::string_view data) {
  auto& cache = key_cache();
  if (const auto it = cache.find(cache_key(algorithm, data)); it != cache.end()) return &it->second;
  ERR_clear_error();
  PkeyPtr pkey = decode_public_key(algorithm, data);
  ERR_clear_error();
  if (!pkey || algorithm_of(pkey.get()) != algorithm) return nullptr;
  if (cache.size() >= kMaxCachedKeys) cache.clear();
  CachedKey entry;
  entry.info.algorithm = algorithm;
  entry.info.bits = EVP_PKEY_get_bits(pkey.get());
  entry.info.data = algorithm == Algorithm::ed25519_sha256 ? std::string(data) : spki_der(pkey.get());
  entry.pkey = std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
  if (entry.info.data != data) cache.emplace(cache_key(algorithm, entry.info.data), entry);  // PKCS#1 given
  return &cache.emplace(cache_key(algorithm, data), std::move(entry)).first->second;
}

// SHA-256 fetched once: an implicit fetch on every use takes locks.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::optional<PublicKeyInfo> read_public_key(Algorithm algorithm, std::string_view data, std::string& error) {
  const CachedKey* key = cached_public_key(algorithm, data);
  if (!key) {
    error = algorithm == Algorithm::ed25519_sha256 ? "p= is not a 32-octet Ed25519 public key (RFC 8463)"
                                                   : "p= is not an RSA public key (DER SubjectPublicKeyInfo)";
    return std::nullopt;
  }
  return key->info;
}

bool verify_signature(const PublicKeyInfo& key, std::string_view data, std::string_view signature) {
  const CachedKey* cached = cached_public_key(key.algorithm, key.data);
  if (!cached) return false;
  ERR_clear_error();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ed25519 = key.algorithm == Algorithm::ed25519_sha256;
  const std::string hashed = ed25519 ? sha256(data) : std::string();
  const std::string_view signed_data = ed25519 ? std::string_view(hashed) : data;
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, ed25519 ? nullptr : sha256_md(), nullptr, cached->pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(signed_data.data()), signed_data.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace petrel::dkim
