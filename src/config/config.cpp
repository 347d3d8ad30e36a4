// Loading petreld's TOML configuration over the defaults of config.hpp.
//
// Each section is a list of keys, each with a small function that checks
// the value's type and range and stores it. Every complaint names the file,
// the line of the offending value and what was expected, so an operator can
// fix the file without reading this code. docs/config.md is the reference.
#include "config/config.hpp"
#include "config/reading.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <set>
#include <span>

namespace petrel::config {

namespace {

using namespace detail;
using std::chrono::milliseconds;

std::string where(const std::string& file, std::size_t line) {
  return line == 0 ? file : file + ":" + std::to_string(line);
}

// ---- The keys of each section ----

const Key kServerKeys[] = {
    {"hostname",
     [](const Field& f, Config& c) {
       c.hostname = read_string(f, f.value, valid_domain, "a domain name such as \"mx.example.com\"");
       c.session.hostname = c.hostname;
     }},
    {"listen",
     [](const Field& f, Config& c) {
       constexpr std::string_view what = "\"ADDR:PORT\" strings (\"0.0.0.0:25\", \"[::1]:25\", \"localhost:2525\")";
       std::set<std::string> seen;
       c.listen = read_array<std::string>(f, what, false, [&](const toml::node& n) {
         std::string s = read_string(f, n, valid_listen,
                                     "\"ADDR:PORT\" with an IPv4 address, [IPv6] address or "
                                     "localhost and a port from 1 to 65535");
         if (!seen.insert(s).second) f.fail(n, "free of duplicates");
         return s;
       });
     }},
    {"max_sessions", [](const Field& f, Config& c) { c.max_sessions = read_count(f, 1); }},
    {"max_sessions_per_ip", [](const Field& f, Config& c) { c.max_sessions_per_ip = read_count(f, 1); }},
    {"ipv6_client_prefix",
     [](const Field& f, Config& c) { c.ipv6_client_prefix = static_cast<unsigned>(read_count(f, 1, 128)); }},
    {"threads",
     [](const Field& f, Config& c) {
       c.threads = static_cast<unsigned>(read_count(f, 0, std::numeric_limits<unsigned>::max()));
     }},
    {"listen_submission", [](const Field& f, Config& c) { c.listen_submission = read_listen_list(f); }},
    {"listen_smtps", [](const Field& f, Config& c) { c.listen_smtps = read_listen_list(f); }},
    {"listen_odmr", [](const Field& f, Config& c) { c.listen_odmr = read_listen_list(f); }},
    {"listen_odmrs", [](const Field& f, Config& c) { c.listen_odmrs = read_listen_list(f); }},
    {"user", [](const Field& f, Config& c) { c.user = read_string(f, f.value, valid_user, "a user name"); }},
};

const Key kLimitsKeys[] = {
    {"max_message_size", [](const Field& f, Config& c) { c.session.limits.max_message_size = read_size(f, 1024); }},
    {"max_recipients", [](const Field& f, Config& c) { c.session.limits.max_recipients = read_count(f, 1); }},
    {"max_command_line", [](const Field& f, Config& c) { c.session.limits.max_command_line = read_count(f, 512); }},
    {"max_text_line",
     [](const Field& f, Config& c) {
       auto i = f.value.as_integer();
       if (!i || (i->get() != 0 && i->get() < 1000)) f.fail("0 (no limit) or a whole number ≥ 1000");
       c.session.limits.max_text_line = static_cast<std::size_t>(i->get());
     }},
    {"max_errors", [](const Field& f, Config& c) { c.session.limits.max_errors = read_count(f, 1); }},
    {"max_hops", [](const Field& f, Config& c) { c.session.limits.max_hops = read_count(f, 0, 1000); }},
    {"body_in_memory",
     [](const Field& f, Config& c) { c.session.limits.body_in_memory = static_cast<std::size_t>(read_size(f, 16 << 10)); }},
    {"body_memory_budget", [](const Field& f, Config& c) { c.body_memory_budget = read_size(f, 1 << 20); }},
};

const Key kTimeoutsKeys[] = {
    {"command", [](const Field& f, Config& c) { c.session.limits.command_timeout = read_duration(f, f.value); }},
    {"data", [](const Field& f, Config& c) { c.session.limits.data_timeout = read_duration(f, f.value); }},
};

constexpr std::string_view kBareLineEndings[] = {"reject", "normalize"};
constexpr std::string_view kExpn[] = {"refuse", "252"};
constexpr std::string_view kUnknownRecipient[] = {"accept", "reject"};

const Key kSmtpKeys[] = {
    {"bare_line_endings",
     [](const Field& f, Config& c) {
       c.session.bare_line_endings = read_choice(f, kBareLineEndings) == 0 ? smtp::BareLineEndingPolicy::reject
                                                                           : smtp::BareLineEndingPolicy::normalize;
     }},
    {"expn",
     [](const Field& f, Config& c) {
       // expn = 252 (unquoted) means the same as "252".
       if (auto i = f.value.as_integer(); i && i->get() == 252) {
         c.session.expn = smtp::ExpnPolicy::answer_252;
         return;
       }
       c.session.expn = read_choice(f, kExpn) == 0 ? smtp::ExpnPolicy::refuse : smtp::ExpnPolicy::answer_252;
     }},
};

const Key kLocalKeys[] = {
    {"domains",
     [](const Field& f, Config& c) {
       c.local_domains = read_array<std::string>(f, "domain names", false, [&](const toml::node& n) {
         return normalize_domain(read_string(f, n, valid_domain, "a domain name such as \"example.com\""));
       });
     }},
    {"maildir", [](const Field& f, Config& c) { c.maildir = read_path(f); }},
    {"users",
     [](const Field& f, Config& c) {
       c.local_users = read_array<std::string>(f, "user names", true, [&](const toml::node& n) {
         // Mailbox names are looked up lower-cased (delivery/local_routing.hpp).
         return lower(read_string(f, n, valid_user, "a user name (local part) without spaces or '@'"));
       });
     }},
    {"unknown_recipient",
     [](const Field& f, Config& c) {
       c.unknown_local_recipient =
           read_choice(f, kUnknownRecipient) == 0 ? UnknownLocalRecipient::accept : UnknownLocalRecipient::reject;
     }},
    {"recipient_delimiter",
     [](const Field& f, Config& c) {
       c.recipient_delimiter =
           read_string(f, f.value, valid_delimiter, "\"\" or one printable ASCII character such as \"+\"");
     }},
    // docs/aliases.md
    {"aliases", [](const Field& f, Config& c) { c.aliases.aliases_file = read_path(f); }},
    {"virtual_aliases", [](const Field& f, Config& c) { c.aliases.virtual_file = read_path(f); }},
    {"allow_commands", [](const Field& f, Config& c) { c.aliases.allow_commands = read_bool(f); }},
    {"alias_max_depth", [](const Field& f, Config& c) { c.aliases.max_depth = read_count(f, 1, 1000); }},
    {"alias_max_recipients",
     [](const Field& f, Config& c) { c.aliases.max_recipients = read_count(f, 1, 1'000'000); }},
    {"command_timeout", [](const Field& f, Config& c) { c.aliases.command_timeout = read_duration(f, f.value); }},
    {"command_output_limit", [](const Field& f, Config& c) { c.aliases.command_output_limit = read_size(f, 0); }},
};

constexpr std::string_view kMaildropSenders[] = {"any", "own"};

const Key kSpoolKeys[] = {
    {"dir", [](const Field& f, Config& c) { c.spool_dir = read_path(f); }},
    {"min_free_space", [](const Field& f, Config& c) { c.spool_min_free = read_size(f, 0); }},
    {"maildrop", [](const Field& f, Config& c) { c.maildrop = read_path(f); }},
    {"maildrop_senders",
     [](const Field& f, Config& c) { c.maildrop_own_senders = read_choice(f, kMaildropSenders) == 1; }},
    {"maildrop_scan_interval",
     [](const Field& f, Config& c) {
       c.maildrop_scan_interval = read_duration(f, f.value);
       if (c.maildrop_scan_interval < std::chrono::seconds(1)) f.fail("a duration of at least 1s");
     }},
};

const Key kLogKeys[] = {
    {"level", [](const Field& f, Config& c) { c.log_level = kLogLevels[read_choice(f, kLogLevels)]; }},
};

struct Section {
  std::string_view name;
  std::span<const Key> keys;
};

const Section kSections[] = {
    {"server", kServerKeys},         {"limits", kLimitsKeys},
    {"timeouts", kTimeoutsKeys},     {"smtp", kSmtpKeys},
    {"local", kLocalKeys},           {"spool", kSpoolKeys},
    {"delivery", delivery_keys()},   {"log", kLogKeys},
    {"tls", tls_keys()},             {"auth", auth_keys()},
    {"relay", relay_keys()},         {"submission", submission_keys()},
    {"rate", rate_keys()},           {"dns", dns_keys()},
    {"admin", admin_keys()},         {"queue", queue_keys()},
    {"bulk", bulk_keys()},           {"http", http_keys()},
    {"unsubscribe", unsubscribe_keys()}, {"bounces", bounces_keys()},
    {"events", events_keys()},       {"auth_checks", auth_checks_keys()},
    {"odmr", odmr_keys()},           {"cluster", cluster_keys()},
    {"shaping", {}},  // nested tables: read by apply_shaping() (shaping_sections.cpp)
    {"egress", {}},   // arrays of tables: read by apply_egress() (egress_sections.cpp)
    {"dkim", {}},     // an array of tables: read by apply_dkim() (dkim_sections.cpp)
};

template <typename T>
std::vector<std::string_view> names_of(std::span<const T> items) {
  std::vector<std::string_view> names;
  for (const T& item : items) names.push_back(item.name);
  return names;
}

// Where an unknown key would have been right, if anywhere.
std::string hint_for_key(std::string_view key, const Section& in) {
  for (const Section& section : kSections) {
    if (fold(key) == section.name) {
      return " ([" + std::string(section.name) + "] is a section of its own, not part of [" + std::string(in.name) + "])";
    }
  }
  if (auto guess = closest(key, names_of(in.keys)); !guess.empty()) {
    return " (did you mean '" + std::string(guess) + "'?)";
  }
  for (const Section& other : kSections) {
    for (const Key& k : other.keys) {
      if (fold(key) == k.name) return " ('" + std::string(k.name) + "' belongs in [" + std::string(other.name) + "])";
    }
  }
  return "";
}

void apply_section(const std::string& file, const Section& section, const toml::table& table, Config& c) {
  for (const auto& [key, value] : table) {
    const std::string_view name = key.str();  // (clang 14 cannot capture a structured binding)
    auto known = std::find_if(section.keys.begin(), section.keys.end(), [&](const Key& k) { return k.name == name; });
    if (known == section.keys.end()) {
      const std::string what =
          value.is_table() ? "unknown table [" + std::string(section.name) + "." + std::string(key.str()) + "]"
                           : "unknown key '" + std::string(key.str()) + "' in [" + std::string(section.name) + "]";
      throw ConfigError(file, line_of_key(key, value), what + hint_for_key(key.str(), section));
    }
    known->apply(Field{file, section.name, known->name, value}, c);
  }
}

void apply_document(const std::string& file, const toml::table& root, Config& c) {
  const std::vector<std::string_view> section_names = names_of(std::span<const Section>(kSections));
  const toml::table* shaping = nullptr;
  for (const auto& [key, value] : root) {
    const std::string_view name = key.str();
    auto section =
        std::find_if(std::begin(kSections), std::end(kSections), [&](const Section& s) { return s.name == name; });
    if (section == std::end(kSections)) {
      std::string message = "unknown " + std::string(value.is_table() ? "table [" : "key '") + std::string(key.str()) +
                            (value.is_table() ? "]" : "'");
      if (auto guess = closest(key.str(), section_names); !guess.empty()) {
        message += " (did you mean [" + std::string(guess) + "]?)";
      } else if (!value.is_table()) {
        message += " (settings go in a section such as [server])";
      }
      throw ConfigError(file, line_of_key(key, value), message);
    }
    if (section->name == "dkim") {
      apply_dkim(file, value, c);
      continue;
    }
    auto table = value.as_table();
    if (!table) {
      throw ConfigError(file, line_of_key(key, value),
                        "'" + std::string(key.str()) + "' must be a table ([" + std::string(key.str()) + "]), got " +
                            describe(value));
    }
    if (section->name == "shaping") {
      shaping = table;
    } else if (section->name == "egress") {
      apply_egress(file, *table, c);
    } else {
      apply_section(file, *section, *table, c);
    }
  }
  // [shaping] last, so that what it sets wins over the [delivery] aliases.
  if (shaping) apply_shaping(file, *shaping, c);
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

ConfigError::ConfigError(std::string file, std::size_t line, const std::string& message)
    : std::runtime_error(where(file, line) + ": " + message), file_(std::move(file)), line_(line) {}

Config default_config() {
  Config c;
  c.hostname = host_name();
  c.session.hostname = c.hostname;
  c.cluster.node_name = c.hostname;
  return c;
}

std::string maildrop_dir(const Config& c) { return c.maildrop.empty() ? c.spool_dir + "/maildrop" : c.maildrop; }

Config load_config_text(std::string_view toml, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(toml, name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(name, e.source().begin.line, std::string(e.description()));
  }
  Config c = default_config();
  apply_document(name, root, c);
  return c;
}

Config load_config_file(const std::string& path) {
  std::string text;
  std::string error;
  if (!read_text_file(path, text, error)) throw ConfigError(path, 0, error);
  return load_config_text(text, path);
}

bool parse_duration(std::string_view text, milliseconds& out) {
  struct Unit {
    std::string_view suffix;
    std::uint64_t ms;
  };
  // "ms" before "m" so that "1500ms" is not read as minutes.
  constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  std::uint64_t factor = 1000;  // a bare number is seconds
  std::string_view digits = text;
  for (const Unit& u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      digits = text.substr(0, text.size() - u.suffix.size());
      factor = u.ms;
      break;
    }
  }
  std::uint64_t value = 0;
  if (!parse_unsigned(digits, value)) return false;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<milliseconds::rep>::max());
  if (value > kMax / factor) return false;
  out = milliseconds(static_cast<milliseconds::rep>(value * factor));
  return true;
}

bool parse_size(std::string_view text, std::uint64_t& out) {
  // K, M, G are powers of 1024, with or without "B"/"iB": "50M" = "50MB" = "50MiB".
  std::size_t end = text.size();
  while (end > 0 && !(text[end - 1] >= '0' && text[end - 1] <= '9')) --end;
  const std::string suffix = lower(text.substr(end));
  std::uint64_t factor = 0;
  if (suffix.empty() || suffix == "b") factor = 1;
  constexpr std::pair<char, std::uint64_t> kMultipliers[] = {{'k', 1ull << 10}, {'m', 1ull << 20}, {'g', 1ull << 30}};
  for (const auto& [letter, multiplier] : kMultipliers) {
    const std::string s(1, letter);
    if (suffix == s || suffix == s + "b" || suffix == s + "ib") factor = multiplier;
  }
  std::uint64_t value = 0;
  if (factor == 0 || !parse_unsigned(text.substr(0, end), value)) return false;
  if (value > std::numeric_limits<std::uint64_t>::max() / factor) return false;
  out = value * factor;
  return true;
}

void validate(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& message) { throw ConfigError(name, 0, message); };
  if (c.hostname.empty() || !valid_domain(c.hostname)) {
    fail("[server] hostname must be a domain name, got \"" + c.hostname + "\"");
  }
  if (c.listen.empty()) fail("[server] listen must name at least one \"ADDR:PORT\"");
  for (const std::string& l : c.listen) {
    if (!valid_listen(l)) fail("[server] listen entries must be \"ADDR:PORT\", got \"" + l + "\"");
  }
  if (c.max_sessions < 1) fail("[server] max_sessions must be ≥ 1");
  if (c.max_sessions_per_ip < 1) fail("[server] max_sessions_per_ip must be ≥ 1");

