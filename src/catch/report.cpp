#include "catch/report.hpp"

#include <nlohmann/json.hpp>

namespace petrel::catcher {
namespace {

using nlohmann::json;

json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json dkim_json(const std::vector<DkimCheck>& checks) {
  json list = json::array();
  for (const auto& c : checks) {
    list.push_back({{"domain", c.domain}, {"selector", c.selector}, {"result", c.result}, {"reason", c.reason}});
  }
  return list;
}

json messages_json(const Grader& grader, const SessionFacts& facts) {
  json list = json::array();
  std::size_t next_file = 0;
  for (const auto& m : grader.messages()) {
    const bool accepted = m.reply_code >= 200 && m.reply_code < 300;
    json file = nullptr;
    if (accepted && next_file < facts.files.size()) file = facts.files[next_file++];
    list.push_back({{"from", m.reverse_path},
                    {"to", m.forward_paths},
                    {"size", m.size},
                    {"declared_size", m.declared_size ? json(*m.declared_size) : json(nullptr)},
                    {"body", or_null(m.body)},
                    {"smtputf8", m.smtputf8},
                    {"chunked", m.chunked},
                    {"reply", m.reply_code},
                    {"dkim", dkim_json(m.dkim)},
                    {"file", file}});
  }
  return list;
}

}  // namespace

std::string json_report(const Grader& grader, const SessionFacts& facts) {
  json findings = json::array();
  json summary{{"info", 0}, {"warn", 0}, {"fail", 0}};
  for (const auto& f : grader.findings()) {
    const std::string level(level_name(f.level));
    findings.push_back({{"id", f.id}, {"level", level}, {"text", f.text}, {"count", f.count}});
    summary[level] = summary[level].get<int>() + 1;
  }
  json scripted = json::array();
  for (const auto& a : facts.scripted) {
    scripted.push_back({{"rule", a.rule}, {"line", a.line}, {"command", a.command}, {"action", a.action}});
  }
  const Level worst = verdict(grader.findings());
  json doc{{"client", facts.client},
           {"started", facts.started},
           {"duration_ms", facts.duration_ms},
           {"close_reason", facts.close_reason},
           {"greeting", or_null(grader.greeting_verb())},
           {"helo_name", or_null(grader.helo_name())},
           {"tls", or_null(grader.tls_protocol())},
           {"auth", or_null(grader.auth_mechanism())},
           {"offered", grader.offered()},
           {"used", grader.used()},
           {"messages", messages_json(grader, facts)},
           {"scripted", scripted},
           {"findings", findings},
           {"summary", summary},
           {"verdict", worst == Level::info ? "pass" : std::string(level_name(worst))},
           {"exit_status", exit_code(grader.findings())}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace petrel::catcher
