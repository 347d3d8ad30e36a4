#include "catch/script_file.hpp"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace petrel::catcher {
namespace {

constexpr std::string_view kKeys =
    "command, mail, rcpt, nth, after_messages, probability, first_attempt_only; and one of reply, delay, close, "
    "require_tls";

// The preset: docs/petrel-catch.md shows this text, and a test checks that
// the two agree.
constexpr std::string_view kProviderLike = R"(# provider-like: a busy big provider.
# Greylisting: the first try of each (client address, sender, recipient).
[[rule]]
command = "RCPT"
first_attempt_only = true
reply = "451 4.7.1 Greylisted, please try again later"

# Busy: one recipient in ten is deferred.
[[rule]]
command = "RCPT"
probability = 0.1
reply = "451 4.7.1 Service busy, please try again later"

# Volume: after 10 messages in a connection, the next MAIL gets a 421,
# and the connection is closed.
[[rule]]
command = "MAIL"
after_messages = 10
reply = "421 4.7.0 [TSS04] Messages from this client temporarily deferred due to unexpected volume"
)";

std::size_t line_of(const toml::node& n) { return n.source().begin.line; }

class RuleReader {
 public:
  RuleReader(std::string_view source, const toml::table& table) : source_(source), line_(line_of(table)) {
    rule_.line = line_;
    for (const auto& [key, value] : table) read_key(key, value);
  }

