#include "catch/caught_session.hpp"

#include <algorithm>

namespace petrel::catcher {
namespace {

constexpr std::size_t kTranscriptLine = 200;  // octets of a client line shown

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, kTranscriptLine)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (s.size() > kTranscriptLine) out += "...";
  return out;
}

}  // namespace

CaughtSession::CaughtSession(const smtp::SessionOptions& options, smtp::EnvelopePolicy& policy,
                             std::string client_address, smtp::Authenticator* authenticator,
                             GraderOptions grader_options, ScriptHook* script)
    : session_(options, policy, std::move(client_address), authenticator), grader_(grader_options), script_(script) {
  session_.set_hook(script);
}

void CaughtSession::greet() {
  session_.greet();
  note_script();
  sync_replies();
}

std::size_t CaughtSession::feed(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size() && session_.need() == Need::input) {
    const std::size_t used = feed_unit(bytes.substr(pos));
    pos += used;
    if (session_.need() == Need::start_tls) return bytes.size();
    if (used == 0) break;
  }
  return pos;
}

std::size_t CaughtSession::feed_unit(std::string_view bytes) {
  const bool in_message = session_.receiving_message();
  const bool in_bdat = in_message && session_.bdat_remaining() > 0;
  std::string_view unit;
  if (in_bdat) {
    unit = bytes.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(session_.bdat_remaining(), bytes.size())));
  } else {
    const auto newline = bytes.find('\n');
    unit = bytes.substr(0, newline == std::string_view::npos ? bytes.size() : newline + 1);
  }
  std::size_t used = session_.feed(unit);
  if (session_.need() == Need::start_tls) used = unit.size();
  const std::string_view taken = unit.substr(0, used);
  grader_.client(in_bdat ? ClientPart::bdat : in_message ? ClientPart::data : ClientPart::command, taken);
  if (in_message) {
    content_octets_ += taken.size();
  } else {
    note_client(taken);
  }
  if (in_message && !session_.receiving_message()) {
    grader_.content_ended();
    transcript_.push_back({'*', "(" + std::to_string(content_octets_) + " octets of content)", 0});
    content_octets_ = 0;
  }
  note_script();
  run_needs();
  return used;
}

void CaughtSession::note_client(std::string_view raw) {
  client_line_.append(raw.substr(0, std::min(raw.size(), kTranscriptLine + 1 - std::min(kTranscriptLine + 1, client_line_.size()))));
  if (raw.empty() || raw.back() != '\n') return;
  std::string_view line = client_line_;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  // A SASL response carries the password: never shown.
  transcript_.push_back({'>', auth_response_next_ ? std::string("(SASL response)") : printable(line), 0});
  client_line_.clear();
}

// What the script did to the unit just fed, before the replies it caused.
void CaughtSession::note_script() {
  if (script_ == nullptr) return;
  for (const auto& a : script_->take_new()) {
    transcript_.push_back({'*', "script: rule " + std::to_string(a.rule) + " (line " + std::to_string(a.line) + ") at " +
                                    a.command + ": " + a.action,
                           0});
  }
}

void CaughtSession::run_needs() {
  // Authentication is a comparison with the users given on the command
  // line: no password hashing to move off the thread.
  while (session_.need() == Need::authenticate) session_.authenticate();
  sync_replies();
}

void CaughtSession::sync_replies() {
  const std::string& output = session_.output();
  if (output.size() <= replied_) return;
  const std::string_view fresh = std::string_view(output).substr(replied_);
  grader_.server_replied(fresh);
  std::string_view rest = fresh;
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
    int code = 0;
    if (line.size() >= 3) code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    transcript_.push_back({'<', std::string(line), code});
    auth_response_next_ = code == 334;
  }
  replied_ = output.size();
}

void CaughtSession::message_stored(std::string_view id) {
  session_.message_stored(id);
  sync_replies();
}

void CaughtSession::message_failed(const smtp::Reply& reply) {
  session_.message_failed(reply);
  sync_replies();
}

void CaughtSession::tls_started(smtp::TlsFacts facts) {
  const std::string protocol = facts.protocol;
  session_.tls_started(std::move(facts));
  grader_.tls_started(protocol);
  transcript_.push_back({'*', "TLS started: " + protocol, 0});
}

void CaughtSession::timed_out() {
  session_.timed_out();
  sync_replies();
}

void CaughtSession::connection_lost(std::string_view reason) {
  session_.connection_lost(reason);
}

std::string CaughtSession::take_output() {
  std::string out = std::move(session_.output());
  session_.output().clear();
  replied_ = 0;
  return out;
}

}  // namespace petrel::catcher
