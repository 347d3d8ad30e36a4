#include "dkim/record.hpp"

#include <algorithm>
#include <map>

#include "dkim/base64.hpp"

namespace petrel::dkim {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return out;
}

// §3.2: tag-name = ALPHA *ALNUMPUNC.
bool is_tag_name(std::string_view name) {
  return !name.empty() && is_alpha(name.front()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

// "a : b:c" -> {"a", "b", "c"}, in lower case; "" -> {}.
std::vector<std::string> colon_list(std::string_view value) {
  std::vector<std::string> items;
  while (!value.empty()) {
    const std::size_t colon = value.find(':');
    if (const std::string_view item = trim(value.substr(0, colon)); !item.empty()) items.push_back(lower(item));
    if (colon == std::string_view::npos) break;
    value.remove_prefix(colon + 1);
  }
  return items;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// §3.2's tag-list: name -> value (trimmed), or nullopt with `error`.
// `first` is the first tag's name.
std::optional<std::map<std::string, std::string_view>> tag_list(std::string_view text, std::string& first,
                                                                   std::string& error) {
  std::map<std::string, std::string_view> tags;
  while (!text.empty()) {
    const std::size_t semicolon = text.find(';');
    const std::string_view spec = trim(text.substr(0, semicolon));
    text.remove_prefix(semicolon == std::string_view::npos ? text.size() : semicolon + 1);
    if (spec.empty()) continue;  // "a=1;;b=2", a final ';'
    const std::size_t equals = spec.find('=');
    const std::string name(trim(spec.substr(0, equals)));
    if (equals == std::string_view::npos || !is_tag_name(name)) {
      error = "\"" + std::string(spec.substr(0, 40)) + "\" is not a tag (name=value)";
      return std::nullopt;
    }
    if (!tags.emplace(name, trim(spec.substr(equals + 1))).second) {
      error = "the tag " + name + "= is given twice (RFC 6376 §3.2)";
      return std::nullopt;
    }
    if (tags.size() == 1) first = name;
  }
  return tags;
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
  std::string first;
  const auto tags = tag_list(text, first, error);
  if (!tags) return std::nullopt;
  KeyRecord record;
  if (const auto v = tags->find("v"); v != tags->end()) {
    if (v->second != "DKIM1") {
      error = "v=" + std::string(v->second.substr(0, 40)) + " is not a DKIM key record (v=DKIM1)";
      return std::nullopt;
    }
    if (first != "v") {
      error = "v=DKIM1 must be the record's first tag (RFC 6376 §3.6.1)";
      return std::nullopt;
    }
    record.version = "DKIM1";
  }
  const auto p = tags->find("p");
  if (p == tags->end()) {
    error = "the record has no p= tag (the public key)";
    return std::nullopt;
  }
  std::optional<std::string> key = base64_decode(p->second);
  if (!key) {
    error = "p= is not base64";
    return std::nullopt;
  }
  record.public_key = std::move(*key);
  if (const auto k = tags->find("k"); k != tags->end()) record.key_type = lower(k->second);
  if (const auto h = tags->find("h"); h != tags->end()) record.hash_algorithms = colon_list(h->second);
  if (const auto s = tags->find("s"); s != tags->end()) record.service_types = colon_list(s->second);
  if (const auto t = tags->find("t"); t != tags->end()) record.flags = colon_list(t->second);
  if (const auto n = tags->find("n"); n != tags->end()) record.notes = std::string(n->second);
  return record;
}

}  // namespace petrel::dkim
