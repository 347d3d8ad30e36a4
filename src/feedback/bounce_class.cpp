// Bounce classification: the categories, the rules' conditions, and the
// first-match-wins classifier.
#include "feedback/bounce_class.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace petrel::feedback {
namespace {

constexpr Category kAll[] = {
    Category::invalid_recipient, Category::bad_domain,   Category::mailbox_full, Category::message_too_big,
    Category::spam_block,        Category::policy,       Category::reputation,   Category::auth_failure,
    Category::dns_failure,       Category::transient,    Category::unknown,
};
constexpr std::string_view kNames[] = {
    "invalid_recipient", "bad_domain", "mailbox_full", "message_too_big", "spam_block", "policy",
    "reputation",        "auth_failure", "dns_failure", "transient",      "unknown",
};
static_assert(std::size(kAll) == std::size(kNames));

constexpr int kAny = -1;  // an 'x' in a pattern

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_x(char c) { return c == 'x' || c == 'X'; }

// ---- Basic reply codes: "550", "5xx" (RFC 5321 §4.2: 2-5, 0-5, 0-9) ----

bool valid_code_pattern(std::string_view p) {
  if (p.size() != 3) return false;
  constexpr char kMaxDigit[] = {'5', '5', '9'};
  for (std::size_t i = 0; i < 3; ++i) {
    if (is_x(p[i])) continue;
    if (!is_digit(p[i]) || p[i] > kMaxDigit[i] || (i == 0 && p[i] < '2')) return false;
  }
  return true;
}

bool code_matches(std::string_view pattern, int code) {
  if (pattern.empty()) return true;
  if (code < 100 || code > 999) return false;
  const std::string digits = std::to_string(code);
  for (std::size_t i = 0; i < 3; ++i) {
    if (!is_x(pattern[i]) && pattern[i] != digits[i]) return false;
  }
  return true;
}

// ---- Enhanced status codes: class.subject.detail (RFC 3463 §2) ----

using Enhanced = std::array<int, 3>;

// One component: 1-3 digits (the class: one of 2, 4, 5), or 'x' if allowed.
bool read_component(std::string_view s, std::size_t index, bool allow_x, int& out) {
  if (allow_x && s.size() == 1 && is_x(s[0])) {
    out = kAny;
    return true;
  }
  if (s.empty() || s.size() > 3 || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  out = 0;
  for (char c : s) out = out * 10 + (c - '0');
  return index != 0 || (s.size() == 1 && (out == 2 || out == 4 || out == 5));
}

std::optional<Enhanced> parse_enhanced(std::string_view s, bool allow_x) {
  Enhanced e{};
  for (std::size_t i = 0; i < 3; ++i) {
    const std::size_t dot = i < 2 ? s.find('.') : std::string_view::npos;
    if (i < 2 && dot == std::string_view::npos) return std::nullopt;
    if (!read_component(s.substr(0, dot), i, allow_x, e[i])) return std::nullopt;
    s = i < 2 ? s.substr(dot + 1) : std::string_view{};
  }
  return e;
}

bool enhanced_matches(std::string_view pattern, std::string_view enhanced) {
  if (pattern.empty()) return true;
  const auto want = parse_enhanced(pattern, true);
  const auto got = parse_enhanced(enhanced, false);
  if (!want || !got) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    if ((*want)[i] != kAny && (*want)[i] != (*got)[i]) return false;
  }
  return true;
}

// ---- Text ----

// The text as the regexes see it: at most kMaxText octets, with the line
// breaks of a multi-line reply as spaces, so that a phrase a server wrapped
// ("unusual rate of\r\nunsolicited mail") still matches.
std::string searchable(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), Classifier::kMaxText));
  for (char c : text.substr(0, Classifier::kMaxText)) {
    if (c == '\n') {
      out += ' ';
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

std::regex compile(const std::string& pattern) {
  return std::regex(pattern, std::regex::ECMAScript | std::regex::icase);
}

std::string bad_regex(const Rule& rule, const std::regex_error& e) {
  return "regex must be an ECMAScript regular expression, got \"" + rule.regex + "\" (" + e.what() + ")";
}

// What check_rule() checks, except the regex (compiled by its caller).
std::string check_conditions(const Rule& rule) {
  if (rule.code.empty() && rule.enhanced.empty() && rule.regex.empty()) {
    return "has nothing to match: give code, enhanced or regex";
  }
  if (!rule.code.empty() && !valid_code_pattern(rule.code)) {
    return "code must be a reply code such as \"550\" or a pattern such as \"5xx\", got \"" + rule.code + "\"";
  }
  if (!rule.enhanced.empty() && !parse_enhanced(rule.enhanced, true)) {
    return "enhanced must be an enhanced status code such as \"5.1.1\" or a pattern such as \"5.7.x\", got \"" +
           rule.enhanced + "\"";
  }
  return {};
}

// ---- A reply as one string ----

struct ReplyLine {
  int code = 0;
  std::string_view enhanced;
  std::string_view text;
};

// "550-5.1.1 text" is {550, "5.1.1", "text"}; a line without a code is text.
ReplyLine split_line(std::string_view line) {
  ReplyLine out{0, {}, line};
  if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, is_digit)) return out;
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return out;
  out.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  line.remove_prefix(std::min<std::size_t>(4, line.size()));
  const std::size_t space = line.find(' ');
  if (parse_enhanced(line.substr(0, space), false)) {
    out.enhanced = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  }
  out.text = line;
  return out;
}

