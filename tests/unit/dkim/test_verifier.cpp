#include "test_verifier.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <regex>
#include <vector>

#include "dkim/base64.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/record.hpp"

namespace petrel::dkim::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string without_space(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  }
  return out;
}

std::optional<std::size_t> signature_field(const SplitMessage& split, std::size_t index) {
  for (std::size_t i = 0; i < split.fields.size(); ++i) {
    if (lower(std::string(split.fields[i].name)) == "dkim-signature" && index-- == 0) return i;
  }
  return std::nullopt;
}

std::string tag(std::string_view raw_field, std::string_view name) {
  std::string_view value = raw_field.substr(raw_field.find(':') + 1);
  while (!value.empty()) {
    const std::size_t semicolon = value.find(';');
    const std::string_view spec = value.substr(0, semicolon);
    const std::size_t equals = spec.find('=');
    if (equals != std::string_view::npos && without_space(spec.substr(0, equals)) == name) {
      return without_space(spec.substr(equals + 1));
    }
    if (semicolon == std::string_view::npos) break;
    value.remove_prefix(semicolon + 1);
  }
  return {};
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), size);
}

// §5.4.2: the n-th mention of a name in h= takes the n-th such field from the bottom.
std::string signed_fields(const SplitMessage& split, const std::string& h) {
  std::vector<std::size_t> used(split.fields.size(), 0);
  std::string data;
  std::size_t start = 0;
  while (start <= h.size()) {
    const std::size_t colon = std::min(h.find(':', start), h.size());
    const std::string name = lower(h.substr(start, colon - start));
    start = colon + 1;
    for (std::size_t i = split.fields.size(); i-- > 0;) {
      if (used[i] || lower(std::string(split.fields[i].name)) != name) continue;
      used[i] = 1;
      data += canonicalize_header_relaxed(split.fields[i].raw) + "\r\n";
      break;
    }
  }
  return data;
}

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Pkey public_key(const KeyRecord& record) {
  const auto* p = reinterpret_cast<const unsigned char*>(record.public_key.data());
  if (record.key_type == "ed25519") {
    return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, record.public_key.size()), EVP_PKEY_free);
  }
  return Pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(record.public_key.size())), EVP_PKEY_free);
}

bool signature_verifies(EVP_PKEY* key, const EVP_MD* md, std::string_view data, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace

std::string signature_tag(std::string_view message, std::string_view name, std::size_t index) {
  const SplitMessage split = split_message(message);
  const auto field = signature_field(split, index);
  return field ? tag(split.fields[*field].raw, name) : std::string();
}

std::string verify(std::string_view message, std::string_view record_text, std::size_t index) {
  const SplitMessage split = split_message(message);
  const auto field = signature_field(split, index);
  if (!field) return "no DKIM-Signature";
  const std::string_view raw = split.fields[*field].raw;
  if (tag(raw, "c") != "relaxed/relaxed") return "c= is not relaxed/relaxed";

  const std::string body = canonicalize_body(Canonicalization::relaxed, message.substr(split.body_offset));
  if (base64_encode(sha256(body)) != tag(raw, "bh")) return "body hash mismatch";

  // §3.7: the signature's own field last, its b= value removed, no CRLF.
  static const std::regex b_value(R"(([;:\s]b\s*=)[^;]*)");
  const std::string unsigned_field = std::regex_replace(std::string(raw), b_value, "$1", std::regex_constants::format_first_only);
  const std::string data = signed_fields(split, tag(raw, "h")) + canonicalize_header_relaxed(unsigned_field);

  std::string error;
  const auto record = parse_key_record(record_text, error);
  if (!record) return "bad record: " + error;
  const Pkey key = public_key(*record);
  if (!key) return "bad public key";
  const auto signature = base64_decode(tag(raw, "b"));
  if (!signature) return "b= is not base64";
  const std::string a = tag(raw, "a");
  const bool ok = a == "ed25519-sha256" ? signature_verifies(key.get(), nullptr, sha256(data), *signature)
                  : a == "rsa-sha256"   ? signature_verifies(key.get(), EVP_sha256(), data, *signature)
                                        : false;
  return ok ? "" : "signature mismatch (a=" + a + ")";
}

}  // namespace petrel::dkim::test
