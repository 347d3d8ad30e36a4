#include "smtp/command.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace petrel::smtp {
namespace {

constexpr std::array<std::pair<std::string_view, Verb>, 17> kVerbs{{
    {"HELO", Verb::helo}, {"EHLO", Verb::ehlo}, {"MAIL", Verb::mail}, {"RCPT", Verb::rcpt},
    {"DATA", Verb::data}, {"BDAT", Verb::bdat}, {"RSET", Verb::rset}, {"NOOP", Verb::noop},
    {"QUIT", Verb::quit}, {"VRFY", Verb::vrfy}, {"EXPN", Verb::expn}, {"HELP", Verb::help},
    {"TURN", Verb::turn}, {"ETRN", Verb::etrn}, {"ATRN", Verb::atrn},
    {"STARTTLS", Verb::starttls}, {"AUTH", Verb::auth},
}};

bool is_space(char c) { return c == ' ' || c == '\t'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != static_cast<unsigned char>(b[i])) return false;
  }
  return true;
}

}  // namespace

CommandLine split_command(std::string_view line) {
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  std::size_t start = 0;
  while (start < line.size() && is_space(line[start])) ++start;  // tolerated, as Postfix does
  std::size_t end = start;
  while (end < line.size() && !is_space(line[end])) ++end;
  CommandLine cmd;
  cmd.verb_text = line.substr(start, end - start);
  while (end < line.size() && is_space(line[end])) ++end;
  cmd.argument = line.substr(end);
  for (const auto& [name, verb] : kVerbs) {
    if (iequals(cmd.verb_text, name)) {
      cmd.verb = verb;
      break;
    }
  }
  return cmd;
}

std::string_view verb_name(Verb v) {
  for (const auto& [name, verb] : kVerbs) {
    if (verb == v) return name;
  }
  return "UNKNOWN";
}

bool consume_prefix_icase(std::string_view& text, std::string_view prefix) {
  if (text.size() < prefix.size() || !iequals(text.substr(0, prefix.size()), prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

}  // namespace petrel::smtp
