// [shaping]: the limits of each site (by default, provider, domain and
// egress source), the automation rules, and the files it includes
// (etc/shaping.toml). Its tables nest, so it is read here rather than by
// the flat key lists of the other sections, and after them, so that
// [shaping.default] wins over its [delivery] aliases. docs/config.md is
// the reference.
#include <algorithm>
#include <filesystem>
#include <map>

#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kShapingKeys[] = {"include", "default", "domain", "provider", "source", "rule"};
constexpr std::string_view kLimitKeys[] = {"connection_limit", "max_connection_rate", "max_deliveries_per_connection",
                                           "max_message_rate"};
constexpr std::string_view kBlockKeys[] = {"connection_limit", "max_connection_rate", "max_deliveries_per_connection",
                                           "max_message_rate", "scope"};
constexpr std::string_view kProviderKeys[] = {"mx_suffix", "connection_limit", "max_connection_rate",
                                              "max_deliveries_per_connection", "max_message_rate", "scope"};
constexpr std::string_view kScopes[] = {"local", "cluster"};
constexpr std::string_view kRuleKeys[] = {"provider", "domain", "match", "action", "duration", "set", "trigger"};
constexpr std::string_view kActions[] = {"suspend", "set"};

// ---- Values ----

shaping::Rate read_rate(const Field& f) {
  constexpr std::string_view expected = "a rate such as \"500/min\", \"50/s\", \"10/h\", or \"0\" for no limit";
  if (auto i = f.value.as_integer(); i && i->get() == 0) return shaping::Rate{};
  auto s = f.value.as_string();
  if (!s) f.fail(expected);
  auto rate = shaping::parse_rate(s->get());
  if (!rate) f.fail(expected);
  return *rate;
}

// Provider and source names: printable ASCII without spaces.
bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// ".yahoodns.net", or "yahoodns.net" (that name and the names under it).
bool valid_suffix(std::string_view s) { return !s.empty() && valid_domain(s.front() == '.' ? s.substr(1) : s); }

// How a block is named in messages: [shaping.domain."gmail.com"].
std::string block_name(std::string_view kind, std::string_view name) {
  const bool bare = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  const std::string quoted = bare && !name.empty() ? std::string(name) : "\"" + std::string(name) + "\"";
  return "shaping." + std::string(kind) + "." + quoted;
}

const toml::table& table_of(const Field& f, std::string_view expected) {
  auto table = f.value.as_table();
  if (!table) f.fail(expected);
  return *table;
}

// One limit key into `limits`; false if `key` is not a limit.
bool read_limit(const Field& f, shaping::Limits& limits) {
  if (f.key == "connection_limit") {
    limits.connection_limit = read_count(f, 1, 10000);
  } else if (f.key == "max_connection_rate") {
    limits.max_connection_rate = read_rate(f);
  } else if (f.key == "max_deliveries_per_connection") {
    limits.max_deliveries_per_connection = read_count(f, 1);
  } else if (f.key == "max_message_rate") {
    limits.max_message_rate = read_rate(f);
  } else {
    return false;
  }
  return true;
}

// scope = "cluster": the block's limits are shared by the nodes of the
// cluster (kept in Redis, docs/cluster.md), whatever order its keys come in.
bool read_scope(const Field& f) { return read_choice(f, kScopes) == 1; }

void scope_limits(shaping::Limits& limits, bool cluster) {
  limits.cluster.connection_limit = cluster && limits.connection_limit;
  limits.cluster.max_connection_rate = cluster && limits.max_connection_rate;
  limits.cluster.max_message_rate = cluster && limits.max_message_rate;
}

// A block of limits only: [shaping.default], [shaping.domain."D"],
// [shaping.source."NAME"] (with their scope), and a rule's set = { ... }
// (without: what a rule sets is the node's own).
shaping::Limits read_limits(const std::string& file, const std::string& name, const toml::table& table,
                            bool with_scope = true) {
  shaping::Limits limits;
  bool cluster = false;
  for (const auto& [key, value] : table) {
    const Field f{file, name, key.str(), value};
    if (with_scope && key.str() == "scope") {
      cluster = read_scope(f);
    } else if (!read_limit(f, limits)) {
      unknown_key(file, key, value, name, with_scope ? std::span<const std::string_view>(kBlockKeys) : kLimitKeys);
    }
  }
  scope_limits(limits, cluster);
  return limits;
}

// A table's entries in file order (TOML tables are kept sorted by key),
// for blocks whose order matters or whose later spelling wins.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [key, value] : table) entries.emplace_back(&key, &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return line_of_key(*a.first, *a.second) < line_of_key(*b.first, *b.second);
  });
  return entries;
}

