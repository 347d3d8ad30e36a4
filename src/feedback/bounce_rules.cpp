// Rule files: [[rule]] tables in TOML, read into a Classifier with errors
// as "FILE:LINE: reason"; and the shipped rules, built in from
// etc/bounce_rules.toml.
#include <toml++/toml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "feedback/bounce_class.hpp"

namespace petrel::feedback {
namespace detail {
// Generated from etc/bounce_rules.toml (src/feedback/default_rules.cpp.in).
extern const std::string_view kDefaultRulesToml;
}  // namespace detail

namespace {

constexpr std::string_view kRuleKeys = "code, enhanced, regex, category";

// Where a rule-file problem is, and what it is.
class RuleFileError {
 public:
  RuleFileError(std::string_view file, std::size_t line, const std::string& message) : text_(file) {
    if (line != 0) text_.append(":").append(std::to_string(line));
    text_.append(": ").append(message);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::size_t line_of(const toml::node& n) { return n.source().begin.line; }

std::string category_list() {
  std::string out;
  for (Category c : all_categories()) out += (out.empty() ? "" : ", ") + std::string(to_string(c));
  return out;
}

// A rule being read: its fields, and the lines they were written on.
class RuleReader {
 public:
  RuleReader(std::string_view file, const toml::table& table) : file_(file), line_(line_of(table)) {
    rule_.origin = std::string(file) + ":" + std::to_string(line_);
    for (const auto& [key, value] : table) read_key(key, value);
  }

  Rule take() {
    if (rule_.code.empty() && rule_.enhanced.empty() && rule_.regex.empty()) {
      fail(line_, "has nothing to match: give code, enhanced or regex");
    }
    if (!has_category_) fail(line_, "has no category (one of " + category_list() + ")");
    return std::move(rule_);
  }
  std::size_t regex_line() const { return regex_line_; }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    throw RuleFileError(file_, line, "[[rule]] " + message);
  }

  void read_key(const toml::key& key, const toml::node& value) {
    const std::size_t line = key.source().begin.line != 0 ? key.source().begin.line : line_of(value);
    if (key.str() == "code") {
      rule_.code = read_code(value);
      check(line, Rule{.code = rule_.code});
    } else if (key.str() == "enhanced") {
      rule_.enhanced = read_string(key, value);
      check(line, Rule{.enhanced = rule_.enhanced});
    } else if (key.str() == "regex") {
      rule_.regex = read_string(key, value);
      regex_line_ = line;
    } else if (key.str() == "category") {
      const std::string name = read_string(key, value);
      const auto category = category_from_string(name);
      if (!category) fail(line, "category must be one of " + category_list() + ", got \"" + name + "\"");
      rule_.category = *category;
      has_category_ = true;
    } else {
      fail(line, "has an unknown key '" + std::string(key.str()) + "' (a rule has " + std::string(kRuleKeys) + ")");
    }
  }

  // code = "550", "5xx", or the number 550.
  std::string read_code(const toml::node& value) const {
    if (auto n = value.as_integer()) return std::to_string(n->get());
    if (auto s = value.as_string(); s && !s->get().empty()) return s->get();
    fail(line_of(value), "code must be a reply code such as \"550\" or a pattern such as \"5xx\"");
  }

  std::string read_string(const toml::key& key, const toml::node& value) const {
    auto s = value.as_string();
    if (!s || s->get().empty()) fail(line_of(value), std::string(key.str()) + " must be a non-empty string");
    return s->get();
  }

  void check(std::size_t line, const Rule& one_condition) const {
    if (std::string error = check_rule(one_condition); !error.empty()) fail(line, error);
  }

  std::string_view file_;
  std::size_t line_;
  Rule rule_;
  bool has_category_ = false;
  std::size_t regex_line_ = 0;
};

Classifier read_rules(std::string_view file, const toml::table& root) {
  Classifier classifier;
  for (const auto& [key, value] : root) {
    const std::size_t line = key.source().begin.line;
    if (key.str() != "rule") {
      throw RuleFileError(file, line,
                          "unknown key '" + std::string(key.str()) + "' (a rule file holds only [[rule]] tables)");
    }
    auto rules = value.as_array();
    if (!rules) throw RuleFileError(file, line, "'rule' must be an array of tables ([[rule]])");
    for (const toml::node& element : *rules) {
      auto table = element.as_table();
      if (!table) throw RuleFileError(file, line_of(element), "'rule' must be an array of tables ([[rule]])");
      RuleReader reader(file, *table);
      std::string error;
      // The one fault left for add() to find is a regex that does not compile.
      if (!classifier.add(reader.take(), error)) throw RuleFileError(file, reader.regex_line(), "[[rule]] " + error);
    }
  }
  return classifier;
}

}  // namespace

std::optional<Classifier> load_rules(std::string_view toml_text, std::string_view source_name, std::string& error) {
  try {
    const toml::table root = toml::parse(toml_text, source_name);
    return read_rules(source_name, root);
  } catch (const toml::parse_error& e) {
    error = RuleFileError(source_name, e.source().begin.line, std::string(e.description())).text();
  } catch (const RuleFileError& e) {
    error = e.text();
  }
  return std::nullopt;
}

std::optional<Classifier> load_rules_file(const std::string& path, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno != 0) {
    error = "cannot read " + path + ": " + std::strerror(read_errno);
    return std::nullopt;
  }
  return load_rules(text, path, error);
}

std::string_view default_rules_text() { return detail::kDefaultRulesToml; }

const Classifier& default_classifier() {
  static const Classifier classifier = [] {
    std::string error;
    auto loaded = load_rules(default_rules_text(), "etc/bounce_rules.toml (built in)", error);
    // The built-in file is checked by the unit tests: a fault is a build defect.
    if (!loaded) throw std::logic_error(error);
    return std::move(*loaded);
  }();
  return classifier;
}

}  // namespace petrel::feedback
