#include "catch/script_hook.hpp"
#include "util/ascii.hpp"

#include <algorithm>
#include <cctype>

namespace petrel::catcher {
namespace {

using util::ascii_lower;

// "FROM:<a@b> SIZE=10" after the "FROM:" / "TO:": the address between
// the angle brackets (or up to the first space without them).
std::string address_in(std::string_view argument, std::string_view prefix) {
  if (argument.size() < prefix.size() || ascii_lower(argument.substr(0, prefix.size())) != ascii_lower(prefix)) return "";
  argument.remove_prefix(prefix.size());
  while (!argument.empty() && argument.front() == ' ') argument.remove_prefix(1);
  if (!argument.empty() && argument.front() == '<') {
    const auto close = argument.find('>');
    return std::string(argument.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  return std::string(argument.substr(0, argument.find(' ')));
}

}  // namespace

void ScriptMemory::remember(const std::string& triple) {
  if (!triples_.insert(triple).second) return;
  order_.push_back(triple);
  while (order_.size() > capacity_) {
    triples_.erase(order_.front());
    order_.pop_front();
  }
}

ScriptHook::ScriptHook(const Script& script, ScriptMemory& memory, std::function<double()> random)
    : script_(script), memory_(memory), random_(std::move(random)) {}

Moment ScriptHook::moment(smtp::HookPoint point, std::string_view argument, const smtp::ServerSession& session) const {
  Moment m;
  m.point = point;
  m.nth = counts_[static_cast<std::size_t>(point)];
  m.messages = session.stats().messages_accepted;
  m.tls = session.tls().has_value();
  const smtp::Envelope& envelope = session.envelope();
  if (point == smtp::HookPoint::mail) {
    m.mail = address_in(argument, "FROM:");
  } else if (point != smtp::HookPoint::connect && point != smtp::HookPoint::ehlo && !envelope.client_address.empty()) {
    // MAIL was accepted: there is a transaction.
    m.mail = envelope.reverse_path.mailbox ? envelope.reverse_path.mailbox->str() : std::string();
  }
  if (point == smtp::HookPoint::rcpt) {
    m.rcpts.push_back(address_in(argument, "TO:"));
    m.first_attempt = !memory_.seen(session.client_address() + "\n" + ascii_lower(m.mail.value_or("")) + "\n" + ascii_lower(m.rcpts[0]));
  } else if (point == smtp::HookPoint::data || point == smtp::HookPoint::bdat || point == smtp::HookPoint::end_of_data) {
    for (const auto& r : envelope.recipients) m.rcpts.push_back(r.forward_path.str());
  }
  return m;
}

smtp::HookOverride ScriptHook::at(smtp::HookPoint point, std::string_view argument, const smtp::ServerSession& session) {
  ++counts_[static_cast<std::size_t>(point)];
  const Moment m = moment(point, argument, session);
  const auto decision = decide(script_, m, random_);
  if (point == smtp::HookPoint::rcpt) {
    // Seen from now on, whatever was decided: later tries are not first.
    memory_.remember(session.client_address() + "\n" + ascii_lower(m.mail.value_or("")) + "\n" + ascii_lower(m.rcpts[0]));
  }
  if (!decision) return {};
  const Action& action = decision->matched->action;
  actions_.push_back({decision->rule, decision->matched->line, std::string(point_name(point)), action.describe()});
  return override_for(action);
}

std::vector<ScriptedAction> ScriptHook::take_new() {
  std::vector<ScriptedAction> out(actions_.begin() + static_cast<std::ptrdiff_t>(shown_), actions_.end());
  shown_ = actions_.size();
  return out;
}

}  // namespace petrel::catcher
