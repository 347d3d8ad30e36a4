// Scripted faults of petrel catch (--script, docs/petrel-catch.md): rules
// that make the server answer some commands otherwise, to test how a
// client copes. The rules and their matching are pure: the caller passes
// the facts of the moment and a random number source; no clock, socket or
// file here (loading a script is script_file.cpp's, asking at each point
// of a session is script_hook.cpp's).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"
#include "smtp/session_hook.hpp"

namespace petrel::catcher {

// A reply as a script writes it: "451 4.7.1 try later".
struct ScriptReply {
  int code = 0;
  std::string enhanced;  // "4.7.1"; "" when the text has none
  std::string text;

  // Points into this object (Status keeps a view of `enhanced`).
  smtp::Reply reply() const { return smtp::Reply(smtp::Status{code, enhanced}, text); }
  std::string str() const;  // "451 4.7.1 try later"
};

// "451 4.7.1 try later": three digits (2xx, 4xx or 5xx), a space, then
// optionally an enhanced code of the same class (RFC 3463), then the text,
// printable ASCII. nullopt with `error` set when it is not.
std::optional<ScriptReply> parse_script_reply(std::string_view text, std::string& error);

// "2s", "500ms", "1m"; nullopt when not a duration.
std::optional<std::chrono::milliseconds> parse_script_delay(std::string_view text);

struct Action {
  enum class Kind { reply, delay, close, require_tls };
  Kind kind = Kind::reply;
  ScriptReply reply;                    // Kind::reply
  std::chrono::milliseconds delay{0};   // Kind::delay

  std::string describe() const;  // "reply 451 4.7.1 try later", "delay 2000ms", "close", "require_tls"
};

struct Rule {
  std::size_t line = 0;  // of its [[rule]] in the script
  // Conditions: each one given must hold.
  std::optional<smtp::HookPoint> command;
  std::optional<std::string> mail;  // glob over the sender
  std::optional<std::string> rcpt;  // glob over the recipient(s)
  std::optional<std::uint32_t> nth;
  std::optional<std::uint64_t> after_messages;
  std::optional<double> probability;
  bool first_attempt_only = false;
  Action action;
};

struct Script {
  std::string source;  // the file, or "provider-like"
  std::vector<Rule> rules;
};

// What a rule is matched against: one point of one session.
struct Moment {
  smtp::HookPoint point = smtp::HookPoint::connect;
  std::uint32_t nth = 1;            // how many times this point came in the session, this one included
  std::optional<std::string> mail;  // the sender, without <> ("" for the null sender); none before MAIL
  std::vector<std::string> rcpts;   // at RCPT the recipient; later the transaction's recipients
  std::uint64_t messages = 0;       // messages accepted in this session before now
  bool tls = false;
  bool first_attempt = false;       // at RCPT: the (client, sender, recipient) triple is new to this process
};

struct Decision {
  std::size_t rule = 0;  // 1-based, in the script's order
  const Rule* matched = nullptr;
};

// The first rule whose conditions all hold. `random` gives a number in
// [0, 1); it is drawn once for each rule with a probability whose other
// conditions hold, and the condition holds when the number is below it.
std::optional<Decision> decide(const Script& script, const Moment& moment, const std::function<double()>& random);

// What the session is to do for a rule's action.
smtp::HookOverride override_for(const Action& action);

// fnmatch-style, case-insensitive: `*` any run, `?` one character,
// `[abc]`/`[a-z]`/`[!a]` one of a set; `\` takes the next character as it is.
bool glob_match(std::string_view pattern, std::string_view text);

// "connect", "EHLO", "end-of-data"...: how a point is written in a script
// and a report.
std::string_view point_name(smtp::HookPoint point);
std::optional<smtp::HookPoint> point_from_name(std::string_view name);  // case-insensitive; HELO is EHLO

}  // namespace petrel::catcher