// ---- Loading, across included files ----

class ShapingLoader {
 public:
  explicit ShapingLoader(Config& c) : c_(c) {}

  void read(const std::string& file, const toml::table& shaping) {
    including_.push_back(identity(file));
    if (const toml::node* include = shaping.get("include")) read_includes(file, *include);
    for (const auto& [key, value] : shaping) {
      const Field f{file, "shaping", key.str(), value};
      if (key.str() == "include") continue;
      if (key.str() == "default") {
        c_.shaping.defaults.overlay(read_limits(file, "shaping.default", table_of(f, "a table ([shaping.default])")));
      } else if (key.str() == "domain") {
        read_domains(f);
      } else if (key.str() == "provider") {
        read_providers(f);
      } else if (key.str() == "source") {
        read_sources(f);
      } else if (key.str() == "rule") {
        read_rules(f);
      } else {
        unknown_in_shaping(file, key, value);
      }
    }
    including_.pop_back();
  }

  // What can be checked only once every file is read: a rule may name a
  // provider or domain defined in a later file.
  void finish() {
    for (const Origin& origin : provider_origins_) {
      const shaping::Provider& p = *std::find_if(c_.shaping.providers.begin(), c_.shaping.providers.end(),
                                                 [&](const auto& p) { return p.name == origin.name; });
      if (p.mx_suffix.empty()) {
        throw ConfigError(origin.file, origin.line,
                          "[" + block_name("provider", p.name) +
                              "] has no mx_suffix (the endings of its MX host names, such as [\".yahoodns.net\"])");
      }
    }
    for (const Origin& target : rule_targets_) check_rule_target(target);
    // The old [delivery] names still read the defaults (remote delivery).
    if (auto n = c_.shaping.defaults.connection_limit) c_.remote.destination_concurrency = *n;
    if (auto n = c_.shaping.defaults.max_deliveries_per_connection) c_.remote.messages_per_connection = *n;
  }

 private:
  // Where something was written, for errors found at the end.
  struct Origin {
    std::string name;  // a provider; or a rule's provider or domain
    std::string file;
    std::size_t line;
    shaping::Rule::Scope scope = shaping::Rule::Scope::provider;
  };

  // A file as include loops compare it.
  static std::string identity(const std::string& file) {
    std::error_code ec;
    fs::path path = fs::weakly_canonical(file, ec);
    if (ec) path = fs::absolute(file, ec).lexically_normal();
    return path.string();
  }

  [[noreturn]] static void unknown_in_shaping(const std::string& file, const toml::key& key, const toml::node& value) {
    std::string message = value.is_table() ? "unknown table [shaping." + std::string(key.str()) + "]"
                                           : "unknown key '" + std::string(key.str()) + "' in [shaping]";
    if (auto guess = closest(key.str(), kShapingKeys); !guess.empty()) {
      message += value.is_table() ? " (did you mean [shaping." + std::string(guess) + "]?)"
                                  : " (did you mean '" + std::string(guess) + "'?)";
    }
    throw ConfigError(file, line_of_key(key, value), message);
  }

  // include = ["a.toml", ...]: each read, in order, before this file's own
  // blocks; paths relative to this file's directory.
  void read_includes(const std::string& file, const toml::node& include) {
    const Field f{file, "shaping", "include", include};
    const auto paths = read_array<std::pair<std::string, std::size_t>>(
        f, "file names such as [\"shaping.toml\"]", true, [&](const toml::node& n) {
          return std::make_pair(read_string(f, n, non_empty, "a file name such as \"shaping.toml\""), line_of(n));
        });
    for (const auto& [name, line] : paths) {
      const std::string path = (fs::path(file).parent_path() / name).string();
      const std::string id = identity(path);
      if (std::find(including_.begin(), including_.end(), id) != including_.end()) {
        std::string message = "[shaping] include of \"" + name + "\" is a loop: ";
        message += path;
        message += " is already being read";
        throw ConfigError(file, line, message);
      }
      read_included_file(file, line, path);
    }
  }

