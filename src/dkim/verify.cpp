#include "dkim/verify.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <stdexcept>

#include "dkim/record.hpp"
#include "dkim/tag_list.hpp"

namespace petrel::dkim {
namespace {

constexpr std::uint64_t kWholeBody = std::numeric_limits<std::uint64_t>::max();

// SHA-256 over the canonical body, stopping after `limit` octets; also
// counts the canonical octets, to tell an l= beyond the body.
class LimitedDigest {
 public:
  explicit LimitedDigest(std::uint64_t limit) : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free), left_(limit) {
    // Fetched once: an implicit fetch on every message takes OpenSSL 3's locks.
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!ctx_ || !sha256 || EVP_DigestInit_ex(ctx_.get(), sha256, nullptr) != 1) {
      throw std::runtime_error("DKIM: no SHA-256");
    }
  }
  void update(std::string_view bytes) {
    total_ += bytes.size();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, bytes.size()));
    left_ -= n;
    if (n > 0 && EVP_DigestUpdate(ctx_.get(), bytes.data(), n) != 1) throw std::runtime_error("DKIM: SHA-256 failed");
  }
  std::string finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1) throw std::runtime_error("DKIM: SHA-256 failed");
    return std::string(reinterpret_cast<const char*>(digest), size);
  }
  std::uint64_t total() const { return total_; }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
  std::uint64_t left_;
  std::uint64_t total_ = 0;
};

bool is_signature_field(std::string_view name) { return ascii_lower(name) == "dkim-signature"; }

std::optional<PublicKeyInfo> usable_key(const KeyRecord& record, const Signature& signature, KeySelection& out) {
  if (record.revoked()) {
    out.reason = "the key is revoked (empty p=)";
    return std::nullopt;
  }
  if (record.algorithm() != signature.algorithm) {
    out.reason = "the key record's k=" + record.key_type + " does not fit a=" + std::string(to_string(signature.algorithm));
    return std::nullopt;
  }
  if (!record.allows_sha256()) {
    out.reason = "the key record's h= does not allow sha256";
    return std::nullopt;
  }
  if (!record.for_email()) {
    out.reason = "the key record's s= is not for email";
    return std::nullopt;
  }
  std::string error;
  auto key = read_public_key(signature.algorithm, record.public_key, error);
  if (!key) out.reason = "the key record's " + error;
  return key;
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none: return "none";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::policy: return "policy";
    case Result::neutral: return "neutral";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "none";
}

ParsedMessage::ParsedMessage(std::string_view message, BodyRest rest)
    : message_(message), rest_(std::move(rest)), split_(split_message(message)) {
  for (std::size_t i = 0; i < split_.fields.size(); ++i) by_name_[ascii_lower(split_.fields[i].name)].push_back(i);
}

const std::vector<std::size_t>& ParsedMessage::fields_named(std::string_view name) const {
  static const std::vector<std::size_t> none;
  const auto it = by_name_.find(ascii_lower(name));
  return it == by_name_.end() ? none : it->second;
}

std::optional<std::string> ParsedMessage::body_hash(Canonicalization c, std::optional<std::uint64_t> length) {
  const std::uint64_t limit = length.value_or(kWholeBody);
  const auto key = std::make_pair(static_cast<int>(c), limit);
  if (const auto it = body_hashes_.find(key); it != body_hashes_.end()) return it->second;
  LimitedDigest digest(limit);
  BodyCanonicalizer body(c, [&digest](std::string_view bytes) { digest.update(bytes); });
  body.update(message_.substr(std::min(split_.body_offset, message_.size())));
  if (rest_) rest_([&body](std::string_view piece) { body.update(piece); });
  body.finish();
  std::optional<std::string> hash = digest.finish();
  if (length && digest.total() < *length) hash.reset();
  body_hashes_.emplace(key, hash);
  return hash;
}

std::string ParsedMessage::signed_fields(const std::vector<std::string>& names, Canonicalization c) const {
  std::map<std::string, std::size_t, std::less<>> taken;
  std::string data;
  for (const std::string& name : names) {
    const std::size_t n = taken[name]++;
    const auto& fields = fields_named(name);
    if (n >= fields.size()) continue;
    data += canonicalize_header(c, split_.fields[fields[fields.size() - 1 - n]].raw);
    data += "\r\n";
  }
  return data;
}

