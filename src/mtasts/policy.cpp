#include "mtasts/policy.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace petrel::mtasts {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// §3.1: sts-id = 1*32(ALPHA / DIGIT).
bool valid_sts_id(std::string_view id) {
  return !id.empty() && id.size() <= 32 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

// One v=STSv1 record's fields: fills `sts.id` or `sts.problem`.
void parse_sts_fields(std::string_view record, StsRecord& sts) {
  bool first = true;
  std::optional<std::string> id;
  while (!record.empty()) {
    const std::size_t semi = record.find(';');
    const std::string_view field = trim(record.substr(0, semi));
    record = semi == std::string_view::npos ? std::string_view{} : record.substr(semi + 1);
    if (field.empty()) continue;
    const std::size_t eq = field.find('=');
    const std::string_view key = trim(field.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : trim(field.substr(eq + 1));
    if (first && (key != "v" || value != "STSv1")) {
      sts.problem = "the record does not start with \"v=STSv1;\"";
      return;
    }
    first = false;
    if (key == "id") id = std::string(value);
  }
  if (!id) {
    sts.problem = "the record has no id field";
  } else if (!valid_sts_id(*id)) {
    sts.problem = "the id \"" + *id + "\" is not 1 to 32 letters and digits";
  } else {
    sts.id = *id;
  }
}

// A policy line's value for a known key; false when the line is malformed
// or the value wrong for the key.
bool apply_field(std::string_view key, std::string_view value, Policy& p, bool& has_version, bool& has_mode,
                 bool& has_age, std::string& error) {
  if (key == "version") {
    if (value != "STSv1") return error = "version is not STSv1", false;
    has_version = true;
  } else if (key == "mode") {
    if (value == "enforce") {
      p.mode = Policy::Mode::enforce;
    } else if (value == "testing") {
      p.mode = Policy::Mode::testing;
    } else if (value == "none") {
      p.mode = Policy::Mode::none;
    } else {
      return error = "unknown mode \"" + std::string(value) + "\"", false;
    }
    has_mode = true;
  } else if (key == "mx") {
    if (value.empty()) return error = "an empty mx", false;
    p.mx.push_back(lower(value));
  } else if (key == "max_age") {
    long long seconds = -1;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || end != value.data() + value.size() || seconds < 0 || value.size() > 10 ||
        seconds > kMaxAge.count()) {
      return error = "max_age \"" + std::string(value) + "\" is not 0 to 31557600", false;
    }
    p.max_age = std::chrono::seconds(seconds);
    has_age = true;
  }
  return true;  // other keys: extensions, skipped
}

}  // namespace

std::string_view to_string(StsRecord::State state) {
  switch (state) {
    case StsRecord::State::none: return "none";
    case StsRecord::State::published: return "published";
    case StsRecord::State::invalid: return "invalid";
    case StsRecord::State::unknown: return "unknown";
  }
  return "none";
}

std::string_view to_string(Policy::Mode mode) {
  switch (mode) {
    case Policy::Mode::enforce: return "enforce";
    case Policy::Mode::testing: return "testing";
    case Policy::Mode::none: return "none";
  }
  return "none";
}

StsRecord parse_sts_record(const dns::TxtAnswer& answer) {
  StsRecord sts;
  if (answer.outcome == dns::Outcome::temporary_failure) {
    sts.state = StsRecord::State::unknown;
    sts.problem = answer.error.empty() ? "lookup failed" : answer.error;
    return sts;
  }
  // §3.1: records not starting "v=STSv1" are someone else's.
  std::vector<std::string> records;
  for (const auto& txt : answer.records) {
    std::string joined = txt.joined();
    if (joined.starts_with("v=STSv1")) records.push_back(std::move(joined));
  }
  if (records.empty()) return sts;
  sts.record = records.front();
  if (records.size() > 1) {
    sts.state = StsRecord::State::invalid;
    sts.problem = std::to_string(records.size()) + " v=STSv1 records: senders then assume no MTA-STS policy";
    return sts;
  }
  parse_sts_fields(sts.record, sts);
  sts.state = sts.problem.empty() ? StsRecord::State::published : StsRecord::State::invalid;
  return sts;
}

std::optional<Policy> parse_policy(std::string_view body, std::string& error) {
  if (body.size() > kMaxPolicyBytes) {
    error = "the policy is larger than 64 KiB";
    return std::nullopt;
  }
  Policy p;
  bool has_version = false, has_mode = false, has_age = false;
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    const std::string_view line = trim(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (line.empty()) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      error = "a line without \"key: value\"";
      return std::nullopt;
    }
    if (!apply_field(trim(line.substr(0, colon)), trim(line.substr(colon + 1)), p, has_version, has_mode, has_age,
                     error)) {
      return std::nullopt;
    }
  }
  if (!has_version) error = "no version: STSv1";
  else if (!has_mode) error = "no mode";
  else if (!has_age) error = "no max_age";
  else if (p.mode != Policy::Mode::none && p.mx.empty()) error = "no mx in a policy that is not mode: none";
  if (!error.empty()) return std::nullopt;
  return p;
}

bool mx_matches(const Policy& policy, std::string_view mx_host) {
  std::string host = lower(mx_host);
  if (!host.empty() && host.back() == '.') host.pop_back();
  for (const auto& pattern : policy.mx) {
    if (pattern.starts_with("*.")) {
      // One label only: "*.example.com" matches "mx.example.com", not
      // "a.b.example.com" nor "example.com".
      const std::string_view suffix = std::string_view(pattern).substr(1);
      if (host.size() > suffix.size() && host.ends_with(suffix)) {
        const std::string_view label = std::string_view(host).substr(0, host.size() - suffix.size());
        if (label.find('.') == std::string_view::npos) return true;
      }
    } else if (host == pattern) {
      return true;
    }
  }
  return false;
}

}  // namespace petrel::mtasts