  void read_included_file(const std::string& from, std::size_t line, const std::string& path) {
    // Not a directory, device or pipe: /dev/stdin would wait for ever.
    std::error_code ec;
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
      throw ConfigError(from, line, "[shaping] include: " + path + " is not a regular file");
    }
    std::string text;
    std::string error;
    if (!read_text_file(path, text, error)) throw ConfigError(from, line, "[shaping] include: " + error);
    toml::table root;
    try {
      root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
      throw ConfigError(path, e.source().begin.line, std::string(e.description()));
    }
    for (const auto& [key, value] : root) {
      if (key.str() != "shaping") {
        throw ConfigError(path, line_of_key(key, value),
                          "a file included by [shaping] holds only [shaping], not '" + std::string(key.str()) + "'");
      }
      auto table = value.as_table();
      if (!table)
        throw ConfigError(path, line_of(value), "'shaping' must be a table ([shaping]), got " + describe(value));
      read(path, *table);
    }
  }

  // [shaping.domain."gmail.com"]: the limits of the site that gmail.com's
  // MX hosts make up.
  void read_domains(const Field& f) {
    for (const auto& [key, value] :
         in_file_order(table_of(f, "a table of domains ([shaping.domain.\"example.com\"])"))) {
      const std::string name = block_name("domain", key->str());
      if (!valid_domain(key->str())) {
        throw ConfigError(f.file, line_of_key(*key, *value),
                          "[" + name + "] must be named by a domain such as \"example.com\" (A-labels for IDNs)");
      }
      const Field block{f.file, "shaping.domain", key->str(), *value};
      c_.shaping.domains[normalize_domain(key->str())].overlay(
          read_limits(f.file, name, table_of(block, "a table of limits")));
    }
  }

  // [shaping.source."NAME"]: the limits of the connections that go out
  // from that egress source.
  void read_sources(const Field& f) {
    for (const auto& [key, value] : in_file_order(table_of(f, "a table of sources ([shaping.source.\"NAME\"])"))) {
      const std::string name = block_name("source", key->str());
      if (!valid_name(key->str())) {
        throw ConfigError(f.file, line_of_key(*key, *value), "[" + name + "] must be named without spaces");
      }
      const Field block{f.file, "shaping.source", key->str(), *value};
      c_.shaping.sources[std::string(key->str())].overlay(
          read_limits(f.file, name, table_of(block, "a table of limits")));
    }
  }

  // [shaping.provider.NAME]: every site whose MX hosts all end with one of
  // its mx_suffix. Kept in file order: the first provider that fits wins.
  void read_providers(const Field& f) {
    for (const auto& [key, value] : in_file_order(table_of(f, "a table of providers ([shaping.provider.NAME])"))) {
      const std::string name = block_name("provider", key->str());
      const std::size_t line = line_of_key(*key, *value);
      if (!valid_name(key->str())) throw ConfigError(f.file, line, "[" + name + "] must be named without spaces");
      const std::string_view provider_name = key->str();  // (clang 14 cannot capture a structured binding)
      auto p = std::find_if(c_.shaping.providers.begin(), c_.shaping.providers.end(),
                            [&](const auto& p) { return p.name == provider_name; });
      if (p == c_.shaping.providers.end()) {
        c_.shaping.providers.push_back(shaping::Provider{std::string(key->str()), {}, {}});
        provider_origins_.push_back(Origin{std::string(key->str()), f.file, line});
        p = std::prev(c_.shaping.providers.end());
      }
      const Field block{f.file, "shaping.provider", key->str(), *value};
      shaping::Limits limits;
      bool cluster = false;
      for (const auto& [k, v] : table_of(block, "a table ([" + name + "])")) {
        const Field field{f.file, name, k.str(), v};
        if (k.str() == "scope") {
          cluster = read_scope(field);
        } else if (k.str() == "mx_suffix") {
          p->mx_suffix = read_array<std::string>(
              field, "MX host name endings such as \".yahoodns.net\"", false, [&](const toml::node& n) {
                return normalize_domain(
                    read_string(field, n, valid_suffix, "an MX host name ending such as \".yahoodns.net\""));
              });
        } else if (!read_limit(field, limits)) {
          unknown_key(f.file, k, v, name, kProviderKeys);
        }
      }
      scope_limits(limits, cluster);
      p->limits.overlay(limits);
    }
  }

  void read_rules(const Field& f) {
    constexpr std::string_view expected = "an array of tables ([[shaping.rule]])";
    auto rules = f.value.as_array();
    if (!rules) f.fail(expected);
    for (const toml::node& rule : *rules) {
      auto table = rule.as_table();
      if (!table) f.fail(rule, expected);
      read_rule(f.file, *table);
    }
  }

  // [[shaping.rule]]: when a reply of a site in scope matches, suspend the
  // site or set its limits for a while.
  void read_rule(const std::string& file, const toml::table& table) {
    const std::size_t line = line_of(table);
    shaping::Rule rule;
    rule.origin = file + ":" + std::to_string(line);
    const toml::node* provider = nullptr;
    const toml::node* domain = nullptr;
    const toml::node* set = nullptr;
    const toml::node* action = nullptr;
    bool has_match = false;
    bool has_duration = false;
    for (const auto& [key, value] : table) {
      const Field f{file, "[shaping.rule]", key.str(), value};  // complains as [[shaping.rule]]
      if (key.str() == "provider") {
        provider = &value;
        rule.scope = shaping::Rule::Scope::provider;
        rule.target = read_string(f, value, valid_name, "the name of a [shaping.provider]");
      } else if (key.str() == "domain") {
        domain = &value;
        rule.scope = shaping::Rule::Scope::domain;
        rule.target = normalize_domain(read_string(f, value, valid_domain, "a domain such as \"gmail.com\""));
      } else if (key.str() == "match") {
        has_match = true;
        read_match(f, rule);
      } else if (key.str() == "action") {
        action = &value;
        rule.action = read_choice(f, kActions) == 0 ? shaping::Rule::Action::suspend : shaping::Rule::Action::set;
      } else if (key.str() == "duration") {
        has_duration = true;
        rule.duration = read_duration(f, value);
      } else if (key.str() == "set") {
        set = &value;
        rule.set = read_limits(file, "shaping.rule.set",
                               table_of(f, "a table of limits such as { connection_limit = 1 }"), false);
        if (rule.set == shaping::Limits{}) {
          throw ConfigError(file, line_of(value),
                            "[[shaping.rule]] set = {} sets no limit; give at least one of " +
                                std::string(kLimitKeys[0]) + ", " + std::string(kLimitKeys[1]) + ", " +
                                std::string(kLimitKeys[2]) + ", " + std::string(kLimitKeys[3]));
        }
      } else if (key.str() == "trigger") {
        rule.trigger = read_rate(f);
      } else {
        unknown_key(file, key, value, "[shaping.rule]", kRuleKeys);
      }
    }
    auto fail = [&](std::size_t at, const std::string& message) {
      throw ConfigError(file, at, "[[shaping.rule]] " + message);
    };
    if (provider && domain) {
      fail(std::max(line_of(*provider), line_of(*domain)),
           "names both a provider and a domain; give one (or neither, for every site)");
    }
    if (!has_match) fail(line, "has no match (a regular expression over the reply, such as '\\[TSS04\\]')");
    if (!action) fail(line, "has no action (\"suspend\" or \"set\")");
    if (!has_duration) fail(line, "has no duration (how long its action lasts, such as \"2h\")");
    if (rule.action == shaping::Rule::Action::suspend && set) {
      fail(line_of(*set), "has set = { ... } with action = \"suspend\"; set is for action = \"set\"");
    }
    if (rule.action == shaping::Rule::Action::set && !set) {
      fail(line_of(*action), "has action = \"set\" but no set = { ... } (the limits to set)");
    }
    if (provider || domain) {
      rule_targets_.push_back(Origin{rule.target, file, line_of(provider ? *provider : *domain), rule.scope});
    }
    c_.shaping.rules.push_back(std::move(rule));
  }

  static void read_match(const Field& f, shaping::Rule& rule) {
    rule.pattern = read_string(f, f.value, non_empty, "a regular expression such as '\\[TSS04\\]'");
    try {
      rule.regex = std::regex(rule.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw ConfigError(f.file, line_of(f.value),
                        "[[shaping.rule]] match must be an ECMAScript regular expression, got " + describe(f.value) +
                            " (" + e.what() + ")");
    }
  }

  // A rule names an existing provider, or a domain with a block of its
  // own: a misspelt name would leave a rule that never fires.
  void check_rule_target(const Origin& target) const {
    std::vector<std::string_view> known;
    if (target.scope == shaping::Rule::Scope::provider) {
      for (const auto& p : c_.shaping.providers) known.push_back(p.name);
    } else {
      for (const auto& [domain, limits] : c_.shaping.domains) known.push_back(domain);
    }
    if (std::find(known.begin(), known.end(), target.name) != known.end()) return;
    std::string message = target.scope == shaping::Rule::Scope::provider
                              ? "[[shaping.rule]] provider \"" + target.name + "\" is not a [shaping.provider]"
                              : "[[shaping.rule]] domain \"" + target.name + "\" has no [" +
                                    block_name("domain", target.name) + "] block";
    if (auto guess = closest(target.name, known); !guess.empty()) {
      message += " (did you mean \"" + std::string(guess) + "\"?)";
    }
    throw ConfigError(target.file, target.line, message);
  }

  Config& c_;
  std::vector<std::string> including_;  // the files being read, outermost first
  std::vector<Origin> provider_origins_;
  std::vector<Origin> rule_targets_;
};

}  // namespace

void apply_shaping(const std::string& file, const toml::table& shaping, Config& c) {
  ShapingLoader loader(c);
  loader.read(file, shaping);
  loader.finish();
}

}  // namespace petrel::config::detail
