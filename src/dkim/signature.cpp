#include "dkim/signature.hpp"

#include <algorithm>
#include <charconv>

#include "dkim/base64.hpp"
#include "dkim/tag_list.hpp"

namespace petrel::dkim {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string without_space(std::string_view s) {
  std::string out;
  std::copy_if(s.begin(), s.end(), std::back_inserter(out), [](char c) { return !is_space(c); });
  return out;
}

template <class Int>
std::optional<Int> number(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  Int value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

std::optional<Canonicalization> canonicalization(std::string_view word) {
  const std::string w = ascii_lower(word);
  if (w == "simple") return Canonicalization::simple;
  if (w == "relaxed") return Canonicalization::relaxed;
  return std::nullopt;
}

// Whether `identity`'s domain is `domain` or below it (§3.5 i=).
bool within(std::string_view identity, std::string_view domain) {
  const std::size_t at = identity.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string id_domain = ascii_lower(identity.substr(at + 1));
  if (!id_domain.empty() && id_domain.back() == '.') id_domain.pop_back();
  return id_domain == domain || (id_domain.size() > domain.size() && id_domain.ends_with(domain) &&
                                 id_domain[id_domain.size() - domain.size() - 1] == '.');
}

struct Reader {
  const TagList& tags;
  std::string& error;

  std::optional<std::string_view> required(std::string_view name) {
    auto v = tags.find(name);
    if (!v) error = "no " + std::string(name) + "= tag";
    return v;
  }
  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }
};

bool read_algorithm(Reader& r, Signature& s) {
  const auto a = r.required("a");
  if (!a) return false;
  const std::string name = ascii_lower(*a);
  if (name == "rsa-sha256") s.algorithm = Algorithm::rsa_sha256;
  else if (name == "ed25519-sha256") s.algorithm = Algorithm::ed25519_sha256;
  else if (name == "rsa-sha1") return r.fail("a=rsa-sha1 is not accepted (RFC 8301)");
  else return r.fail("a=" + std::string(a->substr(0, 30)) + " is not a known algorithm");
  return true;
}

bool read_canonicalization(Reader& r, Signature& s) {
  const auto c = r.tags.find("c");
  if (!c) return true;
  const std::size_t slash = c->find('/');
  const auto header = canonicalization(trim_wsp(c->substr(0, slash)));
  const auto body = slash == std::string_view::npos ? Canonicalization::simple
                                                    : canonicalization(trim_wsp(c->substr(slash + 1)));
  if (!header || !body) return r.fail("c=" + std::string(c->substr(0, 30)) + " is not simple or relaxed");
  s.header_canonicalization = *header;
  s.body_canonicalization = *body;
  return true;
}

bool read_hashes(Reader& r, Signature& s, SignatureKind kind) {
  const auto b = r.required("b");
  if (!b) return false;
  s.signature_base64 = without_space(*b);
  auto signature = base64_decode(*b);
  if (!signature || signature->empty()) return r.fail("b= is not base64");
  s.signature = std::move(*signature);
  if (kind == SignatureKind::arc_seal) return true;
  const auto bh = r.required("bh");
  if (!bh) return false;
  auto body_hash = base64_decode(*bh);
  if (!body_hash || body_hash->empty()) return r.fail("bh= is not base64");
  s.body_hash = std::move(*body_hash);
  return true;
}

bool read_names(Reader& r, Signature& s, SignatureKind kind) {
  const auto d = r.required("d");
  const auto sel = d ? r.required("s") : std::nullopt;
  if (!d || !sel) return false;
  s.domain = ascii_lower(*d);
  if (!s.domain.empty() && s.domain.back() == '.') s.domain.pop_back();
  s.selector = std::string(*sel);
  if (s.domain.empty() || s.selector.empty()) return r.fail("d= or s= is empty");
  if (kind == SignatureKind::arc_seal) return true;
  const auto h = r.required("h");
  if (!h) return false;
  s.headers = colon_list(*h);
  if (std::find(s.headers.begin(), s.headers.end(), "from") == s.headers.end()) {
    return r.fail("h= does not sign the From field (RFC 6376 §5.4)");
  }
  return true;
}

bool read_dkim_only(Reader& r, Signature& s) {
  const auto v = r.required("v");
  if (!v) return false;
  if (*v != "1") return r.fail("v=" + std::string(v->substr(0, 10)) + " is not 1");
  if (const auto i = r.tags.find("i")) {
    s.identity = std::string(*i);
    if (!within(s.identity, s.domain)) return r.fail("i= is not within d= (RFC 6376 §3.5)");
  } else {
    s.identity = "@" + s.domain;
  }
  if (const auto l = r.tags.find("l")) {
    s.body_length = number<std::uint64_t>(*l, 76);
    if (!s.body_length) return r.fail("l= is not a number");
  }
  if (const auto q = r.tags.find("q")) {
    const auto methods = colon_list(*q);
    if (std::find(methods.begin(), methods.end(), "dns/txt") == methods.end()) return r.fail("q= does not offer dns/txt");
  }
  return true;
}

bool read_times(Reader& r, Signature& s) {
  if (const auto t = r.tags.find("t")) {
    s.timestamp = number<std::int64_t>(*t, 12);
    if (!s.timestamp) return r.fail("t= is not a time");
  }
  if (const auto x = r.tags.find("x")) {
    s.expiration = number<std::int64_t>(*x, 12);
    if (!s.expiration) return r.fail("x= is not a time");
    if (s.timestamp && *s.expiration < *s.timestamp) return r.fail("x= is before t= (RFC 6376 §3.5)");
  }
  return true;
}

// RFC 8617 §4.2.1: i= is 1 to 50; cv= on the seal only.
bool read_arc_only(Reader& r, Signature& s, SignatureKind kind) {
  const auto i = r.required("i");
  if (!i) return false;
  const auto instance = number<int>(*i, 2);
  if (!instance || *instance < 1 || *instance > 50) return r.fail("i= is not an ARC instance (1 to 50)");
  s.instance = *instance;
  if (kind != SignatureKind::arc_seal) return true;
  const auto cv = r.required("cv");
  if (!cv) return false;
  s.chain_validation = ascii_lower(*cv);
  if (s.chain_validation != "none" && s.chain_validation != "pass" && s.chain_validation != "fail") {
    return r.fail("cv= is not none, pass or fail");
  }
  if (r.tags.find("h")) return r.fail("an ARC-Seal has no h= (RFC 8617 §4.1.3)");
  s.header_canonicalization = Canonicalization::relaxed;
  return true;
}

}  // namespace

