#include "aliases/alias_files.hpp"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/idn.hpp"

namespace petrel::aliases {
namespace {

// An alias file is the operator's, but a runaway one must not eat memory.
constexpr std::size_t kMaxFileSize = 64u << 20;
// :include: files may include others (sendmail does), this deep at most.
constexpr std::size_t kMaxIncludeDepth = 8;

bool read_file(const std::string& path, std::string& text, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("cannot read: ") + std::strerror(errno);
    return false;
  }
  std::ostringstream out;
  out << in.rdbuf();
  text = out.str();
  if (in.bad()) {
    error = "cannot read";
    return false;
  }
  if (text.size() > kMaxFileSize) {
    error = "larger than 64 MiB";
    return false;
  }
  return true;
}

class Loader {
 public:
  explicit Loader(const Files& files) : files_(files) {}

  Loaded run() {
    auto tables = std::make_shared<Tables>();
    if (!files_.aliases.empty()) load_aliases(*tables);
    if (!files_.virtual_aliases.empty()) load_virtual(*tables);
    out_.tables = std::move(tables);
    return std::move(out_);
  }

 private:
  void load_aliases(Tables& tables) {
    std::string text, error;
    if (!read_file(files_.aliases, text, error)) return out_.errors.push_back({{files_.aliases, 0}, error});
    Parsed parsed = parse_aliases(text, files_.aliases);
    move_errors(parsed);
    for (Entry& e : parsed.entries) {
      std::vector<std::string> chain;
      e.targets = resolve(e.targets, e.origin.file, chain);
      check_commands(e);
      const auto [it, inserted] = tables.aliases.emplace(e.key, e);
      if (!inserted) duplicate(e, it->second);
    }
  }

  void load_virtual(Tables& tables) {
    std::string text, error;
    if (!read_file(files_.virtual_aliases, text, error)) {
      return out_.errors.push_back({{files_.virtual_aliases, 0}, error});
    }
    Parsed parsed = parse_virtual(text, files_.virtual_aliases);
    move_errors(parsed);
    for (Entry& e : parsed.entries) {
      const auto at = e.key.find('@');
      const std::string domain = util::ascii_domain(at == std::string::npos ? e.key : e.key.substr(at + 1));
      tables.virtual_domains.insert(domain);
      if (at == std::string::npos) continue;  // only names the domain
      e.key = e.key.substr(0, at + 1) + domain;
      const auto [it, inserted] = tables.virtual_map.emplace(e.key, e);
      if (!inserted) duplicate(e, it->second);
    }
  }

  // The targets with every :include: replaced by the file's targets.
  std::vector<Target> resolve(const std::vector<Target>& targets, const std::string& file,
                              std::vector<std::string>& chain) {
    std::vector<Target> out;
    for (const Target& t : targets) {
      if (t.kind != Target::Kind::include) {
        out.push_back(t);
        continue;
      }
      const Origin at{file, t.line};
      if (std::find(chain.begin(), chain.end(), t.value) != chain.end() || chain.size() >= kMaxIncludeDepth) {
        out_.errors.push_back({at, ":include: " + t.value + ": includes itself or nests deeper than " +
                                       std::to_string(kMaxIncludeDepth)});
        continue;
      }
      std::string text, error;
      if (!read_file(t.value, text, error)) {
        out_.errors.push_back({at, ":include: " + t.value + ": " + error});
        continue;
      }
      Parsed parsed = parse_include(text, t.value);
      move_errors(parsed);
      chain.push_back(t.value);
      for (Target& inner : resolve(parsed.entries.front().targets, t.value, chain)) out.push_back(std::move(inner));
      chain.pop_back();
    }
    return out;
  }

  void check_commands(const Entry& e) {
    if (files_.allow_commands) return;
    for (const Target& t : e.targets) {
      if (t.kind != Target::Kind::command && t.kind != Target::Kind::file) continue;
      out_.refused.push_back({{e.origin.file, e.origin.line},
                              "alias '" + e.key + "': " + (t.kind == Target::Kind::command ? "pipe '|" : "file '") +
                                  t.value + "' while [local] allow_commands is off"});
    }
  }

  void duplicate(const Entry& again, const Entry& first) {
    out_.errors.push_back({again.origin, "'" + again.key + "' is defined again (first at line " +
                                             std::to_string(first.origin.line) + ")"});
  }

  void move_errors(Parsed& parsed) {
    for (auto& e : parsed.errors) out_.errors.push_back(std::move(e));
  }

  const Files& files_;
  Loaded out_;
};

}  // namespace

Loaded load(const Files& files) { return Loader(files).run(); }

}  // namespace petrel::aliases
