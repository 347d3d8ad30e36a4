#include "nats/subjects.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace petrel::nats {
namespace {

std::vector<std::string_view> tokens_of(std::string_view subject) {
  std::vector<std::string_view> out;
  for (std::size_t from = 0; from <= subject.size();) {
    const auto dot = std::min(subject.find('.', from), subject.size());
    out.push_back(subject.substr(from, dot - from));
    from = dot + 1;
  }
  return out;
}

}  // namespace

std::string subject_token(std::string_view text) {
  if (text.empty()) return "_";
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '.' || c == '*' || c == '>' || u <= 0x20 || u == 0x7f) c = '_';
  }
  return out;
}

std::string event_subject(std::string_view tenant, std::string_view type) {
  return "petrel.events." + subject_token(tenant.empty() ? "default" : tenant) + "." + subject_token(type);
}

bool covers(std::string_view filter, std::string_view wildcard) {
  const auto f = tokens_of(filter);
  const auto w = tokens_of(wildcard);
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == ">") return true;  // the rest, whatever it is
    if (i >= w.size()) return false;
    if (w[i] == ">") return false;  // the wildcard goes on past a filter that stops or narrows here
    if (f[i] == "*") {
      if (w[i].empty()) return false;
      continue;
    }
    if (f[i] != w[i]) return false;  // a literal covers only itself (not a '*' of the wildcard)
  }
  return f.size() == w.size();
}

std::optional<EventRoute> route_of(std::string_view json) {
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  const auto id = j.find("event_id");
  const auto type = j.find("type");
  if (id == j.end() || !id->is_string() || type == j.end() || !type->is_string()) return std::nullopt;
  const auto tenant = j.find("tenant");
  const std::string tenant_name = tenant != j.end() && tenant->is_string() ? tenant->get<std::string>() : "";
  return EventRoute{id->get<std::string>(), event_subject(tenant_name, type->get<std::string>())};
}

}  // namespace petrel::nats
