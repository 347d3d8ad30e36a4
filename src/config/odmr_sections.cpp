// The keys of [odmr]: who may fetch which domains' mail with ATRN
// (RFC 2645); docs/odmr.md and docs/config.md.
#include "config/reading.hpp"

#include <algorithm>
#include <set>

namespace petrel::config::detail {
namespace {

bool valid_login(std::string_view s) {
  return !s.empty() && s.size() <= 255 && std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == ':' || c == 0x7f;
  });
}

// domains = { "user" = ["example.net", ...], ... }
std::map<std::string, std::vector<std::string>> read_domains(const Field& f) {
  const toml::table* table = f.value.as_table();
  if (!table) f.fail("a table of login names, each with an array of domains, such as { \"alice\" = [\"example.net\"] }");
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [key, value] : *table) {
    const std::string user(key.str());
    if (!valid_login(user)) f.fail(value, "login names without spaces or ':' as keys");
    const Field entry{f.file, f.section, f.key, value};
    std::set<std::string> seen;
    out[user] = read_array<std::string>(entry, "domain names", false, [&](const toml::node& n) {
      std::string domain = normalize_domain(read_string(entry, n, valid_domain, "a domain name such as \"example.net\""));
      if (!seen.insert(domain).second) entry.fail(n, "free of duplicates");
      return domain;
    });
  }
  return out;
}

const Key kOdmrKeys[] = {
    {"domains",
     [](const Field& f, Config& c) {
       c.odmr.domains = read_domains(f);
       c.odmr.line = line_of(f.value);
     }},
    {"claim_batch", [](const Field& f, Config& c) { c.odmr.claim_batch = read_count(f, 1, 100'000); }},
    {"reply_timeout", [](const Field& f, Config& c) { c.odmr.reply_timeout = read_duration(f, f.value); }},
};

}  // namespace

std::span<const Key> odmr_keys() { return kOdmrKeys; }

void validate_odmr(const Config& c, const std::string& name) {
  auto fail = [&](std::size_t line, const std::string& message) { throw ConfigError(name, line, message); };
  const bool listening = !c.listen_odmr.empty() || !c.listen_odmrs.empty();
  if (listening && c.auth.passwd_file.empty()) {
    fail(0, "[server] listen_odmr needs users to authenticate: set [auth] passwd_file");
  }
  if (listening && c.odmr.domains.empty()) {
    fail(0, "[server] listen_odmr needs domains to relay: set [odmr] domains");
  }
  for (const auto& [user, domains] : c.odmr.domains) {
    for (const std::string& d : domains) {
      // Mail for a local domain goes into Maildirs; it cannot also wait for ATRN.
      if (std::count(c.local_domains.begin(), c.local_domains.end(), d)) {
        fail(c.odmr.line, "[odmr] domains: \"" + d + "\" (for '" + user + "') is also in [local] domains");
      }
    }
  }
  if (c.odmr.reply_timeout.count() <= 0) fail(0, "[odmr] reply_timeout must be > 0");
}

}  // namespace petrel::config::detail
