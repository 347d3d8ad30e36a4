// HTTP requests and responses as the handlers see them: plain data, no
// Beast or Asio, so the API's logic can be tested without a socket.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::http {

struct Request {
  std::string method;         // "POST"
  std::string path;           // "/api/v1/messages", percent-escapes left as sent
  std::string query;          // after '?', "" when none
  std::string body;           // at most [http] max_request_size octets
  std::string authorization;  // the Authorization header as sent
  std::string content_type;   // lower-cased, parameters dropped: "application/json"
  std::string idempotency_key;  // the Idempotency-Key header, if any
  std::string cookie;         // the Cookie header as sent (the dashboard's session)
  std::string origin;         // the Origin header, "" when none (CSRF checks)
  std::string referer;        // the Referer header, "" when none
  std::string host;           // the Host header
  std::string csrf_token;     // X-CSRF-Token (the dashboard's actions)
  std::string peer;           // "127.0.0.1:41522"
  bool tls = false;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type, -Length, Server, Date
  // When set, the body is this file's content, streamed from disk by the
  // listener (not held in memory); a file that cannot be opened then gets
  // a 404 problem instead.
  std::string file;
};

// RFC 9457 problem details: {"type","title","status","detail"} plus, for a
// bad field, "pointer" (RFC 6901) and, with a line, "line" and "column".
struct Problem {
  unsigned status = 400;
  std::string title;
  std::string detail;
  std::string pointer;               // "/recipients/3/email"; "" for none
  std::size_t line = 0, column = 0;  // in a template; 0: not given
  std::optional<unsigned> retry_after;  // seconds: 429 and 503
};

Response to_response(const Problem& problem);
Response json_response(unsigned status, std::string body);

// A query parameter's value, percent-decoded ('+' as space), or nullopt.
std::optional<std::string> query_param(std::string_view query, std::string_view name);
// Percent-decoding of a path segment; nullopt for a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// RFC 6901: "~" as "~0" and "/" as "~1" in one reference token.
std::string pointer_token(std::string_view name);

}  // namespace petrel::http
