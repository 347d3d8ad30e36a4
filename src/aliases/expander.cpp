#include "aliases/expander.hpp"

#include <algorithm>

#include "util/idn.hpp"

namespace petrel::aliases {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The local part as a table key: unquoted ("\"a b\"" names a b) and
// lower-cased (alias names are case-insensitive, as Postfix's lookups).
std::string local_key(std::string_view local_part) {
  if (local_part.size() >= 2 && local_part.front() == '"' && local_part.back() == '"') {
    local_part = local_part.substr(1, local_part.size() - 2);
  }
  std::string out;
  out.reserve(local_part.size());
  for (std::size_t i = 0; i < local_part.size(); ++i) {
    if (local_part[i] == '\\' && i + 1 < local_part.size()) ++i;
    out.push_back(ascii_lower(local_part[i]));
  }
  return out;
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// How an alias is named in a refusal or bounce: its key and where it is.
std::string describe(const Entry& e) {
  return "alias '" + e.key + "' (" + base_name(e.origin.file) + ":" + std::to_string(e.origin.line) + ")";
}

class Expander {
 public:
  Expander(const Tables& t, const delivery::LocalRouting& r, const Limits& l) : tables_(t), routing_(r), limits_(l) {}

  Expansion run(const smtp::Address& address) {
    const Entry* root = lookup(address).entry;
    if (!root) {
      if (is_virtual_domain(tables_, routing_, domain_of(address))) {
        out_.result = Expansion::Result::unknown;
        out_.error = "<" + address.str() + ">: no such address in the virtual alias table";
      }
      return std::move(out_);
    }
    out_.result = Expansion::Result::expanded;
    visit(address, 0, nullptr);
    if (!out_.error.empty()) {
      out_.result = Expansion::Result::failed;
      out_.recipients.clear();
    }
    return std::move(out_);
  }

 private:
  struct Found {
    const Entry* entry = nullptr;
    bool from_aliases = false;  // the aliases file (bare names stay in the domain)
  };

  // The bare <Postmaster> is looked up in the first local domain.
  std::string domain_of(const smtp::Address& a) const {
    if (a.domain.empty()) return routing_.local_domains.empty() ? std::string() : routing_.local_domains.front();
    return util::ascii_domain(a.domain);
  }

  std::string key_of(const smtp::Address& a) const { return local_key(a.local_part) + "@" + domain_of(a); }

  Found lookup(const smtp::Address& a) const {
    const std::string local = local_key(a.local_part);
    std::string base = local;
    if (!routing_.recipient_delimiter.empty()) {
      const auto at = base.find(routing_.recipient_delimiter);
      if (at != std::string::npos && at > 0) base.resize(at);
    }
    const std::string domain = domain_of(a);
    for (const std::string& key : {local + "@" + domain, base + "@" + domain, "@" + domain}) {
      if (auto it = tables_.virtual_map.find(key); it != tables_.virtual_map.end()) return {&it->second, false};
    }
    if (!delivery::is_local_domain(routing_, domain)) return {};
    for (const std::string& key : {local, base}) {
      if (auto it = tables_.aliases.find(key); it != tables_.aliases.end()) return {&it->second, true};
    }
    return {};
  }

  bool failed() const { return !out_.error.empty(); }

  void fail(const Entry& e, const std::string& why) {
    if (!failed()) out_.error = describe(e) + ": " + why;
  }

  void visit(const smtp::Address& address, std::size_t depth, const Entry* parent) {
    const std::string key = key_of(address);
    if (std::find(ancestors_.begin(), ancestors_.end(), key) != ancestors_.end()) {
      return final_address(address, parent, /*looped=*/true);
    }
    if (!done_.insert(key).second) return;  // expanded already, through another alias
    const Found found = lookup(address);
    if (!found.entry) return final_address(address, parent, false);
    const Entry& entry = *found.entry;
    if (depth >= limits_.max_depth) {
      return fail(entry, "aliases nested deeper than " + std::to_string(limits_.max_depth) +
                             " ([local] alias_max_depth)");
    }
    ancestors_.push_back(key);
    for (const Target& t : entry.targets) {
      if (failed()) break;
      target(t, address, found, depth);
    }
    ancestors_.pop_back();
  }

  void target(const Target& t, const smtp::Address& address, const Found& found, std::size_t depth) {
    const Entry& entry = *found.entry;
    switch (t.kind) {
      case Target::Kind::address: {
        const smtp::PathParse p = smtp::parse_path(t.value, false, true);
        if (!p.path.mailbox) return fail(entry, "'" + t.value + "' is not a valid address");
        return visit(*p.path.mailbox, depth + 1, &entry);
      }
      case Target::Kind::name: {
        const std::string domain = found.from_aliases ? domain_of(address) : domain_of({"", ""});
        if (domain.empty()) return fail(entry, "'" + t.value + "' has no domain to be in");
        return visit({t.value, domain}, depth + 1, &entry);
      }
      case Target::Kind::command:
      case Target::Kind::file:
        if (!limits_.allow_commands) {
          return fail(entry, std::string(t.kind == Target::Kind::command ? "pipe" : "file") +
                                 " targets are off ([local] allow_commands)");
        }
        return add({t.kind, address, t.value, entry.key}, entry);
      case Target::Kind::include:
        return fail(entry, ":include: " + t.value + " was not read");
    }
  }

  // An address no alias applies to, or one met again inside its own
  // expansion: a recipient, unless its domain has no mailboxes.
  void final_address(const smtp::Address& address, const Entry* parent, bool looped) {
    if (is_virtual_domain(tables_, routing_, domain_of(address))) {
      if (!parent) return;  // the root of a failed lookup is handled by run()
      return fail(*parent, looped ? "expansion loop" : "<" + address.str() + ">: no such address in the virtual alias table");
    }
    const Entry* root_entry = parent;
    add({Target::Kind::address, address, "", parent ? parent->key : ""}, root_entry ? *root_entry : dummy_);
  }

  void add(Final f, const Entry& blame) {
    const auto same = [&](const Final& o) {
      return o.kind == f.kind && o.target == f.target && key_of(o.address) == key_of(f.address);
    };
    if (std::any_of(out_.recipients.begin(), out_.recipients.end(), same)) return;
    if (out_.recipients.size() >= limits_.max_recipients) {
      return fail(blame, "more than " + std::to_string(limits_.max_recipients) +
                             " recipients ([local] alias_max_recipients)");
    }
    out_.recipients.push_back(std::move(f));
  }

  const Tables& tables_;
  const delivery::LocalRouting& routing_;
  const Limits& limits_;
  Expansion out_;
  std::vector<std::string> ancestors_;
  std::unordered_set<std::string> done_;
  Entry dummy_;
};

}  // namespace

bool is_virtual_domain(const Tables& tables, const delivery::LocalRouting& routing, std::string_view domain) {
  if (tables.virtual_domains.empty() || domain.empty()) return false;
  const std::string d = util::ascii_domain(domain);
  return tables.virtual_domains.count(d) && !delivery::is_local_domain(routing, d);
}

Expansion expand(const Tables& tables, const delivery::LocalRouting& routing, const Limits& limits,
                 const smtp::Address& address) {
  if (tables.empty()) return {};
  return Expander(tables, routing, limits).run(address);
}

}  // namespace petrel::aliases
