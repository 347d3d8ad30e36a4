#include "dmarc/record.hpp"

#include <algorithm>
#include <map>

namespace petrel::dmarc {
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

// The tags in order of appearance: name (lower case) and value (trimmed).
std::vector<std::pair<std::string, std::string_view>> tag_list(std::string_view text) {
  std::vector<std::pair<std::string, std::string_view>> tags;
  while (!text.empty()) {
    const std::size_t semicolon = text.find(';');
    const std::string_view spec = trim(text.substr(0, semicolon));
    text.remove_prefix(semicolon == std::string_view::npos ? text.size() : semicolon + 1);
    const std::size_t equals = spec.find('=');
    if (spec.empty() || equals == std::string_view::npos) continue;  // §6.3: errors are skipped
    tags.emplace_back(lower(trim(spec.substr(0, equals))), trim(spec.substr(equals + 1)));
  }
  return tags;
}

std::optional<Policy> policy(std::string_view value) {
  const std::string v = lower(value);
  if (v == "none") return Policy::none;
  if (v == "quarantine") return Policy::quarantine;
  if (v == "reject") return Policy::reject;
  return std::nullopt;
}

std::optional<std::uint64_t> number(std::string_view value, std::uint64_t max) {
  if (value.empty() || value.size() > 10 || !std::all_of(value.begin(), value.end(), is_digit)) return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : value) n = n * 10 + static_cast<std::uint64_t>(c - '0');
  if (n > max) return std::nullopt;
  return n;
}

// dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] (§6.4); the URI
// needs a scheme and something after it.
bool valid_uri(std::string_view uri) {
  if (const std::size_t bang = uri.rfind('!'); bang != std::string_view::npos) {
    std::string_view size = uri.substr(bang + 1);
    if (!size.empty() && std::string_view("kmgtKMGT").find(size.back()) != std::string_view::npos) size.remove_suffix(1);
    if (size.empty() || !std::all_of(size.begin(), size.end(), is_digit)) return false;
    uri = uri.substr(0, bang);
  }
  const std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size() || !is_alpha(uri.front())) return false;
  return std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
  }) && std::none_of(uri.begin(), uri.end(), [](char c) { return is_space(c) || static_cast<unsigned char>(c) >= 0x7f; });
}

// The valid URIs of a comma-separated list; the others are dropped (§6.3).
std::vector<std::string> uri_list(std::string_view value) {
  std::vector<std::string> uris;
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view uri = trim(value.substr(0, comma));
    if (valid_uri(uri)) uris.emplace_back(uri);
    value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
  }
  return uris;
}

// fo = "0" / "1" / "d" / "s", colon-separated.
bool valid_failure_options(std::string_view value) {
  if (value.empty()) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const bool option = i % 2 == 0;
    if (option ? std::string_view("01ds").find(value[i]) == std::string_view::npos : value[i] != ':') return false;
  }
  return value.back() != ':';
}

void read_optional_tags(const std::map<std::string, std::string_view>& tags, Record& record) {
  const auto tag = [&tags](const char* name) -> std::optional<std::string_view> {
    const auto it = tags.find(name);
    return it == tags.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  if (const auto v = tag("np")) record.nonexistent_policy = policy(*v);
  if (const auto v = tag("adkim"); v && lower(*v) == "s") record.dkim_alignment = Alignment::strict;
  if (const auto v = tag("aspf"); v && lower(*v) == "s") record.spf_alignment = Alignment::strict;
  if (const auto v = tag("pct")) record.percent = static_cast<int>(number(*v, 100).value_or(100));
  if (const auto v = tag("ri")) record.report_interval = static_cast<std::uint32_t>(number(*v, UINT32_MAX).value_or(86400));
  if (const auto v = tag("rua")) record.aggregate_uris = uri_list(*v);
  if (const auto v = tag("ruf")) record.failure_uris = uri_list(*v);
  if (const auto v = tag("fo"); v && valid_failure_options(lower(*v))) record.failure_options = lower(*v);
  if (const auto v = tag("rf"); v && !v->empty()) record.report_format = lower(*v);
}

}  // namespace

std::string_view to_string(Policy policy) {
  switch (policy) {
    case Policy::none: return "none";
    case Policy::quarantine: return "quarantine";
    case Policy::reject: return "reject";
  }
  return "?";
}

bool is_dmarc_record(std::string_view text) {
  const std::string_view first = text.substr(0, text.find(';'));
  const std::size_t equals = first.find('=');
  // "DMARC1" is case-sensitive (§6.4's ABNF spells it in %x); the tag name is not.
  return equals != std::string_view::npos && lower(trim(first.substr(0, equals))) == "v" &&
         trim(first.substr(equals + 1)) == "DMARC1";
}

std::optional<Record> parse_record(std::string_view text, std::string& error) {
  if (!is_dmarc_record(text)) {
    error = "the record does not start with v=DMARC1";
    return std::nullopt;
  }
  std::map<std::string, std::string_view> tags;
  for (const auto& [name, value] : tag_list(text)) tags.emplace(name, value);  // the first one counts
  Record record;
  read_optional_tags(tags, record);
  const auto p = tags.find("p");
  const auto sp = tags.find("sp");
  const std::optional<Policy> requested = p == tags.end() ? std::nullopt : policy(p->second);
  const bool sp_valid = sp == tags.end() || policy(sp->second);
  if (requested && sp_valid) {
    record.policy = *requested;
    if (sp != tags.end()) record.subdomain_policy = policy(sp->second);
    return record;
  }
  // §6.6.3: without a valid p= (or with a bad sp=), a valid rua= makes it p=none.
  if (record.aggregate_uris.empty()) {
    error = p == tags.end() ? "the record has no p= tag" : "p= or sp= is not none, quarantine or reject";
    return std::nullopt;
  }
  record.policy = Policy::none;
  record.policy_defaulted = true;
  return record;
}

std::optional<Record> select_record(const std::vector<dns::TxtRecord>& records, std::string& error) {
  std::optional<std::string> found;
  for (const dns::TxtRecord& record : records) {
    std::string text = record.joined();
    if (!is_dmarc_record(text)) continue;
    if (found) {
      error = "more than one DMARC record (RFC 7489 §6.6.3)";
      return std::nullopt;
    }
    found = std::move(text);
  }
  if (!found) {
    error = "no DMARC record";
    return std::nullopt;
  }
  return parse_record(*found, error);
}

}  // namespace petrel::dmarc
