// [[dkim]]: the keys outgoing mail is signed with, one table per key
// (domain, selector, key_file, algorithm, headers). The key files are
// loaded by petreld at start, where a bad one is a configuration error too.
// docs/dkim.md.
#include <algorithm>
#include <set>

#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

constexpr std::string_view kDkimKeys[] = {"domain", "selector", "key_file", "algorithm", "headers"};
constexpr std::string_view kAlgorithms[] = {"rsa-sha256", "ed25519-sha256"};

bool valid_selector(std::string_view s) {
  // One or more DNS labels (RFC 6376 §3.1).
  return !s.empty() && s.size() <= 63 * 4 && valid_domain(s);
}

bool valid_field_name(std::string_view s) {
  return !s.empty() && s.size() <= 76 && std::all_of(s.begin(), s.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

DkimKey read_key(const std::string& file, const toml::table& table, std::size_t line) {
  DkimKey key;
  key.line = line;
  for (const auto& [name, value] : table) {
    const Field f{file, "dkim", name.str(), value};
    if (f.key == "domain") {
      key.domain = normalize_domain(read_string(f, value, valid_domain, "the domain of the From: addresses it signs"));
    } else if (f.key == "selector") {
      key.selector = read_string(f, value, valid_selector, "a selector such as \"s2026\"");
    } else if (f.key == "key_file") {
      key.key_file = read_path(f);
    } else if (f.key == "algorithm") {
      key.algorithm = std::string(kAlgorithms[read_choice(f, kAlgorithms)]);
    } else if (f.key == "headers") {
      key.headers = read_array<std::string>(f, "header field names", false, [&](const toml::node& n) {
        return lower(read_string(f, n, valid_field_name, "a header field name such as \"List-Unsubscribe\""));
      });
    } else {
      unknown_key(file, name, value, "[dkim]", kDkimKeys);
    }
  }
  const auto missing = [&](const char* what) {
    throw ConfigError(file, line, std::string("[[dkim]] needs ") + what);
  };
  if (key.domain.empty()) missing("a domain");
  if (key.selector.empty()) missing("a selector");
  if (key.key_file.empty()) missing("a key_file (petrel dkim keygen makes one)");
  return key;
}

}  // namespace

void apply_dkim(const std::string& file, const toml::node& value, Config& c) {
  auto array = value.as_array();
  if (!array || !array->is_array_of_tables()) {
    throw ConfigError(file, line_of(value), "dkim must be an array of tables: [[dkim]] domain = ..., selector = ...");
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const toml::node& element : *array) {
    DkimKey key = read_key(file, *element.as_table(), line_of(element));
    if (!seen.insert({key.domain, key.algorithm}).second) {
      throw ConfigError(file, key.line,
                        "a second " + key.algorithm + " key for " + key.domain + " (one per algorithm and domain)");
    }
    c.dkim.push_back(std::move(key));
  }
}

}  // namespace petrel::config::detail
