#include "dkim/record.hpp"

#include <algorithm>

#include "dkim/base64.hpp"
#include "dkim/tag_list.hpp"

namespace petrel::dkim {
namespace {

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace

bool KeyRecord::testing() const { return contains(flags, "y"); }

bool KeyRecord::strict() const { return contains(flags, "s"); }

std::optional<Algorithm> KeyRecord::algorithm() const {
  for (const Algorithm a : {Algorithm::rsa_sha256, Algorithm::ed25519_sha256}) {
    if (key_type == dkim::key_type(a)) return a;
  }
  return std::nullopt;
}

bool KeyRecord::allows_sha256() const { return hash_algorithms.empty() || contains(hash_algorithms, "sha256"); }

bool KeyRecord::for_email() const {
  return service_types.empty() || contains(service_types, "*") || contains(service_types, "email");
}

std::optional<KeyRecord> parse_key_record(std::string_view text, std::string& error) {
  const auto tags = parse_tag_list(text, error);
  if (!tags) return std::nullopt;
  KeyRecord record;
  if (const auto v = tags->find("v")) {
    if (*v != "DKIM1") {
      error = "v=" + std::string(v->substr(0, 40)) + " is not a DKIM key record (v=DKIM1)";
      return std::nullopt;
    }
    if (tags->tags.front().name != "v") {
      error = "v=DKIM1 must be the record's first tag (RFC 6376 §3.6.1)";
      return std::nullopt;
    }
    record.version = "DKIM1";
  }
  const auto p = tags->find("p");
  if (!p) {
    error = "the record has no p= tag (the public key)";
    return std::nullopt;
  }
  std::optional<std::string> key = base64_decode(*p);
  if (!key) {
    error = "p= is not base64";
    return std::nullopt;
  }
  record.public_key = std::move(*key);
  if (const auto k = tags->find("k")) record.key_type = ascii_lower(*k);
  if (const auto h = tags->find("h")) record.hash_algorithms = colon_list(*h);
  if (const auto s = tags->find("s")) record.service_types = colon_list(*s);
  if (const auto t = tags->find("t")) record.flags = colon_list(*t);
  if (const auto n = tags->find("n")) record.notes = std::string(*n);
  return record;
}

}  // namespace petrel::dkim
