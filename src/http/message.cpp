#include "http/message.hpp"

#include <nlohmann/json.hpp>

namespace petrel::http {

Response to_response(const Problem& problem) {
  nlohmann::json j = {{"type", "about:blank"}, {"title", problem.title}, {"status", problem.status}};
  if (!problem.detail.empty()) j["detail"] = problem.detail;
  if (!problem.pointer.empty()) j["pointer"] = problem.pointer;
  if (problem.line > 0) {
    j["line"] = problem.line;
    j["column"] = problem.column;
  }
  Response r;
  r.status = problem.status;
  r.content_type = "application/problem+json";
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (problem.retry_after) r.headers.emplace_back("Retry-After", std::to_string(*problem.retry_after));
  return r;
}

Response json_response(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.ends_with('\n')) r.body += '\n';
  return r;
}

std::string pointer_token(std::string_view name) {
  std::string out;
  for (const char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace petrel::http
