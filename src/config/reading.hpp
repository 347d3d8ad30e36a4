// Reading and checking configuration values: shared by the sections of
// config.cpp and security_sections.cpp. Internal to src/config/.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace petrel::config::detail {

// ---- Syntax checks shared by the TOML loader and validate() ----
bool parse_unsigned(std::string_view s, std::uint64_t& out);
std::string lower(std::string_view s);
bool valid_domain(std::string_view d);
std::string normalize_domain(std::string_view d);
bool valid_listen(std::string_view s);
bool valid_delimiter(std::string_view s);
bool valid_user(std::string_view u);
bool non_empty(std::string_view s);
inline constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
bool valid_log_level(std::string_view s);

// ---- "Did you mean" ----
// Lower case, '-' as '_': "Max-Sessions" is meant as "max_sessions".
std::string fold(std::string_view s);
// The candidate closest to `word`, if close enough to be a likely typo; "".
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);

// ---- Reading TOML values ----
// The whole file; false with "cannot read PATH: REASON" in `error`.
bool read_text_file(const std::string& path, std::string& text, std::string& error);
std::size_t line_of(const toml::node& n);
std::size_t line_of_key(const toml::key& k, const toml::node& value);
std::string describe(const toml::node& n);

// One key's value being read, with what is needed to complain about it.
struct Field {
  const std::string& file;
  std::string_view section;
  std::string_view key;
  const toml::node& value;

  [[noreturn]] void fail(const toml::node& at, std::string_view expected) const;
  [[noreturn]] void fail(std::string_view expected) const { fail(value, expected); }
};

std::string read_string(const Field& f, const toml::node& n, bool (*valid)(std::string_view),
                        std::string_view expected);
std::string read_path(const Field& f);
bool read_bool(const Field& f);
std::uint64_t read_count(const Field& f, std::uint64_t min,
                         std::uint64_t max = std::numeric_limits<std::int64_t>::max());
std::chrono::milliseconds read_duration(const Field& f, const toml::node& n);
std::uint64_t read_size(const Field& f, std::uint64_t min);
std::size_t read_choice(const Field& f, std::span<const std::string_view> choices);

// Each element of an array through read_one, which receives the element.
template <typename T, typename ReadOne>
std::vector<T> read_array(const Field& f, std::string_view what, bool allow_empty, ReadOne read_one) {
  auto a = f.value.as_array();
  if (!a) f.fail("an array of " + std::string(what));
  if (a->empty() && !allow_empty) f.fail("a non-empty array of " + std::string(what));
  std::vector<T> out;
  for (const toml::node& element : *a) out.push_back(read_one(element));
  return out;
}

// An array of "ADDR:PORT" strings without duplicates; may be empty.
std::vector<std::string> read_listen_list(const Field& f);

// "unknown key 'K' in [IN]", with "did you mean" among `known`, at the key's line.
[[noreturn]] void unknown_key(const std::string& file, const toml::key& key, const toml::node& value,
                              std::string_view in, std::span<const std::string_view> known);

// ---- The keys of a section ----
using Apply = void (*)(const Field&, Config&);
struct Key {
  std::string_view name;
  Apply apply;
};

// security_sections.cpp: [tls], [auth], [relay], [submission], [rate].
std::span<const Key> tls_keys();
std::span<const Key> auth_keys();
std::span<const Key> relay_keys();
std::span<const Key> submission_keys();
std::span<const Key> rate_keys();
void validate_security(const Config& c, const std::string& name);
// odmr_sections.cpp: [odmr].
std::span<const Key> odmr_keys();
void validate_odmr(const Config& c, const std::string& name);

// delivery_sections.cpp: [delivery], [dns], [admin].
std::span<const Key> delivery_keys();
std::span<const Key> dns_keys();
std::span<const Key> admin_keys();
std::span<const Key> queue_keys();
std::span<const Key> bulk_keys();   // [bulk]: campaign and tenant header fields  // [queue]: the scheduler's bounds and when a site is down
void validate_delivery(const Config& c, const std::string& name);

// http_sections.cpp: [http].
std::span<const Key> http_keys();
std::span<const Key> unsubscribe_keys();
std::span<const Key> bounces_keys();
void validate_http(const Config& c, const std::string& name);

// shaping_sections.cpp: [shaping] and the files it includes, read after
// every other section (its nested tables are not a flat list of keys).
void apply_shaping(const std::string& file, const toml::table& shaping, Config& c);
// egress_sections.cpp: [egress], its [[egress.source]] and [[egress.pool]].
void apply_egress(const std::string& file, const toml::table& egress, Config& c);
void validate_egress(const Config& c, const std::string& name);
// events_sections.cpp: [events].
std::span<const Key> events_keys();
std::span<const Key> auth_checks_keys();  // [auth_checks], also in events_sections.cpp
// cluster_sections.cpp: [cluster].
std::span<const Key> cluster_keys();
void validate_cluster(const Config& c, const std::string& name);
// dkim_sections.cpp: the [[dkim]] array of tables.
void apply_dkim(const std::string& file, const toml::node& dkim, Config& c);

}  // namespace petrel::config::detail
