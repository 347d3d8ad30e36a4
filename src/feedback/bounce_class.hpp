// Bounce classification: what a receiver's failure reply means, as one of a
// few categories that the queue, the suppression list and the reports can
// act on. Rules match the basic code, the enhanced status code (RFC 3463)
// and the text; the first rule that matches wins. The shipped rules are
// etc/bounce_rules.toml, compiled in; an operator's file comes before them.
// No I/O except load_rules_file(). docs/bounces.md is the reference.
#pragma once

#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace petrel::feedback {

// The names (to_string) are an external interface: rule files, logs, the
// [bounces] suppress list and reports use them. Do not rename.
enum class Category {
  invalid_recipient,  // the mailbox does not exist or is disabled
  bad_domain,         // the recipient's domain does not exist or takes no mail
  mailbox_full,       // over quota
  message_too_big,    // over the receiver's size limit
  spam_block,         // the content was judged spam, phishing or malware
  policy,             // refused by a local policy (relay, sender, headers)
  reputation,         // the sending IP or domain is blocklisted or rate-limited
  auth_failure,       // SPF, DKIM, DMARC, reverse DNS or SMTP AUTH failed
  dns_failure,        // a temporary DNS failure
  transient,          // any other temporary failure
  unknown,            // no rule matched
};

std::string_view to_string(Category category);
std::optional<Category> category_from_string(std::string_view name);
// Every category, in the order above.
std::span<const Category> all_categories();

// One rule. An empty condition matches anything; a rule has at least one.
struct Rule {
  std::string code;      // basic reply code: "550", or with x wildcards, "5xx", "55x"
  std::string enhanced;  // enhanced status code: "5.1.1", or with x wildcards, "5.7.x", "x.2.2"
  std::string regex;     // ECMAScript, case-insensitive, searched for in the text
  Category category = Category::unknown;
  std::string origin;    // "FILE:LINE" where it was written; "" for rules made in code
};

// Why the rule cannot be used ("enhanced must be ..."), or "" if it can.
// The regex is checked by compiling it.
std::string check_rule(const Rule& rule);

class Classifier {
 public:
  // At most this much of a reply's text is searched: libstdc++'s regex
  // recurses per character and would overflow the stack on a long input.
  static constexpr std::size_t kMaxText = 1000;

  Classifier() = default;  // no rules: everything is unknown
  // Compiles every rule's regex once. Throws std::invalid_argument naming
  // the rule if check_rule() finds fault with one (a programmer error:
  // load_rules() reports a bad file as FILE:LINE instead).
  explicit Classifier(std::vector<Rule> rules);

  // Appends a rule; false with the reason in `error` (as check_rule()).
  bool add(Rule rule, std::string& error);
  // Appends `later`'s rules after this one's: an operator's rules, then
  // the shipped ones.
  void append(const Classifier& later);

  // code: the basic reply code (550). enhanced: "5.1.1" or "" for none.
  // text: the reply's text, without the code and enhanced code of its
  // first line.
  Category classify(int code, std::string_view enhanced, std::string_view text) const;
  // A reply as one string: "550-5.1.1 text", "550 text", or a DSN's
  // Diagnostic-Code "smtp; 550 5.1.1 text" (RFC 3464 §2.3.6).
  Category classify(std::string_view reply) const;
  // The first rule that matches, or null (unknown).
  const Rule* match(int code, std::string_view enhanced, std::string_view text) const;

  std::span<const Rule> rules() const { return rules_; }

 private:
  std::vector<Rule> rules_;
  std::vector<std::optional<std::regex>> regexes_;  // rules_[i]'s, compiled
};

// Whether a failure of this category takes the recipient off future
// mailings. By default only invalid_recipient and bad_domain: the address
// cannot work, whereas a full mailbox or a blocklisting can end.
inline constexpr Category kSuppressedByDefault[] = {Category::invalid_recipient, Category::bad_domain};
bool suppresses(Category category, std::span<const Category> suppressing = kSuppressedByDefault);

// ---- Rule files (TOML) ----

// A rule file: [[rule]] tables with code, enhanced, regex and category.
// nullopt with "NAME:LINE: reason" in `error` for bad TOML, an unknown key,
// an unknown category, a bad code or regex, or a rule with nothing to match.
std::optional<Classifier> load_rules(std::string_view toml_text, std::string_view source_name, std::string& error);
// The same from a file (the one function here that does I/O).
std::optional<Classifier> load_rules_file(const std::string& path, std::string& error);

// The shipped rules: the text of etc/bounce_rules.toml as built in, and
// the classifier it makes.
std::string_view default_rules_text();
const Classifier& default_classifier();

}  // namespace petrel::feedback
