#include "tls/self_signed.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tls/openssl_support.hpp"
#include "tls/server_tls.hpp"

namespace petrel::tls {
namespace {

using namespace detail;

constexpr long kOneHour = 60 * 60;
constexpr int kValidDays = 365;
constexpr std::size_t kMaxCommonName = 64;  // ub-common-name, RFC 5280 appendix A.1

[[noreturn]] void fail(const std::string& what) { throw TlsError("self-signed certificate: " + what + ": " + take_openssl_error()); }

PkeyPtr make_p256_key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("cannot generate a P-256 key");
  return key;
}

void set_random_serial(X509* cert) {
  // RFC 5280 4.1.2.2: positive, at most 20 octets; 127 random bits is both.
  BignumPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr)
    fail("cannot set a serial number");
}

void set_names(X509* cert, const std::string& hostname) {
  X509_NAME* name = X509_get_subject_name(cert);
  // The CN is decoration (clients match the SAN); it only fits 64 octets.
  if (hostname.size() <= kMaxCommonName &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0) != 1)
    fail("cannot set the subject");
  if (X509_set_issuer_name(cert, name) != 1) fail("cannot set the issuer");
}

// Built as GENERAL_NAMEs rather than parsed from "DNS:a,DNS:b" config text,
// so a name cannot smuggle in another entry.
void add_subject_alt_names(X509* cert, const std::vector<std::string>& names) {
  GeneralNamesPtr general_names(sk_GENERAL_NAME_new_null());
  if (!general_names) fail("cannot allocate subjectAltName");
  for (const std::string& dns_name : names) {
    GENERAL_NAME* entry = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    if (entry == nullptr || text == nullptr || ASN1_STRING_set(text, dns_name.data(), int(dns_name.size())) != 1) {
      GENERAL_NAME_free(entry);
      ASN1_IA5STRING_free(text);
      fail("cannot encode DNS name " + dns_name);
    }
    GENERAL_NAME_set0_value(entry, GEN_DNS, text);
    if (sk_GENERAL_NAME_push(general_names.get(), entry) == 0) {
      GENERAL_NAME_free(entry);
      fail("cannot add DNS name " + dns_name);
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, general_names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    fail("cannot add subjectAltName");
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) fail(std::string("cannot add ") + value);
}

X509Ptr make_certificate(EVP_PKEY* key, const std::string& hostname, const std::vector<std::string>& dns_names) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("cannot create a certificate");
  set_random_serial(cert.get());
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kOneHour) == nullptr ||  // clock skew
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidDays, 0, nullptr) == nullptr)
    fail("cannot set the validity");
  set_names(cert.get(), hostname);
  if (X509_set_pubkey(cert.get(), key) != 1) fail("cannot set the public key");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  add_subject_alt_names(cert.get(), dns_names);
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) fail("cannot sign");
  return cert;
}

template <class WritePem>
std::string to_pem(WritePem write) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || !write(out.get())) fail("cannot encode PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, std::size_t(size));
}

// The mode is set before anything is written, also when the file already
// existed with a wider one.
void write_file(const std::string& path, const std::string& content, mode_t mode) {
  const auto system_error = [&path](const char* what) {
    return TlsError(path + ": cannot " + what + ": " + std::strerror(errno));
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw system_error("create");
  if (::fchmod(fd, mode) != 0) {
    const TlsError error = system_error("chmod");
    ::close(fd);
    throw error;
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const TlsError error = system_error("write");
      ::close(fd);
      throw error;
    }
    done += std::size_t(n);
  }
  if (::close(fd) != 0) throw system_error("close");
}

}  // namespace

void write_self_signed(const std::string& cert_file, const std::string& key_file, const std::string& hostname,
                       std::vector<std::string> extra_names) {
  std::vector<std::string> dns_names{hostname};
  for (std::string& name : extra_names) {
    if (std::find(dns_names.begin(), dns_names.end(), name) == dns_names.end()) dns_names.push_back(std::move(name));
  }
  const PkeyPtr key = make_p256_key();
  const X509Ptr cert = make_certificate(key.get(), hostname, dns_names);
  write_file(key_file, to_pem([&](BIO* out) {
               return PEM_write_bio_PrivateKey(out, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
             }),
             0600);
  write_file(cert_file, to_pem([&](BIO* out) { return PEM_write_bio_X509(out, cert.get()) == 1; }), 0644);
}

}  // namespace petrel::tls
