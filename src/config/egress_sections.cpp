// [egress]: the local addresses mail leaves from ([[egress.source]]), the
// pools they are picked from by weight ([[egress.pool]]), which pool a
// tenant's mail uses, and each source's warm-up schedule. docs/config.md.
#include <arpa/inet.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "config/reading.hpp"

namespace petrel::config::detail {
namespace {

constexpr std::string_view kEgressKeys[] = {"default_pool", "tenant_pool", "source", "pool"};
constexpr std::string_view kSourceKeys[] = {"name", "address", "ehlo_name", "warmup_start", "warmup"};
constexpr std::string_view kPoolKeys[] = {"name", "sources"};

bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool valid_address(std::string_view s) {
  unsigned char buf[16];
  const std::string text(s);
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool valid_day(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  const char* end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  return end != nullptr && *end == '\0';
}

std::int64_t unix_day(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  strptime(text.c_str(), "%Y-%m-%d", &tm);
  return static_cast<std::int64_t>(timegm(&tm)) / 86400;
}

const toml::array& array_of_tables(const Field& f) {
  auto a = f.value.as_array();
  if (!a || !a->is_array_of_tables()) f.fail("an array of tables ([[egress." + std::string(f.key) + "]])");
  return *a;
}

std::map<std::string, std::vector<std::uint64_t>> read_warmup(const Field& f) {
  auto table = f.value.as_table();
  if (!table) f.fail("a table of daily caps by provider, such as { default = [200, 500, 1000], yahoo = [50, 100] }");
  std::map<std::string, std::vector<std::uint64_t>> out;
  for (const auto& [key, value] : *table) {
    const Field caps{f.file, f.section, key.str(), value};
    out[std::string(key.str())] = read_array<std::uint64_t>(caps, "daily message caps (whole numbers ≥ 1)", false,
                                                            [&](const toml::node& n) {
                                                              auto i = n.as_integer();
                                                              if (!i || i->get() < 1) caps.fail(n, "a whole number ≥ 1");
                                                              return static_cast<std::uint64_t>(i->get());
                                                            });
  }
  return out;
}

EgressSource read_source(const std::string& file, const toml::table& table) {
  EgressSource source;
  bool has_start = false;
  for (const auto& [key, value] : table) {
    const Field f{file, "egress.source", key.str(), value};
    if (f.key == "name") {
      source.name = read_string(f, value, valid_name, "a name of letters, digits, '-', '_' or '.'");
    } else if (f.key == "address") {
      source.address = read_string(f, value, valid_address, "an IPv4 or IPv6 address such as \"192.0.2.10\"");
    } else if (f.key == "ehlo_name") {
      source.ehlo_name = read_string(f, value, valid_domain, "a host name such as \"mta1.example.org\"");
    } else if (f.key == "warmup_start") {
      source.warmup_start_day = unix_day(read_string(f, value, valid_day, "a date such as \"2026-12-01\""));
      has_start = true;
    } else if (f.key == "warmup") {
      source.warmup = read_warmup(f);
    } else {
      unknown_key(file, key, value, "[egress.source]", kSourceKeys);
    }
  }
  const std::size_t line = line_of(table);
  if (source.name.empty()) throw ConfigError(file, line, "[[egress.source]] needs a name");
  if (source.address.empty()) throw ConfigError(file, line, "[[egress.source]] " + source.name + " needs an address");
  if (!source.warmup.empty() && !has_start) {
    throw ConfigError(file, line, "[[egress.source]] " + source.name + ": warmup needs warmup_start (its day 1)");
  }
  return source;
}

EgressPool read_pool(const std::string& file, const toml::table& table, const std::set<std::string>& sources) {
  EgressPool pool;
  for (const auto& [key, value] : table) {
    const Field f{file, "egress.pool", key.str(), value};
    if (f.key == "name") {
      pool.name = read_string(f, value, valid_name, "a name of letters, digits, '-', '_' or '.'");
    } else if (f.key == "sources") {
      pool.sources = read_array<std::pair<std::string, unsigned>>(
          f, "{ name = \"SOURCE\", weight = N } tables", false, [&](const toml::node& n) {
            auto entry = n.as_table();
            if (!entry) f.fail(n, "{ name = \"SOURCE\", weight = N }");
            std::pair<std::string, unsigned> out{"", 1};
            for (const auto& [k, v] : *entry) {
              const Field e{file, "egress.pool", k.str(), v};
              if (e.key == "name") {
                out.first = read_string(e, v, valid_name, "the name of an [[egress.source]]");
                if (!sources.count(out.first)) e.fail(v, "the name of an [[egress.source]] defined before it");
              } else if (e.key == "weight") {
                out.second = static_cast<unsigned>(read_count(e, 1, 1000));
              } else {
                constexpr std::string_view kEntryKeys[] = {"name", "weight"};
                unknown_key(file, k, v, "[egress.pool] sources", kEntryKeys);
              }
            }
            if (out.first.empty()) f.fail(n, "{ name = \"SOURCE\", weight = N } with a name");
            return out;
          });
    } else {
      unknown_key(file, key, value, "[egress.pool]", kPoolKeys);
    }
  }
  const std::size_t line = line_of(table);
  if (pool.name.empty()) throw ConfigError(file, line, "[[egress.pool]] needs a name");
  if (pool.sources.empty()) throw ConfigError(file, line, "[[egress.pool]] " + pool.name + " needs sources");
  return pool;
}

}  // namespace

void apply_egress(const std::string& file, const toml::table& egress, Config& c) {
  // Sources before pools, whatever the order in the file: pools name them.
  if (auto sources = egress.get("source")) {
    const Field f{file, "egress", "source", *sources};
    for (const toml::node& t : array_of_tables(f)) {
      EgressSource source = read_source(file, *t.as_table());
      const bool taken = std::any_of(c.egress.sources.begin(), c.egress.sources.end(),
                                     [&](const EgressSource& s) { return s.name == source.name; });
      if (taken) throw ConfigError(file, line_of(t), "a second [[egress.source]] named " + source.name);
      c.egress.sources.push_back(std::move(source));
    }
  }
  std::set<std::string> source_names;
  for (const auto& s : c.egress.sources) source_names.insert(s.name);
  for (const auto& [key, value] : egress) {
    const Field f{file, "egress", key.str(), value};
    if (f.key == "source") continue;
    if (f.key == "pool") {
      for (const toml::node& t : array_of_tables(f)) {
        EgressPool pool = read_pool(file, *t.as_table(), source_names);
        const bool taken = std::any_of(c.egress.pools.begin(), c.egress.pools.end(),
                                       [&](const EgressPool& p) { return p.name == pool.name; });
        if (taken) throw ConfigError(file, line_of(t), "a second [[egress.pool]] named " + pool.name);
        c.egress.pools.push_back(std::move(pool));
      }
    } else if (f.key == "default_pool") {
      c.egress.default_pool = read_string(f, value, valid_name, "the name of an [[egress.pool]]");
    } else if (f.key == "tenant_pool") {
      auto table = value.as_table();
      if (!table) f.fail("a table { \"TENANT\" = \"POOL\", ... }");
      for (const auto& [tenant, pool] : *table) {
        const Field p{file, "egress.tenant_pool", tenant.str(), pool};
        c.egress.tenant_pools[std::string(tenant.str())] =
            read_string(p, pool, valid_name, "the name of an [[egress.pool]]");
      }
    } else {
      unknown_key(file, key, value, "egress", kEgressKeys);
    }
  }
}

void validate_egress(const Config& c, const std::string& name) {
  auto fail = [&](const std::string& message) { throw ConfigError(name, 0, message); };
  auto has_pool = [&](const std::string& pool) {
    return std::any_of(c.egress.pools.begin(), c.egress.pools.end(), [&](const EgressPool& p) { return p.name == pool; });
  };
  if (!c.egress.default_pool.empty() && !has_pool(c.egress.default_pool)) {
    fail("[egress] default_pool names no [[egress.pool]]: \"" + c.egress.default_pool + "\"");
  }
  for (const auto& [tenant, pool] : c.egress.tenant_pools) {
    if (!has_pool(pool)) fail("[egress.tenant_pool] " + tenant + " names no [[egress.pool]]: \"" + pool + "\"");
  }
  if (!c.egress.sources.empty() && c.egress.pools.empty()) {
    fail("[[egress.source]] is used through an [[egress.pool]]: define one");
  }
  for (const auto& entry : c.shaping.sources) {
    const std::string& source = entry.first;  // (clang 14 cannot capture a structured binding)
    const bool known = std::any_of(c.egress.sources.begin(), c.egress.sources.end(),
                                   [&](const EgressSource& s) { return s.name == source; });
    if (!known) fail("[shaping.source.\"" + source + "\"] names no [[egress.source]]");
  }
  for (const auto& s : c.egress.sources) {
    for (const auto& schedule : s.warmup) {
      const std::string& provider = schedule.first;
      const bool known = provider == "default" ||
                         std::any_of(c.shaping.providers.begin(), c.shaping.providers.end(),
                                     [&](const shaping::Provider& p) { return p.name == provider; });
      if (!known) {
        fail("[[egress.source]] " + s.name + ": warmup names no [shaping.provider." + provider +
             "] (or use \"default\")");
      }
    }
  }
}

}  // namespace petrel::config::detail
