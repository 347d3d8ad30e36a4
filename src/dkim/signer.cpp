#include "dkim/signer.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

#include "dkim/base64.hpp"
#include "dkim/canonicalize.hpp"
#include "dkim/tag_list.hpp"

namespace petrel::dkim {
namespace {

// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters.
constexpr std::size_t kLineWidth = 78;

// RFC 5322 §3.6.8: printable US-ASCII except ':'.
bool valid_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

void check(const Key& key, const SignerConfig& config) {
  if (!valid_dns_name(config.domain)) throw std::invalid_argument("DKIM: bad domain \"" + config.domain + "\"");
  if (!valid_dns_name(config.selector)) throw std::invalid_argument("DKIM: bad selector \"" + config.selector + "\"");
  if (key.algorithm() != config.algorithm) {
    throw std::invalid_argument("DKIM: the key for " + config.selector + "._domainkey." + config.domain + " is not " +
                                std::string(to_string(config.algorithm)));
  }
  for (const std::string& name : config.headers) {
    if (!valid_field_name(name)) throw std::invalid_argument("DKIM: bad header field name \"" + name + "\"");
  }
}

// The message split once, and its body hash, shared by its signatures.
struct Prepared {
  SplitMessage split;
  std::map<std::string, std::vector<std::size_t>> fields;  // indices into split.fields by lower-case name, top to bottom
  std::string body_hash;  // base64 of SHA-256 over the relaxed body: bh=

  std::size_t count(const std::string& name) const {
    const auto it = fields.find(name);
    return it == fields.end() ? 0 : it->second.size();
  }
};

Prepared prepare(std::string_view message, const BodyRest& rest) {
  Prepared prepared{split_message(message), {}, {}};
  for (std::size_t i = 0; i < prepared.split.fields.size(); ++i) {
    prepared.fields[ascii_lower(prepared.split.fields[i].name)].push_back(i);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("DKIM: no SHA-256");
  BodyCanonicalizer body(Canonicalization::relaxed, [&ctx](std::string_view bytes) {
    if (EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1) throw std::runtime_error("DKIM: SHA-256 failed");
  });
  body.update(message.substr(prepared.split.body_offset));
  if (rest) rest([&body](std::string_view piece) { body.update(piece); });
  body.finish();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1) throw std::runtime_error("DKIM: SHA-256 failed");
  prepared.body_hash = base64_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
  return prepared;
}

// The names for h=, in lower case: each configured name (and "from") as
// many times as the message has such fields, at least once; "from" once more.
std::vector<std::string> h_names(const SignerConfig& config, const Prepared& prepared) {
  std::vector<std::string> names{"from"};
  for (const std::string& name : config.headers) {
    if (std::find(names.begin(), names.end(), ascii_lower(name)) == names.end()) names.push_back(ascii_lower(name));
  }
  std::vector<std::string> listed;
  for (const std::string& name : names) {
    const std::size_t present = prepared.count(name);
    listed.insert(listed.end(), name == "from" ? present + 1 : std::max<std::size_t>(present, 1), name);
  }
  return listed;
}

// The relaxed fields h= names, each CRLF-terminated, the n-th mention of a
// name taking the n-th field of that name from the bottom (§5.4.2); a
// mention with no field left adds nothing.
std::string signed_fields(const Prepared& prepared, const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> taken;
  std::string data;
  for (const std::string& name : names) {
    const std::size_t n = taken[name]++;
    const auto it = prepared.fields.find(name);
    if (it == prepared.fields.end() || n >= it->second.size()) continue;
    data += canonicalize_header_relaxed(prepared.split.fields[it->second[it->second.size() - 1 - n]].raw);
    data += "\r\n";
  }
  return data;
}

// A header field built word by word, folded before a word that would
// make its line longer than kLineWidth.
class FoldedField {
 public:
  explicit FoldedField(std::string_view name) : text_(std::string(name) + ":") {}

  // After a space, or at the start of a new line.
  void word(std::string_view w) {
    if (column() + 1 + w.size() > kLineWidth) {
      fold();
    } else {
      text_ += ' ';
    }
    text_ += w;
  }
  // Right after the text so far, or at the start of a new line.
  void glued(std::string_view w) {
    if (column() + w.size() > kLineWidth) fold();
    text_ += w;
  }
  // A value without spaces (base64), broken wherever the line is full.
  void broken(std::string_view value) {
    while (!value.empty()) {
      if (column() >= kLineWidth) fold();
      const std::size_t room = std::min(kLineWidth - column(), value.size());
      text_ += value.substr(0, room);
      value.remove_prefix(room);
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::size_t column() const { return text_.size() - line_start_; }
  void fold() {
    text_ += "\r\n\t";
    line_start_ = text_.size() - 1;
  }

  std::string text_;
  std::size_t line_start_ = 0;
};

std::string signature_field(const Key& key, const SignerConfig& config, const Prepared& prepared,
                            std::int64_t unix_time) {
  const std::vector<std::string> names = h_names(config, prepared);
  FoldedField field("DKIM-Signature");
  field.word("v=1;");
  field.word("a=" + std::string(to_string(config.algorithm)) + ";");
  field.word("c=relaxed/relaxed;");
  field.word("d=" + ascii_lower(config.domain) + ";");
  field.word("s=" + config.selector + ";");
  field.word("t=" + std::to_string(unix_time) + ";");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string last = i + 1 == names.size() ? ";" : "";
    if (i == 0) {
      field.word("h=" + names[i] + last);
    } else {
      field.glued(":" + names[i] + last);
    }
  }
  field.word("bh=" + prepared.body_hash + ";");
  field.word("b=");
  // §3.7: the signature's own field comes last, with b= empty and no CRLF.
  const std::string data = signed_fields(prepared, names) + canonicalize_header_relaxed(field.text());
  field.broken(base64_encode(key.sign(data)));
  return field.text() + "\r\n";
}

}  // namespace

std::string sign(const Key& key, const SignerConfig& config, std::string_view message, std::int64_t unix_time) {
  check(key, config);
  return signature_field(key, config, prepare(message, {}), unix_time);
}

std::string sign_all(const std::vector<DomainKey>& keys, std::string_view message, std::int64_t unix_time,
                     const BodyRest& rest) {
  const std::string domain = from_domain(message);
  if (domain.empty()) return {};
  std::optional<Prepared> prepared;  // only for a message some key signs
  std::string signatures;
  for (const DomainKey& key : keys) {
    if (!key.key || !equal_ignoring_case(key.config.domain, domain)) continue;
    check(*key.key, key.config);
    if (!prepared) prepared = prepare(message, rest);
    signatures += signature_field(*key.key, key.config, *prepared, unix_time);
  }
  return signatures;
}

}  // namespace petrel::dkim