std::optional<Signature> parse_signature(std::string_view value, SignatureKind kind, std::string& error) {
  const auto tags = parse_tag_list(value, error);
  if (!tags) return std::nullopt;
  Signature s;
  Reader r{*tags, error};
  const bool kind_ok = kind == SignatureKind::dkim ? true : read_arc_only(r, s, kind);
  if (!kind_ok || !read_algorithm(r, s) || !read_hashes(r, s, kind) || !read_names(r, s, kind) || !read_times(r, s)) {
    return std::nullopt;
  }
  if (kind != SignatureKind::arc_seal && !read_canonicalization(r, s)) return std::nullopt;
  if (kind == SignatureKind::dkim && !read_dkim_only(r, s)) return std::nullopt;
  return s;
}

std::string without_signature_value(std::string_view raw_field) {
  std::string out(raw_field);
  std::size_t pos = out.find(':');
  if (pos == std::string::npos) return out;
  ++pos;
  while (pos < out.size()) {
    const std::size_t end = std::min(out.find(';', pos), out.size());
    const std::size_t equals = out.find('=', pos);
    if (equals < end && trim_wsp(std::string_view(out).substr(pos, equals - pos)) == "b") {
      // Keep the CRLF that ends the field when b= is the last tag.
      std::size_t value_end = end;
      if (end == out.size() && out.ends_with("\r\n") && value_end >= equals + 3) value_end -= 2;
      out.erase(equals + 1, value_end - equals - 1);
      return out;
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace petrel::dkim