  const smtp::SessionLimits& l = c.session.limits;
  if (l.max_message_size < 1024) fail("[limits] max_message_size must be ≥ 1024 bytes");
  if (l.max_recipients < 1) fail("[limits] max_recipients must be ≥ 1");
  if (l.max_command_line < 512) fail("[limits] max_command_line must be ≥ 512 (RFC 5321 §4.5.3.1.4)");
  if (l.max_text_line != 0 && l.max_text_line < 1000) {
    fail("[limits] max_text_line must be 0 or ≥ 1000 (RFC 5321 §4.5.3.1.6)");
  }
  if (l.max_errors < 1) fail("[limits] max_errors must be ≥ 1");
  if (l.command_timeout.count() <= 0) fail("[timeouts] command must be > 0");
  if (l.data_timeout.count() <= 0) fail("[timeouts] data must be > 0");

  if (c.local_domains.empty()) fail("[local] domains must name at least one domain");
  for (const std::string& d : c.local_domains) {
    if (!valid_domain(d)) fail("[local] domains entries must be domain names, got \"" + d + "\"");
  }
  if (c.maildir.empty()) fail("[local] maildir must not be empty");
  for (const std::string& u : c.local_users) {
    if (!valid_user(u)) fail("[local] users entries must be user names without spaces or '@', got \"" + u + "\"");
  }
  if (!valid_delimiter(c.recipient_delimiter)) {
    fail("[local] recipient_delimiter must be \"\" or one printable character, got \"" + c.recipient_delimiter + "\"");
  }
  if (c.spool_dir.empty()) fail("[spool] dir must not be empty");
  if (!valid_log_level(c.log_level)) {
    fail("[log] level must be one of trace, debug, info, warn, error, got \"" + c.log_level + "\"");
  }
  validate_security(c, name);
  validate_delivery(c, name);
  validate_egress(c, name);
  validate_http(c, name);
  validate_cluster(c, name);
}

}  // namespace petrel::config