Check ParsedMessage::check(const Signature& s, std::size_t field, const PublicKeyInfo& key) {
  const auto body = body_hash(s.body_canonicalization, s.body_length);
  if (!body) return Check::body_too_short;
  if (*body != s.body_hash) return Check::body_changed;
  const std::string data = signed_fields(s.headers, s.header_canonicalization) +
                           canonicalize_header(s.header_canonicalization, without_signature_value(split_.fields[field].raw));
  return verify_signature(key, data, s.signature) ? Check::verified : Check::signature_bad;
}

KeySelection select_key(const KeyLookup& lookup, const Signature& signature) {
  KeySelection out;
  if (lookup.status == KeyLookup::Status::failed) {
    out.result = Result::temperror;
    out.reason = "key lookup failed";
    return out;
  }
  if (lookup.status == KeyLookup::Status::missing || lookup.records.empty()) {
    out.reason = "no key record at " + signature.key_name();
    return out;
  }
  if (lookup.records.size() > 1) {
    out.reason = "more than one key record at " + signature.key_name();
    return out;
  }
  std::string error;
  const auto record = parse_key_record(lookup.records.front(), error);
  if (!record) {
    out.reason = "bad key record: " + error;
    return out;
  }
  out.testing = record->testing();
  // Domains compare without regard to case; d= is already lower case.
  const std::size_t at = signature.identity.rfind('@');
  const std::string identity_domain = ascii_lower(signature.identity.substr(at == std::string::npos ? 0 : at + 1));
  if (record->strict() && identity_domain != signature.domain) {
    out.reason = "the key record's t=s forbids an i= below d=";
    return out;
  }
  out.key = usable_key(*record, signature, out);
  if (out.key) out.result = Result::pass;
  return out;
}

Verifier::Verifier(std::string_view message, VerifyOptions options)
    : message_(message, options.body_rest), options_(std::move(options)) {
  const auto& fields = message_.split().fields;
  for (std::size_t i = 0; i < fields.size() && entries_.size() < options_.max_signatures; ++i) {
    if (!is_signature_field(fields[i].name)) continue;
    Entry entry;
    entry.field = i;
    entry.signature = parse_signature(fields[i].value(), SignatureKind::dkim, entry.error);
    entries_.push_back(std::move(entry));
  }
}

std::vector<std::string> Verifier::key_names() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) {
    if (!e.signature) continue;
    const std::string name = e.signature->key_name();
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::vector<SignatureResult> Verifier::verify(const std::function<const KeyLookup*(std::string_view name)>& key) {
  std::vector<SignatureResult> results;
  for (const Entry& entry : entries_) {
    const KeyLookup* lookup = entry.signature ? key(entry.signature->key_name()) : nullptr;
    results.push_back(judge(entry, lookup));
  }
  return results;
}

SignatureResult Verifier::judge(const Entry& entry, const KeyLookup* lookup) {
  SignatureResult r;
  if (!entry.signature) {
    r.reason = entry.error;
    return r;
  }
  const Signature& s = *entry.signature;
  r.domain = s.domain;
  r.selector = s.selector;
  r.identity = s.identity;
  r.algorithm = std::string(to_string(s.algorithm));
  r.b_prefix = s.signature_base64.substr(0, 8);
  if (s.expiration && options_.now > *s.expiration) {
    r.result = Result::fail;
    r.reason = "signature expired";
    return r;
  }
  if (!lookup) {
    r.result = Result::temperror;
    r.reason = "key not looked up";
    return r;
  }
  KeySelection key = select_key(*lookup, s);
  r.testing = key.testing;
  if (!key.key) {
    r.result = key.result;
    r.reason = key.reason;
    return r;
  }
  if (s.algorithm == Algorithm::rsa_sha256 && key.key->bits < options_.min_rsa_bits) {
    r.result = Result::permerror;
    r.reason = "a " + std::to_string(key.key->bits) + "-bit RSA key is too short (RFC 8301)";
    return r;
  }
  switch (message_.check(s, entry.field, *key.key)) {
    case Check::body_too_short:
      r.result = Result::permerror;
      r.reason = "l= is longer than the body";
      break;
    case Check::body_changed:
      r.result = Result::fail;
      r.reason = "body hash did not verify";
      break;
    case Check::signature_bad:
      r.result = Result::fail;
      r.reason = "signature did not verify";
      break;
    case Check::verified:
      r.result = Result::pass;
      r.reason = "signature verified";
      break;
  }
  return r;
}

}  // namespace petrel::dkim
