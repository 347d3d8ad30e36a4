// The script at work in one session: the server session asks at each
// point (smtp::SessionHook), this gathers the facts, decides with the
// script's rules and tells the session what to do, keeping a record of
// what it injected for the transcript and the report. No I/O: the random
// numbers come from the caller, and a delay is performed by the caller.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "catch/script.hpp"
#include "smtp/server_session.hpp"

namespace petrel::catcher {

// What the whole catch process remembers across sessions: the
// (client address, sender, recipient) triples seen at RCPT, for
// first_attempt_only. Bounded: past `capacity` the oldest are forgotten.
class ScriptMemory {
 public:
  explicit ScriptMemory(std::size_t capacity = 100'000) : capacity_(capacity) {}
  bool seen(const std::string& triple) const { return triples_.count(triple) > 0; }
  void remember(const std::string& triple);

 private:
  std::size_t capacity_;
  std::set<std::string> triples_;
  std::deque<std::string> order_;
};

// One action the script took, as the report lists it.
struct ScriptedAction {
  std::size_t rule = 0;  // 1-based
  std::size_t line = 0;  // of the rule in the script
  std::string command;   // point_name(): "RCPT"
  std::string action;    // Action::describe(): "reply 451 4.7.1 try later"
};

class ScriptHook final : public smtp::SessionHook {
 public:
  // The script and memory outlive the hook. `random` gives numbers in [0, 1).
  ScriptHook(const Script& script, ScriptMemory& memory, std::function<double()> random);

  smtp::HookOverride at(smtp::HookPoint point, std::string_view argument, const smtp::ServerSession& session) override;

  const std::vector<ScriptedAction>& actions() const { return actions_; }
  // The actions since the last call, for the transcript.
  std::vector<ScriptedAction> take_new();

 private:
  Moment moment(smtp::HookPoint point, std::string_view argument, const smtp::ServerSession& session) const;

  const Script& script_;
  ScriptMemory& memory_;
  std::function<double()> random_;
  std::array<std::uint32_t, 7> counts_{};  // by HookPoint
  std::vector<ScriptedAction> actions_;
  std::size_t shown_ = 0;
};

}  // namespace petrel::catcher