  Rule take() {
    if (actions_ == 0) fail(line_, "has no action: give one of reply, delay, close = true or require_tls = true");
    check_consistency();
    return std::move(rule_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& message) const {
    std::string where(source_);
    if (line != 0) where += ":" + std::to_string(line);
    throw ScriptError(where + ": [[rule]] " + message);
  }

  std::string string_of(std::string_view key, const toml::node& value, std::size_t line) const {
    const auto s = value.value<std::string>();
    if (!value.is_string() || !s) fail(line, std::string(key) + " must be a string");
    return *s;
  }

  bool true_of(std::string_view key, const toml::node& value, std::size_t line) const {
    if (!value.is_boolean()) fail(line, std::string(key) + " must be true or false");
    if (!*value.value<bool>()) fail(line, std::string(key) + " = false is no action: write " + std::string(key) + " = true, or leave it out");
    return true;
  }

  std::int64_t integer_of(std::string_view key, const toml::node& value, std::size_t line, std::int64_t min) const {
    if (!value.is_integer()) fail(line, std::string(key) + " must be a whole number");
    const std::int64_t n = *value.value<std::int64_t>();
    if (n < min || n > 1'000'000'000) fail(line, std::string(key) + " must be from " + std::to_string(min) + " to 1000000000");
    return n;
  }

  void action(std::size_t line) {
    if (++actions_ > 1) fail(line, "has more than one action: reply, delay, close and require_tls exclude each other");
  }

  void read_key(const toml::key& key, const toml::node& value) {
    const std::size_t line = key.source().begin.line != 0 ? key.source().begin.line : line_of(value);
    const std::string_view k = key.str();
    if (k == "command") {
      const std::string name = string_of(k, value, line);
      rule_.command = point_from_name(name);
      if (!rule_.command) {
        fail(line, "command \"" + name + "\" is not one of connect, EHLO (or HELO), MAIL, RCPT, DATA, BDAT, end-of-data");
      }
      command_line_ = line;
    } else if (k == "mail") {
      rule_.mail = string_of(k, value, line);
    } else if (k == "rcpt") {
      rule_.rcpt = string_of(k, value, line);
    } else if (k == "nth") {
      rule_.nth = static_cast<std::uint32_t>(integer_of(k, value, line, 1));
    } else if (k == "after_messages") {
      rule_.after_messages = static_cast<std::uint64_t>(integer_of(k, value, line, 0));
    } else if (k == "probability") {
      const auto p = value.value<double>();
      if (!(value.is_floating_point() || value.is_integer()) || !p || *p < 0 || *p > 1) {
        fail(line, "probability must be a number from 0 to 1");
      }
      rule_.probability = *p;
    } else if (k == "first_attempt_only") {
      if (!value.is_boolean()) fail(line, "first_attempt_only must be true or false");
      rule_.first_attempt_only = *value.value<bool>();
    } else if (k == "reply") {
      action(line);
      std::string error;
      const auto reply = parse_script_reply(string_of(k, value, line), error);
      if (!reply) fail(line, "reply: " + error);
      rule_.action.kind = Action::Kind::reply;
      rule_.action.reply = *reply;
    } else if (k == "delay") {
      action(line);
      const auto delay = parse_script_delay(string_of(k, value, line));
      if (!delay) fail(line, "delay must be a duration with its unit, from 0ms to 10m: \"500ms\", \"2s\", \"1m\"");
      rule_.action.kind = Action::Kind::delay;
      rule_.action.delay = *delay;
    } else if (k == "close") {
      action(line);
      true_of(k, value, line);
      rule_.action.kind = Action::Kind::close;
    } else if (k == "require_tls") {
      action(line);
      true_of(k, value, line);
      rule_.action.kind = Action::Kind::require_tls;
    } else {
      fail(line, "unknown key \"" + std::string(k) + "\" (known: " + std::string(kKeys) + ")");
    }
  }

  // Combinations that could never hold, said now rather than silently never firing.
  void check_consistency() const {
    using smtp::HookPoint;
    const std::size_t line = command_line_ != 0 ? command_line_ : line_;
    const auto is = [&](HookPoint p) { return rule_.command && *rule_.command == p; };
    const std::string command = rule_.command ? std::string(point_name(*rule_.command)) : "";
    if (rule_.first_attempt_only && rule_.command && !is(HookPoint::rcpt)) {
      fail(line, "first_attempt_only holds only at RCPT, not at " + command);
    }
    if (rule_.rcpt && (is(HookPoint::connect) || is(HookPoint::ehlo) || is(HookPoint::mail))) {
      fail(line, "rcpt cannot hold at " + command + ", before any RCPT");
    }
    if (rule_.mail && (is(HookPoint::connect) || is(HookPoint::ehlo))) {
      fail(line, "mail cannot hold at " + command + ", before MAIL");
    }
    if (rule_.action.kind == Action::Kind::require_tls &&
        (is(HookPoint::connect) || is(HookPoint::ehlo) || is(HookPoint::end_of_data))) {
      fail(line, "require_tls answers MAIL, RCPT, DATA or BDAT, not " + command);
    }
    if (rule_.action.kind == Action::Kind::reply && rule_.action.reply.code / 100 == 2) {
      if (is(HookPoint::connect) && rule_.action.reply.code != 220) {
        fail(line, "a greeting that is not a refusal is a 220");
      }
      if (is(HookPoint::data)) fail(line, "DATA's own reply is 354, which a 2xx reply cannot replace");
    }
  }

  std::string_view source_;
  std::size_t line_;
  std::size_t command_line_ = 0;
  int actions_ = 0;
  Rule rule_;
};

}  // namespace

Script parse_script(std::string_view text, std::string_view source) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ScriptError(std::string(source) + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  }
  Script script;
  script.source = std::string(source);
  for (const auto& [key, value] : doc) {
    if (key.str() != "rule") {
      throw ScriptError(std::string(source) + ":" + std::to_string(key.source().begin.line) + ": unknown key \"" +
                        std::string(key.str()) + "\": a script is a list of [[rule]] tables");
    }
    const toml::array* rules = value.as_array();
    if (rules == nullptr || !rules->is_array_of_tables()) {
      throw ScriptError(std::string(source) + ":" + std::to_string(key.source().begin.line) +
                        ": rule must be written as [[rule]] tables");
    }
    for (const auto& element : *rules) script.rules.push_back(RuleReader(source, *element.as_table()).take());
  }
  if (script.rules.empty()) throw ScriptError(std::string(source) + ": no [[rule]] tables: the script would do nothing");
  return script;
}

Script load_script(const std::string& path) {
  if (path == "provider-like") return parse_script(kProviderLike, "provider-like");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScriptError(path + ": cannot read the script");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_script(text.str(), path);
}

std::string_view provider_like_toml() { return kProviderLike; }

}  // namespace petrel::catcher