std::string_view skip_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// A DSN's Diagnostic-Code names its type first: "smtp; 550 ...".
std::string_view without_diagnostic_type(std::string_view s) {
  s = skip_spaces(s);
  constexpr std::string_view kSmtp = "smtp;";
  if (s.size() >= kSmtp.size() &&
      std::equal(kSmtp.begin(), kSmtp.end(), s.begin(), [](char a, char b) { return a == (b | 0x20); })) {
    s = skip_spaces(s.substr(kSmtp.size()));
  }
  return s;
}

}  // namespace

std::string_view to_string(Category category) {
  const auto i = static_cast<std::size_t>(category);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

std::optional<Category> category_from_string(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) return kAll[i];
  }
  return std::nullopt;
}

std::span<const Category> all_categories() { return kAll; }

std::string check_rule(const Rule& rule) {
  if (std::string error = check_conditions(rule); !error.empty()) return error;
  if (!rule.regex.empty()) {
    try {
      compile(rule.regex);
    } catch (const std::regex_error& e) {
      return bad_regex(rule, e);
    }
  }
  return {};
}

Classifier::Classifier(std::vector<Rule> rules) {
  for (Rule& rule : rules) {
    std::string what = rule.origin.empty() ? std::string("a rule") : rule.origin;
    std::string error;
    if (!add(std::move(rule), error)) throw std::invalid_argument(what.append(": ").append(error));
  }
}

bool Classifier::add(Rule rule, std::string& error) {
  if (error = check_conditions(rule); !error.empty()) return false;
  std::optional<std::regex> regex;
  if (!rule.regex.empty()) {
    try {
      regex = compile(rule.regex);
    } catch (const std::regex_error& e) {
      error = bad_regex(rule, e);
      return false;
    }
  }
  rules_.push_back(std::move(rule));
  regexes_.push_back(std::move(regex));
  return true;
}

void Classifier::append(const Classifier& later) {
  rules_.insert(rules_.end(), later.rules_.begin(), later.rules_.end());
  regexes_.insert(regexes_.end(), later.regexes_.begin(), later.regexes_.end());
}

const Rule* Classifier::match(int code, std::string_view enhanced, std::string_view text) const {
  std::optional<std::string> subject;  // made on the first rule that needs it
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (!code_matches(rule.code, code) || !enhanced_matches(rule.enhanced, enhanced)) continue;
    if (regexes_[i]) {
      if (!subject) subject = searchable(text);
      if (!std::regex_search(*subject, *regexes_[i])) continue;
    }
    return &rule;
  }
  return nullptr;
}

Category Classifier::classify(int code, std::string_view enhanced, std::string_view text) const {
  const Rule* rule = match(code, enhanced, text);
  return rule ? rule->category : Category::unknown;
}

Category Classifier::classify(std::string_view reply) const {
  reply = without_diagnostic_type(reply);
  ReplyLine first;
  std::string text;
  for (bool at_first = true; !reply.empty() && text.size() < kMaxText; at_first = false) {
    const std::size_t eol = reply.find('\n');
    std::string_view line = reply.substr(0, eol);
    reply = eol == std::string_view::npos ? std::string_view{} : reply.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const ReplyLine parts = split_line(line);
    if (at_first) first = parts;
    if (!text.empty()) text += ' ';
    text += parts.text;
  }
  return classify(first.code, first.enhanced, text);
}

bool suppresses(Category category, std::span<const Category> suppressing) {
  return std::find(suppressing.begin(), suppressing.end(), category) != suppressing.end();
}

}  // namespace petrel::feedback
