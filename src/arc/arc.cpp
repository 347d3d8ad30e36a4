#include "arc/arc.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "dkim/tag_list.hpp"

namespace petrel::arc {
namespace {

constexpr int kMaxInstances = 50;  // RFC 8617 §4.2.1

enum class Kind { results, message, seal };

std::optional<Kind> kind_of(std::string_view name) {
  const std::string n = dkim::ascii_lower(name);
  if (n == "arc-authentication-results") return Kind::results;
  if (n == "arc-message-signature") return Kind::message;
  if (n == "arc-seal") return Kind::seal;
  return std::nullopt;
}

// ARC-Authentication-Results: i=N; authserv-id; ... (§4.1.1).
std::optional<int> results_instance(std::string_view value) {
  value = dkim::trim_wsp(value);
  if (!value.starts_with("i=")) return std::nullopt;
  value.remove_prefix(2);
  const std::string_view digits = dkim::trim_wsp(value.substr(0, value.find(';')));
  int n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

Outcome failed(std::string reason) { return {Result::fail, std::move(reason), 0, {}}; }

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::none: return "none";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::temperror: return "temperror";
  }
  return "none";
}

Validator::Validator(std::string_view message, dkim::BodyRest rest) : message_(message, std::move(rest)) { decided_early_ = !read_sets(); }

// Finds the sets and checks their structure (§5.2 steps 1-3); false when
// that decides the outcome (early_).
bool Validator::read_sets() {
  std::array<std::array<std::optional<std::size_t>, 3>, kMaxInstances + 1> found{};
  int highest = 0;
  const auto& fields = message_.split().fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto kind = kind_of(fields[i].name);
    if (!kind) continue;
    std::optional<int> instance;
    std::string error;
    if (*kind == Kind::results) {
      instance = results_instance(fields[i].value());
    } else {
      const auto tags = dkim::parse_tag_list(fields[i].value(), error);
      const auto text = tags ? tags->find("i") : std::nullopt;
      int n = 0;
      if (text && std::from_chars(text->data(), text->data() + text->size(), n).ec == std::errc()) instance = n;
    }
    if (!instance || *instance < 1 || *instance > kMaxInstances) {
      early_ = failed("an ARC field without a valid i=");
      return false;
    }
    auto& slot = found[static_cast<std::size_t>(*instance)][static_cast<std::size_t>(*kind)];
    if (slot) {
      early_ = failed("two ARC fields of one kind for i=" + std::to_string(*instance));
      return false;
    }
    slot = i;
    highest = std::max(highest, *instance);
  }
  if (highest == 0) {
    early_ = {Result::none, "no ARC sets", 0, {}};
    return false;
  }
  for (int n = 1; n <= highest; ++n) {
    const auto& f = found[static_cast<std::size_t>(n)];
    if (!f[0] || !f[1] || !f[2]) {
      early_ = failed("ARC set i=" + std::to_string(n) + " is incomplete");
      return false;
    }
    Set set{*f[0], *f[1], *f[2], {}, {}};
    std::string error;
    auto ams = dkim::parse_signature(fields[set.ams].value(), dkim::SignatureKind::arc_message, error);
    auto seal = ams ? dkim::parse_signature(fields[set.seal].value(), dkim::SignatureKind::arc_seal, error)
                    : std::nullopt;
    if (!ams || !seal) {
      early_ = failed("ARC set i=" + std::to_string(n) + ": " + error);
      return false;
    }
    const std::string_view expected = n == 1 ? "none" : "pass";
    if (seal->chain_validation == "fail") {
      early_ = failed("ARC-Seal i=" + std::to_string(n) + " says cv=fail");
      return false;
    }
    if (seal->chain_validation != expected) {
      early_ = failed("ARC-Seal i=" + std::to_string(n) + " has cv=" + seal->chain_validation + ", not " +
                      std::string(expected));
      return false;
    }
    set.message_signature = std::move(*ams);
    set.seal_signature = std::move(*seal);
    sets_.push_back(std::move(set));
  }
  return true;
}

std::vector<std::string> Validator::key_names() const {
  std::vector<std::string> names;
  if (decided_early_) return names;
  const auto add = [&names](std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  };
  add(sets_.back().message_signature.key_name());
  for (const Set& set : sets_) add(set.seal_signature.key_name());
  return names;
}

Outcome Validator::validate(const std::function<const dkim::KeyLookup*(std::string_view name)>& key) {
  if (decided_early_) return early_;
  const Set& newest = sets_.back();
  if (Outcome o = check_message_signature(key(newest.message_signature.key_name())); o.result != Result::pass) return o;
  for (std::size_t n = sets_.size(); n >= 1; --n) {
    if (Outcome o = check_seal(n, key(sets_[n - 1].seal_signature.key_name())); o.result != Result::pass) return o;
  }
  const int count = static_cast<int>(sets_.size());
  return {Result::pass, std::to_string(count) + (count == 1 ? " set" : " sets") + ", all seals verified", count,
          newest.seal_signature.domain};
}

namespace {

// The key for `signature`, or the outcome that ends the validation.
std::optional<dkim::PublicKeyInfo> key_for(const dkim::Signature& signature, const dkim::KeyLookup* lookup,
                                           const std::string& what, Outcome& out) {
  if (!lookup) {
    out = {Result::temperror, what + ": key not looked up", 0, {}};
    return std::nullopt;
  }
  dkim::KeySelection key = dkim::select_key(*lookup, signature);
  if (!key.key) {
    out = {key.result == dkim::Result::temperror ? Result::temperror : Result::fail, what + ": " + key.reason, 0, {}};
  }
  return key.key;
}

}  // namespace

Outcome Validator::check_message_signature(const dkim::KeyLookup* lookup) {
  const Set& set = sets_.back();
  const dkim::Signature& s = set.message_signature;
  const std::string what = "ARC-Message-Signature i=" + std::to_string(s.instance);
  Outcome out;
  const auto key = key_for(s, lookup, what, out);
  if (!key) return out;
  switch (message_.check(s, set.ams, *key)) {
    case dkim::Check::verified: return {Result::pass, {}, 0, {}};
    case dkim::Check::signature_bad: return failed(what + ": signature did not verify");
    default: return failed(what + ": body hash did not verify");
  }
}

// §5.1.1: the ARC fields of sets 1..n, each set as results, message
// signature, seal, relaxed; the n-th seal without its b= value, last.
Outcome Validator::check_seal(std::size_t n, const dkim::KeyLookup* lookup) const {
  const dkim::Signature& s = sets_[n - 1].seal_signature;
  const std::string what = "ARC-Seal i=" + std::to_string(n);
  Outcome out;
  const auto key = key_for(s, lookup, what, out);
  if (!key) return out;
  const auto& fields = message_.split().fields;
  std::string data;
  for (std::size_t k = 0; k < n; ++k) {
    const Set& set = sets_[k];
    data += dkim::canonicalize_header_relaxed(fields[set.aar].raw) + "\r\n";
    data += dkim::canonicalize_header_relaxed(fields[set.ams].raw) + "\r\n";
    if (k + 1 < n) data += dkim::canonicalize_header_relaxed(fields[set.seal].raw) + "\r\n";
  }
  data += dkim::canonicalize_header_relaxed(dkim::without_signature_value(fields[sets_[n - 1].seal].raw));
  if (!dkim::verify_signature(*key, data, s.signature)) return failed(what + ": signature did not verify");
  return {Result::pass, {}, 0, {}};
}

}  // namespace petrel::arc
